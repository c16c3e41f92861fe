"""A deal export converted column-wise (polars), for the set-based write (funnel.imports.sets).

The file is read by polars' CSV reader, and each column is converted by its distinct values: an
export repeats a few hundred dates, owners, stages and labels many thousands of times, so each
distinct text goes once through the row reader's own conversion (funnel.imports.reader: the
same dates, amounts, owners, stages and characteristic values as the row-by-row path, the same
owners to create and the same new characteristic values), and the result is joined back onto the
rows. A deal row's events and observations are then built as columns.

Only a clean file of the common kind is converted here: one row per deal, each deal once. A
file with any problem (a bad cell, a deal twice, rows the CSV readers could disagree on) gives
None, and the caller takes the row-by-row path, which reports every problem by row and column
and writes nothing, or imports the file as it always did. Never a different result, only a
slower one.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from funnel.imports.columnar_events import UTC_TIME, deal_row_events
from funnel.imports.parsing import csv_decode, csv_delimiter
from funnel.imports.rows import PlanBuilder

CENT = Decimal("0.01")
# funnel.bounds' unstorable characters, as far as decoded text can hold them (no surrogates).
UNSTORABLE = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"
# Text columns of the deal and their limits (as the row reader checks them).
TEXT_LIMITS = (("account", 200), ("source", 120), ("department", 120))


class NotColumnar(Exception):
    """The file is not one the column-wise conversion takes; the row-by-row path does."""


@dataclass(slots=True)
class ColumnarPlan:
    """A clean deal export, converted. `events`: n (file order), deal, event_id, stage (slug or
    null), outcome, lost_reason, occurred_at. `deals`: deal, owner_email, amount, account,
    department, source (null: the file gives none). `observations`: deal, characteristic (slug),
    value, value_number, observed_at. `builder` holds the owners to create and the new
    characteristics' values, as the row-by-row path's would."""

    rows: int
    events: pl.DataFrame
    deals: pl.DataFrame
    observations: pl.DataFrame
    builder: PlanBuilder

    @property
    def newest_event(self) -> str | None:
        newest = self.events["occurred_at"].max() if self.events.height else None
        return newest.date().isoformat() if newest is not None else None


def columnar_read(content: bytes) -> pl.DataFrame | None:
    """The file's cells as text, its header the first row; None when polars cannot read it as
    the CSV module would (ragged rows, a stray quote)."""
    text = csv_decode(content)
    delimiter = csv_delimiter(text.split("\n", 1)[0])
    try:
        return pl.read_csv(
            io.BytesIO(text.encode()),
            separator=delimiter,
            has_header=False,
            infer_schema=False,
            empty_string_is_null=False,
        )
    except Exception:  # polars raises its own errors, by kind
        return None


def columnar_header(raw: pl.DataFrame) -> list[str]:
    """The header row as the CSV path reads it (each name stripped)."""
    return [(name or "").strip() for name in raw.row(0)] if raw.height else []


def columnar_plan(raw: pl.DataFrame, builder: PlanBuilder, *, rows: int) -> ColumnarPlan | None:
    """The file (columnar_read) converted column-wise, or None when the row-by-row path must
    take it. `builder` is a fresh one (no row added), made for the file's header, mapping and
    team; `rows` the rows the CSV module counted when the file was checked."""
    try:
        return _Converter(raw, builder).convert(rows)
    except NotColumnar:
        return None


class _Converter:
    def __init__(self, raw: pl.DataFrame, builder: PlanBuilder):
        self.raw, self.builder, self.reader = raw, builder, builder.reader
        self.columns = self.reader.columns

    def _check(self, ok: bool) -> None:
        if not ok or self.reader.errors or self.builder.plan.errors:
            raise NotColumnar()

    def _cells(self, frame: pl.DataFrame, i: int) -> pl.Series:
        return frame.get_column(frame.columns[i]).fill_null("").str.strip_chars()

    def _by_value(
        self, cells: pl.Series, convert: Callable[[str], object], dtype: pl.DataType
    ) -> pl.Series:
        """Each cell converted through `convert`, called once per distinct (stripped) text; an
        empty cell gives null without a call. Any problem the conversion reports: NotColumnar."""
        table = {text: convert(text) for text in cells.unique().to_list() if text}
        self._check(True)
        return _replaced(cells, table, dtype)

    def convert(self, expected_rows: int) -> ColumnarPlan:
        builder, columns = self.builder, self.columns
        self._check(builder.deals_shape and not builder.mapping_failed and not builder.overlong)
        raw = self.raw
        frame = raw.slice(1)
        self._check(
            columnar_header(raw) == columns.header and len(frame.columns) == len(columns.header)
        )
        if frame.height:  # a row of blank cells is not a row
            frame = frame.filter(
                pl.concat_str([pl.col(c).fill_null("") for c in frame.columns])
                .str.strip_chars()
                .str.len_chars()
                > 0
            )
        # The CSV module counted the same rows (no blank lines, quoted line breaks read alike).
        self._check(frame.height == expected_rows)
        for name in frame.columns:
            # Bad characters: the row-by-row path names them cell by cell.
            self._check(not frame[name].fill_null("").str.contains(UNSTORABLE).any())
        index = columns.index
        deal = self._cells(frame, index["deal_id"])
        lengths = deal.str.len_chars()
        self._check(
            frame.height > 0
            and lengths.min() > 0
            and lengths.max() <= 100
            and deal.n_unique() == frame.height
        )
        out = pl.DataFrame({"n": pl.int_range(frame.height, eager=True), "deal": deal})
        out = out.with_columns(self._attributes(frame))
        dates = self._dates(frame)
        out = out.with_columns(dates)
        out = out.with_columns(self._stage(frame))
        events, finals = deal_row_events(out, self.reader, self._check)
        observations = self._observations(frame, out.select("deal"), finals)
        deals = out.select(
            "deal",
            *(c for c in ("owner_email", "amount", "account", "department", "source")),
        )
        return ColumnarPlan(
            rows=frame.height,
            events=events,
            deals=deals,
            observations=observations,
            builder=builder,
        )

    # -- attributes --------------------------------------------------------------------------

    def _attributes(self, frame: pl.DataFrame) -> list[pl.Series]:
        reader, index = self.reader, self.columns.index
        out = []
        for name, limit in TEXT_LIMITS:
            if name in index:
                cells = self._cells(frame, index[name])
                self._check((cells.str.len_chars().max() or 0) <= limit)
                out.append(_blank_null(cells).alias(name))
            else:
                out.append(pl.Series(name, [None] * frame.height, dtype=pl.String))
        if "amount" in index:
            cells = self._cells(frame, index["amount"])
            # Quantized as the ingest stores it (to the cent, half to even), as text.
            out.append(
                self._by_value(cells, lambda t: _cents(reader.amount_value(0, t)), pl.String).alias(
                    "amount"
                )
            )
        else:
            out.append(pl.Series("amount", [None] * frame.height, dtype=pl.String))
        if "owner" in index:
            cells = self._cells(frame, index["owner"])
            out.append(
                self._by_value(cells, lambda t: reader.owner_email(0, t), pl.String).alias(
                    "owner_email"
                )
            )
        else:
            out.append(pl.Series("owner_email", [None] * frame.height, dtype=pl.String))
        return out

    # -- dates and stage ---------------------------------------------------------------------

    def _date(self, frame: pl.DataFrame, i: int) -> pl.Series:
        def convert(text: str) -> dt.datetime | None:
            value, problem = self.reader._date_check(text)
            if problem:
                raise NotColumnar(problem)
            return value

        return self._by_value(self._cells(frame, i), convert, UTC_TIME)

    def _dates(self, frame: pl.DataFrame) -> list[pl.Series]:
        reader, index = self.reader, self.columns.index
        out = []
        for name in ("created_at", "closed_at"):
            if name in index:
                out.append(self._date(frame, index[name]).alias(name))
            else:
                out.append(pl.Series(name, [None] * frame.height, dtype=UTC_TIME))
        for outcome, i in reader.outcome_dates.items():
            if i is not None:
                out.append(self._date(frame, i).alias(f"{outcome}_at"))
            else:
                out.append(pl.Series(f"{outcome}_at", [None] * frame.height, dtype=UTC_TIME))
        for k, (i, _) in enumerate(self.columns.entered):
            out.append(self._date(frame, i).alias(f"entered_{k}"))
        return out

    def _stage(self, frame: pl.DataFrame) -> list[pl.Series]:
        reader, index = self.reader, self.columns.index
        empty = pl.Series([""] * frame.height, dtype=pl.String)
        outcome_cells = self._cells(frame, index["outcome"]) if "outcome" in index else empty
        stage_cells = self._cells(frame, index["stage"]) if "stage" in index else empty
        pairs = pl.DataFrame({"o": outcome_cells, "s": stage_cells})
        distinct = pairs.unique()
        converted = [reader.stage_of(0, o, s) for o, s in distinct.iter_rows()]
        self._check(True)
        table = distinct.with_columns(
            pl.Series("stage", [s for s, _ in converted], dtype=pl.String),
            pl.Series("outcome", [o for _, o in converted], dtype=pl.String),
        )
        joined = pairs.join(table, on=["o", "s"], how="left", maintain_order="left")
        lost_reason = self._cells(frame, index["lost_reason"]) if "lost_reason" in index else empty
        self._check((lost_reason.str.len_chars().max() or 0) <= 200)
        return [joined["stage"], joined["outcome"], lost_reason.alias("lost_reason_cell")]

    # -- events ------------------------------------------------------------------------------

    # -- observations ------------------------------------------------------------------------

    def _observations(
        self, frame: pl.DataFrame, deals: pl.DataFrame, observed: pl.Series
    ) -> pl.DataFrame:
        reader = self.reader
        parts = []
        for i, slug in self.columns.characteristics:
            cells = self._cells(frame, i)

            def convert(text: str, i: int = i, slug: str = slug) -> tuple:
                return reader.characteristic_value(0, i, slug, text)

            table = {t: convert(t) for t in cells.unique().to_list() if t}
            self._check(all(v is not None for v, _ in table.values()))
            value = _replaced(cells, {t: v for t, (v, _) in table.items()}, pl.String)
            number = _replaced(cells, {t: x for t, (_, x) in table.items()}, pl.Float64)
            part = pl.DataFrame(
                {
                    "n": pl.int_range(frame.height, eager=True),
                    "deal": deals["deal"],
                    "characteristic": pl.Series([slug] * frame.height, dtype=pl.String),
                    "value": value,
                    "value_number": number,
                    "observed_at": observed,
                }
            ).filter(cells != "")
            self._check(part["observed_at"].null_count() == 0)
            parts.append(part)
        if not parts:
            return pl.DataFrame(
                schema={
                    "n": pl.Int64,
                    "deal": pl.String,
                    "characteristic": pl.String,
                    "value": pl.String,
                    "value_number": pl.Float64,
                    "observed_at": UTC_TIME,
                }
            )
        return pl.concat(parts).sort("n", maintain_order=True)


def _replaced(cells: pl.Series, table: dict, dtype: pl.DataType) -> pl.Series:
    """Each cell's value in `table` (null when it has none)."""
    if not table:
        return pl.Series(cells.name, [None] * len(cells), dtype=dtype)
    keys = list(table)
    return cells.replace_strict(keys, [table[k] for k in keys], default=None, return_dtype=dtype)


def _blank_null(cells: pl.Series) -> pl.Series:
    return pl.DataFrame({"c": cells}).select(pl.when(pl.col("c") != "").then(pl.col("c")))["c"]


def _cents(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount.quantize(CENT))
