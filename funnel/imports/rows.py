"""Rows of an export -> stage events and observations, with every problem by row and column.

Pure computation over plain values (the service gathers the team's stages, characteristics and
members first), so a whole file is checked before anything is written.

Event ids are derived from the row's content (`csv:<deal>:<stage or outcome>:<time>`), so
importing the same file again, or a later export of the same CRM, adds only what is new.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from funnel.bounds import storable, text_problem
from funnel.imports.columns import mapping_errors
from funnel.imports.parsing import CsvTable
from funnel.imports.plan import (
    CharacteristicFacts,
    ImportPlan,
    ObservationIn,
    PlanRow,
    RowError,
    TeamFacts,
    event_id_for,
    imported_owner_email,
)
from funnel.imports.reader import RowReader
from funnel.ingest import EventIn


def import_plan(table: CsvTable, mapping: dict, facts: TeamFacts) -> ImportPlan:
    """Every row converted, or every problem found; nothing is written here."""
    builder = PlanBuilder(table, mapping, facts)
    if not builder.mapping_failed:
        builder.add(table.rows)
    return builder.finish()


class PlanBuilder:
    """Converts a file's rows a slice at a time, in file order, so an import can write the rows
    already converted while it converts the next ones. `plan.errors` holds the problems with the
    mapping and the row errors found so far; `failed` tells whether there are any."""

    def __init__(self, table: CsvTable, mapping: dict, facts: TeamFacts, *, skip_bad=False):
        self.plan = ImportPlan()
        # Skipping bad rows, the rows with a problem are left out and the rest is written.
        self.skip_bad = skip_bad
        self.overlong = {number for number, _ in table.overlong}
        self.reader = RowReader(table, mapping, facts, self.plan)
        self.deals_shape = mapping["shape"] == "deals"
        self.first_only = mapping["on_repeated_deal"] == "first"
        self.convert = _deal_row if self.deals_shape else _event_row
        self.seen: dict[str, tuple[int, list[str]]] = {}
        self.plan.errors.extend(mapping_errors(mapping, self.reader.columns, facts))
        # With a mapping that does not fit, rows cannot be converted at all.
        self.mapping_failed = bool(self.plan.errors)
        if not self.mapping_failed:
            for number, count in table.overlong:
                self.plan.errors.append(
                    RowError(
                        number, "", f"{count} cells, but the header names {len(table.header)}."
                    )
                )

    @property
    def failed(self) -> bool:
        if self.skip_bad:
            return self.mapping_failed
        return bool(self.plan.errors or self.reader.errors)

    def add(self, rows: Sequence[tuple[int, list[str]]]) -> list[PlanRow]:
        """Convert these rows (the next ones of the file); returns those without errors."""
        reader, seen, convert = self.reader, self.seen, self.convert
        errors = reader.errors
        deal_column = reader.columns.index.get("deal_id")
        out: list[PlanRow] = []
        overlong = self.overlong
        for number, cells in rows:
            if number in overlong:
                continue  # reported with the mapping's problems
            if not storable("\n".join(cells)):
                for i, cell in enumerate(cells):
                    if problem := text_problem(cell):
                        reader.error(number, i, problem)
                continue
            deal = cells[deal_column].strip() if deal_column is not None else ""
            if self.deals_shape and deal in seen:
                first, first_cells = seen[deal]
                if first_cells == cells or self.first_only:
                    self.plan.skipped_rows += 1
                else:
                    reader.error(number, "deal_id", f"Deal {deal} already appears in row {first}.")
                continue
            seen[deal] = (number, cells)
            before = len(errors)
            events, observations = convert(reader, number, cells, deal)
            if len(errors) == before:
                out.append((number, events, observations))
        self.plan.rows.extend(out)
        return out

    def new_characteristics(self) -> dict[str, tuple[str, list[str]]]:
        """The columns that become characteristics, with the values converted so far."""
        values = self.reader.new_values
        return {
            slug: (name, sorted(values[slug]))
            for slug, name in self.reader.columns.new_characteristics.items()
        }

    def finish(self) -> ImportPlan:
        self.plan.errors.extend(self.reader.errors)
        self.reader.errors = []
        self.plan.new_characteristics = self.new_characteristics()
        return self.plan


def _deal_id_check(reader: RowReader, number: int, deal: str) -> None:
    if not deal:
        reader.error(number, "deal_id", "A deal id is required.")
    elif len(deal) > 100:
        reader.error(number, "deal_id", "Must be at most 100 characters.")


def _deal_row(reader: RowReader, number: int, cells: list[str], deal: str):
    """One row per deal: its dated stage entries, then its current stage or outcome."""
    if not deal or len(deal) > 100:
        _deal_id_check(reader, number, deal)
    created_at, closed_at = reader.created_column, reader.closed_column
    created = reader.date(number, cells, created_at) if created_at is not None else None
    closed = reader.date(number, cells, closed_at) if closed_at is not None else None
    entered: dict[str, dt.datetime] = {}
    for i, slug in reader.columns.entered:
        if (value := reader.date(number, cells, i)) is not None:
            entered[slug] = value
    if created is not None and reader.created_stage not in entered:
        entered[reader.created_stage] = created
    stage, outcome = reader.stage_value(number, cells)
    if outcome and (i := reader.outcome_dates[outcome]) is not None and cells[i].strip():
        closed = reader.date(number, cells, i)  # Pipedrive's "Won time" / "Lost time"
    attributes = reader.attributes(number, cells)
    lost_reason = reader.cell(cells, "lost_reason") if outcome == "lost" else ""
    if len(lost_reason) > 200:
        reader.error(number, "lost_reason", "Must be at most 200 characters.")
    dated = list(entered.items())
    if len(dated) > 1:
        dated.sort(key=lambda item: item[1])
    latest = dated[-1][1] if dated else None
    final_at = None
    if outcome:
        final_at = closed or reader.default_date
        if final_at is None and not reader.cell(cells, "closed_at"):  # (not: a bad date)
            where = "closed_at" if reader.closed_column is not None else f"{outcome}_at"
            reader.error(number, where, f"A {outcome} deal needs a closed date.")
        elif final_at is not None and latest is not None and final_at < latest:
            reader.error(number, "closed_at", "The closed date is before the deal's other dates.")
    elif stage:
        final_at = entered.get(stage) or latest or reader.default_date
        if final_at is None:
            reader.error(
                number, "stage", "No date for this row: map a date column or set a default date."
            )
    elif not dated:
        reader.error(number, "stage", "No stage or outcome and no dated stage for this deal.")
    events = [
        EventIn(
            event_id=event_id_for(deal, slug, at),
            deal_external_id=deal,
            occurred_at=at,
            stage=slug,
            **attributes,
        )
        for slug, at in dated
    ]
    if final_at is not None and (outcome or entered.get(stage) != final_at):
        events.append(
            EventIn(
                event_id=event_id_for(deal, outcome or stage, final_at),
                deal_external_id=deal,
                occurred_at=final_at,
                stage=stage,
                outcome=outcome,
                lost_reason=lost_reason,
                **attributes,
            )
        )
    observed_at = final_at if outcome else (created or latest or final_at)
    return events, reader.observations(number, cells, deal, observed_at)


def _event_row(reader: RowReader, number: int, cells: list[str], deal: str):
    """One row per stage event."""
    _deal_id_check(reader, number, deal)
    occurred_at = reader.date(number, cells, reader.columns.index["occurred_at"])
    if occurred_at is None and not reader.cell(cells, "occurred_at"):
        reader.error(number, "occurred_at", "The event time is required.")
    stage, outcome = reader.stage_value(number, cells)
    if not stage and not outcome and not reader.cell(cells, "stage"):
        reader.error(number, "stage", "A stage or outcome is required.")
    attributes = reader.attributes(number, cells)
    event_id = reader.cell(cells, "event_id")
    if len(event_id) > 120:
        reader.error(number, "event_id", "Must be at most 120 characters.")
    if occurred_at is None or not (stage or outcome):
        return [], []
    lost_reason = reader.cell(cells, "lost_reason") if outcome == "lost" else ""
    event = EventIn(
        event_id=event_id or event_id_for(deal, outcome or stage, occurred_at),
        deal_external_id=deal,
        occurred_at=occurred_at,
        stage=stage,
        outcome=outcome,
        lost_reason=lost_reason[:200],
        **attributes,
    )
    return [event], reader.observations(number, cells, deal, occurred_at)


__all__ = [
    "CharacteristicFacts",
    "ImportPlan",
    "ObservationIn",
    "PlanBuilder",
    "RowError",
    "TeamFacts",
    "event_id_for",
    "import_plan",
    "imported_owner_email",
]
