"""The winnable pages' analysis period: as-of date and window, read as whole close months
(issue 14, item 1)."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from funnel.models import BottleneckStatus, WinnableCount
from tests.funnel.winnable.conftest import counts_build

pytestmark = pytest.mark.django_db
ROWS = [("decision-maker-reached", "yes", 30, 10), ("decision-maker-reached", "no", 15, 45)]
CLOSED = sum(won + lost for _, _, won, lost in ROWS)


@pytest.fixture
def in_feb_2012(team):
    """The team's closed deals, as if they had all closed in February 2012."""
    counts_build(team, ROWS)
    WinnableCount.objects.filter(team=team).update(month=dt.date(2012, 2, 1))
    return team


def page(client, **params):
    return client.get(reverse("winnable_team", args=["north"]), params).content.decode()


def closed_stat(html: str) -> str:
    start = html.index('<div class="stat"><dt>Deals ')
    return html[start : html.index("</div>", start)]


def test_the_default_is_a_year_to_today_with_the_control(login, manager, team):
    counts_build(team, ROWS)
    html = page(login(manager))
    assert '<form class="period-control" method="get"' in html
    assert '<option value="52" selected>' in html
    today = timezone.localdate()
    assert f"<dd>{CLOSED}</dd>" in closed_stat(html)
    index = today.year * 12 + today.month - 1 - 11  # twelve months, this one included
    first = dt.date(index // 12, index % 12 + 1, 1)
    assert f"close months {first:%b %Y} to {today:%b %Y}, in full" in html


def test_a_past_as_of_reads_the_months_of_its_window(login, manager, in_feb_2012):
    client = login(manager)
    html = page(client, as_of="2012-02-29", window="13")
    assert "<strong>13 weeks to 26 Feb 2012</strong>" in html and "as of 29 Feb 2012" in html
    assert "Deals closed Dec 2011 – Feb 2012" in html
    assert f"<dd>{CLOSED}</dd>" in closed_stat(html)
    assert "deals still open then are left out" in html
    # A month earlier the February deals had not closed yet.
    html = page(client, as_of="2012-01-31", window="52")
    assert "Deals closed Feb 2011 – Jan 2012" in html and "<dd>0</dd>" in closed_stat(html)
    assert "No deals closed Feb 2011 – Jan 2012" in html


def test_a_stopped_team_defaults_to_its_data_horizon(login, manager, in_feb_2012):
    BottleneckStatus.objects.create(
        team=in_feb_2012,
        verdict="no_clear_bottleneck",
        figures={"history_up_to": "2012-02-26"},
        watermark=1,
        computed_at=timezone.now(),
    )
    html = page(login(manager))
    assert "History up to <strong>26 Feb 2012</strong>" in html
    assert "Deals closed Mar 2011 – Feb 2012" in html
    assert f"<dd>{CLOSED}</dd>" in closed_stat(html)


def test_old_period_links_and_bad_input(login, manager, in_feb_2012):
    client = login(manager)
    assert '<option value="26" selected>' in page(client, period="6")
    html = page(client, window="9", as_of="2012-02-29")
    assert "window must be 13, 26, 52 or all. Showing the default instead." in html
    assert "Deals closed Mar 2011 – Feb 2012" in html  # the default window, the date kept
    html = page(client, as_of="yesterday")
    assert "as_of must be a date written YYYY-MM-DD" in html
