"""Who and through what a write came, attached to the history rows it makes.

pghistory sets the context as transaction-local PostgreSQL settings before each statement in
the block, so rows written by raw SQL and COPY later in the same transaction carry it too. On
SQLite there are no history triggers, and nothing is set.
"""

import contextlib

import pghistory
from django.db import connection


def history_context(**metadata):
    """A block whose writes carry `metadata` in their history rows (PostgreSQL only)."""
    if connection.vendor != "postgresql":
        return contextlib.nullcontext()
    return pghistory.context(**metadata)


def history_note(**metadata) -> None:
    """Add to the context of the block being recorded, if any (a request, an import ...)."""
    if connection.vendor == "postgresql":
        pghistory.context(**metadata)
