"""Template context for the dashboard pages, from what the selectors read (no queries here)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from django.urls import reverse

from funnel.metrics import intervals
from funnel.metrics.intervals import wilson_interval
from funnel.models import Verdict
from kaizen.charts.spark import sparkline
from kaizen.charts.xmr import XmrSvg, pct, per_week, xmr_svg
from kaizen.dashboard.company import CompanyDashboard
from kaizen.dashboard.panels import (
    STATION_LABELS,
    conversion_series,
    ranked_contenders,
    value_stream,
    verdict_why,
    week_calendar,
    weekly_series,
)
from kaizen.dashboard.selectors import CHART_WEEKS, TeamDashboard
from kaizen.models import Phase

VERDICT_LABELS = dict(Verdict.choices)


@dataclass(frozen=True)
class Move:
    at: object
    before: str
    after: str
    verdict: str


def verdict_place(status) -> str:
    """ "Proposal · Selling", "Arrivals · Market", or the verdict's name."""
    if status is None:
        return "Not computed yet"
    if status.verdict != Verdict.BOTTLENECK:
        return VERDICT_LABELS[status.verdict]
    name = status.stage.name if status.stage else None
    station = STATION_LABELS.get(status.station, status.station)
    if name is None:  # the company verdict names a station, not one team's stage
        position = (status.figures or {}).get("stage_position")
        if position:
            return f"{station} station"
        return f"Arrivals · {station}"
    return f"{name} · {station}"


def history_moves(statuses: list) -> list[Move]:
    """Newest first: each row is a verdict that held until it moved to the row above it."""
    moves = []
    for newer, older in zip(statuses, statuses[1:], strict=False):
        moves.append(
            Move(older.computed_at, verdict_place(older), verdict_place(newer), newer.verdict)
        )
    return moves


def _cycle_where(cycle) -> str:
    if cycle.stage:
        return cycle.stage.name
    if cycle.tactic:
        return f"{cycle.tactic.name} answer rate"
    return STATION_LABELS.get(cycle.station, cycle.station)


def _cycle_rows(team, cycles) -> list[dict]:
    rows = []
    for c in cycles:
        check = c.check_result or {}
        rows.append(
            {
                "title": c.title,
                "phase": c.phase,
                "phase_label": Phase(c.phase).label,
                "where": _cycle_where(c),
                "owner": (c.owner.get_full_name() or c.owner.email) if c.owner else "",
                "do_start": c.do_start,
                "do_end": c.do_end,
                "check_label": check.get("verdict_label"),
                "check_verdict": check.get("verdict"),
                "url": reverse("kaizen:cycle_detail", args=[team.slug, c.id]),
            }
        )
    return rows


