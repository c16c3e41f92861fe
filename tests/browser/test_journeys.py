"""Each role's whole journey in a real browser, with a screenshot of every step in
artifacts/screenshots/journey-*.png.

- a rep moves a deal on and records two observations (the rep flow's fixtures, shortened);
- events arrive through the API while a manager watches the dashboard: the bottleneck card
  changes without a reload, and the manager starts a PDCA cycle from it;
- an executive sees every team and can change nothing.
"""

# ruff: noqa: F811 (fixtures imported from the rep flow are requested by name)
import datetime as dt
import json
import os
import urllib.request

import pytest
from playwright.sync_api import expect

from bench.synthetic import FunnelShape, funnel_events, funnel_generate
from funnel.ingest import stage_events_ingest
from funnel.metrics.accounting import week_start
from funnel.models import ApiToken
from funnel.pipeline.run import team_recompute
from tests.browser.test_rep_flow import (  # noqa: F401 (fixtures)
    DESKTOP,
    log_in,
    new_page,
    pipeline,
    screenshot,
)
from tests.kaizen.dashboard.conftest import NOW

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop.

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHAPE = FunnelShape(seed=12, arrivals_per_week=30, conversion_factor={2: 0.5})


def test_rep_moves_a_deal_and_records_two_observations(
    new_page, live_server, pipeline, team, screenshots_dir
):
    page = new_page(DESKTOP)
    log_in(page, live_server.url, pipeline["rep"].email)
    page.goto(f"{live_server.url}/teams/{team.slug}/deals/")
    screenshot(page, screenshots_dir / "journey-rep-1-deals.png")
    page.locator("a.deal-link", has_text="Westbrook Dental Ltd").click()
    page.click("text=Advance to Qualified")
    expect(page.locator("#stage-panel .saved-note")).to_have_text("Moved to Qualified.")
    page.locator("#obs-decision-maker-reached button[value=yes]").click()
    expect(page.locator("#observations .saved-note")).to_contain_text("Decision maker reached")
    page.locator("#obs-prospect-department button[value=Finance]").click()
    expect(page.locator("#observations .saved-note")).to_contain_text("Prospect department")
    screenshot(page, screenshots_dir / "journey-rep-2-recorded.png")
    # The rep reads the team's dashboard too, without controls to change it.
    page.goto(f"{live_server.url}/teams/{team.slug}/dashboard/")
    expect(page.locator("#verdict-card")).to_be_visible()
    expect(page.locator("#start-cycle")).to_have_count(0)


def post_events(base_url: str, token: str, events) -> dict:
    body = {
        "events": [
            {
                "id": e.event_id,
                "deal": {"id": e.deal_external_id, "source": e.source},
                "stage": e.stage,
                "outcome": e.outcome,
                "lost_reason": e.lost_reason or None,
                "occurred_at": e.occurred_at.isoformat(),
            }
            for e in events
        ]
    }
    request = urllib.request.Request(
        f"{base_url}/api/v1/events",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def test_manager_watches_the_bottleneck_appear_and_starts_a_cycle(
    new_page, live_server, team, manager, screenshots_dir
):
    # The team's history up to 13 weeks ago is in; the recent weeks arrive through the API.
    events = funnel_events(funnel_generate(SHAPE, now=NOW), prefix="j")
    # Nothing in the verdict's recent window yet: the 13 complete weeks before this week.
    monday = week_start(NOW.astimezone(dt.UTC).date()) - dt.timedelta(weeks=14)
    cutoff = dt.datetime.combine(monday, dt.time(), tzinfo=dt.UTC)
    older = [e for e in events if e.occurred_at < cutoff]
    recent = [e for e in events if e.occurred_at >= cutoff]
    for i in range(0, len(older), 1000):
        stage_events_ingest(
            team=team, events=older[i : i + 1000], origin="api", schedule_recompute=False
        )
    # A history that stopped 14 weeks ago is judged as of where it stops: no bottleneck there.
    before = team_recompute(team=team)
    assert before.verdict != "bottleneck" and before.figures["history_up_to"] is not None
    token, prefix, token_hash = ApiToken.generate()
    ApiToken.objects.create(team=team, name="CRM", prefix=prefix, token_hash=token_hash)

    page = new_page(DESKTOP)
    log_in(page, live_server.url, manager.email)
    page.goto(f"{live_server.url}/teams/{team.slug}/dashboard/")
    card = page.locator("#verdict-card")
    expect(card).to_contain_text("History up to")
    expect(card).not_to_contain_text("won deals a week")
    page.evaluate("window.__sameDocument = true")
    screenshot(page, screenshots_dir / "journey-manager-1-before.png")

    for i in range(0, len(recent), 1000):
        result = post_events(live_server.url, token, recent[i : i + 1000])
        assert result["accepted"] > 0, result
    expect(card).to_contain_text("Qualified", timeout=60_000)
    expect(card).to_contain_text("won deals a week")
    expect(card).not_to_contain_text("History up to")  # live again: judged as of today
    assert page.evaluate("window.__sameDocument") is True  # swapped in place, no navigation
    screenshot(page, screenshots_dir / "journey-manager-2-bottleneck.png")

    page.click("#start-cycle")
    page.wait_for_url("**/kaizen/new/**")
    screenshot(page, screenshots_dir / "journey-manager-3-cycle-plan.png")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url("**/kaizen/*/")
    screenshot(page, screenshots_dir / "journey-manager-4-cycle.png")
    page.goto(f"{live_server.url}/teams/{team.slug}/dashboard/")
    expect(page.locator("#cycles")).to_contain_text("Plan")
    screenshot(page, screenshots_dir / "journey-manager-5-dashboard-with-cycle.png")


def test_executive_sees_every_team_and_can_change_nothing(
    new_page, live_server, team, other_team, executive, screenshots_dir
):
    for t, prefix in ((team, "n"), (other_team, "s")):
        events = funnel_events(funnel_generate(SHAPE, now=NOW), prefix=prefix)
        for i in range(0, len(events), 1000):
            stage_events_ingest(
                team=t, events=events[i : i + 1000], origin="api", schedule_recompute=False
            )
        team_recompute(team=t)
    page = new_page(DESKTOP)
    log_in(page, live_server.url, executive.email)
    page.goto(f"{live_server.url}/dashboard/")
    expect(page.locator(".team-verdict")).to_have_count(2)
    expect(page.locator("#team-north")).to_contain_text("Qualified")
    screenshot(page, screenshots_dir / "journey-executive-1-company.png")
    page.locator("#team-south").click()
    page.wait_for_url("**/teams/south/dashboard/")
    expect(page.locator("#verdict-card")).to_be_visible()
    # No edit control anywhere on the page: the only form in it is the analysis period's GET
    # control ("Log out" is in the header).
    expect(page.locator("#start-cycle")).to_have_count(0)
    expect(page.locator("main form")).to_have_count(1)
    expect(page.locator('main form.period-control[method="get"]')).to_have_count(1)
    screenshot(page, screenshots_dir / "journey-executive-2-team.png")

    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    stage = team.stages.get(slug="qualified")
    for path in [
        f"/teams/north/stages/{stage.slug}/targets/",
        "/teams/north/kaizen/new/",
        "/teams/north/deals/1/stage/",
    ]:
        response = page.request.post(
            f"{live_server.url}{path}",
            headers={"X-CSRFToken": csrf, "Referer": live_server.url},
            form={"target_conversion": "0.9"},
        )
        assert response.status == 403, (path, response.status)
