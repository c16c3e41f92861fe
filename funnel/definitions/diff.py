"""What changed between two versions of a definition: field by field, criteria added/removed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

TEXT_FIELDS = (
    ("meaning", "Meaning"),
    ("how_measured", "How it is measured"),
    ("examples", "Examples"),
    ("non_examples", "Non-examples"),
)


class VersionLike(Protocol):
    meaning: str
    criteria: list[str]
    how_measured: str
    examples: str
    non_examples: str


@dataclass(frozen=True, slots=True)
class VersionChange:
    field: str
    label: str
    before: str = ""
    after: str = ""
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


def _norm(text: str) -> str:
    return " ".join((text or "").split())


def version_changes(old: VersionLike, new: VersionLike) -> list[VersionChange]:
    """The fields whose text differs (whitespace aside) and the criteria added or removed.

    Criteria are compared as a set of normalised sentences: reordering them is no change.
    """
    changes = []
    for name, label in TEXT_FIELDS:
        before, after = getattr(old, name), getattr(new, name)
        if _norm(before) != _norm(after):
            changes.append(VersionChange(name, label, before=before, after=after))
    old_criteria = {_norm(c): c for c in old.criteria}
    new_criteria = {_norm(c): c for c in new.criteria}
    added = tuple(c for k, c in new_criteria.items() if k not in old_criteria)
    removed = tuple(c for k, c in old_criteria.items() if k not in new_criteria)
    if added or removed:
        changes.append(
            VersionChange("criteria", "Observable criteria", added=added, removed=removed)
        )
    return changes
