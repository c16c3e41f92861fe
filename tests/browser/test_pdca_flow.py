"""A manager runs one PDCA cycle from plan to closed in a real browser, on a synthetic funnel
whose Proposal conversion really rose over the last weeks (and a comparison team's did not).
Screenshots of the plan, the Check, the closed cycle and the board go to
artifacts/screenshots/pdca-*.png."""

import datetime as dt
import os

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from bench.synthetic import FunnelShape, funnel_events, funnel_generate
from funnel.ingest import stage_events_ingest
from funnel.metrics.accounting import week_start
from funnel.models import Role, Stage
from funnel.pipeline.run import team_recompute
from funnel.services import membership_add
from kaizen.models import Cycle, Phase, StandardWork
from kaizen.services.cycles import cycle_commit, cycle_create
from tests.conftest import PASSWORD

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop.

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1366, "height": 900}
PROPOSAL = 3  # stage index in the synthetic funnel


def load(team, shape, now, prefix):
    events = funnel_events(funnel_generate(shape, now=now), prefix=prefix)
    for i in range(0, len(events), 1000):
        stage_events_ingest(
            team=team, events=events[i : i + 1000], origin="api", schedule_recompute=False
        )
    team_recompute(team=team, now=now)


@pytest.fixture
def funnels(team, other_team, manager):
    """North's Proposal conversion rose by half over the last five weeks; South's did not."""
    now = timezone.now()
    manager.first_name, manager.last_name = "Max", "Moreau"
    manager.save()
    membership_add(team=other_team, email=manager.email, role=Role.MANAGER)
    base = {"weeks": 24, "arrivals_per_week": 80.0, "change_weeks": 5}
    load(team, FunnelShape(**base, conversion_factor={PROPOSAL: 1.45}, seed=11), now, "n")
    load(other_team, FunnelShape(**base, seed=12), now, "s")
    other_cycles(team, manager)
    return now


def other_cycles(team, manager):
    """The board is not empty: a draft at Qualified and a cycle in Do at Engaged."""
    this_week = week_start(timezone.localdate())
    stages = {s.slug: s for s in Stage.objects.filter(team=team)}
    cycle_create(
        team=team,
        by=manager,
        title="Qualify only with a named budget owner",
        stage=stages["qualified"],
        metric="conversion",
        problem="Qualified deals stall when nobody owns the budget.",
    )
    running = cycle_create(
        team=team,
        by=manager,
        title="Same-day reply to every inbound inquiry",
        stage=stages["engaged"],
        metric="conversion",
        problem="Engaged converts about 65 %.",
        target_condition="Engaged converts 75 %.",
        hypothesis="Prospects answered the same day keep their interest.",
        predicted_direction="up",
        predicted_size=8.0,
        countermeasure="Inbound inquiries are answered before the end of the day.",
        do_start=this_week - dt.timedelta(weeks=1),
        do_end=this_week + dt.timedelta(weeks=3, days=-1),
    )
    cycle_commit(cycle=running, by=manager)


def log_in(page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")


def test_manager_runs_a_cycle_from_plan_to_closed(
    browser, live_server, plain_http_cookies, funnels, team, manager, screenshots_dir
):
    this_week = week_start(timezone.localdate())
    do_start = this_week - dt.timedelta(weeks=4)
    do_end = this_week - dt.timedelta(days=1)
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    base = live_server.url
    log_in(page, base, manager.email)

    page.goto(f"{base}/teams/{team.slug}/kaizen/")
    expect(page.get_by_role("heading", name="Kaizen board")).to_be_visible()
    page.get_by_role("link", name="Start from scratch").click()

    page.fill("#id_title", "Proposal review call before sending")
    page.select_option("#id_metric", "conversion")
    page.select_option("#id_stage", label="4. Proposal")
    page.fill(
        "#id_problem", "Proposal converts about 60 % of decided deals; it holds back won deals."
    )
    page.fill("#id_target_condition", "Proposal converts at least 70 % of decided deals.")
    page.fill(
        "#id_hypothesis",
        "If the seller walks the buyer through the proposal on a call before sending it, "
        "objections surface while they can still be answered, so more proposals advance.",
    )
    page.check("input[name=predicted_direction][value=up]")
    page.fill("#id_predicted_size", "10")
    page.fill(
        "#id_countermeasure", "A 30-minute review call with the budget owner before every proposal."
    )
    page.fill("#id_do_start", do_start.isoformat())
    page.fill("#id_do_end", do_end.isoformat())
    page.select_option("#id_comparison_team", label="South Region")
    page.get_by_role("button", name="Save plan").click()

    expect(page.locator(".kz-phase-pill")).to_have_text("Plan")
    expect(page.get_by_role("heading", name="Current condition: the last 13 weeks")).to_be_visible()
    page.screenshot(path=screenshots_dir / "pdca-plan.png", full_page=True)

    page.get_by_role("button", name="Commit plan & start Do").click()
    expect(page.locator(".kz-phase-pill")).to_have_text("Do")
    expect(page.get_by_text("the baseline is frozen")).to_be_visible()
    page.fill(
        "#id_body",
        "Week 1: six review calls held; two buyers asked to change scope before signing.",
    )
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#journal")).to_contain_text("six review calls held")

    page.get_by_role("button", name="Run the Check").click()
    expect(page.locator(".kz-phase-pill")).to_have_text("Check")
    expect(page.locator(".kz-check")).to_contain_text("Observational — no randomised control")
    expect(page.locator(".kz-check")).to_contain_text(
        "Against South Region, which did not make the change"
    )
    # One frame of the chart is shown (charts.css picks it by the card's width).
    expect(page.locator("#chart-cycle svg.xmr-svg:visible")).to_have_count(1)
    page.screenshot(path=screenshots_dir / "pdca-check.png", full_page=True)
    cycle = Cycle.objects.get(team=team, title="Proposal review call before sending")
    assert cycle.check_result["enough_evidence"]
    assert cycle.check_result["signal_predicted"], cycle.check_result["verdict"]

    # Act follows the Check on the same page: no phase click in between.
    expect(page.get_by_role("button", name="Move to Act")).to_have_count(0)
    page.get_by_role("button", name="Close the cycle").click()  # nothing chosen yet
    expect(page.locator("#act-errors")).to_contain_text("Choose adopt, adapt or abandon.")
    expect(page.locator("#decision-error")).to_be_visible()
    expect(page.locator(".kz-phase-pill")).to_have_text("Check")
    page.check("input[name=decision][value=adopt]")
    page.fill(
        "#id_learnings",
        "Review calls lifted Proposal conversion well beyond routine variation while South, "
        "without them, stayed flat. Buyers raise scope questions on the call, not after.",
    )
    page.fill(
        "#id_standard_work",
        "Every proposal is walked through with the budget owner on a call before it is sent.",
    )
    page.get_by_role("button", name="Close the cycle").click()
    expect(page.locator(".kz-phase-pill")).to_have_text("Closed")
    expect(page.locator(".kz-next")).to_contain_text("Adopt")
    page.screenshot(path=screenshots_dir / "pdca-closed.png", full_page=True)

    page.get_by_role("link", name="Kaizen board").first.click()
    expect(page.locator(".kz-col-closed")).to_contain_text("Proposal review call before sending")
    expect(page.get_by_role("heading", name="Standard work")).to_be_visible()
    page.screenshot(path=screenshots_dir / "pdca-board.png", full_page=True)
    context.close()

    cycle.refresh_from_db()
    assert cycle.phase == Phase.CLOSED and cycle.act_decision == "adopt"
    assert StandardWork.objects.filter(team=team, cycle=cycle).exists()
