"""One error format for the whole API, and the request-body size limit.

Every error answer is JSON with a `detail` sentence; invalid input adds `errors`, one entry per
problem: {"index": event position or null, "field": "deal.amount", "message": "..."}.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable
from functools import wraps

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, Throttled, ValidationError
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from funnel.api.throttle import retry_after
from funnel.ingest import EventError

logger = logging.getLogger(__name__)


def batch_parse(
    raw: list, adapter: TypeAdapter, model: type, convert: Callable
) -> tuple[dict, list[EventError]]:
    """The items of a batch that parse (as `convert(model item)`, by batch index) and the
    schema errors of those that do not: one pass (`adapter`, a TypeAdapter of list[model],
    built once) when all parse, item by item otherwise."""
    try:
        parsed = adapter.validate_python(raw)
        return {i: convert(item) for i, item in enumerate(parsed)}, []
    except PydanticValidationError as invalid:
        errors = schema_errors(invalid.errors())
    bad = {e.index for e in errors}
    good = {i: convert(model.model_validate(raw[i])) for i in range(len(raw)) if i not in bad}
    return good, errors


def error_location(loc: Iterable) -> tuple[int | None, str]:
    """(event index, dotted field) for a pydantic location.

    ("body", "payload", "events", 3, "deal", "amount") -> (3, "deal.amount");
    ("query", "limit") -> (None, "limit"); (3, "deal", "id") -> (3, "deal.id").
    """
    parts = list(loc)
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        source = parts.pop(0)
        if source == "body" and parts:
            parts.pop(0)  # the view's parameter name
    index = None
    if len(parts) >= 2 and parts[0] == "events" and isinstance(parts[1], int):
        index, parts = parts[1], parts[2:]
    elif parts and isinstance(parts[0], int):
        index, parts = parts[0], parts[1:]
    field = ".".join(str(p) for p in parts)
    return index, field or ("event" if index is not None else "body")


def schema_errors(errors: Iterable[dict], *, prefix: tuple = ()) -> list[EventError]:
    out = []
    for error in errors:
        index, field = error_location((*prefix, *error["loc"]))
        out.append(EventError(index, field, error["msg"]))  # type: ignore[arg-type]
    return out


def invalid_response(errors: list[EventError], *, detail: str | None = None) -> JsonResponse:
    errors = sorted(errors, key=lambda e: (e.index is not None, e.index or 0, e.field))
    bad_events = len({e.index for e in errors if e.index is not None})
    if detail is None:
        detail = (
            f"{bad_events} invalid event(s); nothing was written."
            if bad_events
            else "The request is invalid."
        )
    return JsonResponse({"detail": detail, "errors": [e.as_dict() for e in errors]}, status=422)


def too_large_response(limit: int) -> JsonResponse:
    return JsonResponse(
        {
            "detail": f"The request body is larger than the limit of {limit} bytes; "
            "send fewer events per request (at most 1,000).",
            "limit_bytes": limit,
        },
        status=413,
    )


def body_too_large(request: HttpRequest, limit: int) -> bool:
    """Whether the body exceeds `limit`, decided without reading more than limit + 1 bytes.

    A declared Content-Length decides at once. Without one (chunked transfer) the body is read
    up to one byte past the limit. A body within the limit is kept on the request, so Django's
    own DATA_UPLOAD_MAX_MEMORY_SIZE check never runs on it.
    """
    declared = request.META.get("CONTENT_LENGTH")
    try:
        if declared and int(declared) > limit:
            return True
    except ValueError:
        pass
    if hasattr(request, "_body"):
        return len(request._body) > limit
    data = request.read(limit + 1)
    if len(data) > limit:
        return True
    request._body = data
    request._stream = io.BytesIO(data)
    return False


def body_limited(run: Callable) -> Callable:
    """Wraps an operation so oversized bodies get 413 before authentication and parsing."""

    @wraps(run)
    def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        limit = settings.API_MAX_BODY_BYTES
        if body_too_large(request, limit):
            return too_large_response(limit)
        return run(request, *args, **kwargs)

    return checked


def query_only(*schemas: type) -> Callable[[Callable], Callable]:
    """Wraps an operation so a query parameter it does not take gets 422 naming it.

    A silently ignored parameter is a client's bug hidden: `?stauts=open` would list every
    deal, and `?page=2` would loop on the first page for ever."""
    known = frozenset(name for schema in schemas for name in schema.model_fields)

    def decorator(run: Callable) -> Callable:
        @wraps(run)
        def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            unknown = sorted(set(request.GET) - known)
            if unknown:
                takes = ", ".join(sorted(known)) if known else "no query parameters"
                return invalid_response(
                    [
                        EventError(None, name, f"Unknown query parameter; this takes {takes}.")
                        for name in unknown
                    ],
                    detail="The request has query parameters this operation does not take.",
                )
            return run(request, *args, **kwargs)

        return checked

    return decorator


# The database cannot be reached (restarting, failing over) or gave up on the statement (a lock
# or statement timeout): the transaction was rolled back (unless the connection broke during
# its commit), and the same request may succeed in a moment.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
UNAVAILABLE_RETRY_AFTER = 5  # seconds: about what a PostgreSQL restart takes


def unavailable_response() -> JsonResponse:
    response = JsonResponse(
        {
            "detail": "The database is unavailable for a moment; the request may not have been "
            f"applied. Send the same request again in {UNAVAILABLE_RETRY_AFTER} s (event ids "
            "make a repeat safe: events already stored count as duplicates)."
        },
        status=503,
    )
    response["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER)
    return response


def add_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        return invalid_response(schema_errors(exc.errors))

    @api.exception_handler(AuthenticationError)
    def authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = JsonResponse(
            {
                "detail": "Missing, unknown or revoked API token. "
                "Send the header Authorization: Bearer <token>."
            },
            status=401,
        )
        response["WWW-Authenticate"] = 'Bearer realm="api"'
        return response

    @api.exception_handler(Throttled)
    def throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
        wait = retry_after(exc.wait)
        response = JsonResponse(
            {
                "detail": "Too many requests"
                + (f"; try again in {wait} s." if wait else ".")
                + " Limits are per API token, and per address for unknown tokens."
            },
            status=429,
        )
        if wait:
            response["Retry-After"] = wait
        return response

    @api.exception_handler(OperationalError)
    @api.exception_handler(InterfaceError)
    def database_unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
        # Logged, and the broken connection dropped, by Django's request_finished handling
        # (CONN_HEALTH_CHECKS checks a kept connection before the next request uses it).
        logger.warning("API %s %s: database unavailable: %s", request.method, request.path, exc)
        return unavailable_response()

    @api.exception_handler(RequestDataTooBig)
    def request_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        # Only reachable on an operation without body_limited; Django would answer 400 (or 500
        # with DEBUG on) for its own DATA_UPLOAD_MAX_MEMORY_SIZE.
        return too_large_response(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
