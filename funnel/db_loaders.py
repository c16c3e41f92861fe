"""Dates PostgreSQL holds but Python cannot: read them clamped instead of failing.

PostgreSQL stores times from 4713 BC to 294276 AD; Python's datetime runs from year 1 to 9999.
The boundaries refuse anything outside 1970..9999 (funnel.bounds), but a row written around
them (raw SQL, an old bug: '0001-01-01 00:00+14' is year 0 once in UTC) made psycopg raise
DataError on every read, so the team's pages, its admin pages and its recompute failed and
the row could not even be deleted. With these loaders such a value reads as the first or last
day Python can hold (one day inside, so converting it to any time zone stays in range): the
row can be opened, shown as out of range and deleted, and a recompute fails or runs on its
own terms for that team only.

Registered per connection (`connection_created`, see FunnelConfig.ready): Django builds each
connection's adapters from its own template, and its time-zone loader for timestamptz wraps
the loader psycopg had at import time, so a global registration would not reach it.
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import lru_cache

from psycopg import DataError
from psycopg.adapt import Loader
from psycopg.pq import Format

logger = logging.getLogger(__name__)

EARLIEST_READABLE = dt.datetime.min + dt.timedelta(days=1)
LATEST_READABLE = dt.datetime.max - dt.timedelta(days=1)
_EDGES = {
    "date": (EARLIEST_READABLE.date(), LATEST_READABLE.date()),
    "timestamp": (EARLIEST_READABLE, LATEST_READABLE),
    "timestamptz": (
        EARLIEST_READABLE.replace(tzinfo=dt.UTC),
        LATEST_READABLE.replace(tzinfo=dt.UTC),
    ),
}


def out_of_range(value: dt.date | dt.datetime | None) -> bool:
    """Whether a value read from the database was clamped by these loaders."""
    if value is None:
        return False
    if isinstance(value, dt.datetime):
        naive = value.replace(tzinfo=None)
        return naive <= EARLIEST_READABLE or naive >= LATEST_READABLE
    return value <= EARLIEST_READABLE.date() or value >= LATEST_READABLE.date()


class _ClampedLoader(Loader):
    """Wraps the loader in place (Django's time-zone loader, psycopg's C loaders): same
    result in range, the edge of the calendar outside it."""

    wrapped: type[Loader]
    type_name: str

    def __init__(self, oid, context=None):
        super().__init__(oid, context)
        self._loader = self.wrapped(oid, context)

    def load(self, data):
        try:
            return self._loader.load(data)
        except DataError as error:
            low, high = _EDGES[self.type_name]
            if self.type_name == "timestamptz" and getattr(self, "timezone", None):
                low, high = low.astimezone(self.timezone), high.astimezone(self.timezone)
            value = low if "too small" in str(error) else high
            logger.warning("read an out-of-range %s as %s: %s", self.type_name, value, error)
            return value


@lru_cache
def _clamped(wrapped: type[Loader], type_name: str) -> type[Loader]:
    attrs = {"wrapped": wrapped, "type_name": type_name, "format": wrapped.format}
    if hasattr(wrapped, "timezone"):
        # Django compares this with the connection's zone before each cursor (create_cursor):
        # the same zone keeps it from registering its own loader over this one.
        attrs["timezone"] = wrapped.timezone
    return type(f"Clamped{wrapped.__name__}", (_ClampedLoader,), attrs)


def out_of_range_dates_readable(sender, connection, **kwargs) -> None:
    """connection_created receiver: clamp out-of-range dates on this PostgreSQL connection."""
    if connection.vendor != "postgresql":
        return
    adapters = connection.connection.adapters
    for type_name in _EDGES:
        oid = adapters.types[type_name].oid
        for fmt in (Format.TEXT, Format.BINARY):
            current = adapters.get_loader(oid, fmt)
            if current is not None and not issubclass(current, _ClampedLoader):
                adapters.register_loader(oid, _clamped(current, type_name))
