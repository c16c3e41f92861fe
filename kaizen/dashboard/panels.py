"""What the dashboard panels show, built from snapshot values (pure; no ORM, no I/O).

- ``value_stream``: the funnel the lean way: per stage a process box with its data box,
  the weekly flow into it, the deals waiting in it and a lead-time ladder of median days;
- ``verdict_why``: the figures behind a verdict in words a sales leader reads;
- ``weekly_series`` / ``conversion_series``: the series the process behaviour charts plot.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from funnel.metrics import intervals
from funnel.metrics.intervals import wilson_interval

STATION_LABELS = {
    "market": "Market",
    "marketing": "Marketing",
    "qualifying": "Nurturing & qualifying",
    "selling": "Selling",
    "servicing": "Servicing",
}
SIGNAL_WORDS = {
    "beyond_chance": "routine variation alone falls this far short",
}


@dataclass(frozen=True)
class StageBox:
    position: int
    slug: str
    name: str
    station: str
    entered_per_week: float
    lost_per_week: float
    conversion: float | None
    low: float | None
    high: float | None
    n: int
    target: float | None
    target_source: str | None
    gap: float | None
    signal: bool
    shortfall: bool
    median_days: float | None
    p85_days: float | None
    target_days: float | None
    slow: bool
    slower: dict | None  # the days-in-stage contender, when slower than its capability
    wip: int
    aged_wip: int | None
    bottleneck: bool

    @property
    def station_label(self) -> str:
        return STATION_LABELS.get(self.station, self.station)


@dataclass(frozen=True)
class ValueStream:
    boxes: tuple[StageBox, ...]
    arrivals_per_week: float
    won_per_week: float
    lead_time_days: float | None  # sum of the stages' median days
    lead_time_p85_days: float | None
    weeks: int
    confidence: float | None


def _recent_rows(rows, recent_from: dt.date, recent_to: dt.date):
    return [r for r in rows if recent_from <= r.week < recent_to]


def value_stream(
    *, figures: dict, rows: Sequence, bottleneck_position: int | None, weeks: int = 13
) -> ValueStream | None:
    """The value stream map of a team from its verdict's figures and its weekly rows.

    Volumes (entered, lost per week) come from the same recent window as the verdict, so the
    boxes and the verdict card never disagree.
    """
    contenders = [
        c
        for c in figures.get("contenders", [])
        if c.get("stage_position") and c.get("metric") == "conversion"
    ]
    slower = {
        c["stage_position"]: c
        for c in figures.get("contenders", [])
        if c.get("metric") == "days" and c.get("signal")
    }
    flows = {f["stage_position"]: f for f in figures.get("flow", [])}
    if not contenders and not flows:
        return None
    recent_from = dt.date.fromisoformat(figures["recent_from"])
    recent_to = dt.date.fromisoformat(figures["recent_to"])
    weeks = max(1, (recent_to - recent_from).days // 7)
    recent = _recent_rows(rows, recent_from, recent_to)
    entered: dict[int, int] = {}
    lost: dict[int, int] = {}
    for r in recent:
        entered[r.position] = entered.get(r.position, 0) + r.entered
        lost[r.position] = lost.get(r.position, 0) + r.lost
    positions = sorted({c["stage_position"] for c in contenders} | set(flows))
    by_position = {c["stage_position"]: c for c in contenders}
    boxes = []
    for p in positions:
        c, f = by_position.get(p, {}), flows.get(p, {})
        boxes.append(
            StageBox(
                position=p,
                slug=c.get("slug") or f.get("slug") or "",
                name=c.get("name") or f.get("name") or f"Stage {p}",
                station=c.get("station") or f.get("station") or "",
                entered_per_week=entered.get(p, 0) / weeks,
                lost_per_week=lost.get(p, 0) / weeks,
                conversion=c.get("current"),
                low=c.get("low"),
                high=c.get("high"),
                n=c.get("n", 0),
                target=c.get("target"),
                target_source=c.get("target_source"),
                gap=c.get("gap") if isinstance(c.get("gap"), int | float) else None,
                signal=bool(c.get("signal")),
                shortfall=bool(c.get("shortfall")),
                median_days=f.get("median_days"),
                p85_days=f.get("p85_days"),
                target_days=f.get("target_days"),
                slow=bool(f.get("slow")),
                slower=slower.get(p),
                wip=f.get("wip", 0),
                aged_wip=f.get("aged_wip"),
                bottleneck=p == bottleneck_position,
            )
        )
    medians = [b.median_days for b in boxes]
    p85s = [b.p85_days for b in boxes]
    confidences = [c.get("confidence") for c in contenders if c.get("confidence")]
    return ValueStream(
        boxes=tuple(boxes),
        arrivals_per_week=entered.get(positions[0], 0) / weeks if positions else 0.0,
        won_per_week=figures.get("won_per_week") or 0.0,
        lead_time_days=sum(medians) if medians and None not in medians else None,
        lead_time_p85_days=sum(p85s) if p85s and None not in p85s else None,
        weeks=weeks,
        # Snapshots from before contenders kept their level: the one level the app uses.
        confidence=(confidences[0] if confidences else figures.get("confidence"))
        or intervals.CONFIDENCE,
    )


@dataclass(frozen=True)
class Why:
    """The verdict's arithmetic, ready to read."""

    name: str
    station_label: str
    metric: str
    current: float | None
    low: float | None
    high: float | None
    n: int
    target: float | None
    target_source: str | None
    capability_from: str | None
    gap: float | None
    signals: tuple[str, ...]
    p_value: float | None
    threshold: float | None
    won_per_week: float
    won_at_target: float | None
    confidence: float
    window: str = ""  # "24 Aug – 22 Nov 2026"


