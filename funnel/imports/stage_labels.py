"""A file's stage labels that match none of the team's stages, as stages to create: in the
file's funnel order, each with a slug and a station. Pure functions over plain values.

The order: for each deal, the labels in the order the deal reached them (its rows by event time,
else as in the file); label A comes before B when more deals reach A before B than the other way
round, and the labels are ranked by how many others they come before (ties: first seen in the
file). A Salesforce history file, where deals skip stages and some go back, gets its typical
order; a one-row-per-deal file has no order within a deal, so its labels keep the file's order.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Sequence

from django.utils.text import slugify

from funnel.imports.mapping import stage_value_guess
from funnel.imports.parsing import CsvTable, DateParser

STATIONS = ("market", "marketing", "qualifying", "selling", "servicing")
# Words in a CRM's stage label that tell its station (DESIGN.md §1).
_STATION_WORDS: dict[str, tuple[str, ...]] = {
    "market": ("prospect", "lead", "inquiry", "enquiry", "inbound", "new", "identified", "mql"),
    "marketing": ("contact", "engag", "meeting", "discovery", "demo", "appointment", "sql"),
    "qualifying": ("qualif", "validat", "needs", "analysis", "nurtur", "assess"),
    "selling": ("proposal", "quote", "negotiat", "contract", "decision", "pricing", "commit"),
    "servicing": ("onboard", "implement", "handover", "hand over", "go live", "renewal"),
}
MAX_SLUG = 50


def labels_unmapped(stage_values: dict[str, str]) -> list[str]:
    """The labels mapped to nothing, without the ones that read as won or lost: those are
    outcomes, never stages."""
    return [
        label
        for label, target in stage_values.items()
        if not target and stage_value_guess(label, ()) not in ("won", "lost")
    ]


def labels_in_funnel_order(table: CsvTable, mapping: dict, labels: Sequence[str]) -> list[str]:
    """`labels` in the file's funnel order (see the module's docstring)."""
    columns = mapping["columns"]
    header = table.header
    stage_i = next((header.index(n) for n, t in columns.items() if t == "stage"), None)
    if stage_i is None:
        return list(labels)
    deal_i = next((header.index(n) for n, t in columns.items() if t == "deal_id"), None)
    time_i = next((header.index(n) for n, t in columns.items() if t == "occurred_at"), None)
    wanted = set(labels)
    first_seen: dict[str, int] = {}
    paths: dict[str, list[tuple[dt.datetime | None, int, str]]] = defaultdict(list)
    parse = DateParser(mapping.get("date_format") or "iso", dt.UTC)
    for n, (_, cells) in enumerate(table.rows):
        label = cells[stage_i].strip()
        if label not in wanted:
            continue
        first_seen.setdefault(label, n)
        deal = cells[deal_i].strip() if deal_i is not None else f"row {n}"
        when = parse(cells[time_i]) if time_i is not None else None
        paths[deal].append((when, n, label))
    before: dict[tuple[str, str], int] = defaultdict(int)
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    for steps in paths.values():
        steps.sort(key=lambda s: (s[0] or far, s[1]))
        seen = list(dict.fromkeys(label for _, _, label in steps))
        for i, a in enumerate(seen):
            for b in seen[i + 1 :]:
                before[a, b] += 1
    present = [label for label in labels if label in first_seen]
    wins = {a: sum(1 for b in present if before[a, b] > before[b, a]) for a in present}
    ordered = sorted(present, key=lambda a: (-wins[a], first_seen[a]))
    return ordered + [label for label in labels if label not in first_seen]


def station_guess(label: str, previous: str | None) -> str:
    """The station a label's words name; else the one after the previous stage's (the first for
    a team without stages), at most Selling: a stage before the deal is won is not servicing."""
    key = " ".join(re.sub(r"[^0-9a-z]+", " ", label.lower()).split())
    for station, words in _STATION_WORDS.items():
        if any(re.search(rf"\b{re.escape(w)}", key) for w in words):
            return station
    if previous is None:
        return STATIONS[0]
    i = STATIONS.index(previous) if previous in STATIONS else 0
    return STATIONS[min(i + 1, STATIONS.index("selling"))]


def slug_for(label: str, taken: set[str]) -> str:
    """A free slug for a label: 'Needs Analysis' -> 'needs-analysis' (then -2, -3, ...)."""
    base = slugify(label)[:MAX_SLUG].strip("-_") or "stage"
    if not base[0].isalnum():
        base = f"s{base}"[:MAX_SLUG]
    slug, n = base, 2
    while slug in taken:
        suffix = f"-{n}"
        slug, n = f"{base[: MAX_SLUG - len(suffix)]}{suffix}", n + 1
    return slug
