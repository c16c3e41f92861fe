"""Converting one row's cells: dates, stage, attributes and characteristic values, with each
problem by row and column. Used by the row-by-row conversion (funnel.imports.rows) and, value by
distinct value, by the column-wise one (funnel.imports.columnar)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from funnel.bounds import too_early
from funnel.imports.columns import MappedColumns
from funnel.imports.owners import owner_label
from funnel.imports.parsing import CsvTable, DateParser, amount_parse
from funnel.imports.plan import (
    DATE_FORMAT_LABELS,
    NO_WORDS,
    YES_WORDS,
    ImportPlan,
    ObservationIn,
    RowError,
    TeamFacts,
    imported_owner_email,
)
from funnel.ingest import FUTURE_TOLERANCE, MAX_AMOUNT


class RowReader:
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
        return self.stage_of(row, self.cell(cells, "outcome"), self.cell(cells, "stage"))

    def stage_of(self, row: int, outcome_text: str, raw: str) -> tuple[str | None, str | None]:
        """(stage slug, outcome) of a row's stripped outcome and stage cells."""
        status = outcome_text.lower()
        if status in ("won", "lost"):
            return None, status
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
            amount = self.amount_value(row, text)
            if amount is not None:
                values["amount"] = amount
        if owner := self.cell(cells, "owner"):
            email = self.owner_email(row, owner)
            if email is not None:
                values["owner_email"] = email
        return values

    def amount_value(self, row: int, text: str) -> Decimal | None:
        """The amount a stripped, non-empty cell names, or None (and an error)."""
        amount = amount_parse(text, decimal_comma=self.mapping["decimal_comma"])
        if amount is None:
            self.error(row, "amount", f"{text!r} is not an amount.")
        elif amount < 0 or amount > MAX_AMOUNT:
            self.error(row, "amount", "Amount must be from 0 to 999,999,999,999.")
        else:
            return amount
        return None

    def owner_email(self, row: int, owner: str) -> str | None:
        """The email of the owner a stripped, non-empty cell names (one to create, when the
        mapping says so), or None (and an error)."""
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
        return email

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
