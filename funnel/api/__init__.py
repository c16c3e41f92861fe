"""The JSON API, mounted at /api/v1/ (OpenAPI at openapi.json, interactive docs at docs).

Every operation needs `Authorization: Bearer <token>` with a team's API token; everything it
reads or writes belongs to that team.
"""

from ninja import NinjaAPI

from funnel.api import deals, events, metrics
from funnel.api.auth import ApiTokenAuth
from funnel.api.errors import add_error_handlers

api = NinjaAPI(
    urls_namespace="api-v1",
    title="Sales Kaizen API",
    version="1",
    description=(
        "Stage events in, deals and stages out, for one team per token. "
        "Errors are JSON: `detail`, and for invalid input `errors` "
        "(`index`, `field`, `message`) listing every problem."
    ),
    auth=ApiTokenAuth(),
)
add_error_handlers(api)
api.add_router("", events.router)
api.add_router("", deals.router)
api.add_router("", metrics.router)
