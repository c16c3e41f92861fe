"""A cycle through the views: new (from scratch or the bottleneck), plan edit, commit, Check,
Act, close; each refusal comes back as a message that says what is missing."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from funnel.models import BottleneckStatus, Stage
from kaizen.models import Cycle, Phase, StandardWork
from tests.kaizen.support import BASELINE_ROWS, DO_ROWS, stage_weeks, weeks_before_now


@pytest.fixture
def proposal(team):
    stage = Stage.objects.get(team=team, slug="proposal")
    stage_weeks(stage, weeks_before_now(17), BASELINE_ROWS + DO_ROWS)
    return stage


def url(name, team, cycle=None):
    kwargs = {"slug": team.slug}
    if cycle is not None:
        kwargs["cycle_id"] = cycle.id
    return reverse(f"kaizen:{name}", kwargs=kwargs)


def plan_data(stage_obj, **overrides):
    start = weeks_before_now(4)
    data = {
        "title": "Review call before sending",
        "metric": "conversion",
        "stage": stage_obj.id,
        "problem": "Proposal converts 41 %.",
        "target_condition": "55 %.",
        "hypothesis": "Objections surface earlier.",
        "predicted_direction": "up",
        "predicted_size": "10",
        "countermeasure": "30-minute review call.",
        "do_start": start.isoformat(),
        "do_end": (start + dt.timedelta(days=27)).isoformat(),
    }
    data.update(overrides)
    return data


def messages_of(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


def test_new_from_scratch_saves_a_draft(login, manager, team, proposal):
    client = login(manager)
    assert client.get(url("cycle_new", team)).status_code == 200
    response = client.post(url("cycle_new", team), plan_data(proposal))
    cycle = Cycle.objects.get()
    assert response.status_code == 302 and response["Location"] == url("cycle_detail", team, cycle)
    assert cycle.phase == Phase.PLAN and cycle.owner == manager and cycle.station == "selling"


def test_new_from_scratch_starts_the_do_window_today(login, manager, team, proposal):
    response = login(manager).get(url("cycle_new", team))
    initial = response.context["form"].initial
    today = timezone.localdate()
    monday = today - dt.timedelta(days=today.weekday())
    assert initial["do_start"] == today
    assert initial["do_end"] == monday + dt.timedelta(days=27)
    assert f'value="{today.isoformat()}"' in response.content.decode()


def test_new_needs_a_stage_for_conversion(login, manager, team, proposal):
    response = login(manager).post(url("cycle_new", team), plan_data(proposal, stage=""))
    assert response.status_code == 200
    assert "Choose the stage" in response.content.decode()
    assert not Cycle.objects.exists()


def test_new_from_the_bottleneck_is_prefilled(login, manager, team, proposal):
    BottleneckStatus.objects.create(
        team=team,
        verdict="bottleneck",
        stage=proposal,
        station="selling",
        gap_per_week=0.6,
        figures={"contenders": [{"stage_position": 4, "target": 0.55, "target_source": "manager"}]},
        watermark=0,
        computed_at=timezone.now(),
    )
    response = login(manager).get(url("cycle_new", team), {"from": "bottleneck"})
    initial = response.context["form"].initial
    assert initial["stage"] == proposal.id and initial["metric"] == "conversion"
    assert "converted" in initial["problem"] and "0.60 won deals a week" in initial["problem"]
    assert initial["target_condition"] == "Proposal converts 55 % (the manager's target)."
    today = timezone.localdate()
    assert initial["do_start"] == today
    # The end of the fourth week, this one included: a Sunday 22-28 days from today.
    assert initial["do_end"].weekday() == 6 and 22 <= (initial["do_end"] - today).days <= 28
    assert "bottleneck at Proposal" in response.content.decode()


def test_new_from_the_bottleneck_without_one_says_so(login, manager, team, proposal):
    response = login(manager).get(url("cycle_new", team), {"from": "bottleneck"})
    assert "no clear bottleneck" in response.content.decode()


def test_run_one_cycle_to_closed_through_the_views(login, manager, team, proposal):
    client = login(manager)
    client.post(url("cycle_new", team), plan_data(proposal))
    cycle = Cycle.objects.get()

    response = client.post(
        url("cycle_plan_edit", team, cycle), plan_data(proposal, predicted_size="12")
    )
    assert response.status_code == 302
    cycle.refresh_from_db()
    assert cycle.predicted_size == 12

    response = client.post(url("cycle_commit", team, cycle), follow=True)
    assert any("baseline is frozen" in m for m in messages_of(response))
    cycle.refresh_from_db()
    assert cycle.phase == Phase.DO and cycle.baseline_n == 130

    # After the commit the plan cannot be edited.
    response = client.get(url("cycle_plan_edit", team, cycle), follow=True)
    assert any("no longer change" in m for m in messages_of(response))

    response = client.post(url("cycle_check", team, cycle), follow=True)
    assert any("Check computed: supported" in m for m in messages_of(response))
    cycle.refresh_from_db()
    assert cycle.phase == Phase.CHECK
    page = response.content.decode()
    assert "Observational — no randomised control" in page
    assert "<svg" in page and "Do starts" in page

    client.post(url("cycle_act", team, cycle))
    response = client.post(url("cycle_close", team, cycle), {"decision": "adopt"}, follow=True)
    assert any("learnings" in m for m in messages_of(response))
    response = client.post(
        url("cycle_close", team, cycle),
        {"decision": "adopt", "learnings": "Buyers like it.", "standard_work": "Always call."},
        follow=True,
    )
    cycle.refresh_from_db()
    assert cycle.phase == Phase.CLOSED and cycle.learnings == "Buyers like it."
    assert StandardWork.objects.get(team=team).text == "Always call."
    board = client.get(url("cycle_board", team)).content.decode()
    assert "Always call." in board


def test_commit_with_an_incomplete_plan_says_what_is_missing(login, manager, team, proposal):
    client = login(manager)
    client.post(url("cycle_new", team), plan_data(proposal, hypothesis="", countermeasure=""))
    cycle = Cycle.objects.get()
    response = client.post(url("cycle_commit", team, cycle), follow=True)
    message = messages_of(response)[-1]
    assert "a hypothesis" in message and "the countermeasure" in message
    assert Cycle.objects.get().phase == Phase.PLAN


def test_check_too_early_says_what_is_missing(login, manager, team, proposal):
    client = login(manager)
    start = weeks_before_now(1)
    client.post(
        url("cycle_new", team),
        plan_data(
            proposal,
            do_start=start.isoformat(),
            do_end=(start + dt.timedelta(days=27)).isoformat(),
        ),
    )
    cycle = Cycle.objects.get()
    client.post(url("cycle_commit", team, cycle))
    response = client.post(url("cycle_check", team, cycle), follow=True)
    message = messages_of(response)[-1]
    assert message.startswith("Not enough evidence yet.")
    assert "1 complete week of the 2" in message
    assert Cycle.objects.get().phase == Phase.DO
    assert "Complete Do weeks" in response.content.decode()


def test_act_without_check_is_refused(login, manager, team, proposal):
    client = login(manager)
    client.post(url("cycle_new", team), plan_data(proposal))
    cycle = Cycle.objects.get()
    response = client.post(url("cycle_act", team, cycle), follow=True)
    assert any("Only a cycle in Check" in m for m in messages_of(response))
