"""The tactics page: every member reads it, outsiders get 404, the htmx fragment, the empty
state, a verdict only where the evidence holds up, and a query count that does not grow with
the touches."""

import datetime as dt

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from funnel.models import Origin, Stage, StageEvent, Tactic, Touch
from funnel.pipeline.tactics import team_tactics_rebuild
from tests.deal_history import deal_with_history

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


def _touches(team, tactic, n, answered, start=0):
    tactic = Tactic.objects.get(team=team, slug=tactic)
    Touch.objects.bulk_create(
        Touch(
            team=team,
            touch_id=f"{tactic.slug}-{start + i}",
            tactic=tactic,
            channel=tactic.channel,
            prospect=f"P-{start + i}",
            occurred_at=T0 + dt.timedelta(hours=i),
            responded=i < answered,
            origin=Origin.API,
        )
        for i in range(n)
    )


def url(team, **query):
    return reverse("tactics_team", args=[team.slug]) + (
        "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
    )


@pytest.mark.parametrize("role", ["rep", "manager", "executive"])
def test_every_member_reads_the_page(request, login, team, role):
    _touches(team, "call", 200, 60)
    _touches(team, "email", 400, 20, start=1000)
    body = login(request.getfixturevalue(role)).get(url(team)).content.decode()
    assert "Tactics that earn an answer" in body
    assert 'data-tactic="call" data-verdict="value"' in body
    assert 'data-tactic="email" data-verdict="waste"' in body
    assert "60 of 200 touches answered (30.0 %" in body
    assert "20 of 400 touches answered (5.0 %" in body


def test_flat_tactics_get_no_verdict_and_the_page_says_so(login, manager, team):
    _touches(team, "call", 300, 30)
    _touches(team, "email", 300, 30, start=1000)
    body = login(manager).get(url(team)).content.decode()
    assert "No tactic</strong> is answered more or less often" in body
    assert 'data-verdict="value"' not in body and 'data-verdict="waste"' not in body


def test_the_htmx_fragment_is_the_results_only(login, manager, team):
    _touches(team, "call", 40, 4)
    response = login(manager).get(url(team, period="all"), headers={"HX-Request": "true"})
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="results"')
    assert "<html" not in body
    assert "HX-Request" in response["Vary"]


def test_the_period_counts_back_from_the_latest_touch(login, manager, team):
    _touches(team, "call", 10, 10)  # T0 ... T0 + 9 h
    old = Tactic.objects.get(team=team, slug="email")
    Touch.objects.create(
        team=team,
        touch_id="old",
        tactic=old,
        channel="email",
        prospect="P-old",
        occurred_at=T0 - dt.timedelta(days=200),
        origin=Origin.API,
    )
    body = login(manager).get(url(team, period="3")).content.decode()
    assert 'data-tactic="email"' not in body
    body = login(manager).get(url(team, period="all")).content.decode()
    assert 'data-tactic="email"' in body


def test_empty_state(login, rep, team):
    body = login(rep).get(url(team)).content.decode()
    assert "No touches yet" in body


def test_outsider_gets_404_and_post_405(login, outsider, manager, team):
    assert login(outsider).get(url(team)).status_code == 404
    assert login(manager).post(url(team)).status_code == 405


def test_queries_do_not_grow_with_the_touches(login, manager, team, django_assert_max_num_queries):
    _touches(team, "call", 50, 5)
    _touches(team, "email", 50, 5, start=1000)
    client = login(manager)
    client.get(url(team))  # the first read builds the counts
    cache.clear()
    with django_assert_max_num_queries(14) as few:
        assert client.get(url(team)).status_code == 200
    _touches(team, "call", 500, 50, start=5000)
    team_tactics_rebuild(team=team)
    cache.clear()
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url(team)).status_code == 200


def test_results_are_cached_per_version_of_the_counts(login, manager, team):
    _touches(team, "call", 40, 4)
    client = login(manager)
    assert "4 of 40 touches answered" in client.get(url(team, period="all")).content.decode()
    _touches(team, "call", 10, 10, start=500)  # not counted until the rebuild
    assert "4 of 40 touches answered" in client.get(url(team, period="all")).content.decode()
    team_tactics_rebuild(team=team)
    assert "14 of 50 touches answered" in client.get(url(team, period="all")).content.decode()


