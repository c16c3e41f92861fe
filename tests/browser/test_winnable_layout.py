"""The winnable pages at a desk and on a phone: no sideways scroll, nothing cut inside an
overflow box, every verdict badge inside its card and the viewport."""

import datetime as dt

import pytest

from funnel.winnable.services import team_winnable_recompute
from tests.browser.test_smoke import DESKTOP, PHONE, log_in
from tests.funnel.winnable.conftest import UTC, counts_build, deal_closed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROWS = [
    ("champion-identified", "yes", 26, 52),
    ("champion-identified", "no", 16, 90),
    ("competitor-present", "yes", 9, 74),
    ("competitor-present", "no", 33, 70),
    ("prospect-department", "Executive", 9, 24),
    ("prospect-department", "Finance", 12, 37),
    ("prospect-department", "Operations", 9, 55),
    ("prospect-department", "HR", 2, 17),
]
CUT = """() => [...document.querySelectorAll('main *')].filter(e => {
  if (e.closest('.visually-hidden')) return false;
  const s = getComputedStyle(e);
  return ['auto', 'scroll', 'hidden', 'clip'].includes(s.overflowX)
    && e.scrollWidth > e.clientWidth + 1;
}).map(e => e.className || e.tagName)"""
BADGES_OUT = """() => [...document.querySelectorAll('main .verdict')].filter(b => {
  const r = b.getBoundingClientRect();
  if (r.width === 0) return false;  // folded away in a closed <details>
  const box = b.closest('.finding, .forest').getBoundingClientRect();
  return r.left < box.left || r.right > box.right || r.right > document.documentElement.clientWidth;
}).map(b => b.textContent)"""


@pytest.fixture
def analysed(team, other_team):
    counts_build(team, ROWS)
    closed = dt.datetime.now(UTC) - dt.timedelta(days=3)
    for i, department in enumerate(["Finance", "Operations", "Human Resources"] * 12):
        deal_closed(
            team, f"D-{i}", won=i % 4 == 0, closed_at=closed, amount="125000", department=department
        )
    team_winnable_recompute(team=team)
    return team


@pytest.fixture
def new_page(browser, live_server, plain_http_cookies):
    contexts = []

    def _new_page(viewport):
        context = browser.new_context(viewport=viewport)
        context.set_default_timeout(90_000)
        contexts.append(context)
        return context.new_page()

    yield _new_page
    for context in contexts:
        context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_winnable_pages_fit(
    new_page, live_server, analysed, manager, executive, viewport, screenshots_dir
):
    t = f"/teams/{analysed.slug}"
    for user, urls in [
        (manager, [f"{t}/winnable/", f"{t}/winnable/departments/", f"{t}/characteristics/",
                   f"{t}/characteristics/new/", "/glossary/"]),
        (executive, ["/winnable/", "/winnable/departments/"]),
    ]:  # fmt: skip
        page = new_page(viewport)
        log_in(page, live_server.url, user.email)
        for url in urls:
            page.goto(live_server.url + url)
            who = user.email.split("@")[0]
            name = f"winnable-{viewport['width']}-{who}" + url.replace("/", "_")
            page.screenshot(path=screenshots_dir / f"{name}.png", full_page=True)
            scroll = page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= viewport["width"], f"{url} scrolls sideways: {scroll}px"
            assert page.evaluate(CUT) == [], url
            if "winnable" in url:
                assert page.locator("main .verdict").count() > 0, url
                assert page.evaluate(BADGES_OUT) == [], url
                for folded in page.locator("main details").all():  # open every panel
                    folded.evaluate("d => d.open = true")
                assert page.evaluate(CUT) == [], url
                assert page.evaluate(BADGES_OUT) == [], url
