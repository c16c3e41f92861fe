"""GET /api/v1/bottleneck and /api/v1/funnel: snapshots, scoped to the token's team."""

import datetime as dt
from collections import Counter

import pytest
from django.utils import timezone

from bench.synthetic import FunnelShape, funnel_events, funnel_generate
from funnel.ingest import stage_events_ingest
from funnel.models import StageEvent
from funnel.pipeline.run import team_recompute
from tests.funnel.test_recompute import reference_counts

pytestmark = pytest.mark.django_db
NOW = timezone.now().replace(minute=0, second=0, microsecond=0)


@pytest.fixture
def loaded(team):
    events = funnel_events(funnel_generate(FunnelShape(weeks=20, arrivals_per_week=25), now=NOW))
    for i in range(0, len(events), 1000):
        stage_events_ingest(
            team=team, events=events[i : i + 1000], origin="api", schedule_recompute=False
        )
    team_recompute(team=team)
    return team


def test_bottleneck_returns_the_verdict_and_its_arithmetic(api, loaded):
    response = api.get("/bottleneck?team=north")
    assert response.status_code == 200
    body = response.json()
    assert body["verdict"] in {"bottleneck", "no_clear_bottleneck", "not_enough_data"}
    assert body["watermark"] == StageEvent.objects.filter(team=loaded).latest("id").id
    assert body["computed_at"]
    slugs = ["inquiry", "engaged", "qualified", "proposal", "negotiation", "handover"]
    # Arrivals, then each stage's conversion, then each stage's days in stage.
    assert [(s["metric"], s["slug"]) for s in body["stages"]] == [
        ("arrivals", None),
        *[("conversion", slug) for slug in slugs],
        *[("days", slug) for slug in slugs],
    ]
    arrivals = body["stages"][0]
    assert arrivals["metric"] == "arrivals" and arrivals["station"] == "market"
    for stage in body["stages"][1:]:
        assert stage["low"] <= stage["current"] <= stage["high"]
        assert stage["n"] > 0
        assert stage["confidence"] == body["confidence"] == 0.95
        assert stage["p_value"] is None or 0 < stage["p_value"] <= 1
    assert {f["slug"] for f in body["flow"]} == set(slugs)


def test_funnel_weeks_equal_an_independent_count(api, loaded):
    response = api.get("/funnel?team=north&weeks=8")
    assert response.status_code == 200
    body = response.json()
    assert len(body["weeks"]) == 8
    reference = reference_counts(loaded)
    seen = Counter()
    for stage in body["stages"]:
        assert len(stage["weeks"]) == 8
        for week in stage["weeks"]:
            day = dt.date.fromisoformat(week["week"])
            for kind in ("entered", "advanced", "lost"):
                seen[kind] += week[kind]
                assert week[kind] == reference[stage["position"], day, kind]
            if week["advanced"] + week["lost"]:
                n = week["advanced"] + week["lost"]
                assert week["conversion"] == pytest.approx(week["advanced"] / n)
                assert week["conversion_low"] <= week["conversion"] <= week["conversion_high"]
    assert seen["entered"] > 100 and seen["lost"] > 10


def test_another_teams_slug_is_404_like_a_missing_team(api, loaded, other_team):
    assert api.get("/bottleneck?team=south").status_code == 404
    assert api.get("/funnel?team=south").status_code == 404
    assert api.get("/funnel?team=nope").status_code == 404


def test_nothing_computed_yet_is_404_with_a_reason(api, team):
    response = api.get("/bottleneck?team=north")
    assert response.status_code == 404


def test_no_token_is_401(client, loaded):
    assert client.get("/api/v1/bottleneck?team=north").status_code == 401


def test_weeks_out_of_range_is_422(api, loaded):
    assert api.get("/funnel?team=north&weeks=0").status_code == 422
    assert api.get("/funnel?team=north&weeks=500").status_code == 422
