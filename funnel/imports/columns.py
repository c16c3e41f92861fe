"""Where a mapping puts each target in a file's rows, and what is wrong with the mapping itself
(checked against the header row before any row is read)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.utils.text import slugify

from funnel.imports.plan import RowError, TeamFacts


class MappedColumns:
    """Where each target is in the row."""

    def __init__(self, header: Sequence[str], mapping: dict):
        self.header = list(header)
        self.index: dict[str, int] = {}
        self.entered: list[tuple[int, str]] = []
        self.characteristics: list[tuple[int, str]] = []
        self.new_characteristics: dict[str, str] = {}  # slug -> column name
        for i, name in enumerate(header):
            target = mapping["columns"].get(name, "ignore")
            kind, _, slug = target.partition(":")
            if target == "ignore":
                continue
            if kind == "entered":
                self.entered.append((i, slug))
            elif kind == "characteristic":
                self.characteristics.append((i, slug))
            elif target == "new_characteristic":
                slug = slugify(name)[:60] or f"column-{i + 1}"
                self.characteristics.append((i, slug))
                self.new_characteristics[slug] = name
            else:
                self.index[target] = i

    def name(self, target: str) -> str:
        return self.header[self.index[target]] if target in self.index else target


def mapping_errors(mapping: dict, columns: MappedColumns, facts: TeamFacts) -> list[RowError]:
    """Problems with the mapping itself, reported against the header row (row 1)."""
    errors = []
    targets = [t for t in mapping["columns"].values() if t not in ("ignore", "new_characteristic")]
    for target in sorted({t for t in targets if targets.count(t) > 1}):
        errors.append(RowError(1, "", f"More than one column is mapped to {target!r}."))
    if "deal_id" not in columns.index:
        errors.append(RowError(1, "", "Map one column to the deal id."))
    if mapping["shape"] == "events":
        for target, label in (("occurred_at", "event time"), ("stage", "stage or outcome")):
            if target not in columns.index:
                errors.append(RowError(1, "", f"One row per event needs a column for the {label}."))
    elif not {"stage", "outcome"} & set(columns.index) and not columns.entered:
        errors.append(
            RowError(1, "", "Map the current stage or outcome, or a 'date entered' column.")
        )
    stages = {s.slug for s in facts.stages}
    for value, target in mapping["stage_values"].items():
        if target and target not in stages | {"won", "lost"}:
            errors.append(
                RowError(1, columns.name("stage"), f"{value!r} maps to unknown {target!r}.")
            )
    for _, slug in columns.characteristics:
        if slug not in facts.characteristics and slug not in columns.new_characteristics:
            errors.append(RowError(1, "", f"Unknown characteristic {slug!r}."))
    if mapping["default_date"]:
        try:
            dt.date.fromisoformat(mapping["default_date"])
        except ValueError:
            errors.append(RowError(1, "", "The default date must be written YYYY-MM-DD."))
    return errors
