"""Tables on a phone (issue 16): at 390 px the deal list, pipeline 5S, definitions, past
imports, the team overview and the dashboards scroll no page sideways and cut nothing inside a
table region; a 45-column import preview scrolls inside its own box, with a cue, and leaves the
page its width. Screenshots go to artifacts/screenshots/phone-tables-*.png."""

import csv
import datetime as dt

import pytest

from funnel.models import StaleRule
from funnel.pipeline.run import team_recompute
from tests.browser.test_smoke import log_in
from tests.deal_history import deal_with_history

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
# Elements of a table region whose content is wider than their box: clipped or behind a swipe.
CUT = """() => [...document.querySelectorAll('main .table-wrap, main table, main .card')]
  .filter(el => !el.closest('.import-preview') && !el.closest('.vsm'))
  .filter(el => el.scrollWidth > el.clientWidth + 1)
  .map(el => (el.id || el.className) + ' ' + el.scrollWidth + '>' + el.clientWidth)"""


@pytest.fixture
def pipeline(team, rep, manager):
    team.currency = "EUR"
    team.save(update_fields=["currency"])
    StaleRule.objects.create(team=team, number=1, days=30, effective_from=dt.date(2020, 1, 1))
    funnel = ["inquiry", "engaged", "qualified", "proposal"]
    for i in range(12):
        deal_with_history(
            team=team,
            external_id=f"PH-{i:04d}-LONG-IDENTIFIER",
            stages=funnel[: 1 + i % 4],
            owner=(rep, manager, None)[i % 3],
            outcome=("", "", "won", "lost")[i % 4] if i > 5 else "",
            amount=125000 + i,
            closed_days_ago=3 + 9 * i,
        )
    team_recompute(team=team)
    return team


def wide_csv(path):
    header = ["deal_id", "account", "stage", "date"] + [f"crm_field_{i:02d}" for i in range(41)]
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for r in range(6):
            row = [f"W-{r}", f"Wide account {r}", "Inquiry", f"2026-01-0{r + 1}"]
            writer.writerow(row + [f"value {r}-{i}" for i in range(41)])
    return path


def assert_fits(page, screenshots_dir, name):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name}: the page is {width} px wide"
    assert page.evaluate(CUT) == [], name
    page.screenshot(path=screenshots_dir / f"phone-tables-{name}.png", full_page=True)


def test_tables_fit_a_phone(
    browser, live_server, plain_http_cookies, pipeline, manager, screenshots_dir, tmp_path
):
    context = browser.new_context(viewport=PHONE)
    context.set_default_timeout(90_000)
    page = context.new_page()
    log_in(page, live_server.url, manager.email)
    page.wait_for_url(f"{live_server.url}/")
    team = f"{live_server.url}/teams/{pipeline.slug}"
    pages = {
        "deals": f"{team}/deals/?owner=all&status=all",
        "pipeline-5s": f"{team}/pipeline-5s/",
        "definitions": f"{team}/definitions/",
        "overview": f"{team}/",
        "dashboard": f"{team}/dashboard/",
        "company": f"{live_server.url}/dashboard/",
    }
    for name, url in pages.items():
        page.goto(url)
        assert_fits(page, screenshots_dir, name)
    # The deal card keeps its amount, in the team's currency, in view.
    page.goto(pages["deals"])
    assert page.locator(".deal-table .amount-cell").first.inner_text().startswith("€")

    # Upload a 45-column file: the preview scrolls inside its box, the page does not.
    page.goto(f"{team}/imports/")
    page.set_input_files("input[type=file]", str(wide_csv(tmp_path / "wide.csv")))
    page.click("text=Upload and preview")
    page.wait_for_selector(".import-preview")
    assert page.locator("#preview-scroll-cue").inner_text().startswith("⇆ 45 columns")
    box = page.evaluate(
        "() => { const b = document.querySelector('.import-preview');"
        " return [b.scrollWidth, b.clientWidth, b.getBoundingClientRect().right]; }"
    )
    assert box[0] > box[1] and box[2] <= PHONE["width"]
    assert_fits(page, screenshots_dir, "import-preview")
    page.goto(f"{team}/imports/")
    assert page.locator(".import-jobs .job-status").first.is_visible()
    assert_fits(page, screenshots_dir, "imports")
    context.close()
