"""Who and through what a write came, attached to the history rows it makes.

pghistory sets the context as transaction-local PostgreSQL settings, prepended to each statement
Django runs in the block; a COPY (funnel.bulk.rows_copy) does not go through Django's cursor, so
it sets them itself first. On SQLite there are no history triggers, and nothing is set.

The keys: `via` (browser, api, import, task), `user` (a user id), `url`, `api_token` and
`api_token_name`, `import_job` and `import_filename`, `task` (a Celery task's name).
"""

import contextlib
import json
import threading

import pghistory
import pghistory.runtime
from django.db import connection
from pghistory import config


def history_context(**metadata):
    """A block whose writes carry `metadata` in their history rows (PostgreSQL only). Inside
    another such block, it adds to that one's metadata."""
    if connection.vendor != "postgresql":
        return contextlib.nullcontext()
    return pghistory.context(**metadata)


def history_context_active() -> bool:
    # pghistory keeps the current block's context in this thread-local.
    return hasattr(pghistory.runtime._tracker, "value")


def history_note(**metadata) -> None:
    """Add to the context of the block being recorded, if any (a request, an import ...)."""
    if connection.vendor == "postgresql":
        pghistory.context(**metadata)


def history_context_set(cursor) -> None:
    """Set the current context in the transaction, for statements Django does not run (COPY).

    Inside history_context_pinned, only when it is not set yet (or has changed): a round trip
    less for each such statement of a batch.
    """
    if connection.vendor != "postgresql" or not history_context_active():
        return
    current = pghistory.runtime._tracker.value
    values = [str(current.id), json.dumps(current.metadata, cls=config.json_encoder())]
    pin = getattr(_pinned, "value", None)
    if pin is not None and pin.get("values") == values and _savepoint_alive(pin["savepoints"]):
        return
    cursor.execute(
        "SELECT set_config('pghistory.context_id', %s, true), "
        "set_config('pghistory.context_metadata', %s, true)",
        values,
    )
    if pin is not None:
        pin["values"], pin["savepoints"] = values, tuple(connection.savepoint_ids)


_pinned = threading.local()


@contextlib.contextmanager
def history_context_pinned():
    """A block of one transaction whose plain-cursor statements set the context once.

    The setting lasts until the transaction ends (or the savepoint it was set in is rolled
    back), and the block ends before the transaction does.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("history_context_pinned runs inside a transaction.")
    _pinned.value = {}
    try:
        yield
    finally:
        _pinned.value = None


def _savepoint_alive(savepoints: tuple) -> bool:
    return tuple(connection.savepoint_ids[: len(savepoints)]) == savepoints


def import_history_context(job):
    """An import run's writes: its job, file and uploader."""
    return history_context(
        via="import",
        import_job=job.id,
        import_filename=job.filename,
        user=job.uploaded_by_id,
    )