def _key_position(status, figures: dict) -> int | None:
    """The stage whose conversion is charted: the bottleneck's, else the largest shortfall."""
    if status and status.stage:
        return status.stage.position
    ranked = [c for c in ranked_contenders(figures) if c.get("stage_position")]
    if ranked:
        return ranked[0]["stage_position"]
    positions = [
        c["stage_position"] for c in figures.get("contenders", []) if c.get("stage_position")
    ]
    return positions[len(positions) // 2] if positions else None


def since_first(values: list[float]) -> list[float | None]:
    """Weeks before the first non-zero one are before the team's data began, not zeros."""
    first = next((i for i, v in enumerate(values) if v), len(values))
    return [None] * first + values[first:]


def conversion_period_why(decided: list[float], weeks_per_period: int, min_decided: int) -> str:
    """Why a conversion chart's point pools that many weeks (panels.conversion_series chooses
    1, 2 or 4: the fewest that give a typical period ``min_decided`` decided deals)."""
    since = decided[next((i for i, d in enumerate(decided) if d), len(decided)) :]
    typical = sorted(since)[len(since) // 2] if since else 0
    deals = f"{typical:.0f} decided deal{'' if typical == 1 else 's'}"
    if weeks_per_period == 1:
        return f"a typical week has {deals}, enough for a rate (at least {min_decided})"
    shorter = "a week" if weeks_per_period == 2 else "a week or two"
    return (
        f"because a typical week has only {deals} and a rate needs at least {min_decided}: "
        f"{shorter} would be mostly noise. Periods still short of {min_decided} are left out"
    )


def team_charts(data: TeamDashboard, figures: dict) -> list[XmrSvg]:
    weeks = week_calendar(data.chart_to, data.chart_weeks)
    positions = sorted({r.position for r in data.weeks})
    if not positions:
        return []
    first, last = positions[0], positions[-1]
    arrivals_breaks = [
        (d, label, "do")
        for d, label, p in data.dividers
        if p in (None, first) and label.startswith("Do")
    ]
    all_do = [(d, label, "do") for d, label, _ in data.dividers if label.startswith("Do")]
    charts = [
        xmr_svg(
            key="arrivals",
            title="New deals per week",
            unit="deals a week",
            periods=weeks,
            values=since_first(
                weekly_series(data.weeks, position=first, field="entered", weeks=weeks)
            ),
            dividers=arrivals_breaks,
            y_label="new deals",
        )
    ]
    key = _key_position(data.status, figures)
    if key is not None:
        name = next(
            (
                c.get("name")
                for c in figures.get("contenders", [])
                if c.get("stage_position") == key
            ),
            f"stage {key}",
        )
        series = conversion_series(data.weeks, position=key, weeks=weeks)
        per = "week" if series.weeks_per_period == 1 else f"{series.weeks_per_period} weeks"
        decided = [
            a + b
            for a, b in zip(
                weekly_series(data.weeks, position=key, field="advanced", weeks=weeks),
                weekly_series(data.weeks, position=key, field="lost", weeks=weeks),
                strict=True,
            )
        ]
        charts.append(
            xmr_svg(
                key="conversion",
                title=f"{name}: conversion per {per}",
                unit="of decided deals advance",
                periods=series.periods,
                values=series.values,
                fmt=pct,
                dividers=[
                    (d, label, "do" if label.startswith("Do") else "definition")
                    for d, label, p in data.dividers
                    if p == key
                ],
                period_days=7 * series.weeks_per_period,
                period_why=conversion_period_why(
                    decided, series.weeks_per_period, series.min_decided
                ),
                y_label="conversion",
            )
        )
    charts.append(
        xmr_svg(
            key="won",
            title="Won deals per week",
            unit="won a week",
            periods=weeks,
            values=since_first(
                weekly_series(data.weeks, position=last, field="advanced", weeks=weeks)
            ),
            dividers=all_do,
            y_label="won deals",
        )
    )
    return charts


def verdict_weeks(figures: dict) -> int:
    """How many weeks the verdict judged (13 unless another window was chosen)."""
    if not figures.get("recent_from") or not figures.get("recent_to"):
        return 13
    span = dt.date.fromisoformat(figures["recent_to"]) - dt.date.fromisoformat(
        figures["recent_from"]
    )
    return span.days // 7


def team_context(*, access, data: TeamDashboard) -> dict:
    status = data.status
    figures = status.figures if status else {}
    bottleneck = status.stage.position if status and status.stage else None
    stream = (
        value_stream(figures=figures, rows=data.weeks, bottleneck_position=bottleneck)
        if status
        else None
    )
    return {
        "access": access,
        "team": access.team,
        "status": status,
        "verdict_weeks": verdict_weeks(figures),
        "period": data.period,
        "place": verdict_place(status),
        "figures": figures,
        "why": verdict_why(figures) if status else None,
        "ranked": [
            c
            for c in ranked_contenders(figures, limit=5)
            if figures.get("kind") != "bottleneck"
            or (c.get("stage_position"), c.get("metric"))
            != (figures.get("stage_position"), figures.get("metric"))
        ][:4],
        "stream": stream,
        "charts": team_charts(data, figures),
        "moves": history_moves(data.history),
        "cycles": _cycle_rows(access.team, data.cycles),
        "coverage": data.coverage,
        "lag": data.lag,
        "board_url": reverse("kaizen:cycle_board", args=[access.team.slug]),
        "definitions_url": reverse("definitions:definition_list", args=[access.team.slug]),
    }


def _team_card(access, status, rows, cycles: int) -> dict:
    figures = status.figures if status else {}
    positions = sorted({r.position for r in rows})
    won = [float(r.advanced) for r in rows if positions and r.position == positions[-1]]
    return {
        "access": access,
        "team": access.team,
        "status": status,
        "place": verdict_place(status),
        "why": verdict_why(figures) if status else None,
        "won_per_week": figures.get("won_per_week"),
        "spark": sparkline(won[-26:]),
        "cycles": cycles,
    }


def company_at_stake(company, cards: list[dict]) -> dict | None:
    """What the pooled verdict's place puts at stake, in the one definition the page uses for
    "won a week at stake": each team's own gap at its own target, here summed over the teams whose
    own bottleneck is in the station the company verdict names (teams' stage lists differ, so
    the roll-up is by station).

    The pooled verdict's own gap is not shown: its target is the best sustained level of the
    pooled series, which is no team's target, so for one bottleneck it gave a second figure
    beside the team's (+0.74 against +0.67)."""
    if company is None or company.verdict != Verdict.BOTTLENECK:
        return None
    teams = [
        c
        for c in cards
        if c["status"]
        and c["status"].verdict == Verdict.BOTTLENECK
        and c["status"].gap_per_week
        and c["status"].station == company.station
    ]
    return {
        "gap": sum(c["status"].gap_per_week for c in teams) if teams else None,
        "teams": [c["team"].name for c in teams],
    }


def company_context(*, accesses, data: CompanyDashboard, whole_company: bool) -> dict:
    cards = [
        _team_card(
            a,
            data.statuses.get(a.team.id),
            data.team_weeks.get(a.team.id, []),
            data.active_cycles.get(a.team.id, 0),
        )
        for a in accesses
    ]
    statuses = [c["status"] for c in cards if c["status"]]
    gaps = [s.gap_per_week for s in statuses if s.verdict == Verdict.BOTTLENECK and s.gap_per_week]
    by_station = Counter(s.station for s in statuses if s.verdict == Verdict.BOTTLENECK)
    # Cards in order of what is at stake: the largest gap first, then no verdict, then no data.
    order = {Verdict.BOTTLENECK: 0, Verdict.NO_CLEAR: 1, Verdict.NOT_ENOUGH_DATA: 2}
    cards.sort(
        key=lambda c: (
            order.get(c["status"].verdict, 3) if c["status"] else 4,
            -(c["status"].gap_per_week or 0) if c["status"] else 0,
            c["team"].name,
        )
    )
    weeks = week_calendar(data.chart_to, CHART_WEEKS)
    arrivals = [0.0] * len(weeks)
    won = [0.0] * len(weeks)
    for rows in data.team_weeks.values():
        positions = sorted({r.position for r in rows})
        arrivals = [
            a + b
            for a, b in zip(
                arrivals,
                weekly_series(rows, position=positions[0], field="entered", weeks=weeks),
                strict=True,
            )
        ]
        won = [
            a + b
            for a, b in zip(
                won,
                weekly_series(rows, position=positions[-1], field="advanced", weeks=weeks),
                strict=True,
            )
        ]
    charts = []
    if data.team_weeks:
        charts = [
            xmr_svg(
                key="company-arrivals",
                title="New deals per week, all teams",
                unit="deals a week",
                periods=weeks,
                values=since_first(arrivals),
                y_label="new deals",
            ),
            xmr_svg(
                key="company-won",
                title="Won deals per week, all teams",
                unit="won a week",
                periods=weeks,
                values=since_first(won),
                y_label="won deals",
            ),
        ]
    company = data.company_status
    return {
        "cards": cards,
        "whole_company": whole_company,
        "company_status": company,
        "company_place": verdict_place(company) if company else None,
        "company_why": verdict_why(company.figures) if company else None,
        "company_stake": company_at_stake(company, cards),
        "stations": [
            {
                "row": row,
                "label": STATION_LABELS.get(row.station, row.station),
                # At the level every other interval on the page is stated at.
                "rate": wilson_interval(row.advanced, row.decided, confidence=intervals.CONFIDENCE)
                if row.decided
                else None,
                "is_verdict": company is not None
                and company.verdict == Verdict.BOTTLENECK
                and company.station == row.station,
            }
            for row in data.stations
        ],
        "summary": {
            "teams": len(cards),
            "won_per_week": sum(c["won_per_week"] or 0 for c in cards),
            "gap_per_week": sum(gaps),
            "bottlenecks": sum(by_station.values()),
            "by_station": [(STATION_LABELS.get(k, k), k, n) for k, n in by_station.most_common()],
            "no_clear": sum(1 for s in statuses if s.verdict == Verdict.NO_CLEAR),
            "not_enough": sum(1 for s in statuses if s.verdict == Verdict.NOT_ENOUGH_DATA),
            "cycles": sum(data.active_cycles.values()),
            "latest": max((s.computed_at for s in statuses), default=None),
            "watermark": max((s.watermark for s in statuses), default=None),
        },
        "charts": charts,
        "fmt_week": per_week,
    }
