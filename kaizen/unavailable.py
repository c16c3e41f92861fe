"""503 with Retry-After while the database cannot be reached, never a 500.

A PostgreSQL restart or failover breaks the connections a web process holds and refuses new
ones for a few seconds. A request caught then is answered 503 with Retry-After (nothing was
committed: Django rolls the transaction back with the error), as JSON in the API's error
format under /api/ and as a plain page elsewhere. The broken connection is closed, and
CONN_HEALTH_CHECKS checks a kept one before the next request uses it, so the process
reconnects by itself once the database is back.

The middleware answers for errors raised in views; `server_error` (handler500) answers for
those raised in other middleware (the session saved on the way out) and keeps Django's 500 page
for everything else.
"""

from __future__ import annotations

import logging
import sys

from django.db import connections
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.views import defaults

from funnel.api.errors import DATABASE_UNAVAILABLE, UNAVAILABLE_RETRY_AFTER, unavailable_response

logger = logging.getLogger(__name__)


def _connections_drop_broken() -> None:
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None and not connection.is_usable():
            connection.close()


def database_unavailable_response(request: HttpRequest) -> HttpResponse:
    _connections_drop_broken()
    if request.path.startswith("/api/"):
        return unavailable_response()
    # Rendered without a request context, like the 500 page: no user, no database.
    body = loader.get_template("503.html").render({"retry_after": UNAVAILABLE_RETRY_AFTER})
    response = HttpResponse(body, status=503)
    response["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER)
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if not isinstance(exception, DATABASE_UNAVAILABLE):
            return None
        logger.warning("%s %s: database unavailable: %s", request.method, request.path, exception)
        return database_unavailable_response(request)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: Django calls it while handling the exception, so it can tell which."""
    if isinstance(sys.exception(), DATABASE_UNAVAILABLE):
        return database_unavailable_response(request)
    return defaults.server_error(request)
