"""The company roll-up by station: a 4-stage team and a 9-stage team compare, with every
figure worked out by hand."""

import datetime as dt

import pytest

from funnel.metrics.accounting import StageWeek
from funnel.metrics.stations import station_weeks_pooled, team_station_weeks
from funnel.models import StageMetric, Station
from funnel.pipeline.company import company_recompute
from funnel.stages.load import stages_replace

W1 = dt.date(2026, 3, 2)
ORDER = tuple(Station.values)

FOUR = {1: "market", 2: "qualifying", 3: "selling", 4: "selling"}
FOUR_WEEK = [(1, 10, 6, 2), (2, 6, 4, 1), (3, 4, 3, 1), (4, 3, 2, 0)]
NINE = {
    1: "market",
    2: "market",
    3: "marketing",
    4: "qualifying",
    5: "qualifying",
    6: "selling",
    7: "selling",
    8: "selling",
    9: "servicing",
}
NINE_WEEK = [
    (1, 20, 15, 3),
    (2, 15, 12, 2),
    (3, 12, 8, 3),
    (4, 8, 6, 1),
    (5, 6, 5, 1),
    (6, 5, 4, 1),
    (7, 4, 3, 0),
    (8, 3, 2, 1),
    (9, 2, 2, 0),
]


def weeks(rows):
    return [StageWeek(p, W1, e, a, lost) for p, e, a, lost in rows]


def counts(station_weeks):
    return {w.stage_position: (w.entered, w.advanced, w.lost) for w in station_weeks}


def test_a_four_stage_team_by_station():
    # marketing and servicing: no stage, so what the station before passed on goes through.
    assert counts(team_station_weeks(weeks(FOUR_WEEK), FOUR, ORDER)) == {
        1: (10, 6, 2),
        2: (6, 6, 0),
        3: (6, 4, 1),
        4: (4, 2, 1),  # entered at stage 3, left forward from stage 4, lost in 3 or 4
        5: (2, 2, 0),
    }


def test_a_nine_stage_team_by_station():
    assert counts(team_station_weeks(weeks(NINE_WEEK), NINE, ORDER)) == {
        1: (20, 12, 5),
        2: (12, 8, 3),
        3: (8, 5, 2),
        4: (5, 2, 2),
        5: (2, 2, 0),
    }


def test_pooled_stations():
    pooled = station_weeks_pooled(
        [
            team_station_weeks(weeks(FOUR_WEEK), FOUR, ORDER),
            team_station_weeks(weeks(NINE_WEEK), NINE, ORDER),
        ]
    )
    assert counts(pooled) == {
        1: (30, 18, 7),
        2: (18, 14, 3),
        3: (14, 9, 3),
        4: (9, 4, 3),
        5: (4, 4, 0),
    }


def _stage_list(stations):
    return [{"slug": f"s{p}", "name": f"Stage {p}", "station": s} for p, s in stations.items()]


@pytest.mark.django_db
def test_company_rows_are_per_station(team, other_team):
    stages_replace(team=team, data=_stage_list(FOUR))
    stages_replace(team=other_team, data=_stage_list(NINE))
    for t, rows in ((team, FOUR_WEEK), (other_team, NINE_WEEK)):
        by_position = {s.position: s for s in t.stages.in_funnel()}
        StageMetric.objects.bulk_create(
            StageMetric(
                team=t,
                stage=by_position[p],
                station=by_position[p].station,
                position=p,
                week=W1,
                entered=e,
                advanced=a,
                lost=lost,
            )
            for p, e, a, lost in rows
        )
    status = company_recompute(now=dt.datetime(2026, 3, 16, tzinfo=dt.UTC))
    company = {
        m.station: (m.entered, m.advanced, m.lost)
        for m in StageMetric.objects.filter(team__isnull=True)
    }
    assert company == {
        "market": (30, 18, 7),
        "marketing": (18, 14, 3),
        "qualifying": (14, 9, 3),
        "selling": (9, 4, 3),
        "servicing": (4, 4, 0),
    }
    assert StageMetric.objects.get(
        team__isnull=True, station="selling"
    ).conversion == pytest.approx(4 / 7)
    assert status.figures["stations"]["selling"] == {"teams": 2, "stages": 5}
    assert status.figures["stations"]["servicing"] == {"teams": 1, "stages": 1}
