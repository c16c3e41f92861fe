"""The tactics page: every member reads it, outsiders get 404, the htmx fragment, the empty
state, a verdict only where the evidence holds up, and a query count that does not grow with
the touches."""

import datetime as dt

import pytest
from django.urls import reverse

from funnel.models import Origin, Tactic, Touch
from funnel.pipeline.tactics import team_tactics_rebuild

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
    with django_assert_max_num_queries(14) as few:
        assert client.get(url(team)).status_code == 200
    _touches(team, "call", 500, 50, start=5000)
    team_tactics_rebuild(team=team)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url(team)).status_code == 200
