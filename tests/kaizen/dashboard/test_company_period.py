"""The company dashboard's analysis period: by default each team at its own horizon; a date
judges every team, and the pooled company, as of that date (issue 14, item 1)."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from funnel.metrics.accounting import week_start
from funnel.periods import Period
from funnel.pipeline.as_of import team_status_for_period
from funnel.pipeline.company import company_recompute
from kaizen.dashboard.company import company_dashboard_get

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()
PAST = week_start(TODAY) - dt.timedelta(weeks=20) + dt.timedelta(days=2)  # a Wednesday


def test_a_past_date_judges_every_team_and_the_company_as_of_it(loaded):
    company_recompute()
    period = Period(as_of=PAST, window=13, default=False)
    data = company_dashboard_get(team_ids=[loaded.team_id], whole_company=True, period=period)
    team_then = data.statuses[loaded.team_id]
    # The same verdict the team page shows for that period, not the live one.
    expected = team_status_for_period(team=loaded.team, latest=loaded, period=period)
    assert team_then.figures == expected.figures
    assert team_then.figures["recent_to"] == week_start(PAST).isoformat()
    assert loaded.figures["recent_to"] != team_then.figures["recent_to"]
    # The pooled company verdict judged the same weeks, from the weekly counts.
    assert data.company_status.pk is None  # computed on request, not stored
    assert data.company_status.figures["recent_to"] == week_start(PAST).isoformat()
    assert data.chart_to == week_start(PAST)
    # One team: the pooled conversion of its first station is its own first stage's.
    first = next(c for c in team_then.figures["contenders"] if c["metric"] == "arrivals")
    pooled = next(c for c in data.company_status.figures["contenders"] if c["metric"] == "arrivals")
    assert pooled["n"] == first["n"]


def test_the_page_has_the_control_and_names_bad_input(login, loaded, executive):
    client = login(executive)
    url = reverse("company_dashboard")
    html = client.get(url).content.decode()
    assert '<form class="period-control" method="get"' in html
    assert "each team at its own data horizon" in html
    html = client.get(url, {"as_of": PAST.isoformat(), "window": "13"}).content.decode()
    assert f'value="{PAST.isoformat()}"' in html and f"as of {PAST:%-d %b %Y}" in html
    html = client.get(url, {"as_of": "yesterday-ish"}).content.decode()
    assert 'class="period-error" role="alert"' in html
