"""A rep logs a touch on a phone: open the deal, tap "Call" (one tap), then "They answered"
(the second), without a page load; the touch and its answer are stored, and the tactics page
shows the call. Screenshots go to artifacts/screenshots/touches-*.png."""

import datetime as dt
import os
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from funnel.models import Origin, Tactic, Touch
from tests.browser.test_rep_flow import DESKTOP, PHONE, log_in, screenshot
from tests.deal_history import deal_with_history

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop.

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

T0 = dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC)


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


@pytest.fixture
def deal(team, rep):
    rep.first_name, rep.last_name = "Rita", "Rossi"
    rep.save()
    return deal_with_history(
        team=team, external_id="ENT-0424", stages=["inquiry", "engaged"], owner=rep, amount=67000
    )


def test_a_rep_logs_a_call_and_its_answer_in_two_taps_on_a_phone(
    new_page, live_server, deal, rep, screenshots_dir
):
    page = new_page(PHONE)
    log_in(page, live_server.url, rep.email)
    page.goto(f"{live_server.url}/teams/north/deals/{deal.id}/")
    panel = page.locator("#touches-panel")
    expect(panel.get_by_role("heading", name="Log a touch")).to_be_visible()
    panel.scroll_into_view_if_needed()
    screenshot(page, screenshots_dir / "touches-phone-deal.png")

    loads = []
    page.on("load", lambda _: loads.append(1))
    call = panel.get_by_role("button", name="Call", exact=True)
    box = call.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 100  # a thumb's target
    call.click()
    expect(page.locator("#touches-panel .saved-note")).to_contain_text("Call logged.")
    page.locator("#touches-panel").get_by_role("button", name="They answered").first.click()
    expect(page.locator("#touches-panel .saved-note")).to_contain_text("Call: answered.")
    expect(page.locator("#touches-panel .btn-answer.is-current")).to_have_count(1)
    assert loads == []  # both taps swapped the panel in place
    page.locator("#touches-panel").scroll_into_view_if_needed()
    page.locator("#touches-panel").screenshot(path=screenshots_dir / "touches-phone-logged.png")

    touch = Touch.objects.get()
    assert (touch.deal_id, touch.tactic.slug, touch.responded, touch.recorded_by_id) == (
        deal.id,
        "call",
        True,
        rep.id,
    )

    page.goto(f"{live_server.url}/teams/north/tactics/")
    expect(page.locator('[data-tactic="call"]').first).to_be_visible()
    screenshot(page, screenshots_dir / "touches-phone-tactics.png")


def test_without_javascript_the_touch_still_logs(new_page, live_server, deal, rep):
    page = new_page(PHONE, javascript=False)
    log_in(page, live_server.url, rep.email)
    page.goto(f"{live_server.url}/teams/north/deals/{deal.id}/")
    page.locator("#touches-panel").get_by_role("button", name="E-mail").click()
    expect(page.locator("#touches-panel")).to_contain_text("E-mail")
    assert Touch.objects.get().tactic.slug == "email"


def _seed_touches(team):
    """Four tactics with different answer rates, and prospects touched one to seven times."""
    tactics = {t.slug: t for t in Tactic.objects.filter(team=team)}
    Tactic.objects.filter(id=tactics["call"].id).update(cost_per_touch=Decimal("4.00"))
    plan = [("call", 260, 70), ("email", 520, 26), ("linkedin", 180, 20), ("meeting", 24, 12)]
    rows, number = [], 0
    for slug, n, answered in plan:
        for i in range(n):
            number += 1
            rows.append(
                Touch(
                    team=team,
                    touch_id=f"seed-{number}",
                    tactic=tactics[slug],
                    channel=tactics[slug].channel,
                    prospect=f"P-{number % 300}",
                    occurred_at=T0 + dt.timedelta(hours=number),
                    responded=i < answered,
                    origin=Origin.API,
                )
            )
    Touch.objects.bulk_create(rows)


def test_the_tactics_page_reads_as_a_chart_on_a_desktop(
    new_page, live_server, team, manager, screenshots_dir
):
    _seed_touches(team)
    page = new_page(DESKTOP)
    log_in(page, live_server.url, manager.email)
    page.goto(f"{live_server.url}/teams/north/tactics/?period=all")
    expect(page.locator('[data-tactic="call"][data-verdict="value"]')).to_be_visible()
    expect(page.locator('[data-tactic="email"][data-verdict="waste"]')).to_be_visible()
    screenshot(page, screenshots_dir / "touches-desktop-tactics.png")


def test_filters_swap_the_results_in_place_on_desktop_and_phone(
    new_page, live_server, team, manager, rep, screenshots_dir
):
    """Choosing a station refreshes the results through htmx (no page load) and keeps the
    choice in the address; the page fits a phone."""
    _seed_touches(team)
    deal = deal_with_history(
        team=team, external_id="ENT-0500", stages=["inquiry", "proposal"], owner=rep
    )
    meeting = Tactic.objects.get(team=team, slug="meeting")
    Touch.objects.bulk_create(
        Touch(
            team=team,
            touch_id=f"d-{i}",
            tactic=meeting,
            channel=meeting.channel,
            deal=deal,
            occurred_at=deal.stage_entered_at + dt.timedelta(hours=i + 1),
            responded=i % 2 == 0,
            origin=Origin.API,
        )
        for i in range(12)
    )
    for viewport, name in ((DESKTOP | {"height": 900}, "desktop"), (PHONE, "phone")):
        page = new_page(viewport)
        log_in(page, live_server.url, manager.email)
        page.goto(f"{live_server.url}/teams/north/tactics/?period=all")
        expect(page.locator('[data-tactic="call"]').first).to_be_visible()
        screenshot(page, screenshots_dir / f"tactics-filters-{name}-all.png")
        loads: list[int] = []
        page.on("load", lambda _, seen=loads: seen.append(1))
        page.get_by_label("Station").select_option("selling")
        expect(page.locator("#results-title")).to_contain_text("Selling")
        expect(page.locator('[data-tactic="meeting"]').first).to_be_visible()
        expect(page.locator('[data-tactic="call"]')).to_have_count(0)
        expect(page.locator(".finding-led").first).to_contain_text("answers on deals")
        assert loads == [] and "station=selling" in page.url
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"] + 1, f"{name}: the page scrolls sideways ({width}px)"
        screenshot(page, screenshots_dir / f"tactics-filters-{name}-selling.png")
