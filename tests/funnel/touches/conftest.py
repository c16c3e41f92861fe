"""The API fixtures (tokens of team north and south, a client that sends one) and the deals
fixtures (a rep's deal and another rep's), shared with the touches tests."""

from tests.funnel.api.conftest import api, other_api, other_token, token  # noqa: F401
from tests.funnel.deals.conftest import other_deal, other_rep, rep_deal  # noqa: F401
