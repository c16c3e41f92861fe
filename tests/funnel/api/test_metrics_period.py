"""GET /api/v1/bottleneck and /api/v1/funnel with an analysis period (issue 14, item 1)."""

import datetime as dt

import pytest
from django.utils import timezone

from bench.synthetic import FunnelShape, funnel_events, funnel_generate
from funnel.ingest import stage_events_ingest
from funnel.metrics.accounting import week_start
from funnel.models import BottleneckStatus, StageMetric
from funnel.pipeline.run import team_recompute

pytestmark = pytest.mark.django_db
NOW = timezone.now().replace(minute=0, second=0, microsecond=0)
TODAY = timezone.localdate()


@pytest.fixture
def loaded(team):
    events = funnel_events(funnel_generate(FunnelShape(weeks=30, arrivals_per_week=25), now=NOW))
    for i in range(0, len(events), 1000):
        stage_events_ingest(
            team=team, events=events[i : i + 1000], origin="api", schedule_recompute=False
        )
    return team_recompute(team=team)


def test_the_default_is_the_live_snapshot_and_says_its_period(api, loaded):
    body = api.get("/bottleneck?team=north").json()
    end = week_start(TODAY)
    assert body["as_of"] == TODAY.isoformat() and body["window"] == 13
    assert body["recent_to"] == end.isoformat()
    assert body["recent_from"] == (end - dt.timedelta(weeks=13)).isoformat()
    assert body["history_up_to"] is None
    assert body["verdict"] == loaded.verdict and body["reason"] == loaded.figures["reason"]


def test_a_past_as_of_and_a_window_are_computed_and_echoed(api, loaded):
    as_of = TODAY - dt.timedelta(weeks=4)
    body = api.get(f"/bottleneck?team=north&as_of={as_of}&window=26").json()
    end = week_start(as_of)
    assert body["as_of"] == as_of.isoformat() and body["window"] == 26
    assert body["recent_to"] == end.isoformat()
    assert body["recent_from"] == (end - dt.timedelta(weeks=26)).isoformat()
    assert all(f["aged_wip"] is None for f in body["flow"])
    # Won a week over the 26 weeks, from the weekly snapshot rows of the last stage.
    last = max(StageMetric.objects.filter(team=loaded.team).values_list("position", flat=True))
    won = sum(
        StageMetric.objects.filter(
            team=loaded.team, position=last, week__gte=body["recent_from"], week__lt=end
        ).values_list("advanced", flat=True)
    )
    assert body["won_per_week"] == pytest.approx(won / 26)
    # Nothing was stored: the live verdict stays the only one.
    assert BottleneckStatus.objects.filter(team=loaded.team).count() == 1


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ("as_of=2012-02-30", "as_of", "date"),
        ("as_of=29.02.2012", "as_of", "YYYY-MM-DD"),
        ("as_of=2999-01-01", "as_of", "in the future"),
        ("window=7", "window", "window must be 13, 26 or 52"),
        ("window=all", "window", "integer"),
    ],
)
def test_bad_period_is_422_naming_the_parameter(api, loaded, query, field, words):
    response = api.get(f"/bottleneck?team=north&{query}")
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == [field]
    assert words in errors[0]["message"]


def test_funnel_counts_weeks_back_from_as_of(api, loaded):
    as_of = TODAY - dt.timedelta(weeks=10)
    body = api.get(f"/funnel?team=north&weeks=6&as_of={as_of}").json()
    end = week_start(as_of)
    expected = [(end - dt.timedelta(weeks=6 - i)).isoformat() for i in range(6)]
    assert body["weeks"] == expected
    assert body["recent_from"] == expected[0] and body["recent_to"] == end.isoformat()
    first = next(s for s in body["stages"] if s["position"] == 1)
    stored = dict(
        StageMetric.objects.filter(team=loaded.team, position=1).values_list("week", "entered")
    )
    assert [w["entered"] for w in first["weeks"]] == [
        stored.get(dt.date.fromisoformat(w), 0) for w in expected
    ]
    assert api.get("/funnel?team=north&as_of=soon").status_code == 422


def test_a_stopped_history_defaults_to_its_horizon(api, team):
    ended = NOW - dt.timedelta(weeks=52)
    events = funnel_events(funnel_generate(FunnelShape(weeks=30, arrivals_per_week=25), now=ended))
    for i in range(0, len(events), 1000):
        stage_events_ingest(
            team=team, events=events[i : i + 1000], origin="api", schedule_recompute=False
        )
    team_recompute(team=team, now=NOW)
    horizon = week_start(ended.date())
    body = api.get("/funnel?team=north&weeks=4").json()
    assert body["as_of"] == horizon.isoformat() and body["recent_to"] == horizon.isoformat()
    assert body["history_up_to"] == (horizon - dt.timedelta(days=1)).isoformat()
    assert sum(w["entered"] for s in body["stages"] for w in s["weeks"]) > 0


def test_funnel_takes_window_as_the_pages_call_it(api, loaded):
    as_of = TODAY - dt.timedelta(weeks=10)
    by_window = api.get(f"/funnel?team=north&window=26&weeks=6&as_of={as_of}").json()
    by_weeks = api.get(f"/funnel?team=north&weeks=26&as_of={as_of}").json()
    assert len(by_window["weeks"]) == 26 and by_window == by_weeks
    assert api.get("/funnel?team=north&window=0").status_code == 422
