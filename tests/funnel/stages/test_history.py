"""Renaming, retiring and merging a stage keep the history right: StageFlow counts after the
rebuild against counts worked out by hand from the events below."""

import datetime as dt
from collections import Counter

import pytest

from funnel.ingest import EventIn, stage_events_ingest, stage_events_validate
from funnel.models import Deal, Stage, StageEvent, StageFlow
from funnel.pipeline.passages import team_flow_rebuild, team_pending_drain
from funnel.stages.history import stage_merge, stage_restore, stage_retire
from funnel.stages.services import stage_update

pytestmark = pytest.mark.django_db

MON = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # a Monday
W1, W2 = dt.date(2026, 3, 2), dt.date(2026, 3, 9)


def ev(event_id, deal, days, stage=None, outcome=None):
    return EventIn(
        event_id=event_id,
        deal_external_id=deal,
        occurred_at=MON + dt.timedelta(days=days),
        stage=stage,
        outcome=outcome,
        lost_reason="price" if outcome == "lost" else "",
    )


# d1 reaches qualified and is lost; d2 skips engaged and is won; d3 is lost in engaged;
# d4 waits in engaged.
EVENTS = [
    ev("1a", "d1", 0, "inquiry"),
    ev("1b", "d1", 1, "engaged"),
    ev("1c", "d1", 2, "qualified"),
    ev("1d", "d1", 3, outcome="lost"),
    ev("2a", "d2", 0, "inquiry"),
    ev("2b", "d2", 8, "qualified"),
    ev("2c", "d2", 9, outcome="won"),
    ev("3a", "d3", 0, "inquiry"),
    ev("3b", "d3", 1, "engaged"),
    ev("3c", "d3", 2, outcome="lost"),
    ev("4a", "d4", 0, "inquiry"),
    ev("4b", "d4", 3, "engaged"),
]


def flow(team):
    return Counter(
        {
            (row.stage.slug, row.week, row.kind, row.days): row.count
            for row in StageFlow.objects.filter(team=team).select_related("stage")
        }
    )


@pytest.fixture
def logged(team):
    stage_events_ingest(team=team, origin="api", events=EVENTS)
    team_pending_drain(team=team)
    return team


# Worked out by hand from EVENTS with the default six stages.
BEFORE = Counter(
    {
        ("inquiry", W1, "entered", -1): 4,
        ("inquiry", W1, "advanced", 1): 2,  # d1, d3 reached engaged on day 1
        ("inquiry", W2, "advanced", 8): 1,  # d2 reached qualified on day 8
        ("inquiry", W1, "advanced", 3): 1,  # d4 reached engaged on day 3
        ("engaged", W1, "entered", -1): 3,  # d1, d3, d4
        ("engaged", W2, "entered", -1): 1,  # d2 passed it (skipped) on day 8
        ("engaged", W1, "advanced", 1): 1,  # d1: day 1 -> 2
        ("engaged", W1, "lost", 1): 1,  # d3: day 1 -> 2
        ("engaged", W2, "advanced", -1): 1,  # d2, skipped
        ("qualified", W1, "entered", -1): 1,
        ("qualified", W1, "lost", 1): 1,
        ("qualified", W2, "entered", -1): 1,
        ("qualified", W2, "advanced", 1): 1,
        **{(s, W2, "entered", -1): 1 for s in ("proposal", "negotiation", "handover")},
        **{(s, W2, "advanced", -1): 1 for s in ("proposal", "negotiation", "handover")},
    }
)


def test_the_log_gives_the_hand_counts(logged):
    assert flow(logged) == BEFORE


def test_rename_changes_no_count(logged, manager, django_capture_on_commit_callbacks):
    stage = Stage.objects.get(team=logged, slug="engaged")
    with django_capture_on_commit_callbacks(execute=True):
        changed = stage_update(
            stage=stage,
            name="Meeting booked",
            station=stage.station,
            target_conversion=stage.target_conversion,
            target_days=stage.target_days,
            by=manager,
        )
    assert changed == ["name"]
    team_flow_rebuild(team=logged)
    assert flow(logged) == BEFORE
    assert Stage.objects.get(team=logged, slug="engaged").name == "Meeting booked"


