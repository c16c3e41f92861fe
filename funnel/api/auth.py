"""Bearer-token authentication: `Authorization: Bearer <token>` names a team's active token."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from funnel.api.selectors import api_token_get_active
from funnel.api.throttle import bad_token_count, bad_tokens_check
from funnel.audit.context import history_note
from funnel.models import ApiToken

# Recording every use would turn each read into a write; a minute is precise enough to see
# which integrations are alive.
LAST_USED_PRECISION = dt.timedelta(minutes=1)


class ApiTokenAuth(HttpBearer):
    """request.auth becomes the ApiToken (its team loaded); unknown or revoked tokens get 401."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        bad_tokens_check(request)
        api_token = api_token_get_active(token=token)
        if api_token is None:
            bad_token_count(request)
            return None
        api_token_mark_used(api_token=api_token)
        # The request's writes name the token in the audit history (its secret is never there).
        history_note(via="api", api_token=api_token.id, api_token_name=api_token.name)
        return api_token


def api_token_mark_used(*, api_token: ApiToken, now: dt.datetime | None = None) -> bool:
    """Record the token's use, at most once a minute. True when it wrote."""
    now = now or timezone.now()
    cutoff = now - LAST_USED_PRECISION
    if api_token.last_used_at is not None and api_token.last_used_at > cutoff:
        return False
    # The condition repeats in SQL so that concurrent requests write once, not once each.
    written = (
        ApiToken.objects.filter(pk=api_token.pk)
        .filter(Q(last_used_at__isnull=True) | Q(last_used_at__lte=cutoff))
        .update(last_used_at=now)
    )
    api_token.last_used_at = now
    return bool(written)
