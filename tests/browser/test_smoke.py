"""Smoke test through a real browser: each role logs in through the form, lands on its home
page and sees what that role can do; full-page screenshots go to artifacts/screenshots/."""

import pytest

from funnel.models import Role
from funnel.services import membership_add
from tests.conftest import PASSWORD
from tests.deal_history import deal_with_history

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
FUNNEL = ["inquiry", "engaged", "qualified", "proposal", "negotiation"]


@pytest.fixture
def demo(team, other_team, rep, manager, executive, outsider):
    """Two teams with named people and a spread of open, won and lost deals."""
    for user, first, last in [
        (rep, "Rita", "Rossi"),
        (manager, "Max", "Meyer"),
        (executive, "Eve", "Laurent"),
        (outsider, "Otto", "Olsen"),
    ]:
        user.first_name, user.last_name = first, last
        user.save()
    raj = membership_add(team=team, email="raj.rep@example.com", role=Role.REP, name="Raj Patel")[2]
    qualified = team.stages.get(slug="qualified")
    qualified.target_conversion, qualified.target_days = "0.45", 14
    qualified.save()
    for i in range(24):
        owner = (rep, raj, manager)[i % 3]
        depth = 1 + i % len(FUNNEL)
        outcome = ("", "", "won", "lost")[i % 4]
        deal_with_history(
            team=team,
            external_id=f"N-{i}",
            stages=FUNNEL[:depth],
            owner=owner,
            outcome=outcome,
            closed_days_ago=5 + 4 * i,
        )
    for i in range(9):
        deal_with_history(
            team=other_team, external_id=f"S-{i}", stages=FUNNEL[: 1 + i % 4], owner=outsider
        )
    return {"rep": rep, "manager": manager, "executive": executive}


def log_in(page, base_url: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("button[type=submit]")


@pytest.fixture
def new_page(browser, live_server, plain_http_cookies):
    contexts = []

    def _new_page(viewport=DESKTOP):
        context = browser.new_context(viewport=viewport)
        # Generous: CI machines run other suites beside this one.
        context.set_default_timeout(90_000)
        contexts.append(context)
        return context.new_page()

    yield _new_page
    for context in contexts:
        context.close()


def test_login_page_and_a_wrong_password(new_page, live_server, rep, screenshots_dir):
    page = new_page()
    page.goto(f"{live_server.url}/login/")
    assert page.title() == "Log in · Sales Kaizen"
    assert page.locator("h1").inner_text() == "Log in"
    page.screenshot(path=screenshots_dir / "login.png", full_page=True)

    log_in(page, live_server.url, rep.email, password="not the password")
    assert page.locator(".error-summary").is_visible()
    assert page.url.endswith("/login/")


ROLE_TEXT = {
    "rep": ["Your open deals", "Record stage changes and observations"],
    "manager": ["Operational definitions", "PDCA cycles", "Import CRM data"],
    "executive": ["Executive view across 2 teams", "Bottleneck dashboard across all teams"],
}


@pytest.mark.parametrize("role", ["rep", "manager", "executive"])
def test_each_role_lands_on_its_home(role, new_page, live_server, demo, screenshots_dir):
    user = demo[role]
    page = new_page()
    log_in(page, live_server.url, user.email)
    page.wait_for_url(f"{live_server.url}/")
    body = page.locator("main").inner_text()
    assert f"Welcome back, {user.first_name}" in body
    for text in ROLE_TEXT[role]:
        assert text in body, text
    assert page.locator(".team-card").count() == (2 if role == "executive" else 1)
    page.screenshot(path=screenshots_dir / f"{role}-home.png", full_page=True)


def test_rep_home_fits_a_phone(new_page, live_server, demo, screenshots_dir):
    page = new_page(PHONE)
    log_in(page, live_server.url, demo["rep"].email)
    page.wait_for_url(f"{live_server.url}/")
    # Nothing may stick out sideways: that is what makes a page feel broken on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.locator(".team-card").is_visible()
    page.screenshot(path=screenshots_dir / "rep-home-phone.png", full_page=True)


def test_manager_opens_the_team_overview(new_page, live_server, demo, team, screenshots_dir):
    page = new_page()
    log_in(page, live_server.url, demo["manager"].email)
    page.wait_for_url(f"{live_server.url}/")
    page.click(f"#team-{team.slug} a")
    page.wait_for_url(f"{live_server.url}/teams/{team.slug}/")
    steps = page.locator(".flow-step h3").all_inner_texts()
    assert steps == list(team.stages.order_by("position").values_list("name", flat=True))
    assert page.locator("text=Edit targets").count() == len(steps)
    assert "45 %" in page.locator("#stage-qualified").inner_text()
    page.screenshot(path=screenshots_dir / "team-overview.png", full_page=True)

    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=screenshots_dir / "team-overview-phone.png", full_page=True)