def test_merge_counts_the_merged_stages_events_for_the_target(
    logged, manager, django_capture_on_commit_callbacks
):
    engaged = Stage.objects.get(team=logged, slug="engaged")
    inquiry = Stage.objects.get(team=logged, slug="inquiry")
    events_before = list(StageEvent.objects.order_by("id").values_list("id", "stage_id"))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        stage_merge(stage=engaged, into=inquiry, by=manager)
    assert callbacks  # the rebuild, enqueued on commit (eager: it ran)
    # engaged's events now read as inquiry's: a deal stays in inquiry from its first event
    # until it reaches qualified, or is lost.
    assert flow(logged) == Counter(
        {
            ("inquiry", W1, "entered", -1): 4,
            ("inquiry", W1, "advanced", 2): 1,  # d1: day 0 -> qualified day 2
            ("inquiry", W1, "lost", 2): 1,  # d3: day 0 -> lost day 2
            ("inquiry", W2, "advanced", 8): 1,  # d2
            ("qualified", W1, "entered", -1): 1,
            ("qualified", W1, "lost", 1): 1,
            ("qualified", W2, "entered", -1): 1,
            ("qualified", W2, "advanced", 1): 1,
            **{(s, W2, "entered", -1): 1 for s in ("proposal", "negotiation", "handover")},
            **{(s, W2, "advanced", -1): 1 for s in ("proposal", "negotiation", "handover")},
        }
    )
    # The log is untouched; the open deal's cached stage follows the merge.
    assert list(StageEvent.objects.order_by("id").values_list("id", "stage_id")) == events_before
    assert Deal.objects.get(team=logged, external_id="d4").current_stage_id == inquiry.id
    # New events naming the merged stage are recorded at the target.
    stage_events_ingest(team=logged, origin="api", events=[ev("5a", "d5", 4, "engaged")])
    assert StageEvent.objects.get(event_id="5a").stage_id == inquiry.id


def test_merge_refuses_a_retired_target_and_itself(logged, manager):
    engaged = Stage.objects.get(team=logged, slug="engaged")
    proposal = Stage.objects.get(team=logged, slug="proposal")
    stage_retire(stage=proposal, by=manager)
    with pytest.raises(Exception, match="retired or merged"):
        stage_merge(stage=engaged, into=proposal, by=manager)
    with pytest.raises(Exception, match="another stage"):
        stage_merge(stage=engaged, into=engaged, by=manager)
    assert Stage.objects.get(id=engaged.id).merged_into_id is None


def test_retire_keeps_past_counts_and_refuses_new_events(logged, manager):
    engaged = Stage.objects.get(team=logged, slug="engaged")
    stage_retire(stage=engaged, by=manager, now=MON + dt.timedelta(days=5))
    team_flow_rebuild(team=logged)
    assert flow(logged) == BEFORE  # every deal opened before the retirement passes it as before
    refused = stage_events_validate(team=logged, events=[ev("6a", "d4", 6, "engaged")])
    assert [(e.index, e.field) for e in refused] == [(0, "stage")]
    assert "retired" in refused[0].message
    # A deal opened after the retirement goes from inquiry to qualified without passing it.
    stage_events_ingest(
        team=logged,
        origin="api",
        events=[ev("7a", "d7", 6, "inquiry"), ev("7b", "d7", 7, "qualified")],
    )
    team_pending_drain(team=logged)
    expected = BEFORE + Counter(
        {
            ("inquiry", W1, "entered", -1): 1,
            ("inquiry", W2, "advanced", 1): 1,
            ("qualified", W2, "entered", -1): 1,
        }
    )
    assert flow(logged) == expected
    team_flow_rebuild(team=logged)  # the rebuild agrees with the drain
    assert flow(logged) == expected
    stage_restore(stage=Stage.objects.get(id=engaged.id), by=manager)
    assert stage_events_validate(team=logged, events=[ev("6a", "d4", 6, "engaged")]) == []
