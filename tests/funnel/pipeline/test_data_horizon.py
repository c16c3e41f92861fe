"""A team whose data stopped (an imported history) is judged as of its data horizon, not
today: the same history gets the same verdict whether it ended a year ago or ends now
(issue 14, item 1, for the live verdict)."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from bench.synthetic import FunnelShape, funnel_events, funnel_generate
from funnel.ingest import stage_events_ingest
from funnel.metrics.accounting import StageWeek, week_start
from funnel.metrics.edges import data_horizon
from funnel.pipeline.run import team_recompute
from funnel.services import team_create
from kaizen.dashboard.selectors import team_dashboard_get

NOW = timezone.now().replace(minute=0, second=0, microsecond=0)
YEAR = dt.timedelta(weeks=52)  # whole weeks: the same weekday, so the same partial last week


def load(team, shape, *, ends):
    events = funnel_events(funnel_generate(shape, now=ends))
    for i in range(0, len(events), 1000):
        stage_events_ingest(
            team=team, events=events[i : i + 1000], origin="csv", schedule_recompute=False
        )


def verdict_of(status):
    return status.verdict, status.station, status.stage.slug if status.stage else None


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        (FunnelShape(seed=11), ("no_clear_bottleneck", "", None)),
        (
            FunnelShape(seed=12, conversion_factor={2: 0.5}),
            ("bottleneck", "qualifying", "qualified"),
        ),
        (FunnelShape(seed=13, arrivals_factor=0.5), ("bottleneck", "market", None)),
    ],
    ids=["steady", "qualified-halved", "arrivals-halved"],
)
def test_a_history_that_ended_a_year_ago_gets_the_verdict_it_gets_ending_now(db, shape, expected):
    live = team_create(slug="live", name="Live")
    old = team_create(slug="old", name="Old")
    load(live, shape, ends=NOW)
    load(old, shape, ends=NOW - YEAR)
    live_status = team_recompute(team=live, now=NOW)
    old_status = team_recompute(team=old, now=NOW)
    assert verdict_of(old_status) == verdict_of(live_status) == expected
    assert live_status.figures["history_up_to"] is None
    horizon = week_start((NOW - YEAR).date())
    assert old_status.figures["history_up_to"] == (horizon - dt.timedelta(days=1)).isoformat()
    # The recent window is the 13 complete weeks before the horizon's (maybe partial) week.
    assert old_status.figures["recent_to"] == horizon.isoformat()
    assert old_status.figures["recent_from"] == (horizon - dt.timedelta(weeks=13)).isoformat()


def _week(start: dt.date, entered=1) -> StageWeek:
    return StageWeek(1, start, entered, 0, 0)


def test_data_horizon_is_none_while_data_arrives():
    today = dt.date(2026, 12, 3)  # a Thursday; its week starts on Monday 30 Nov
    assert data_horizon([], today=today) is None
    assert data_horizon([_week(dt.date(2026, 11, 30))], today=today) is None
    assert data_horizon([_week(dt.date(2026, 11, 23))], today=today) is None  # last week
    stopped = [_week(dt.date(2026, 11, 9)), _week(dt.date(2026, 11, 16))]
    assert data_horizon(stopped, today=today) == dt.date(2026, 11, 16)
    # A week whose cells are all zero is no data.
    assert data_horizon([_week(dt.date(2026, 11, 30), entered=0), *stopped], today=today) == (
        dt.date(2026, 11, 16)
    )


def test_the_dashboard_says_which_history_it_judged(client, team, manager):
    load(team, FunnelShape(seed=12, conversion_factor={2: 0.5}), ends=NOW - YEAR)
    team_recompute(team=team, now=NOW)
    client.force_login(manager)
    body = client.get(reverse("team_dashboard", args=[team.slug])).content.decode()
    last_day = week_start((NOW - YEAR).date()) - dt.timedelta(days=1)
    assert f"History up to <strong>{last_day.day} {last_day:%b %Y}</strong>" in body
    assert "Qualified" in body and "Not enough data" not in body
    # The charts end where the history does, not at today with a run of empty weeks.
    assert team_dashboard_get(team=team).chart_to == last_day + dt.timedelta(days=1)
