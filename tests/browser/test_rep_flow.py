"""A rep's day in a real browser: open "my deals", open a deal, move it to the next stage,
record two observations (one with an evidence note) and see all three in the deal's history.
Screenshots on a desktop and a phone viewport go to artifacts/screenshots/rep-*.png."""

import os
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from funnel.deals.services import observation_record
from funnel.models import Characteristic, Deal, Observation, Origin, Role, StageEvent
from funnel.services import membership_add
from tests.conftest import PASSWORD
from tests.deal_history import deal_with_history

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop.

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
ACCOUNTS = [
    ("ENT-0424", "Westbrook Dental Ltd", ["inquiry", "engaged"], 67000),
    ("ENT-0417", "Highland Hotels Inc.", ["inquiry", "engaged", "qualified", "proposal"], 66000),
    ("ENT-0452", "Redwood Foods", ["inquiry", "engaged", "qualified"], 88000),
    ("ENT-0399", "Meridian Capital GmbH", ["inquiry"], 39500),
    ("ENT-0461", "Juniper Retail AG", ["inquiry", "engaged", "qualified", "proposal"], 77000),
]


@pytest.fixture
def pipeline(team, rep, other_team):
    """The rep (with a name) and a handful of their open deals, some already observed."""
    rep.first_name, rep.last_name = "Rita", "Rossi"
    rep.save()
    raj = membership_add(team=team, email="raj.rep@example.com", role=Role.REP, name="Raj Patel")[2]
    deals = []
    for i, (external_id, account, stages, amount) in enumerate(ACCOUNTS):
        deal = deal_with_history(
            team=team, external_id=external_id, stages=stages, owner=rep, closed_days_ago=2 + 3 * i
        )
        Deal.objects.filter(id=deal.id).update(account=account, amount=Decimal(amount))
        deals.append(deal)
    deal_with_history(team=team, external_id="ENT-0500", stages=["inquiry"], owner=raj)
    characteristics = {c.slug: c for c in Characteristic.objects.filter(team=team)}
    for deal in deals[1:]:
        for slug, value in [("pain-quantified", "yes"), ("competitor-present", "no")]:
            observation_record(deal=deal, characteristic=characteristics[slug], value=value, by=rep)
    return {"rep": rep, "deal": deals[0]}


@pytest.fixture
def new_page(browser, live_server, plain_http_cookies):
    contexts = []

    def _new_page(viewport, javascript=True):
        context = browser.new_context(viewport=viewport, java_script_enabled=javascript)
        contexts.append(context)
        return context.new_page()

    yield _new_page
    for context in contexts:
        context.close()


def log_in(page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")


def screenshot(page, path) -> None:
    # From the top, so the sticky top bar sits where it belongs in a full-page image.
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=path, full_page=True)


def fits(page, viewport) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]


def test_rep_moves_a_deal_and_records_observations(
    new_page, live_server, pipeline, team, screenshots_dir
):
    rep, deal = pipeline["rep"], pipeline["deal"]
    page = new_page(DESKTOP)
    log_in(page, live_server.url, rep.email)

    page.goto(f"{live_server.url}/teams/{team.slug}/deals/")
    expect(page.locator("h1")).to_have_text("My deals")
    rows = page.locator(".deal-table tbody tr")
    expect(rows).to_have_count(len(ACCOUNTS))  # own open deals only, not Raj's
    westbrook = rows.filter(has_text="Westbrook Dental Ltd")
    expect(westbrook.locator(".station-badge")).to_have_text("Engaged")
    expect(westbrook.locator(".missing-list li")).to_have_count(6)  # nothing observed yet
    assert fits(page, DESKTOP)
    screenshot(page, screenshots_dir / "rep-deals-desktop.png")

    westbrook.locator("a.deal-link").click()
    page.wait_for_url(f"**/deals/{deal.id}/")
    expect(page.locator("#deal-head h1")).to_have_text("Westbrook Dental Ltd")

    # Move to the next stage: one click, answered by htmx without a page load.
    page.click("text=Advance to Qualified")
    expect(page.locator("#stage-panel .saved-note")).to_have_text("Moved to Qualified.")
    expect(page.locator("#deal-head .deal-facts .station-badge")).to_have_text("Qualified")
    expect(page.locator("#stage-panel")).to_contain_text("Advance to Proposal")

    # A yes/no observation with an evidence note: type the note, then one click on "Yes".
    card = page.locator("#obs-decision-maker-reached")
    card.locator("input[name=evidence]").fill(
        "The CFO joined the second demo and asked about terms."
    )
    card.locator("button[value=yes]").click()
    expect(page.locator("#observations .saved-note")).to_have_text(
        "Decision maker reached: yes recorded."
    )
    card = page.locator("#obs-decision-maker-reached")
    expect(card.locator(".obs-value")).to_have_text("yes")
    expect(card.locator(".evidence")).to_contain_text("The CFO joined the second demo")

    # A choice observation: one click on the department.
    page.locator("#obs-prospect-department button[value=Finance]").click()
    expect(page.locator("#observations .saved-note")).to_have_text(
        "Prospect department: Finance recorded."
    )
    expect(page.locator("#obs-title ~ .panel-sub")).to_contain_text("4 of 6 still to observe")

    # The history (swapped out of band) shows all three, newest first.
    history = page.locator("#history .tl-item")
    expect(history).to_have_count(5)
    expect(history.nth(0)).to_contain_text("Prospect department")
    expect(history.nth(1)).to_contain_text("Decision maker reached")
    expect(history.nth(1)).to_contain_text("The CFO joined the second demo")
    expect(history.nth(2)).to_contain_text("Entered Qualified")
    for i in range(3):
        expect(history.nth(i)).to_contain_text("Rita Rossi")
        expect(history.nth(i).locator(".origin")).to_have_text("Browser")
    screenshot(page, screenshots_dir / "rep-deal-desktop.png")

    # What the browser did is in the database, recorded by the rep, with origin ui.
    event = StageEvent.objects.filter(deal=deal).latest("id")
    assert (event.stage.slug, event.origin, event.recorded_by_id) == (
        "qualified",
        Origin.UI,
        rep.id,
    )
    observed = Observation.objects.filter(deal=deal).order_by("id")
    assert [(o.characteristic.slug, o.value, o.observed_by_id) for o in observed] == [
        ("decision-maker-reached", "yes", rep.id),
        ("prospect-department", "Finance", rep.id),
    ]

    # The list now shows the deal in its new stage with two observations fewer missing.
    page.goto(f"{live_server.url}/teams/{team.slug}/deals/")
    westbrook = page.locator(".deal-table tbody tr").filter(has_text="Westbrook Dental Ltd")
    expect(westbrook.locator(".station-badge")).to_have_text("Qualified")
    expect(westbrook.locator(".missing-list li")).to_have_count(4)


