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
    # Act follows the Check on the same page: no phase click in between.
    assert "Move to Act" not in page
    assert 'action="{}#act-title"'.format(url("cycle_close", team, cycle)) in page
    assert 'name="decision" value="adopt"' in page

    # Without the learnings the server says so next to the field and in a summary.
    response = client.post(url("cycle_close", team, cycle), {"decision": "adopt"})
    page = response.content.decode()
    assert response.status_code == 200 and 'id="act-errors"' in page
    assert page.count("Write down what was learned before closing the cycle.") == 2
    assert 'value="adopt" required checked' in page  # the choice made is kept
    assert Cycle.objects.get().phase == Phase.CHECK
    response = client.post(
        url("cycle_close", team, cycle),
        {"decision": "adopt", "learnings": "Buyers like it.", "standard_work": "Always call."},
        follow=True,
    )
    cycle.refresh_from_db()
    assert cycle.phase == Phase.CLOSED and cycle.learnings == "Buyers like it."
    # The history still has every phase: check -> act -> closed, each by the manager.
    phases = [e.changes["phase"] for e in cycle.events.filter(action="phase").order_by("id")]
    assert phases == [["plan", "do"], ["do", "check"], ["check", "act"], ["act", "closed"]]
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


def test_check_too_early_is_refused_with_the_date_and_the_missing_deals(
    login, manager, team, proposal
):
    client = login(manager)
    start = weeks_before_now(0)  # Do starts this Monday: 0 of 2 complete weeks
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
    page = client.get(url("cycle_detail", team, cycle)).content.decode()
    assert 'aria-describedby="check-when" disabled>Run the Check' in page

    # A POST straight to the Check URL is refused too, saying when and what is missing, and
    # nothing is stored (no Check result, no history entry).
    response = client.post(url("cycle_check", team, cycle), follow=True)
    opens = start + dt.timedelta(weeks=2)
    assert messages_of(response)[-1] == (
        f"Not enough evidence yet. The Check opens on {opens:%a %-d %b %Y}, when the Do window "
        "has 2 complete weeks (0 so far), and once it has 20 more decided deals (0 of 20 so far)."
    )
    cycle.refresh_from_db()
    assert cycle.phase == Phase.DO and cycle.check_result is None
    assert not cycle.events.filter(action="check_computed").exists()
    assert "Complete Do weeks" in response.content.decode()


def test_close_without_a_check_is_refused(login, manager, team, proposal):
    client = login(manager)
    client.post(url("cycle_new", team), plan_data(proposal))
    cycle = Cycle.objects.get()
    response = client.post(
        url("cycle_close", team, cycle), {"decision": "adopt", "learnings": "x"}, follow=True
    )
    assert any("whose Check is done" in m for m in messages_of(response))
    assert Cycle.objects.get().phase == Phase.PLAN


def test_the_phase_only_act_url_is_gone(login, manager, team, proposal):
    client = login(manager)
    client.post(url("cycle_new", team), plan_data(proposal))
    cycle = Cycle.objects.get()
    assert client.post(f"{url('cycle_detail', team, cycle)}act/").status_code == 404


@pytest.mark.parametrize("field", ["do_start", "do_end"])
@pytest.mark.parametrize("typed", ["0001-01-01", "9999-12-31", "1969-12-31"])
def test_a_do_window_at_the_edge_of_the_calendar_is_refused(
    login, manager, team, proposal, field, typed
):
    response = login(manager).post(url("cycle_new", team), plan_data(proposal, **{field: typed}))

    assert response.status_code == 200
    assert "Give a date between 1 Jan 1970 and 31 Dec 2100." in response.content.decode()
    assert not Cycle.objects.exists()
