"""Login lockouts (django-axes): the counting, and the page a locked-out login gets.

An account is locked after LOGIN_FAILURE_LIMIT wrong passwords, an address after
LOGIN_ADDRESS_FAILURE_LIMIT (higher: a whole office behind one address must not be locked out
by one person's typos). The page (`lockout_response`, AXES_LOCKOUT_CALLABLE) answers 429 with
Retry-After, in words: why, for how long, and what to do instead."""

from __future__ import annotations

import logging

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.db.models import Sum
from django.shortcuts import render

logger = logging.getLogger(__name__)


class AccountOrAddressHandler(AxesDatabaseHandler):
    """Axes counts failures per lockout parameter (AXES_LOCKOUT_PARAMETERS: username, then
    ip_address) against one limit. The address's count is scaled so that it reaches that limit
    only at LOGIN_ADDRESS_FAILURE_LIMIT failures."""

    def get_failures(self, request, credentials=None) -> int:
        by_account, by_address = (
            attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        account_limit = settings.AXES_FAILURE_LIMIT
        address_limit = max(settings.LOGIN_ADDRESS_FAILURE_LIMIT, account_limit)
        return max(by_account, by_address * account_limit // address_limit)


def lockout_response(request, response=None, credentials=None, *args, **kwargs):
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    username = (credentials or {}).get("username", "")
    logger.warning(
        "login locked out username=%r address=%s for %d min",
        username,
        request.META.get("REMOTE_ADDR", ""),
        minutes,
    )
    page = render(
        request,
        "registration/locked_out.html",
        {
            "failure_limit": settings.AXES_FAILURE_LIMIT,
            "address_limit": settings.LOGIN_ADDRESS_FAILURE_LIMIT,
            "minutes": minutes,
        },
        status=429,
    )
    page["Retry-After"] = str(minutes * 60)
    return page
