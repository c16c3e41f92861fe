"""Funnel accounting that is not biased (DESIGN.md §4).

A deal that reached stage k has passed every stage before k, also the ones it skipped; a won deal
has passed every stage; a deal lost before any stage was recorded was lost at the first. For each
stage a deal has entered, it either advanced (reached a later stage, or was won), was lost while
in it, or is still open in it. Conversion is advanced / (advanced + lost): open deals are
censored, neither failures nor dropped.

Week buckets: a deal counts as *entered* in the week it entered the stage and as *advanced* or
*lost* in the week it left the stage, the week the stage's outcome for it was decided. Weeks start
on Monday, in the time zone of the datetimes passed in.

The recompute pipeline may build ``StageWeek`` rows itself (e.g. with SQL); ``stage_weeks_from_
journeys`` and ``funnel_accounting`` build them from per-deal journeys for small data and tests.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from funnel.metrics.intervals import Rate, wilson_interval

DealOutcome = Literal["open", "won", "lost"]
PassageResult = Literal["advanced", "lost", "open"]


def week_start(moment: date | datetime) -> date:
    """The Monday of the week ``moment`` falls in."""
    day = moment.date() if isinstance(moment, datetime) else moment
    return day - timedelta(days=day.weekday())


def weeks_between(first: date, end: date) -> list[date]:
    """Week starts from the week of ``first`` up to, not including, the week of ``end``."""
    start, stop = week_start(first), week_start(end)
    return [start + timedelta(weeks=i) for i in range((stop - start).days // 7)]


@dataclass(frozen=True, slots=True)
class DealJourney:
    """One deal as the accounting sees it: the stages it entered and how it ended.

    ``visits`` are (stage position, entered_at) pairs in any order; a stage may appear more than
    once (a deal moved back). ``closed_at`` is set when the outcome is won or lost.
    """

    visits: tuple[tuple[int, datetime], ...]
    outcome: DealOutcome = "open"
    closed_at: datetime | None = None

    def __post_init__(self) -> None:
        if (self.outcome == "open") != (self.closed_at is None):
            raise ValueError("closed_at is set exactly when the outcome is won or lost")


@dataclass(frozen=True, slots=True)
class StagePassage:
    """One deal's passage through one stage. ``left_at`` is None while the deal is open in it;
    ``skipped`` when the deal never recorded being in it (it passed it by reaching a later one)."""

    stage_position: int
    entered_at: datetime
    left_at: datetime | None
    result: PassageResult
    skipped: bool = False


def stage_passages(journey: DealJourney, *, stage_positions: Sequence[int]) -> list[StagePassage]:
    """The stages a deal has passed or is in, with when it entered and left each.

    Entering a stage it skipped happens when it reached the later stage; leaving a stage happens
    when it first reached any later stage, else when it was closed. Moving back does not undo
    progress: a deal that reached a stage has passed the ones before it.
    """
    positions = sorted(stage_positions)
    won = journey.outcome == "won"
    visits = sorted(journey.visits, key=lambda visit: visit[0])
    if not visits and journey.outcome == "lost" and journey.closed_at and positions:
        # A deal lost before any stage was recorded (a win/loss export) was in the funnel: it
        # is lost at the first stage, which it never recorded being in.
        at = journey.closed_at
        return [StagePassage(positions[0], at, at, "lost", skipped=True)]
    if not visits and not (won and journey.closed_at):
        return []
    furthest = positions[-1] if won else visits[-1][0]
    # Scan stages from the last down, consuming visits, so each deal costs O(stages + visits).
    passages: list[StagePassage] = []
    earliest_beyond: datetime | None = None  # earliest entry into a stage after the current one
    v = len(visits) - 1
    for position in reversed(positions):
        if position > furthest:
            continue
        earliest_here = earliest_beyond
        skipped = True
        while v >= 0 and visits[v][0] >= position:
            at = visits[v][1]
            skipped = skipped and visits[v][0] != position
            if visits[v][0] > position:
                earliest_beyond = at if earliest_beyond is None else min(earliest_beyond, at)
            earliest_here = at if earliest_here is None else min(earliest_here, at)
            v -= 1
        left_at = earliest_beyond
        if left_at is not None or won:
            result: PassageResult = "advanced"
            left_at = left_at if left_at is not None else journey.closed_at
        elif journey.outcome == "lost":
            result, left_at = "lost", journey.closed_at
        else:
            result = "open"
        entered_at = earliest_here if earliest_here is not None else journey.closed_at
        passages.append(StagePassage(position, entered_at, left_at, result, skipped))
        earliest_beyond = earliest_here
    passages.reverse()
    return passages


@dataclass(frozen=True, slots=True)
class StageWeek:
    """Counts for one stage in one week: deals that entered it, and deals whose passage through
    it was decided that week (advanced or lost)."""

    stage_position: int
    week_start: date
    entered: int = 0
    advanced: int = 0
    lost: int = 0

    @property
    def decided(self) -> int:
        return self.advanced + self.lost


def stage_weeks_from_journeys(
    journeys: Iterable[DealJourney], *, stage_positions: Sequence[int]
) -> list[StageWeek]:
    """Per stage per week counts from per-deal journeys, sorted by (stage, week).

    ``journeys`` may be a generator: each deal is read once, so a large team can be streamed.
    """
    counts: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0, 0, 0])
    weeks: dict[date, date] = {}  # day -> its Monday; most deals share a few hundred days

    def week_of(moment: datetime) -> date:
        day = moment.date()
        week = weeks.get(day)
        if week is None:
            week = weeks[day] = week_start(day)
        return week

    for journey in journeys:
        for passage in stage_passages(journey, stage_positions=stage_positions):
            counts[passage.stage_position, week_of(passage.entered_at)][0] += 1
            if passage.left_at is not None:
                slot = 1 if passage.result == "advanced" else 2
                counts[passage.stage_position, week_of(passage.left_at)][slot] += 1
    return [
        StageWeek(position, week, entered, advanced, lost)
        for (position, week), (entered, advanced, lost) in sorted(counts.items())
    ]


@dataclass(frozen=True, slots=True)
class StageAccount:
    """All-time accounting of one stage: entered = advanced + lost + open."""

    stage_position: int
    entered: int
    advanced: int
    lost: int
    open: int
    conversion: Rate  # advanced / (advanced + lost), Wilson 95 %


def stage_account(
    *, stage_position: int, advanced: int, lost: int, open: int, entered: int | None = None
) -> StageAccount:
    """A stage's account from its counts (the pipeline's SQL counts go in here)."""
    total = advanced + lost + open
    if entered is not None and entered != total:
        raise ValueError(f"stage {stage_position}: entered {entered} != {total} decided + open")
    return StageAccount(
        stage_position=stage_position,
        entered=total,
        advanced=advanced,
        lost=lost,
        open=open,
        conversion=wilson_interval(advanced, advanced + lost),
    )


def funnel_accounting(
    journeys: Iterable[DealJourney], *, stage_positions: Sequence[int]
) -> list[StageAccount]:
    """All-time accounting of every stage, in funnel order."""
    tally = {position: {"advanced": 0, "lost": 0, "open": 0} for position in stage_positions}
    for journey in journeys:
        for passage in stage_passages(journey, stage_positions=stage_positions):
            tally[passage.stage_position][passage.result] += 1
    return [
        stage_account(stage_position=position, **tally[position])
        for position in sorted(stage_positions)
    ]


def stage_conversion(
    stage_weeks: Iterable[StageWeek],
    *,
    stage_position: int,
    weeks_from: date | None = None,
    weeks_to: date | None = None,
) -> Rate:
    """Conversion of one stage over the deals decided in weeks [weeks_from, weeks_to)."""
    advanced = lost = 0
    for row in stage_weeks:
        if row.stage_position != stage_position:
            continue
        if (weeks_from and row.week_start < weeks_from) or (
            weeks_to and row.week_start >= weeks_to
        ):
            continue
        advanced += row.advanced
        lost += row.lost
    return wilson_interval(advanced, advanced + lost)


@dataclass(frozen=True, slots=True)
class StageSeries:
    """Weekly series of one stage, aligned with ``weeks`` (zero where nothing happened)."""

    stage_position: int
    weeks: tuple[date, ...]
    entered: tuple[int, ...]
    advanced: tuple[int, ...]
    lost: tuple[int, ...]

    @property
    def conversion(self) -> tuple[Rate, ...]:
        """Weekly conversion; n == 0 (rate None) in weeks where nothing was decided."""
        return tuple(
            wilson_interval(a, a + b) for a, b in zip(self.advanced, self.lost, strict=True)
        )


def stage_series(
    stage_weeks: Iterable[StageWeek], *, stage_position: int, weeks: Sequence[date]
) -> StageSeries:
    """One stage's weekly counts on a fixed calendar of week starts (e.g. ``weeks_between``)."""
    index = {week: i for i, week in enumerate(weeks)}
    entered, advanced, lost = [0] * len(weeks), [0] * len(weeks), [0] * len(weeks)
    for row in stage_weeks:
        i = index.get(row.week_start)
        if row.stage_position == stage_position and i is not None:
            entered[i] += row.entered
            advanced[i] += row.advanced
            lost[i] += row.lost
    return StageSeries(stage_position, tuple(weeks), tuple(entered), tuple(advanced), tuple(lost))
