"""Phase rules, the frozen baseline, Act decisions and the beat job, on StageMetric snapshots."""

import datetime as dt

import pytest

from funnel.models import Stage
from kaizen.models import Cycle, CycleEvent, Phase, PlanLockedError, StandardWork
from kaizen.services.check_act import (
    cycle_check_run,
    cycle_close,
    cycle_note_add,
    cycle_to_act,
    cycles_check_due,
)
from kaizen.services.cycles import CycleError, cycle_commit, cycle_create, cycle_plan_update
from tests.kaizen.support import BASELINE_ROWS, DO_ROWS, TODAY, stage_weeks, weeks_ago

DO_START = weeks_ago(4)  # four complete Do weeks before TODAY's week


@pytest.fixture
def proposal(team):
    return Stage.objects.get(team=team, slug="proposal")


@pytest.fixture
def history(proposal):
    stage_weeks(proposal, weeks_ago(17), BASELINE_ROWS + DO_ROWS)
    return proposal


def plan(team, manager, stage, **overrides):
    values = {
        "title": "Review call before sending proposals",
        "stage": stage,
        "metric": "conversion",
        "problem": "Proposal converts 41 %.",
        "target_condition": "Proposal converts 55 %.",
        "hypothesis": "A review call surfaces objections before the proposal.",
        "predicted_direction": "up",
        "predicted_size": 10.0,
        "countermeasure": "30-minute review call with the buyer.",
        "do_start": DO_START,
        "do_end": DO_START + dt.timedelta(days=27),
    }
    values.update(overrides)
    return cycle_create(team=team, by=manager, **values)


def test_commit_needs_a_complete_plan_and_says_what_is_missing(team, manager, history):
    cycle = cycle_create(team=team, by=manager, title="Draft", stage=history, metric="conversion")
    with pytest.raises(CycleError) as error:
        cycle_commit(cycle=cycle, by=manager, today=TODAY)
    message = str(error.value)
    for missing in [
        "target condition",
        "hypothesis",
        "countermeasure",
        "Do start",
        "predicted size",
    ]:
        assert missing in message
    cycle.refresh_from_db()
    assert cycle.phase == Phase.PLAN and cycle.committed_at is None


def test_commit_needs_a_do_window_of_two_weeks(team, manager, history):
    cycle = plan(team, manager, history, do_end=DO_START + dt.timedelta(days=3))
    with pytest.raises(CycleError, match="at least two weeks"):
        cycle_commit(cycle=cycle, by=manager, today=TODAY)


def test_commit_freezes_the_baseline_of_the_13_weeks_before_the_do_start(team, manager, history):
    cycle = cycle_commit(cycle=plan(team, manager, history), by=manager, today=TODAY)
    assert cycle.phase == Phase.DO
    assert cycle.baseline_from == weeks_ago(17)
    assert cycle.baseline_to == DO_START - dt.timedelta(days=1)
    assert (cycle.baseline_successes, cycle.baseline_n) == (53, 130)
    assert cycle.baseline_value == pytest.approx(53 / 130)
    assert cycle.baseline_low < cycle.baseline_value < cycle.baseline_high
    assert cycle.baseline_limits["baseline_points"] == 13
    event = CycleEvent.objects.filter(cycle=cycle, action="phase").first()
    assert event.changes["phase"] == ["plan", "do"]
    assert event.changes["retrospective"] is True  # the Do start lies before TODAY


def test_commit_refuses_without_baseline_data(team, manager, proposal):
    cycle = plan(team, manager, proposal)
    with pytest.raises(CycleError, match="No baseline"):
        cycle_commit(cycle=cycle, by=manager, today=TODAY)


def test_baseline_is_immutable_after_commit(team, manager, history):
    cycle = cycle_commit(cycle=plan(team, manager, history), by=manager, today=TODAY)
    with pytest.raises(CycleError, match="committed"):
        cycle_plan_update(cycle=cycle, by=manager, do_start=weeks_ago(2))
    with pytest.raises(CycleError, match="already committed"):
        cycle_commit(cycle=cycle, by=manager, today=TODAY)
    # Whatever path saves the row, the baseline does not change.
    fresh = Cycle.objects.get(id=cycle.id)
    fresh.baseline_value = 0.99
    with pytest.raises(PlanLockedError):
        fresh.save()
    fresh = Cycle.objects.get(id=cycle.id)
    fresh.baseline_limits = None
    with pytest.raises(PlanLockedError):
        fresh.save()
    assert Cycle.objects.get(id=cycle.id).baseline_value == pytest.approx(53 / 130)


def test_plan_edits_before_commit_are_recorded(team, manager, history):
    cycle = plan(team, manager, history)
    cycle_plan_update(cycle=cycle, by=manager, predicted_size=12.0, title="Review calls")
    event = CycleEvent.objects.filter(cycle=cycle, action="plan_updated").get()
    assert event.changes == {"predicted_size": [10.0, 12.0], "title": [cycle.title, "Review calls"]}
    assert event.actor == manager


def test_do_window_snaps_to_whole_weeks(team, manager, history):
    cycle = plan(team, manager, history, do_start=DO_START + dt.timedelta(days=2))
    assert cycle.do_start == DO_START
    assert cycle.do_end.weekday() == 6


