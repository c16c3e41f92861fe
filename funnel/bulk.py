"""Set-based inserts and updates for the hot write paths (ingestion, recompute).

On PostgreSQL the rows travel as one JSON document and are rebuilt server-side with
jsonb_array_elements() and typed casts, so a thousand rows cost one round trip and a tiny
statement. Django binds parameters client-side, quoting every array element in Python: arrays
per column (unnest) took about 2.5 times as long as one JSON string, which json.dumps writes in C.
The ORM's bulk_update (a CASE per row) and a VALUES list with ten thousand placeholders both
cost hundreds of milliseconds per thousand rows in statement building alone.

Other databases (the embedded SQLite default) take the plain ORM: bulk_create and bulk_update,
with the same results. SQLite begins every transaction with its write lock (transaction_mode
IMMEDIATE in the settings), so writers take turns and a look-up before an insert stays true.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

import psycopg
from django.db import connection, transaction
from django.db.models import Model
from django.db.models.expressions import RawSQL

from funnel.audit.context import history_context_set


def _json_value(value):
    if isinstance(value, dt.date | dt.time):  # datetimes too; keeps their UTC offset
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


# Values of these column types are already what json.dumps writes and PostgreSQL casts back.
JSON_NATIVE_TYPES = ("bigint", "integer", "smallint", "varchar", "text", "boolean")


def _rows_json(rows: Sequence[Sequence], columns: list[tuple[str, str]]) -> str | None:
    """The rows as one JSON array of arrays; None when a value has no exact JSON form."""
    if any(db_type in {"jsonb", "json"} for _, db_type in columns):
        return None  # ->> would unquote JSON strings; such columns take the array path
    convert = [i for i, (_, t) in enumerate(columns) if not t.startswith(JSON_NATIVE_TYPES)]
    try:
        if not convert:
            return json.dumps(rows, allow_nan=False)
        out = []
        # Batches repeat values (one recorded_at for all rows, a deal's dates): convert each
        # distinct value once. Equal values convert to texts the database reads as equal.
        memo: dict = {}
        for row in rows:
            row = list(row)
            for i in convert:
                value = row[i]
                converted = memo.get(value, memo)
                if converted is memo:
                    converted = memo[value] = _json_value(value)
                row[i] = converted
            out.append(row)
        return json.dumps(out, allow_nan=False)
    except (TypeError, ValueError):
        return None  # NaN, infinity or an unknown type: the array path handles them


def _json_select(columns: list[tuple[str, str]]) -> str:
    """SELECT list rebuilding typed columns from the elements of a JSON array of arrays."""
    return ", ".join(f"(r.v->>{i})::{db_type}" for i, (_, db_type) in enumerate(columns))


JSON_ROWS = "jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS r(v, n)"


def _columns(model: type[Model], names: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """(column, database type) for each field name; foreign keys by their *_id attname."""
    return _columns_cached(model, tuple(names), connection.vendor)


@functools.lru_cache(maxsize=256)
def _columns_cached(model: type[Model], names: tuple[str, ...], vendor: str) -> tuple:
    # Cached (a tuple, so no caller can change it): a batch's writes asked for the same few
    # lists six times, 2 ms of Django's field and type lookups.
    out = []
    attnames = {f.attname: f for f in model._meta.concrete_fields}
    for name in names:
        field = attnames[name]
        out.append(
            (
                field.column,
                field.rel_db_type(connection) if field.is_relation else field.db_type(connection),
            )
        )
    return tuple(out)


def _document_execute(sql: str, document: str, *, fetch: bool) -> list[tuple]:
    """Run a statement whose one parameter is a JSON document, bound server-side.

    Django's cursors bind client-side: the document (hundreds of kilobytes for a batch) would be
    escaped into the statement text in Python. A plain psycopg cursor on the same connection and
    transaction sends it apart; errors are Django's as with any other cursor.
    """
    connection.ensure_connection()
    # The audit history's triggers read who is writing from the transaction's settings, which
    # Django's cursors set before each statement and this plain cursor must set itself, in the
    # same transaction as the statement.
    block = contextlib.nullcontext() if connection.in_atomic_block else transaction.atomic()
    with block, connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        history_context_set(cursor)
        cursor.execute(sql, [document])
        return cursor.fetchall() if fetch else []


def _followed(sql: str, then: str | None, returning: Sequence[str]) -> str:
    """The insert with `then` run on its returned rows (as `inserted`) in the same statement."""
    if not (then and returning):
        return sql
    return f"WITH inserted AS ({sql}), followed AS ({then}) SELECT * FROM inserted"


def rows_insert(
    model: type[Model],
    fields: Sequence[str],
    rows: Sequence[Sequence],
    *,
    conflict: Sequence[str] | None = None,
    returning: Sequence[str] = (),
    then: str | None = None,
) -> list[tuple]:
    """INSERT many rows, skipping those that hit the unique `conflict` columns.

    Returns the `returning` columns of the rows this statement actually inserted, which stays
    exact while a concurrent transaction inserts the same keys. `then` (PostgreSQL, with
    `returning`) is a statement run in the same round trip that reads those rows as `inserted`;
    the caller runs its equivalent itself on other databases.
    """
    if not rows:
        return []
    if connection.vendor == "postgresql":
        return _rows_insert_set_based(model, fields, rows, conflict, returning, then)
    return _rows_insert_orm(model, fields, rows, conflict, returning)


def _rows_insert_set_based(
    model: type[Model],
    fields: Sequence[str],
    rows: Sequence[Sequence],
    conflict: Sequence[str] | None,
    returning: Sequence[str],
    then: str | None,
) -> list[tuple]:
    table = model._meta.db_table
    columns = _columns(model, fields)
    names = ", ".join(column for column, _ in columns)
    tail = ""
    if conflict is not None:
        tail += f" ON CONFLICT ({', '.join(conflict)}) DO NOTHING"
    if returning:
        tail += f" RETURNING {', '.join(returning)}"
    document = _rows_json(rows, columns)
    if document is not None:
        # ORDER BY keeps the rows' order, so ids follow it as they did with unnest.
        select = f"SELECT {_json_select(columns)} FROM {JSON_ROWS} ORDER BY r.n"
        sql = _followed(f"INSERT INTO {table} ({names}) {select}{tail}", then, returning)
        return _document_execute(sql, document, fetch=bool(returning))
    arrays = ", ".join(f"%s::{db_type}[]" for _, db_type in columns)
    sql = f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays}){tail}"
    sql = _followed(sql, then, returning)
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(col) for col in zip(*rows, strict=True)])
        return cursor.fetchall() if returning else []


def _rows_insert_orm(
    model: type[Model],
    fields: Sequence[str],
    rows: Sequence[Sequence],
    conflict: Sequence[str] | None,
    returning: Sequence[str],
) -> list[tuple]:
    """rows_insert through bulk_create: the rows whose `conflict` key is stored, or came
    earlier in `rows`, are left out first (as ON CONFLICT DO NOTHING leaves them out)."""
    objs = [model(**dict(zip(fields, row, strict=True))) for row in rows]
    if conflict is not None:
        objs = _not_stored(model, objs, conflict)
    model.objects.bulk_create(objs)
    return [tuple(getattr(obj, name) for name in returning) for obj in objs] if returning else []


def _not_stored(model: type[Model], objs: list[Model], key: Sequence[str]) -> list[Model]:
    """The objects whose `key` values are neither stored nor those of an earlier object."""
    *head, last = key
    wanted: dict[tuple, set] = defaultdict(set)
    for obj in objs:
        wanted[tuple(getattr(obj, name) for name in head)].add(getattr(obj, last))
    seen: set[tuple] = set()
    for prefix, values in wanted.items():
        stored = model.objects.filter(
            **dict(zip(head, prefix, strict=True)), **{f"{last}__in": values}
        )
        seen.update(stored.values_list(*key))
    fresh = []
    for obj in objs:
        values = tuple(getattr(obj, name) for name in key)
        if values not in seen:
            seen.add(values)
            fresh.append(obj)
    return fresh


def rows_update(
    model: type[Model], fields: Sequence[str], rows: Sequence[Sequence], *, key: str = "id"
) -> None:
    """UPDATE many rows by key; each row is (*values for fields, key value). Other databases
    than PostgreSQL take bulk_update, which needs `key` to be the primary key."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        _rows_update_set_based(model, fields, rows, key)
    else:
        _rows_update_orm(model, fields, rows, key)


