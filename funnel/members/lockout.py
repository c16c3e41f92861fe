"""The page a locked-out login gets (django-axes calls `lockout_response`, AXES_LOCKOUT_CALLABLE):
429 with Retry-After, in words: why, for how long, and what to do instead."""

from __future__ import annotations

import logging

from django.conf import settings
from django.shortcuts import render

logger = logging.getLogger(__name__)


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
        {"failure_limit": settings.AXES_FAILURE_LIMIT, "minutes": minutes},
        status=429,
    )
    page["Retry-After"] = str(minutes * 60)
    return page
