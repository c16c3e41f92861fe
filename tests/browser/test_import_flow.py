"""A manager imports a CRM export in a real browser: a file with one bad row is reported (row,
column, message; nothing written), then a good file is validated and imported to its summary.
The progress bar polls through htmx until the job is done. Screenshots go to
artifacts/screenshots/import-*.png."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from funnel.models import Deal, ImportJob, ImportStatus, StageEvent
from tests.conftest import PASSWORD

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop.

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "csv"
DESKTOP = {"width": 1366, "height": 900}


@pytest.fixture
def page(browser, live_server, plain_http_cookies, manager, rep):
    rep.first_name, rep.last_name = "Rita", "Rep"
    rep.save()
    manager.first_name, manager.last_name = "Max", "Manager"
    manager.save()
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", manager.email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    yield page
    context.close()


def shot(page, directory: Path, name: str) -> None:
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=directory / f"import-{name}.png", full_page=True)


def upload(page, base: str, name: str) -> None:
    page.goto(f"{base}/teams/north/imports/")
    page.set_input_files("input[type=file]", str(FIXTURES / name))
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.get_by_role("heading", name="Columns")).to_be_visible()


def test_bad_row_reported_then_good_file_imported(page, live_server, screenshots_dir, team):
    base = live_server.url
    page.goto(f"{base}/teams/north/imports/")
    expect(page.get_by_role("heading", name="Import deals from a CSV file")).to_be_visible()
    shot(page, screenshots_dir, "upload")

    upload(page, base, "deals_one_bad_row.csv")
    # The guessed mapping: the engage date is the date the deal entered "Engaged".
    expect(page.get_by_label("Meaning of engage_date")).to_have_value("entered:engaged")
    expect(page.get_by_label("Lost", exact=True)).to_have_value("lost")
    shot(page, screenshots_dir, "preview")

    page.get_by_role("button", name="Validate").click()
    report = page.locator(".import-errors")
    expect(
        page.get_by_role("heading", name="1 problem found in 1 row — nothing was written")
    ).to_be_visible()
    expect(report.locator("tbody tr")).to_have_count(1)
    expect(report.locator("tbody tr td").nth(0)).to_have_text("3")
    expect(report.locator("tbody tr td").nth(1)).to_have_text("close_date")
    expect(report.locator("tbody tr td").nth(2)).to_contain_text("'2024-02-31' is not a date")
    shot(page, screenshots_dir, "report")
    assert not Deal.objects.exists() and not StageEvent.objects.exists()

    upload(page, base, "deals_good.csv")
    page.get_by_role("button", name="Validate").click()
    expect(
        page.get_by_role("heading", name="Valid: 4 rows, 7 stage events, 0 observations")
    ).to_be_visible()
    shot(page, screenshots_dir, "valid")
    page.get_by_role("button", name="Import 4 rows").click()
    summary = page.locator("#import-progress")
    expect(summary.get_by_role("heading", name="Import finished")).to_be_visible()
    expect(summary.locator(".stat").filter(has_text="Deals created")).to_contain_text("4")
    expect(summary.locator(".stat").filter(has_text="Events added")).to_contain_text("7")
    shot(page, screenshots_dir, "summary")
    assert Deal.objects.filter(team=team).count() == 4
    assert StageEvent.objects.filter(team=team, origin="csv").count() == 7

    page.goto(f"{base}/teams/north/imports/")
    expect(page.locator("table tbody tr")).to_have_count(2)
    shot(page, screenshots_dir, "list")


def test_progress_bar_polls_until_done(page, live_server, screenshots_dir, team, manager):
    job = ImportJob.objects.create(
        team=team,
        uploaded_by=manager,
        filename="hubspot-deals-2024.csv",
        content=b"x",
        size=2_400_000,
        status=ImportStatus.RUNNING,
        total_rows=25_000,
        processed_rows=10_000,
    )
    page.goto(f"{live_server.url}/teams/north/imports/{job.id}/")
    bar = page.get_by_role("progressbar")
    expect(bar).to_have_attribute("aria-valuenow", "40")
    shot(page, screenshots_dir, "progress")
    ImportJob.objects.filter(id=job.id).update(processed_rows=20_000)
    expect(bar).to_have_attribute("aria-valuenow", "80", timeout=5000)
    ImportJob.objects.filter(id=job.id).update(
        status=ImportStatus.DONE,
        processed_rows=25_000,
        summary={
            "rows": 25_000,
            "events_accepted": 61_000,
            "duplicates": 0,
            "deals_created": 25_000,
            "deals_updated": 0,
            "observations": 25_000,
            "owners_created": [],
            "characteristics_created": [],
            "skipped_rows": 0,
        },
    )
    expect(page.get_by_role("heading", name="Import finished")).to_be_visible(timeout=5000)
    expect(page.locator("[hx-trigger]")).to_have_count(0)