def test_a_renamed_tactic_shows_at_once(login, manager, team, django_capture_on_commit_callbacks):
    _touches(team, "call", 40, 4)
    client = login(manager)
    htmx = {"HX-Request": "true"}
    assert "Cold call" not in client.get(url(team), headers=htmx).content.decode()
    edit = reverse("tactic_edit", args=[team.slug, "call"])
    form = {"name": "Cold call", "channel": "phone", "window_days": "14", "is_active": "on"}
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(edit, form).status_code == 302
    body = client.get(url(team), headers=htmx).content.decode()
    assert "Cold call: 4 of 40" in body


def _deal_touches(team, deal, tactic, n, answered, days_ago=1):
    tactic = Tactic.objects.get(team=team, slug=tactic)
    Touch.objects.bulk_create(
        Touch(
            team=team,
            touch_id=f"{deal.external_id}-{tactic.slug}-{i}",
            tactic=tactic,
            channel=tactic.channel,
            deal=deal,
            occurred_at=timezone.now() - dt.timedelta(days=days_ago, hours=i),
            responded=i < answered,
            origin=Origin.API,
        )
        for i in range(n)
    )


def test_the_station_filter_reads_where_the_deal_stood(login, manager, team, rep):
    """A deal in proposal (selling) got meetings; prospects without a deal got calls."""
    deal = deal_with_history(
        team=team, external_id="D-1", stages=["inquiry", "proposal"], owner=rep, closed_days_ago=3
    )
    _deal_touches(team, deal, "meeting", 4, 2)
    _touches(team, "call", 10, 1)
    client = login(manager)
    body = client.get(url(team, period="all", station="selling")).content.decode()
    assert 'data-tactic="meeting"' in body and 'data-tactic="call"' not in body
    assert "all touches · Selling" in body
    body = client.get(url(team, period="all", station="none")).content.decode()
    assert 'data-tactic="call"' in body and 'data-tactic="meeting"' not in body
    body = client.get(url(team, period="all", station="servicing")).content.decode()
    assert "No touch in this period fell in this station" in body
    # Where the deal stood, said on the page; a station that is not one falls back to all.
    assert "where the deal stood when it was touched" in body
    body = client.get(url(team, period="all", station="nowhere")).content.decode()
    assert 'data-tactic="call"' in body and 'data-tactic="meeting"' in body


def test_each_tactic_says_how_many_answers_led_somewhere(login, manager, team, rep):
    deal = deal_with_history(team=team, external_id="D-1", stages=["inquiry"], owner=rep)
    _deal_touches(team, deal, "meeting", 3, 2, days_ago=3)
    later = deal_with_history(team=team, external_id="D-2", stages=["inquiry"], owner=rep)
    _deal_touches(team, later, "meeting", 1, 1, days_ago=3)
    StageEvent.objects.create(
        team=team,
        deal=later,
        stage=Stage.objects.get(team=team, slug="qualified"),
        occurred_at=timezone.now() - dt.timedelta(days=2),
        event_id="D-2-q",
        origin=Origin.API,
    )
    _touches(team, "call", 5, 2)
    body = login(manager).get(url(team, period="all")).content.decode()
    assert "Of 3 answers on deals, 1 led to a later stage or a win (33.3 %)." in body
    assert "No answer came on a deal, so none can show whether it led anywhere." in body


def test_someone_on_several_teams_switches_team(login, executive, manager, team, other_team):
    _touches(team, "call", 10, 1)
    client = login(executive)
    body = client.get(url(team)).content.decode()
    assert '<select name="team" id="id_team">' in body
    assert 'value="south"' in body and 'value="north" selected' in body
    response = client.get(url(team), {"team": "south", "period": "6"})
    assert response.status_code == 302
    assert response["Location"] == reverse("tactics_team", args=["south"]) + "?period=6"
    response = client.get(url(team), {"team": "south"}, headers={"HX-Request": "true"})
    assert response["HX-Redirect"] == reverse("tactics_team", args=["south"]) + "?period=12"
    assert client.get(response["HX-Redirect"]).status_code == 200
    # One team only: no team select, and naming another team changes nothing.
    client = login(manager)
    assert 'id="id_team"' not in client.get(url(team)).content.decode()
    assert client.get(url(team), {"team": "south"}).status_code == 200
