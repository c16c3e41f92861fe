"""The edges of a team's data, which never decide a verdict by themselves (DESIGN.md §3):
the first weeks of a log, where only the quick outcomes have happened; a last week that may
be partial; the weeks after new deals stop; and a history whose data stopped altogether.
"""

import math
from collections.abc import Mapping, Sequence
from datetime import date, timedelta

from funnel.metrics.accounting import StageWeek, week_start
from funnel.metrics.flow import days_in_stage_counts

WeekDays = Mapping[int, Mapping[date, Sequence[tuple[float, int]]]]


def warm_up_weeks(days: Sequence[tuple[float, int]]) -> int:
    """Weeks at the start of a log before a stage's exits stop favouring its quick outcomes:
    the first (partial) week, and the stage's 85th percentile of days in stage after it."""
    p85 = days_in_stage_counts(days).p85
    return 1 + (math.ceil(p85 / 7) if p85 else 0)


def stage_starts(stage_weeks: Sequence[StageWeek], week_days: WeekDays | None) -> dict[int, date]:
    """Per stage, the first week its figures count from: after the log's warm-up from the
    stage's first entry (when its days are known), and not before its first decision (an
    export whose closes start later than its entries)."""
    first_entry: dict[int, date] = {}
    first_decision: dict[int, date] = {}
    for r in stage_weeks:
        if r.entered and r.week_start < first_entry.get(r.stage_position, date.max):
            first_entry[r.stage_position] = r.week_start
        if r.decided and r.week_start < first_decision.get(r.stage_position, date.max):
            first_decision[r.stage_position] = r.week_start
    starts = {}
    for position, entered in first_entry.items():
        days = [c for cells in (week_days or {}).get(position, {}).values() for c in cells]
        warm_end = entered + timedelta(weeks=warm_up_weeks(days))
        starts[position] = max(warm_end, first_decision.get(position, warm_end))
    return starts


def data_end(
    stage_weeks: Sequence[StageWeek], first_position: int | None, end: date
) -> tuple[date, str]:
    """The week the judged weeks end before, and why when it is earlier than ``end``.

    New deals are what every later figure lives on: after the last week with any, an export
    filtered by creation date only drains earlier deals, which reads as a market collapse and
    as slow, lossy stages. That week itself may be partial (an export that stops mid-week)."""
    arrivals = [
        r.week_start for r in stage_weeks if r.stage_position == first_position and r.entered
    ]
    newest = max((w for w in arrivals if w <= end), default=None)
    if newest is None or newest >= end:
        return end, ""
    later = [r.week_start for r in stage_weeks if (r.entered or r.decided) and r.week_start <= end]
    if max(later, default=newest) > newest:
        return newest, (
            f"No new deals after the week of {newest:%-d %b %Y}: the weeks after it only close "
            "earlier deals, so the verdict judges the complete weeks before it."
        )
    return newest, (
        f"Nothing arrived after the week of {newest:%-d %b %Y}, which may be partial (an export "
        "that stops mid-week): the verdict judges the complete weeks before it."
    )


def data_horizon(
    stage_weeks: Sequence[StageWeek], *, today: date, quiet_weeks: int = 1
) -> date | None:
    """The week a team's data stops, once it has stopped: the start of the week of its newest
    entry or decision, when nothing happened in the current week nor the ``quiet_weeks``
    complete weeks before it (an imported history, an export). None while data arrives.

    A history is judged as of that week's start: its own week may be partial (an export that
    stops mid-week), and the empty weeks after it are the export's edge, not the market's."""
    active = [r.week_start for r in stage_weeks if r.entered or r.advanced or r.lost]
    if not active:
        return None
    newest = max(active)
    if newest >= week_start(today) - timedelta(weeks=quiet_weeks):
        return None
    return newest