def _rows_update_orm(
    model: type[Model], fields: Sequence[str], rows: Sequence[Sequence], key: str
) -> None:
    objs = [model(**{key: row[-1]}, **dict(zip(fields, row[:-1], strict=True))) for row in rows]
    model.objects.bulk_update(objs, fields)


def _rows_update_set_based(
    model: type[Model], fields: Sequence[str], rows: Sequence[Sequence], key: str
) -> None:
    table = model._meta.db_table
    columns = _columns(model, fields)
    key_column, key_type = _columns(model, [key])[0]
    document = _rows_json(rows, [*columns, (key_column, key_type)])
    if document is not None:
        assignments = ", ".join(
            f"{column} = (r.v->>{i})::{db_type}" for i, (column, db_type) in enumerate(columns)
        )
        key_at = len(columns)
        sql = (
            f"UPDATE {table} AS t SET {assignments} FROM {JSON_ROWS} "
            f"WHERE t.{key_column} = (r.v->>{key_at})::{key_type}"
        )
        _document_execute(sql, document, fetch=False)
        return
    aliases = [f"v{i}" for i in range(len(columns))]
    assignments = ", ".join(
        f"{column} = v.{alias}" for (column, _), alias in zip(columns, aliases, strict=True)
    )
    arrays = ", ".join(f"%s::{db_type}[]" for _, db_type in [*columns, (None, key_type)])
    sql = (
        f"UPDATE {table} AS t SET {assignments} "
        f"FROM unnest({arrays}) AS v({', '.join(aliases)}, k) WHERE t.{key_column} = v.k"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(col) for col in zip(*rows, strict=True)])


