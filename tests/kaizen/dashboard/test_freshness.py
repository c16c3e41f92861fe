"""The team page says how far behind its figures are while a recompute waits, and that they are
current otherwise; the words for the lag."""

import datetime as dt
import re

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from funnel.models import PendingDeal, RecomputeState
from funnel.pipeline.run import team_recompute
from kaizen.templatetags.dashboard_format import lag_words

HTMX = {"HTTP_HX_REQUEST": "true"}
UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


@pytest.fixture(autouse=True)
def _fresh_cache():
    # The live part is cached by snapshot version; start every test from an empty cache.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def computed(team):
    """The team with its (empty) figures computed and nothing waiting."""
    return team_recompute(team=team)


def freshness_text(html: str) -> str:
    match = re.search(r'<p class="freshness" id="freshness">(.*?)</p>', html, re.S)
    assert match, "the page has no freshness line"
    return re.sub(r"<[^>]+>", "", match.group(1))


def request_waiting(team, seconds: float) -> None:
    requested_at = timezone.now() - dt.timedelta(seconds=seconds)
    RecomputeState.objects.filter(team=team).update(queued=True, requested_at=requested_at)


def team_page(client):
    return client.get(reverse("team_dashboard", args=["north"]))


@pytest.mark.django_db
def test_a_recompute_waiting_ten_minutes_is_ten_minutes_behind(login, computed, team, manager):
    request_waiting(team, 600)
    text = freshness_text(team_page(login(manager)).content.decode())
    assert "Figures up to 10 minutes behind" in text
    assert "current" not in text


@pytest.mark.django_db
def test_a_recent_request_is_counted_in_seconds(login, computed, team, manager):
    request_waiting(team, 45)
    html = team_page(login(manager)).content.decode()
    seconds = int(re.search(r"Figures up to (\d+) seconds behind", freshness_text(html))[1])
    assert 45 <= seconds <= 60  # the page took a moment to render
    # The script ages the words from the time the request has waited since.
    assert re.search(r'<time data-behind datetime="[^"]+"', html)


@pytest.mark.django_db
def test_deals_not_yet_drained_count_from_the_last_run(login, computed, team, manager):
    RecomputeState.objects.filter(team=team).update(
        queued=False, finished_at=timezone.now() - dt.timedelta(minutes=3)
    )
    deal = team.deals.create(external_id="d-1", account="Acme")
    PendingDeal.objects.create(team=team, deal_id=deal.id)
    text = freshness_text(team_page(login(manager)).content.decode())
    assert "Figures up to 3 minutes behind" in text


@pytest.mark.django_db
def test_nothing_waiting_says_the_figures_are_current(login, computed, manager):
    text = freshness_text(team_page(login(manager)).content.decode())
    assert "Figures are current" in text
    assert "behind" not in text


@pytest.mark.django_db
def test_not_computed_yet_does_not_claim_current_figures(login, team, manager):
    text = freshness_text(team_page(login(manager)).content.decode())
    assert "Not computed yet" in text
    assert "current" not in text


@pytest.mark.django_db
def test_the_poll_brings_the_lag_when_a_recompute_is_requested(login, computed, team, manager):
    client = login(manager)
    html = team_page(client).content.decode()
    token = re.search(r'data-token="([^"]+)"', html)[1]
    url = reverse("team_dashboard", args=["north"])
    assert client.get(url, {"since": token}, **HTMX).status_code == 204
    request_waiting(team, 120)
    response = client.get(url, {"since": token}, **HTMX)
    assert response.status_code == 200
    assert "Figures up to 2 minutes behind" in freshness_text(response.content.decode())


@pytest.mark.django_db
def test_the_company_page_makes_no_claim_about_lag(login, computed, team, executive):
    request_waiting(team, 600)
    text = freshness_text(login(executive).get(reverse("company_dashboard")).content.decode())
    assert "behind" not in text and "current" not in text


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "1 second"),
        (1, "1 second"),
        (45.4, "45 seconds"),
        (59.4, "59 seconds"),
        (59.5, "1 minute"),
        (89, "1 minute"),
        (90, "2 minutes"),
        (3569, "59 minutes"),
        (3570, "1 hour"),
        (7200, "2 hours"),
        (86_399, "1 day"),
        (3 * 86_400, "3 days"),
    ],
)
def test_lag_words(seconds, words):
    assert lag_words(seconds) == words


@given(st.floats(min_value=0, max_value=400 * 86_400))
def test_lag_words_are_within_half_a_unit_of_the_lag(seconds):
    count, unit = lag_words(seconds).split()
    size = UNITS[unit.removesuffix("s")]
    assert abs(int(count) * size - max(seconds, 1)) <= size / 2
    assert (unit.endswith("s")) == (int(count) != 1)
