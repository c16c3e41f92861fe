"""Rows into PostgreSQL through a staging table: a binary COPY, then one statement that uses them.

The quickest way for a thousand rows that may conflict (events whose id is stored) or that change
stored rows (deal positions). A COPY cannot skip a conflict and cannot update; a JSON document
(funnel.bulk) can do both, but costs its text in Python (a datetime's isoformat, 8 µs) and its
parsing and casts on the server. Here psycopg's C dumpers write the rows in the binary format into
a temporary table of the session, with no index, no trigger and no WAL, and the INSERT .. SELECT
or UPDATE .. FROM that follows deletes what it read in the same statement, so the table is empty
again whatever the caller does next in its transaction (and emptied at commit all the same).

PostgreSQL only, inside the caller's transaction; other databases take funnel.bulk's ORM path.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Sequence

import psycopg
from django.db import connection
from django.db.models import Model

from funnel.audit.context import history_context_set
from funnel.bulk import _columns, _whole_as_int


def _staged(cursor, model: type[Model], fields: Sequence[str], rows: Sequence[Sequence]) -> str:
    """COPY the rows, with their order as column n, into the session's staging table for these
    fields of the model; its name."""
    columns = _columns(model, fields)
    signature = ",".join(fields).encode()
    name = f"staging_{model._meta.db_table}_{zlib.crc32(signature):08x}"
    # Created if missing in each transaction: a cache of the tables made would be wrong after
    # a rollback took its CREATE away, and one statement that finds the table costs little.
    definition = ", ".join(f"{column} {db_type}" for column, db_type in columns)
    cursor.execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {name} (n integer, {definition}) "
        "ON COMMIT DELETE ROWS"
    )
    types = ["int4", *(db_type.split("(")[0].strip() for _, db_type in columns)]
    numeric = [i + 1 for i, t in enumerate(types[1:]) if t == "numeric"]
    names = ", ".join(column for column, _ in columns)
    with cursor.copy(f"COPY {name} (n, {names}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(types)
        for n, row in enumerate(rows):
            row = (n, *row)
            copy.write_row(_whole_as_int(row, numeric) if numeric else row)
    return name


def staged_insert(
    model: type[Model],
    fields: Sequence[str],
    rows: Sequence[Sequence],
    *,
    conflict: Sequence[str] | None = None,
    returning: Sequence[str] = (),
    then: str | None = None,
) -> list[tuple]:
    """funnel.bulk.rows_insert through the staging table: the same rows inserted in the same
    order, the same conflicts skipped, the same `returning` and `then`."""
    if not rows:
        return []
    table = model._meta.db_table
    names = ", ".join(column for column, _ in _columns(model, fields))
    tail = f" ON CONFLICT ({', '.join(conflict)}) DO NOTHING" if conflict is not None else ""
    if returning:
        tail += f" RETURNING {', '.join(returning)}"
    with _cursor() as cursor:
        stage = _staged(cursor, model, fields, rows)
        insert = f"INSERT INTO {table} ({names}) SELECT {names} FROM staged ORDER BY n{tail}"
        staged = f"WITH staged AS (DELETE FROM {stage} RETURNING *)"
        if then and returning:
            sql = f"{staged}, inserted AS ({insert}), followed AS ({then}) SELECT * FROM inserted"
        else:
            sql = f"{staged} {insert}"
        cursor.execute(sql)
        return cursor.fetchall() if returning else []


def staged_update(
    model: type[Model], fields: Sequence[str], rows: Sequence[Sequence], *, key: str = "id"
) -> None:
    """funnel.bulk.rows_update through the staging table: each row is (*values, key value)."""
    if not rows:
        return
    table = model._meta.db_table
    columns = _columns(model, fields)
    key_column = _columns(model, [key])[0][0]
    assignments = ", ".join(f"{column} = s.{column}" for column, _ in columns)
    with _cursor() as cursor:
        stage = _staged(cursor, model, (*fields, key), rows)
        cursor.execute(
            f"WITH staged AS (DELETE FROM {stage} RETURNING *) "
            f"UPDATE {table} AS t SET {assignments} FROM staged AS s "
            f"WHERE t.{key_column} = s.{key_column}"
        )


def staged_text(cursor, name: str, columns: Sequence[tuple[str, str]], data: bytes) -> None:
    """A session table `name` of these (column, type) pairs, dropped at commit, filled by one
    COPY of CSV text with NULL written \\N (as polars writes a frame): how the column-wise
    import stages a whole file's columns (funnel.imports.sets), without a Python call a row."""
    definition = ", ".join(f"{column} {db_type}" for column, db_type in columns)
    names = ", ".join(column for column, _ in columns)
    cursor.execute(f"DROP TABLE IF EXISTS {name}")
    cursor.execute(f"CREATE TEMPORARY TABLE {name} ({definition}) ON COMMIT DROP")
    with cursor.copy(f"COPY {name} ({names}) FROM STDIN (FORMAT csv, NULL '\\N')") as copy:
        copy.write(data)


@contextlib.contextmanager
def staged_cursor():
    """The cursor the staged writes use (see _cursor)."""
    with _cursor() as cursor:
        yield cursor


@contextlib.contextmanager
def _cursor():
    """A plain psycopg cursor on Django's connection, in its transaction, with the audit
    context set (the history triggers read who writes from it)."""
    if not connection.in_atomic_block:
        raise RuntimeError("Staged writes run inside the caller's transaction.")
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        history_context_set(cursor)
        yield cursor
