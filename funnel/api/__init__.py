"""The JSON API, mounted at /api/v1/ (OpenAPI at openapi.json, interactive docs at docs).

Every operation needs `Authorization: Bearer <token>` with a team's API token; everything it
reads or writes belongs to that team. Changing the team's set-up (PUT /stages) needs a token
created with `can_manage` (`manage.py create_api_token --team SLUG NAME --manage`).
"""

from ninja import NinjaAPI

from funnel.api import deals, events, metrics, stages, touches
from funnel.api.auth import ApiTokenAuth
from funnel.api.errors import add_error_handlers
from funnel.api.throttle import TokenRateThrottle

api = NinjaAPI(
    urls_namespace="api-v1",
    title="Sales Kaizen API",
    version="1",
    description=(
        "Stage events and touches in, deals and stages out, for one team per token; a token "
        "that may manage the team (`create_api_token --manage`) also replaces its stage list. "
        "Errors are JSON: `detail`, and for invalid input `errors` "
        "(`index`, `field`, `message`) listing every problem."
    ),
    auth=ApiTokenAuth(),
    throttle=[TokenRateThrottle()],
)
add_error_handlers(api)
api.add_router("", events.router)
api.add_router("", deals.router)
api.add_router("", stages.router)
api.add_router("", metrics.router)
api.add_router("", touches.router)