def test_check_refused_until_two_weeks_have_run(team, manager, history):
    cycle = cycle_commit(cycle=plan(team, manager, history), by=manager, today=TODAY)
    early = DO_START + dt.timedelta(days=9)  # only one complete Do week
    result = cycle_check_run(cycle=cycle, by=manager, today=early)
    assert not result.enough_evidence
    assert any("1 complete week of the 2" in r for r in result.reasons)
    cycle.refresh_from_db()
    assert cycle.phase == Phase.DO
    assert cycle.check_result["verdict"] == "not_enough_evidence"
    with pytest.raises(CycleError, match="Only a cycle in Check"):
        cycle_to_act(cycle=cycle, by=manager)


def test_check_refused_with_too_few_decided_deals(team, manager, proposal):
    stage_weeks(proposal, weeks_ago(17), BASELINE_ROWS + [(3, 2), (4, 1), (2, 1), (3, 1)])
    cycle = cycle_commit(cycle=plan(team, manager, proposal), by=manager, today=TODAY)
    result = cycle_check_run(cycle=cycle, by=manager, today=TODAY)
    assert any("17 decided deals" in r for r in result.reasons)
    cycle.refresh_from_db()
    assert cycle.phase == Phase.DO


def test_full_cycle_adopt_records_standard_work(team, manager, history):
    cycle = cycle_commit(cycle=plan(team, manager, history), by=manager, today=TODAY)
    result = cycle_check_run(cycle=cycle, by=manager, today=TODAY)
    assert result.enough_evidence and result.verdict == "supported"
    assert result.do_weeks == 4
    cycle.refresh_from_db()
    assert cycle.phase == Phase.CHECK
    cycle_to_act(cycle=cycle, by=manager)
    with pytest.raises(CycleError, match="learnings"):
        cycle_close(cycle=cycle, by=manager, decision="adopt", learnings="  ")
    cycle = cycle_close(
        cycle=cycle, by=manager, decision="adopt", learnings="Calls work.", standard_work=""
    )
    assert cycle.phase == Phase.CLOSED
    work = StandardWork.objects.get(team=team)
    assert work.cycle == cycle and work.text == cycle.countermeasure
    assert list(
        CycleEvent.objects.filter(cycle=cycle, action="phase").values_list(
            "changes__phase", flat=True
        )
    ) == [["act", "closed"], ["check", "act"], ["do", "check"], ["plan", "do"]]


def test_adapt_opens_a_prefilled_follow_up(team, manager, history, other_team):
    cycle = plan(team, manager, history, comparison_team=other_team)
    cycle = cycle_commit(cycle=cycle, by=manager, today=TODAY)
    cycle_check_run(cycle=cycle, by=manager, today=TODAY)
    cycle_to_act(cycle=cycle, by=manager)
    cycle = cycle_close(cycle=cycle, by=manager, decision="adapt", learnings="Only for big deals.")
    follow = cycle.follow_up
    assert follow.phase == Phase.PLAN and follow.committed_at is None
    assert follow.stage == history and follow.comparison_team == other_team
    assert follow.countermeasure == cycle.countermeasure
    assert "Only for big deals." in follow.problem
    assert not StandardWork.objects.exists()


def test_abandon_closes_without_standard_work(team, manager, history):
    cycle = cycle_commit(cycle=plan(team, manager, history), by=manager, today=TODAY)
    cycle_check_run(cycle=cycle, by=manager, today=TODAY)
    cycle_to_act(cycle=cycle, by=manager)
    cycle = cycle_close(cycle=cycle, by=manager, decision="abandon", learnings="Too slow.")
    assert cycle.phase == Phase.CLOSED and cycle.follow_up is None
    assert not StandardWork.objects.exists()


def test_notes_on_open_cycles_only(team, manager, rep, history):
    cycle = plan(team, manager, history)
    note = cycle_note_add(cycle=cycle, by=rep, body="  Called Acme.  ")
    assert note.body == "Called Acme." and note.author == rep
    with pytest.raises(CycleError):
        cycle_note_add(cycle=cycle, by=rep, body=" ")
    Cycle.objects.filter(id=cycle.id).update(phase=Phase.CLOSED)
    cycle.refresh_from_db()
    with pytest.raises(CycleError, match="closed"):
        cycle_note_add(cycle=cycle, by=rep, body="late")


def test_beat_job_checks_cycles_whose_do_window_ended(team, manager, history):
    ended = cycle_commit(cycle=plan(team, manager, history), by=manager, today=TODAY)
    running = cycle_commit(
        cycle=plan(team, manager, history, do_end=TODAY + dt.timedelta(days=20)),
        by=manager,
        today=TODAY,
    )
    assert cycles_check_due(today=TODAY) == [ended.id]
    ended.refresh_from_db()
    running.refresh_from_db()
    assert ended.phase == Phase.CHECK and ended.check_result["verdict"] == "supported"
    event = CycleEvent.objects.filter(cycle=ended, action="check_computed").get()
    assert event.actor is None
    assert running.phase == Phase.DO and running.check_result is None
    assert cycles_check_due(today=TODAY) == []  # already checked


def test_arrivals_cycle_uses_entries_to_the_first_stage(team, manager):
    inquiry = Stage.objects.get(team=team, position=1)
    stage_weeks(inquiry, weeks_ago(17), [(0, 0)] * 13, entered=10)
    stage_weeks(inquiry, weeks_ago(4), [(0, 0)] * 4, entered=16)
    cycle = plan(team, manager, None, metric="arrivals", title="Webinar series")
    assert cycle.station == "market"
    cycle = cycle_commit(cycle=cycle, by=manager, today=TODAY)
    assert cycle.baseline_value == pytest.approx(10) and cycle.baseline_n == 13
    result = cycle_check_run(cycle=cycle, by=manager, today=TODAY)
    assert result.do_volume == 64 and result.enough_evidence
    assert result.effect.estimate == pytest.approx(6)
