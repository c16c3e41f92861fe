"""What every page may say: the one confidence level of every interval, and the top bar's
links (the user's teams, the company dashboard, team set-up)."""

from functools import cached_property

from django.http import HttpRequest

from funnel.members.selectors import user_is_administrator
from funnel.metrics.intervals import CONFIDENCE
from funnel.models import Role
from funnel.selectors import TeamAccess, team_accesses_for_request


def confidence(request: HttpRequest) -> dict:
    """``confidence_pct``: 95 for intervals at 95 %, for the words around every interval."""
    return {"confidence_pct": f"{CONFIDENCE * 100:g}"}


class TopNav:
    """The top bar's facts about the user, read only when a page draws the top bar (an error
    page without a user, or a fragment, costs no query): one query,
    the same one for an executive, who sees every team."""

    def __init__(self, request: HttpRequest):
        self.request = request
        self.user = getattr(request, "user", None)

    @cached_property
    def teams(self) -> list[TeamAccess]:
        if self.user is None or not self.user.is_authenticated:
            return []
        # Shared with the page when its view read them already (no second query).
        return team_accesses_for_request(self.request)

    @cached_property
    def is_executive(self) -> bool:
        return any(a.role == Role.EXECUTIVE for a in self.teams)

    @property
    def shows_company(self) -> bool:
        """The company dashboard adds something for an executive (every team) and for someone
        on more than one team; anyone else reaches their team's dashboard from the team menu."""
        return self.is_executive or len(self.teams) > 1

    @cached_property
    def is_administrator(self) -> bool:
        return self.user is not None and user_is_administrator(user=self.user)


def navigation(request: HttpRequest) -> dict:
    """``topnav``: the user's teams and which top-bar links they get (read lazily)."""
    return {"topnav": TopNav(request)}
