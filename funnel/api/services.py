"""Writes around API tokens: create (the token is returned once) and revoke."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import QuerySet
from django.utils import timezone

from funnel.models import ApiToken, Team


def api_token_create(
    *, team: Team, name: str, by: AbstractBaseUser | None = None, can_manage: bool = False
) -> tuple[ApiToken, str]:
    """A new token for the team: the stored row (hash only) and the token itself. A token
    that `can_manage` may also replace the team's stage list."""
    token, prefix, token_hash = ApiToken.generate()
    api_token = ApiToken.objects.create(
        team=team,
        name=name,
        prefix=prefix,
        token_hash=token_hash,
        created_by=by,
        can_manage=can_manage,
    )
    return api_token, token


def api_tokens_revoke(*, tokens: QuerySet[ApiToken]) -> int:
    """Revoke these tokens from now on; already revoked ones keep their date."""
    return tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
