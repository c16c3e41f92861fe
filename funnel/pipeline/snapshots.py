"""Writing the StageMetric snapshot rows: only the cells a recompute changed.

A batch of events changes the figures of a few recent weeks; rewriting a team's whole history
of rows (stages x weeks) on every run cost more than computing it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from funnel.bulk import among, rows_update
from funnel.models import StageMetric

METRIC_FIELDS = (
    "stage_id",
    "station",
    "entered",
    "advanced",
    "lost",
    "conversion",
    "conversion_low",
    "conversion_high",
    "days_median",
    "days_p85",
)


def _plain(value):
    """Floats as Python floats (numpy's compare equal, but keep the stored form uniform)."""
    return float(value) if hasattr(value, "dtype") else value


def stage_metrics_sync(
    *,
    team_id: int | None,
    rows: Iterable[StageMetric],
    keys: set[tuple[int, dt.date]] | None = None,
) -> dict[str, int]:
    """Make the stored rows of a team (or the company, team_id None) equal `rows`; with
    `keys`, only the rows of those (position, week) cells (`rows` holds theirs).

    Returns how many rows were added, changed and removed.
    """
    stored = StageMetric.objects.filter(team_id=team_id)
    if team_id is None:
        stored = StageMetric.objects.filter(team__isnull=True)
    if keys is not None:
        if not keys:
            return {"added": 0, "changed": 0, "removed": 0}
        stored = stored.filter(position__in={p for p, _ in keys}, week__in={w for _, w in keys})
    current = {
        (position, week): (metric_id, tuple(values))
        for metric_id, position, week, *values in stored.values_list(
            "id", "position", "week", *METRIC_FIELDS
        )
        if keys is None or (position, week) in keys
    }
    added: list[StageMetric] = []
    changed: list[tuple] = []
    for row in rows:
        values = tuple(_plain(getattr(row, name)) for name in METRIC_FIELDS)
        old = current.pop((row.position, row.week), None)
        if old is None:
            for name, value in zip(METRIC_FIELDS, values, strict=True):
                setattr(row, name, value)
            added.append(row)
        elif old[1] != values:
            changed.append((*values, old[0]))
    gone = [metric_id for metric_id, _ in current.values()]
    if gone:
        StageMetric.objects.filter(id__in=among(gone))._raw_delete(StageMetric.objects.db)
    rows_update(StageMetric, METRIC_FIELDS, changed)
    StageMetric.objects.bulk_create(added, batch_size=2000)
    return {"added": len(added), "changed": len(changed), "removed": len(gone)}
