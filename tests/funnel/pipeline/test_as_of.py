"""The verdict as of any date and window, computed on request from the weekly aggregates
(funnel.pipeline.as_of), against the live recompute (issue 14, item 1)."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.synthetic import FunnelShape, funnel_events, funnel_generate
from funnel.ingest import stage_events_ingest
from funnel.metrics.accounting import week_start
from funnel.models import ApiToken, Deal, Stage, StageEvent
from funnel.pipeline.as_of import team_figures_as_of
from funnel.pipeline.run import team_recompute
from funnel.services import team_create

pytestmark = pytest.mark.django_db
NOW = timezone.now().replace(minute=0, second=0, microsecond=0)
YEAR = dt.timedelta(weeks=52)
# A Monday six weeks back: the past as-of the tests judge.
CUT = dt.datetime.combine(week_start(NOW.date()) - dt.timedelta(weeks=6), dt.time(), tzinfo=dt.UTC)
# The Wednesday after it: a team seen then has data in the week of its as-of, so the weeks
# before it are complete (a team with nothing yet in its as-of week may have stopped mid-week).
SEEN = CUT + dt.timedelta(days=2)
SHAPE = FunnelShape(weeks=40, arrivals_per_week=25, conversion_factor={2: 0.5}, seed=12)


def load(team, events):
    for i in range(0, len(events), 1000):
        stage_events_ingest(
            team=team, events=events[i : i + 1000], origin="csv", schedule_recompute=False
        )


def stages_of(team):
    return list(Stage.objects.filter(team=team).order_by("position"))


def judged(figures, *, wip=True):
    """What a verdict says, without the aged WIP (unknown at a past date) and the labels the
    period adds."""
    flow = [
        {k: v for k, v in f.items() if k != "aged_wip" and (wip or k != "wip")}
        for f in figures["flow"]
    ]
    keys = ("kind", "stage_position", "station", "gap", "reason", "won_per_week")
    keys += ("decided_recent", "recent_from", "recent_to", "history_weeks", "contenders")
    return {k: figures[k] for k in keys} | {"flow": flow}


def api_get(client, team, **params):
    token, prefix, token_hash = ApiToken.generate()
    ApiToken.objects.create(team=team, name="t", prefix=prefix, token_hash=token_hash)
    return client.get(
        "/api/v1/bottleneck", {"team": team.slug, **params}, HTTP_AUTHORIZATION=f"Bearer {token}"
    )


@pytest.fixture
def full_and_cut():
    """Two teams: `full` with 40 weeks up to now; `cut` with the same events before SEEN only,
    recomputed as if it were SEEN (its own passages, counts and open deals)."""
    events = funnel_events(funnel_generate(SHAPE, now=NOW))
    full = team_create(slug="full", name="Full")
    cut = team_create(slug="cut", name="Cut")
    load(full, events)
    load(cut, [e for e in events if e.occurred_at < SEEN])
    team_recompute(team=full, now=NOW)
    return full, cut, team_recompute(team=cut, now=SEEN)


def test_a_past_as_of_gets_the_verdict_of_the_data_up_to_that_date(full_and_cut):
    full, _, cut_status = full_and_cut
    figures = team_figures_as_of(
        team=full, stages=stages_of(full), as_of=SEEN.date(), window=13, version="v"
    )
    assert cut_status.figures["recent_to"] == CUT.date().isoformat()
    # Same weeks, counts, intervals, targets, gaps and days in stage; aged WIP is not known
    # for a past date.
    assert judged(figures, wip=False) == judged(cut_status.figures, wip=False)
    assert figures["aged_wip_known"] is False and cut_status.figures["aged_wip_known"] is True
    assert all(f["aged_wip"] is None for f in figures["flow"])
    # WIP at the start of the as-of week, counted from the events: deals that had entered a
    # stage before CUT and were not closed before it.
    started = set(
        StageEvent.objects.filter(team=full, occurred_at__lt=CUT, stage__isnull=False).values_list(
            "deal_id", flat=True
        )
    )
    closed = set(
        StageEvent.objects.filter(team=full, occurred_at__lt=CUT)
        .exclude(outcome="")
        .values_list("deal_id", flat=True)
    )
    assert sum(f["wip"] for f in figures["flow"]) == len(started - closed) > 0


def test_any_day_of_the_week_judges_the_same_weeks(full_and_cut):
    full, _, cut_status = full_and_cut
    friday = CUT.date() + dt.timedelta(days=4)
    figures = team_figures_as_of(
        team=full, stages=stages_of(full), as_of=friday, window=13, version="v"
    )
    assert figures["as_of"] == friday.isoformat()
    assert judged(figures, wip=False) == judged(cut_status.figures, wip=False)


def test_window_26_judges_26_weeks(full_and_cut):
    full, _, _ = full_and_cut
    stages = stages_of(full)
    w13 = team_figures_as_of(team=full, stages=stages, as_of=CUT.date(), window=13, version="v")
    w26 = team_figures_as_of(team=full, stages=stages, as_of=CUT.date(), window=26, version="v")
    assert w26["recent_to"] == w13["recent_to"] == CUT.date().isoformat()
    assert w26["recent_from"] == (CUT.date() - dt.timedelta(weeks=26)).isoformat()
    assert w26["window"] == 26 and w13["window"] == 13
    assert w26["decided_recent"] > w13["decided_recent"]
    # The last stage's advanced count over the window, counted by hand from the events.
    won = sum(
        1
        for e in StageEvent.objects.filter(team=full, outcome="won").values_list(
            "occurred_at", flat=True
        )
        if CUT - dt.timedelta(weeks=26) <= e < CUT
    )
    assert w26["won_per_week"] == pytest.approx(won / 26)


def test_the_as_of_path_reads_no_raw_log_nor_deals(full_and_cut):
    full, _, _ = full_and_cut
    stages = stages_of(full)
    with CaptureQueriesContext(connection) as queries:
        team_figures_as_of(team=full, stages=stages, as_of=CUT.date(), window=26, version="x")
    sql = " ".join(q["sql"] for q in queries).lower()
    # The weekly counts and the days-in-stage histograms: two reads of StageFlow.
    assert len(queries) == 2 and sql.count("funnel_stageflow") >= 2
    for table in (StageEvent._meta.db_table, Deal._meta.db_table, "funnel_dealpassage"):
        assert table not in sql
    # Another date of the same version of the aggregates reads nothing again.
    with CaptureQueriesContext(connection) as cached:
        earlier = CUT.date() - dt.timedelta(weeks=3)
        team_figures_as_of(team=full, stages=stages, as_of=earlier, window=13, version="x")
    assert len(cached) == 0


def test_a_history_that_ended_a_year_ago_shows_the_live_verdict_by_default(client, team):
    events = funnel_events(
        funnel_generate(FunnelShape(seed=12, conversion_factor={2: 0.5}), now=NOW - YEAR)
    )
    load(team, events)
    live = team_recompute(team=team, now=NOW)
    assert live.verdict == "bottleneck" and live.figures["history_up_to"]
    horizon = week_start((NOW - YEAR).date())
    # Computed on request for the same as-of: the live verdict (the WIP differs: the live run
    # counts the deals open now, the weekly counts those open at the horizon's week start).
    on_request = team_figures_as_of(
        team=team, stages=stages_of(team), as_of=horizon, window=13, version="v"
    )
    assert judged(on_request, wip=False) == judged(live.figures, wip=False)
    body = api_get(client, team).json()
    assert (body["verdict"], body["stage"], body["station"]) == (
        "bottleneck",
        "qualified",
        "qualifying",
    )
    assert body["gap_per_week"] == pytest.approx(live.gap_per_week)
    assert body["as_of"] == horizon.isoformat()
    assert body["recent_to"] == horizon.isoformat()
    assert body["recent_from"] == (horizon - dt.timedelta(weeks=13)).isoformat()
    assert body["history_up_to"] == (horizon - dt.timedelta(days=1)).isoformat()
