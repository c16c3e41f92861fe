"""A manager goes from a tactic on the tactics page to a cycle on its answer rate: "Test a
change" opens the plan form with the metric and the tactic chosen; the form's script shows the
tactic select only for that metric (and hides the stage and the comparison team); the saved
cycle measures the tactic."""

import datetime as dt
import os

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from funnel.models import Origin, Tactic, Touch
from kaizen.models import Cycle
from tests.browser.test_pdca_flow import DESKTOP, log_in

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop.

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def touched(team):
    """Some calls and e-mails last week, so the tactics page has rows."""
    now = timezone.now() - dt.timedelta(days=7)
    rows = []
    for tactic in Tactic.objects.filter(team=team, slug__in=["call", "email"]):
        for i in range(12):
            rows.append(
                Touch(
                    team=team,
                    touch_id=f"{tactic.slug}-{i}",
                    tactic=tactic,
                    channel=tactic.channel,
                    prospect=f"p{i}",
                    occurred_at=now + dt.timedelta(hours=i),
                    responded=i % 4 == 0,
                    origin=Origin.API,
                )
            )
    Touch.objects.bulk_create(rows)


def test_test_a_change_opens_a_plan_on_the_tactics_answer_rate(
    browser, live_server, plain_http_cookies, team, manager, touched
):
    page = browser.new_context(viewport=DESKTOP).new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    base = live_server.url
    log_in(page, base, manager.email)
    page.goto(f"{base}/teams/{team.slug}/tactics/")
    page.locator("li.finding", has_text="Call").get_by_role("link", name="Test a change").click()

    expect(page.locator("#id_metric")).to_have_value("response_rate")
    expect(page.locator("#field-tactic")).to_be_visible()
    expect(page.locator("#id_tactic option:checked")).to_have_text("Call")
    expect(page.locator("#field-stage")).to_be_hidden()
    expect(page.locator("#field-comparison_team")).to_be_hidden()

    page.select_option("#id_metric", "conversion")  # the tactic no longer applies
    expect(page.locator("#field-tactic")).to_be_hidden()
    expect(page.locator("#field-stage")).to_be_visible()
    page.select_option("#id_metric", "response_rate")
    expect(page.locator("#field-tactic")).to_be_visible()
    page.fill("#id_predicted_size", "5")
    page.get_by_role("button", name="Save plan").click()

    expect(page.get_by_text("PDCA cycle · answer rate of Call")).to_be_visible()
    cycle = Cycle.objects.get()
    assert (cycle.metric, cycle.tactic.slug, cycle.stage_id) == ("response_rate", "call", None)
    assert errors == []
