"""The cycle pages guide: the baseline reads as a percent with its n, every form says what is
wrong on the page, and the prefilled problem follows the Do window (or says it no longer
matches). Numbers are worked out by hand in the comments."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from funnel.models import BottleneckStatus, Stage
from kaizen.models import Cycle, Phase
from kaizen.services.check_act import cycle_check_run
from kaizen.services.cycles import cycle_commit, cycle_create
from tests.kaizen.support import BASELINE_ROWS, DO_ROWS, stage_weeks, weeks_before_now

# 13 weeks: 9 weeks of 1 advanced and 2 lost, then 1/3, 1/3, 1/4, 1/3.
# Advanced 9 + 4 = 13; decided 9 * 3 + 4 + 4 + 5 + 4 = 44; 13 / 44 = 0.29545 -> "29.5 %".
# Wilson 95 %: z = 1.95996, z^2 = 3.84146; centre = (13 + 1.92073) / 47.84146 = 0.31188;
# half = z * sqrt(44 * 0.29545 * 0.70455 + 0.96037) / 47.84146 = 1.95996 * 3.18112 / 47.84146
# = 0.13032; interval 0.18156 to 0.44220 -> "18–44 %".
THIRTEEN_OF_44 = [(1, 2)] * 9 + [(1, 3), (1, 3), (1, 4), (1, 3)]


def url(name, team, cycle=None):
    kwargs = {"slug": team.slug}
    if cycle is not None:
        kwargs["cycle_id"] = cycle.id
    return reverse(f"kaizen:{name}", kwargs=kwargs)


def plan(stage, **overrides):
    start = weeks_before_now(0)
    values = {
        "title": "Walk the buyer through the proposal",
        "stage": stage,
        "metric": "conversion",
        "problem": "Proposal converts too few.",
        "target_condition": "45 %.",
        "hypothesis": "Objections surface in the call.",
        "predicted_direction": "up",
        "predicted_size": 15.0,
        "countermeasure": "A 30-minute walkthrough.",
        "do_start": start,
        "do_end": start + dt.timedelta(days=27),
    }
    values.update(overrides)
    return values


@pytest.fixture
def proposal(team):
    return Stage.objects.get(team=team, slug="proposal")


def test_baseline_reads_29_5_percent_for_13_of_44_everywhere(login, manager, team, proposal):
    stage_weeks(proposal, weeks_before_now(13), THIRTEEN_OF_44)
    cycle = cycle_create(team=team, by=manager, **plan(proposal))
    cycle = cycle_commit(cycle=cycle, by=manager)
    assert (cycle.baseline_successes, cycle.baseline_n) == (13, 44)
    page = login(manager).get(url("cycle_detail", team, cycle)).content.decode()
    assert "0.3 %" not in page
    # The big figure of the Do-so-far card (no Do deal decided yet: nothing to compare).
    assert "<dd>29.5 %</dd>" in page and "13 of 44 decided deals" in page
    # The sales sentence, with its n.
    assert (
        "Proposal conversion was 29.5 % (13 of 44 decided deals) in the 13 weeks before Do; "
        "since Do started it is not measurable yet (no decided deals) over 0 complete weeks."
    ) in page
    # Two decided deals are no evidence: no verdict, no findings, no judged prediction.
    assert "no clear effect" not in page and "falls short" not in page
    assert "judged once the Check opens" in page
    # The frozen baseline in the plan, with its interval at the one confidence level.
    assert "29.5 % (13 of 44 decided deals) in the weeks" in page
    assert "95 % interval 18–44 %" in page


def test_act_without_a_choice_gets_a_message_on_the_page(login, manager, team, proposal):
    stage_weeks(proposal, weeks_before_now(17), BASELINE_ROWS + DO_ROWS)
    cycle = cycle_create(team=team, by=manager, **plan(proposal, do_start=weeks_before_now(4)))
    cycle_commit(cycle=cycle, by=manager)
    cycle_check_run(cycle=cycle, by=manager)
    response = login(manager).post(url("cycle_close", team, cycle), {"learnings": "It works."})
    page = response.content.decode()
    assert response.status_code == 200
    # Next to the field and in the summary at the top of the form.
    assert page.count("Choose adopt, adapt or abandon.") == 2
    assert 'href="#field-decision"' in page and 'id="decision-error"' in page
    assert "It works.</textarea>" in page  # what was typed is kept
    assert Cycle.objects.get().phase == Phase.CHECK


def test_plan_form_posted_invalid_says_what_is_wrong(login, manager, team, proposal):
    start = weeks_before_now(0)
    response = login(manager).post(
        url("cycle_new", team),
        {
            "title": "",
            "metric": "conversion",
            "stage": proposal.id,
            "do_start": start.isoformat(),
            "do_end": (start - dt.timedelta(days=3)).isoformat(),
        },
    )
    page = response.content.decode()
    assert response.status_code == 200 and 'id="plan-errors"' in page
    assert page.count("Give the cycle a title.") == 2
    assert page.count("The Do window ends after it starts.") == 2
    assert not Cycle.objects.exists()


def test_empty_note_posted_without_htmx_shows_the_message_by_the_field(
    login, manager, team, proposal
):
    cycle = cycle_create(team=team, by=manager, **plan(proposal))
    response = login(manager).post(url("cycle_note", team, cycle), {"body": "  "})
    page = response.content.decode()
    assert response.status_code == 200
    assert '<p class="field-error" id="note-error" role="alert">A note needs some text.</p>' in page


def test_commit_of_an_incomplete_plan_shows_what_is_missing(login, manager, team, proposal):
    cycle = cycle_create(team=team, by=manager, **plan(proposal, hypothesis=""))
    response = login(manager).post(url("cycle_commit", team, cycle), follow=True)
    assert "To commit the plan, add a hypothesis." in response.content.decode()
    assert Cycle.objects.get().phase == Phase.PLAN


@pytest.fixture
def bottleneck(team, proposal):
    # 17 weeks of rows ending last week: BASELINE_ROWS (13 weeks, 53 of 130) then DO_ROWS
    # (4 weeks, 32 of 40).
    stage_weeks(proposal, weeks_before_now(17), BASELINE_ROWS + DO_ROWS)
    return BottleneckStatus.objects.create(
        team=team,
        verdict="bottleneck",
        stage=proposal,
        station="selling",
        gap_per_week=0.6,
        figures={},
        watermark=0,
        computed_at=timezone.now(),
    )


def last_sunday(weeks_ago: int) -> str:
    return f"{weeks_before_now(weeks_ago) - dt.timedelta(days=1):%-d %b %Y}"


def test_moving_the_do_window_refreshes_an_unedited_prefilled_problem(
    login, manager, team, proposal, bottleneck
):
    client = login(manager)
    initial = client.get(url("cycle_new", team), {"from": "bottleneck"}).context["form"].initial
    # Do from today: the 13 weeks before this one are BASELINE_ROWS[4:] and DO_ROWS:
    # 5+4+3+4+5+4+4+3+5 = 37 of 90, plus 32 of 40: 69 of 130 = 53.1 %.
    assert initial["problem"].startswith(
        "Proposal is the bottleneck: it converted 53.1 % (69 of 130 decided deals) in the 13 "
        f"weeks to {last_sunday(0)} (95 % interval"
    )
    start = weeks_before_now(4)
    data = {
        **{k: v for k, v in initial.items() if v is not None},
        "stage": proposal.id,
        "hypothesis": "h",
        "countermeasure": "c",
        "predicted_size": "10",
        "do_start": start.isoformat(),
        "do_end": (start + dt.timedelta(days=27)).isoformat(),
    }
    client.post(url("cycle_new", team), data)
    cycle = Cycle.objects.get()
    # Do from 4 weeks ago: the baseline is BASELINE_ROWS alone, 53 of 130 = 40.8 %.
    assert cycle.problem.startswith(
        "Proposal is the bottleneck: it converted 40.8 % (53 of 130 decided deals) in the 13 "
        f"weeks to {last_sunday(4)} (95 % interval"
    )
    assert cycle.problem.endswith("Closing the gap is worth about 0.60 won deals a week.")
    page = client.get(url("cycle_detail", team, cycle)).content.decode()
    assert "no longer matches" not in page

    # Moving it back through the plan form refreshes it again.
    today = timezone.localdate()
    client.post(
        url("cycle_plan_edit", team, cycle),
        {
            **data,
            "problem": cycle.problem,
            "do_start": today.isoformat(),
            "do_end": (today + dt.timedelta(days=27)).isoformat(),
        },
    )
    cycle.refresh_from_db()
    assert "53.1 % (69 of 130 decided deals)" in cycle.problem


def test_an_edited_problem_that_no_longer_matches_is_flagged(
    login, manager, team, proposal, bottleneck
):
    client = login(manager)
    initial = client.get(url("cycle_new", team), {"from": "bottleneck"}).context["form"].initial
    edited = initial["problem"].replace("it converted 53.1 %", "it converted barely 53 %")
    cycle = cycle_create(
        team=team, by=manager, **plan(proposal, problem=edited, do_start=weeks_before_now(4))
    )
    assert cycle.problem == edited  # the manager's words are not rewritten
    for page_url in (url("cycle_detail", team, cycle), url("cycle_plan_edit", team, cycle)):
        page = client.get(page_url).content.decode()
        assert "The problem statement no longer matches the baseline." in page
        assert "40.8 % (53 of 130 decided deals) in the 13 weeks to " + last_sunday(4) in page
