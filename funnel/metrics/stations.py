"""Rolling teams up by station, so that teams with different stage lists compare.

A team's stages each belong to one of the five stations. Through a station a deal's passage is
decided when it leaves the station's last stage forward (advanced) or is lost in any of its
stages; it entered the station when it entered the station's first stage. So per team and week:

    entered  = entries to the station's first stage
    advanced = advances out of its last stage
    lost     = losses in any of its stages

and advanced / (advanced + lost) pooled over the teams is the conversion through the station
(for one deal, the product of its stages' conversions). A station a team has no stage in passes
its deals through unchanged (what left the station before it enters and leaves it, nothing
lost), so every team's arrivals enter the first station and its wins leave the last one.
Stations take positions 1..5 in the order of `Station`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date

from funnel.metrics.accounting import StageWeek


def team_station_weeks(
    stage_weeks: Iterable[StageWeek], stations: Mapping[int, str], order: Sequence[str]
) -> list[StageWeek]:
    """One team's weekly counts by station (position = 1 + index in `order`), from its
    weekly counts by stage and each stage position's station."""
    present = [s for s in order if s in set(stations.values())]
    if not present:
        return []
    first = {s: min(p for p, st in stations.items() if st == s) for s in present}
    last = {s: max(p for p, st in stations.items() if st == s) for s in present}
    station_of = dict(stations)
    cells: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0, 0])
    for w in stage_weeks:
        station = station_of.get(w.stage_position)
        if station is None:
            continue
        cell = cells[station, w.week_start]
        if w.stage_position == first[station]:
            cell[0] += w.entered
        if w.stage_position == last[station]:
            cell[1] += w.advanced
        cell[2] += w.lost
    # Pass-through: a missing station before the first present one takes the arrivals of the
    # first; any other takes what the station before it passed on.
    weeks = sorted({week for _, week in cells})
    flow: dict[str, dict[date, tuple[int, int, int]]] = {}
    previous: str | None = None
    for station in order:
        if station in present:
            flow[station] = {w: tuple(cells[station, w]) for w in weeks if (station, w) in cells}
        elif previous is None:
            arrivals = {w: cells[present[0], w][0] for w in weeks if (present[0], w) in cells}
            flow[station] = {w: (n, n, 0) for w, n in arrivals.items() if n}
        else:
            flow[station] = {w: (c[1], c[1], 0) for w, c in flow[previous].items() if c[1]}
        previous = station
    return [
        StageWeek(order.index(station) + 1, week, *counts)
        for station in order
        for week, counts in sorted(flow[station].items())
        if any(counts)
    ]


def station_weeks_pooled(per_team: Iterable[Iterable[StageWeek]]) -> list[StageWeek]:
    """The teams' station weeks summed, in (station position, week) order."""
    summed: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0, 0, 0])
    for weeks in per_team:
        for w in weeks:
            cell = summed[w.stage_position, w.week_start]
            cell[0] += w.entered
            cell[1] += w.advanced
            cell[2] += w.lost
    return [StageWeek(p, week, *c) for (p, week), c in sorted(summed.items())]
