"""API rate limits (issue 17): per token, and for unknown tokens per address.

- A token may make API_TOKEN_RATE requests (e.g. "1200/min"); past that, 429 with Retry-After.
- An address that sent API_BAD_TOKEN_LIMIT unknown or revoked tokens within
  API_BAD_TOKEN_WINDOW seconds gets 429 with Retry-After for every request until the window
  ends, before its token is even looked up: guessing tokens is slowed to a crawl.

Counts live in Django's cache: shared by every web worker when CACHE_URL names Redis.
"""

from __future__ import annotations

import math

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from ninja.errors import Throttled
from ninja.throttling import SimpleRateThrottle


class TokenRateThrottle(SimpleRateThrottle):
    """request.auth is the ApiToken; its id keys the count. The rate is read from the settings
    on each request, so a deployment (or a test) changes it without a restart."""

    scope = "token"

    def __init__(self) -> None:
        super().__init__(settings.API_TOKEN_RATE)

    def allow_request(self, request: HttpRequest) -> bool:
        self.rate = settings.API_TOKEN_RATE
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request)

    def get_cache_key(self, request: HttpRequest) -> str | None:
        token = getattr(request, "auth", None)
        return None if token is None else f"api-throttle:token:{token.pk}"


def _bad_token_key(request: HttpRequest) -> str:
    return f"api-throttle:bad-token:{request.META.get('REMOTE_ADDR', '')}"


def bad_tokens_check(request: HttpRequest) -> None:
    """Raise Throttled when this address has sent too many bad tokens lately."""
    if cache.get(_bad_token_key(request), 0) >= settings.API_BAD_TOKEN_LIMIT:
        raise Throttled(wait=settings.API_BAD_TOKEN_WINDOW)


def bad_token_count(request: HttpRequest) -> None:
    key = _bad_token_key(request)
    cache.add(key, 0, timeout=settings.API_BAD_TOKEN_WINDOW)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=settings.API_BAD_TOKEN_WINDOW)


def retry_after(wait: float | None) -> str | None:
    return None if wait is None else str(math.ceil(wait))
