"""Rows of an export -> stage events and observations, with every problem by row and column.

Pure computation over plain values (the service gathers the team's stages, characteristics and
members first), so a whole file is checked before anything is written.

Event ids are derived from the row's content (`csv:<deal>:<stage or outcome>:<time>`), so
importing the same file again, or a later export of the same CRM, adds only what is new.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from funnel.bounds import storable, text_problem, too_early
from funnel.imports.columns import MappedColumns, mapping_errors
from funnel.imports.owners import owner_label
from funnel.imports.parsing import CsvTable, DateParser, amount_parse
from funnel.imports.plan import (
    DATE_FORMAT_LABELS,
    NO_WORDS,
    YES_WORDS,
    CharacteristicFacts,
    ImportPlan,
    ObservationIn,
    PlanRow,
    RowError,
    TeamFacts,
    event_id_for,
    imported_owner_email,
)
from funnel.ingest import FUTURE_TOLERANCE, MAX_AMOUNT, EventIn


class _RowReader:
    """Converts one row at a time; collects errors as it goes."""

    def __init__(self, table: CsvTable, mapping: dict, facts: TeamFacts, plan: ImportPlan):
        self.mapping, self.facts, self.plan = mapping, facts, plan
        self.columns = MappedColumns(table.header, mapping)
        self.dates = DateParser(mapping["date_format"], facts.tz)
        self.latest_allowed = facts.now + FUTURE_TOLERANCE
        default = mapping["default_date"]
        self.default_date = self.dates(default) if default and _is_iso(default) else None
        self.created_stage = facts.stages[0].slug if facts.stages else ""
        self.stage_values = {k.strip(): v for k, v in mapping["stage_values"].items()}
        self.new_values: dict[str, set[str]] = {s: set() for s in self.columns.new_characteristics}
        self.errors: list[RowError] = []
        self.checked_dates: dict[str, tuple[dt.datetime | None, str | None]] = {}
        # Where the deal's attributes are, found once (every row reads them).
        index = self.columns.index
        self.text_columns = [
            (name, index[name], limit)
            for name, limit in (("account", 200), ("source", 120), ("department", 120))
            if name in index
        ]
        self.amount_column = index.get("amount")
        self.created_column = index.get("created_at")
        self.closed_column = index.get("closed_at")
        self.outcome_dates = {"won": index.get("won_at"), "lost": index.get("lost_at")}
        self.owner_names = mapping.get("owner_names") or {}

    def error(self, row: int, target_or_index: str | int, message: str) -> None:
        if isinstance(target_or_index, int):
            column = self.columns.header[target_or_index]
        else:
            column = self.columns.name(target_or_index)
        self.errors.append(RowError(row, column, message))

    def cell(self, cells: list[str], target: str) -> str:
        i = self.columns.index.get(target)
        return cells[i].strip() if i is not None else ""

    def date(self, row: int, cells: list[str], i: int) -> dt.datetime | None:
        text = cells[i]
        checked = self.checked_dates.get(text)
        if checked is None:
            checked = self.checked_dates[text] = self._date_check(text.strip())
        value, problem = checked
        if problem:
            self.error(row, i, problem)
        return value

    def _date_check(self, text: str) -> tuple[dt.datetime | None, str | None]:
        """The date a cell names and what is wrong with it; an export repeats its dates."""
        if not text:
            return None, None
        value = self.dates(text)
        if value is None:
            label = DATE_FORMAT_LABELS[self.mapping["date_format"]]
            return None, f"{text!r} is not a date written {label}."
        if value > self.latest_allowed:
            return value, f"{text} is in the future."
        if too_early(value):
            return value, f"{text} is before 1 Jan 1970."
        return value, None

    def stage_value(self, row: int, cells: list[str]) -> tuple[str | None, str | None]:
        """(stage slug, outcome) of the row's stage column."""
        status = self.cell(cells, "outcome").lower()
        if status in ("won", "lost"):
            return None, status
        raw = self.cell(cells, "stage")
        if not raw:
            return None, None
        target = self.stage_values.get(raw)
        if not target:
            self.error(row, "stage", f"{raw!r} has no stage")
            return None, None
        return (None, target) if target in ("won", "lost") else (target, None)

    def attributes(self, row: int, cells: list[str]) -> dict:
        values: dict = {}
        for name, i, limit in self.text_columns:
            text = cells[i].strip()
            if len(text) > limit:
                self.error(row, name, f"Must be at most {limit} characters.")
            elif text:
                values[name] = text
        if self.amount_column is not None and (text := cells[self.amount_column].strip()):
            amount = amount_parse(text, decimal_comma=self.mapping["decimal_comma"])
            if amount is None:
                self.error(row, "amount", f"{text!r} is not an amount.")
            elif amount < 0 or amount > MAX_AMOUNT:
                self.error(row, "amount", "Amount must be from 0 to 999,999,999,999.")
            else:
                values["amount"] = amount
        if owner := self.cell(cells, "owner"):
            owner = owner_label(owner, self.owner_names)
            email = self.facts.owners.get(owner.lower())
            if email is None and self.mapping["create_missing_owners"] and "@" not in owner:
                email = self.plan.owners_to_create.setdefault(owner, imported_owner_email(owner))
            elif email is None and self.mapping["create_missing_owners"]:
                email = self.plan.owners_to_create.setdefault(owner, owner.lower())
            if email is None:
                self.error(
                    row,
                    "owner",
                    f"Unknown owner {owner!r}: not a rep or manager of this team "
                    "(or let the import add missing owners as reps).",
                )
            else:
                values["owner_email"] = email
        return values

    def observations(
        self, row: int, cells: list[str], deal: str, observed_at: dt.datetime | None
    ) -> list[ObservationIn]:
        out = []
        for i, slug in self.columns.characteristics:
            text = cells[i].strip()
            if not text:
                continue  # an empty cell is "not observed"; the text "None" is a value
            if observed_at is None:
                self.error(row, i, "No date to record this observation at.")
                continue
            value, number = self.characteristic_value(row, i, slug, text)
            if value is not None:
                out.append(ObservationIn(deal, slug, value, number, observed_at))
        return out

    def characteristic_value(
        self, row: int, i: int, slug: str, text: str
    ) -> tuple[str | None, float | None]:
        if len(text) > 200:
            self.error(row, i, "Must be at most 200 characters.")
            return None, None
        if slug in self.new_values:
            self.new_values[slug].add(text)
            return text, None
        facts = self.facts.characteristics[slug]
        if facts.kind == "yes_no":
            key = text.lower()
            if key in YES_WORDS or key in NO_WORDS:
                return ("yes" if key in YES_WORDS else "no"), None
            self.error(row, i, f"{text!r} is not yes or no.")
        elif facts.kind == "number":
            number = amount_parse(text, decimal_comma=self.mapping["decimal_comma"])
            if number is not None:
                return text, float(number)
            self.error(row, i, f"{text!r} is not a number.")
        else:
            canonical = {c.lower(): c for c in facts.choices}
            if not facts.choices:
                return text, None
            if text.lower() in canonical:
                return canonical[text.lower()], None
            self.error(row, i, f"{text!r} is not one of: {', '.join(facts.choices)}.")
        return None, None


def _is_iso(text: str) -> bool:
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", text))


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
        self.reader = _RowReader(table, mapping, facts, self.plan)
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


def _deal_id_check(reader: _RowReader, number: int, deal: str) -> None:
    if not deal:
        reader.error(number, "deal_id", "A deal id is required.")
    elif len(deal) > 100:
        reader.error(number, "deal_id", "Must be at most 100 characters.")


def _deal_row(reader: _RowReader, number: int, cells: list[str], deal: str):
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


def _event_row(reader: _RowReader, number: int, cells: list[str], deal: str):
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