def test_rep_flow_on_a_phone(new_page, live_server, pipeline, team, screenshots_dir):
    rep, deal = pipeline["rep"], pipeline["deal"]
    page = new_page(PHONE)
    log_in(page, live_server.url, rep.email)
    page.goto(f"{live_server.url}/teams/{team.slug}/deals/")
    expect(page.locator(".deal-table tbody tr")).to_have_count(len(ACCOUNTS))
    assert fits(page, PHONE)
    screenshot(page, screenshots_dir / "rep-deals-phone.png")

    page.locator("a.deal-link", has_text="Westbrook Dental Ltd").click()
    page.wait_for_url(f"**/deals/{deal.id}/")
    advance = page.locator("text=Advance to Qualified")
    box = advance.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 300  # a thumb-sized target
    advance.click()
    expect(page.locator("#stage-panel .saved-note")).to_have_text("Moved to Qualified.")
    card = page.locator("#obs-budget-confirmed")
    card.locator("input[name=evidence]").fill("Budget owner confirmed 60k for Q3.")
    card.locator("button[value=yes]").click()
    expect(page.locator("#observations .saved-note")).to_have_text(
        "Budget confirmed: yes recorded."
    )
    page.locator("#obs-competitor-present button[value=no]").click()
    expect(page.locator("#observations .saved-note")).to_have_text(
        "Competitor present: no recorded."
    )
    expect(page.locator("#history .tl-item").nth(0)).to_contain_text("Competitor present")
    assert fits(page, PHONE)
    screenshot(page, screenshots_dir / "rep-deal-phone.png")


def test_filters_apply_as_they_change(new_page, live_server, pipeline, team):
    page = new_page(DESKTOP)
    log_in(page, live_server.url, pipeline["rep"].email)
    page.goto(f"{live_server.url}/teams/{team.slug}/deals/")
    rows = page.locator(".deal-table tbody tr")
    expect(rows).to_have_count(len(ACCOUNTS))
    page.select_option("#id_stage", "proposal")
    expect(rows).to_have_count(2)  # htmx swapped the results, no button pressed
    assert "stage=proposal" in page.url  # and the URL can be shared or reloaded
    page.select_option("#id_owner", "all")
    page.fill("#id_q", "ENT-05")
    expect(page.locator(".empty")).to_contain_text("No deals match these filters")


def test_without_javascript_forms_post_and_redirect(new_page, live_server, pipeline, team):
    rep, deal = pipeline["rep"], pipeline["deal"]
    page = new_page(PHONE, javascript=False)
    log_in(page, live_server.url, rep.email)
    page.goto(f"{live_server.url}/teams/{team.slug}/deals/{deal.id}/")
    page.click("text=Advance to Qualified")
    page.wait_for_url(f"**/deals/{deal.id}/")
    expect(page.locator(".flash-success")).to_have_text("Moved to Qualified.")
    page.locator("#obs-pain-quantified button[value=no]").click()
    expect(page.locator(".flash-success")).to_have_text("Pain quantified: no recorded.")
    expect(page.locator("#history .tl-item").nth(0)).to_contain_text("Pain quantified")