def among(values: Sequence, cast: str = "bigint") -> RawSQL | list:
    """The values for `field__in=among(values)` with thousands of them.

    On PostgreSQL a subquery of one JSON document (encoded in C): the ORM binds `field__in=[...]`
    as one placeholder each, resolved one by one in Python, and a thousand of them cost more than
    the query. Elsewhere the list itself, bound by the ORM (SQLite takes up to 250,000).
    """
    if connection.vendor == "postgresql":
        document = json.dumps(list(values))
        return RawSQL(f"SELECT (jsonb_array_elements_text(%s::jsonb))::{cast}", [document])
    return list(values)


def ids_array(ids) -> str:
    """Integer ids as one PostgreSQL array literal, for `column = ANY(%s::int8[])` in raw SQL.
    Bound client-side, a list would be written out as a thousand constants for the server to
    parse and plan (twice the planning time); one literal's length is also what the planner
    reads, so it looks each id up by its key whatever it guesses of the rest of the query."""
    return "{" + ",".join(str(int(i)) for i in ids) + "}"


# Below this many rows the set-based INSERT costs as little as a COPY, and can skip conflicts.
COPY_MIN_ROWS = 200


def copy_usable(rows: int) -> bool:
    return connection.vendor == "postgresql" and rows >= COPY_MIN_ROWS


def ids_reserve(model: type[Model], count: int) -> list[int]:
    """`count` new primary keys from the table's sequence (PostgreSQL), ascending."""
    sequence = _sequences.get(model._meta.db_table)
    with connection.cursor() as cursor:
        if sequence is None:
            # Looked up once: in the statement below it would be looked up for every row.
            cursor.execute(
                "SELECT pg_get_serial_sequence(%s, %s)",
                [model._meta.db_table, model._meta.pk.column],
            )
            sequence = _sequences[model._meta.db_table] = cursor.fetchone()[0]
        cursor.execute(
            "SELECT nextval(%s::regclass) FROM generate_series(1, %s) ORDER BY 1",
            [sequence, count],
        )
        return [row[0] for row in cursor.fetchall()]


_sequences: dict[str, str] = {}  # table -> its primary key's sequence


def rows_copy(model: type[Model], fields: Sequence[str], rows: Sequence[Sequence]) -> None:
    """COPY rows into the table (PostgreSQL), in the caller's transaction.

    The fastest way in: no statement per row and no JSON to unpack on the server; the binary
    format, with every column's type declared, has psycopg's C dumpers write each value (a
    datetime costs a tenth of what its text form does, which was most of the import's Python
    time). It cannot skip a conflict: a row hitting a unique key fails the whole COPY with an
    IntegrityError, so it is for rows the caller knows to be new (and retries otherwise).
    """
    if not rows:
        return
    columns = _columns(model, fields)
    names = ", ".join(column for column, _ in columns)
    types = [db_type.split("(")[0].strip() for _, db_type in columns]
    numeric = [i for i, db_type in enumerate(types) if db_type == "numeric"]
    if numeric:
        rows = [_whole_as_int(row, numeric) for row in rows]
    connection.ensure_connection()
    with (
        connection.wrap_database_errors,
        psycopg.Cursor(connection.connection) as cursor,
    ):
        # The audit history's triggers read who is writing from the transaction's settings.
        history_context_set(cursor)
        with cursor.copy(
            f"COPY {model._meta.db_table} ({names}) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(types)
            for row in rows:
                copy.write_row(row)


def _whole_as_int(row: Sequence, columns: list[int]) -> Sequence:
    """The row with whole Decimals in these columns as ints: psycopg writes an int in the binary
    format of a numeric column in a tenth of the time a Decimal takes (2 µs), and amounts are
    mostly whole. The column's scale applies as for any value."""
    row = list(row)
    for i in columns:
        value = row[i]
        if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
            row[i] = int(value)
    return row