def window_label(recent_from: str, recent_to: str) -> str:
    """The recent window in words; ``recent_to`` is exclusive."""
    start = dt.date.fromisoformat(recent_from)
    end = dt.date.fromisoformat(recent_to) - dt.timedelta(days=1)
    if start.year != end.year:
        return f"{start:%-d %b %Y} – {end:%-d %b %Y}"
    return f"{start:%-d %b} – {end:%-d %b %Y}"


def verdict_why(figures: dict) -> Why | None:
    """The winning contender's figures: its current value with interval and n, its target and
    how the target was set, and which signal rule made the shortfall count."""
    position, station = figures.get("stage_position"), figures.get("station")
    metric = figures.get("metric") or ("conversion" if position else "arrivals")
    if figures.get("kind") != "bottleneck":
        return None
    winner = next(
        (
            c
            for c in figures.get("contenders", [])
            if (c.get("stage_position"), c.get("station"), c.get("metric"))
            == (position, station, metric)
        ),
        None,
    )
    if winner is None:
        return None
    won = figures.get("won_per_week") or 0.0
    gap = winner.get("gap") if isinstance(winner.get("gap"), int | float) else None
    return Why(
        name=winner.get("name") or "Arrivals",
        station_label=STATION_LABELS.get(station, station or ""),
        metric=winner["metric"],
        current=winner.get("current"),
        low=winner.get("low"),
        high=winner.get("high"),
        n=winner.get("n", 0),
        target=winner.get("target"),
        target_source=winner.get("target_source"),
        capability_from=(
            f"{dt.date.fromisoformat(winner['capability_from']):%-d %b %Y}"
            if winner.get("capability_from")
            else None
        ),
        gap=gap,
        signals=tuple(SIGNAL_WORDS.get(s, s) for s in winner.get("signal_by", [])),
        p_value=winner.get("p_value"),
        threshold=winner.get("threshold"),
        won_per_week=won,
        won_at_target=won + gap if gap is not None else None,
        confidence=winner.get("confidence") or intervals.CONFIDENCE,
        window=window_label(figures["recent_from"], figures["recent_to"]),
    )


def ranked_contenders(figures: dict, limit: int = 4) -> list[dict]:
    """The contenders with a positive gap, largest first: what else is short of target."""
    gaps = [
        c
        for c in figures.get("contenders", [])
        if isinstance(c.get("gap"), int | float) and c["gap"] > 0
    ]
    return sorted(gaps, key=lambda c: -c["gap"])[:limit]


def weekly_series(
    rows: Sequence, *, position: int, field: str, weeks: Sequence[dt.date]
) -> list[float]:
    """One stage's weekly count (``entered``, ``advanced`` or ``lost``) on a fixed calendar."""
    values = {r.week: getattr(r, field) for r in rows if r.position == position}
    return [float(values.get(w, 0)) for w in weeks]


def week_calendar(end: dt.date, weeks: int) -> list[dt.date]:
    return [end - dt.timedelta(weeks=weeks - i) for i in range(weeks)]


@dataclass(frozen=True)
class ConversionSeries:
    periods: list[dt.date]
    values: list[float | None]
    weeks_per_period: int
    min_decided: int


def conversion_series(
    rows: Sequence, *, position: int, weeks: Sequence[dt.date], min_decided: int = 10
) -> ConversionSeries:
    """A stage's conversion per period. A rate from three decided deals is mostly noise, so
    weeks are pooled into periods of 2 or 4 weeks when that is what it takes for a typical
    period to have ``min_decided`` decided deals; periods still below it are left out."""
    advanced = weekly_series(rows, position=position, field="advanced", weeks=weeks)
    lost = weekly_series(rows, position=position, field="lost", weeks=weeks)
    decided = [a + b for a, b in zip(advanced, lost, strict=True)]
    for k in (1, 2, 4):
        pooled = [sum(decided[i : i + k]) for i in range(len(weeks) % k, len(weeks), k)]
        typical = sorted(pooled)[len(pooled) // 2] if pooled else 0
        if typical >= min_decided:
            break
    start = len(weeks) % k
    periods, values = [], []
    for i in range(start, len(weeks), k):
        a, d = sum(advanced[i : i + k]), sum(decided[i : i + k])
        periods.append(weeks[i])
        values.append(a / d if d >= min_decided else None)
    return ConversionSeries(periods, values, k, min_decided)


def interval_95(successes: float, n: int) -> tuple[float | None, float | None]:
    rate = wilson_interval(int(round(successes)), n)
    return rate.low, rate.high


def fmt_days(days: float | None) -> str:
    if days is None or (isinstance(days, float) and math.isnan(days)):
        return "—"
    return f"{days:.0f} d" if days >= 10 else f"{days:.1f} d"
