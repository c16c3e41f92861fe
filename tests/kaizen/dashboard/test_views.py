"""The dashboard pages: who sees what, what they cost in queries, and the live poll."""

import datetime as dt
import re

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from funnel.models import RecomputeState, Role
from funnel.pipeline.run import team_recompute
from funnel.services import membership_add, team_create
from kaizen.dashboard.selectors import status_token
from tests.kaizen.dashboard.conftest import NOW, load

pytestmark = pytest.mark.django_db
# A signed-in request reads its session from the database, unless a shared cache holds it
# (with CACHE_URL, settings use the cached_db engine).
SESSION_QUERIES = int(settings.SESSION_ENGINE == "django.contrib.sessions.backends.db")
HTMX = {"HTTP_HX_REQUEST": "true"}


def team_url(slug="north"):
    return reverse("team_dashboard", args=[slug])


def token_of(html: str) -> str:
    return re.search(r'data-token="([^"]+)"', html).group(1)


def without_csrf(html: str) -> str:
    """The page less its CSRF token, which Django masks afresh for every response."""
    return re.sub(r'(X-CSRFToken": "|name="csrfmiddlewaretoken" value=")[^"]+', r"\1", html)


@pytest.mark.parametrize("url", [reverse("company_dashboard"), team_url()])
def test_anonymous_is_sent_to_log_in(client, team, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("url", [reverse("company_dashboard"), team_url()])
def test_wrong_method_is_405(login, manager, url):
    assert login(manager).post(url).status_code == 405


def test_outsider_gets_404_for_another_teams_dashboard(login, team, outsider):
    assert login(outsider).get(team_url("north")).status_code == 404
    assert login(outsider).get(team_url("no-such-team")).status_code == 404


def test_outsider_company_page_lists_only_their_team(login, team, outsider):
    html = login(outsider).get(reverse("company_dashboard")).content.decode()
    assert 'id="team-south"' in html
    assert 'id="team-north"' not in html
    assert "Company bottleneck dashboard" not in html  # a manager sees their teams, not the company


def test_bottleneck_card_names_the_stage_and_the_figures(login, loaded, manager):
    html = login(manager).get(team_url()).content.decode()
    card = html[html.index('id="verdict-card"') : html.index("</article>")]
    assert "Qualified" in card and "Nurturing &amp; qualifying" in card
    assert f"{loaded.gap_per_week:+.2f}" in card
    why = next(c for c in loaded.figures["contenders"] if c.get("slug") == "qualified")
    assert f"{why['n']} decided deals" in card
    assert f"{why['current'] * 100:.0f} %" in card and f"{why['target'] * 100:.0f} %" in card
    assert "routine variation alone falls this far short" in card
    assert f"p = {why['p_value']:.4f}" in card and why["p_value"] < why["threshold"]
    assert 'id="start-cycle"' in card  # a manager may start a PDCA cycle from it
    # "Also below target" lists other shortfalls, never the verdict itself again.
    also = card[card.index('class="also"') :] if 'class="also"' in card else ""
    assert "<li><span>Qualified</span>" not in also
    # The value stream highlights the same stage, and three XmR charts are drawn.
    assert 'class="vsm-stage station-qualifying is-bottleneck' in html
    assert html.count('class="xmr card"') == 3
    assert "<desc id=" in html and 'role="img"' in html


@pytest.mark.parametrize("role", [Role.REP, Role.EXECUTIVE])
def test_reps_and_executives_read_without_edit_controls(client, loaded, team, role):
    _, _, user = membership_add(team=team, email=f"{role}@example.com", role=role)
    client.force_login(user)
    html = client.get(team_url()).content.decode()
    assert "Qualified" in html
    assert 'id="start-cycle"' not in html
    # The analysis-period control is a GET form that changes nothing; no other form.
    assert html.count('<form class="period-control" method="get"') == 1
    others = html.replace('<form method="post" action="/logout/">', "").replace(
        '<form class="period-control" method="get"', ""
    )
    assert "<form" not in others


def test_executive_sees_every_team_and_the_company(login, loaded, executive, other_team):
    html = login(executive).get(reverse("company_dashboard")).content.decode()
    assert 'id="team-north"' in html and 'id="team-south"' in html
    assert "Company bottleneck dashboard" in html
    # The team with a bottleneck comes first.
    assert html.index('id="team-north"') < html.index('id="team-south"')


def test_team_page_queries_are_bounded(login, loaded, manager, django_assert_max_num_queries):
    client = login(manager)
    # Session, user, the user's teams with the token (shared with the top bar); then, for a
    # version not rendered yet, the latest verdict (the period's default) and the page's reads.
    with django_assert_max_num_queries(13):
        assert client.get(team_url()).status_code == 200


@pytest.mark.parametrize("url", [reverse("company_dashboard"), team_url()])
def test_a_page_already_rendered_costs_three_queries(login, loaded, executive, url):
    client = login(executive)
    first = client.get(url).content.decode()
    with CaptureQueriesContext(connection) as queries:
        again = client.get(url).content.decode()
    # Session, user, and the user's teams (the page's access, the top bar's list) with the
    # token of what the page shows, in one statement.
    assert len(queries) == 2 + SESSION_QUERIES, [q["sql"][:80] for q in queries]
    assert without_csrf(again) == without_csrf(first)


def test_the_top_bar_lists_the_users_teams_from_the_pages_own_read(
    login, loaded, manager, other_team
):
    membership_add(team=other_team, email="max.manager@example.com", role=Role.REP)
    html = login(manager).get(team_url()).content.decode()
    bar = html[html.index('class="nav-drop-panel"') : html.index("</ul>", html.index("nav-drop"))]
    assert "North Region" in bar and "South Region" in bar
    assert bar.index("North Region") < bar.index("South Region")  # by name
    assert ">Rep<" in bar and ">Manager<" in bar


def test_a_renamed_team_shows_its_new_name_at_once(login, loaded, manager, team):
    client = login(manager)
    assert "North Region" in client.get(team_url()).content.decode()
    team.name = "Northern Lights"
    team.save(update_fields=["name"])
    html = client.get(team_url()).content.decode()
    assert "<h1>Northern Lights</h1>" in html and "North Region" not in html


def test_each_role_gets_its_own_page_from_the_cache(client, loaded, team, manager):
    """The content is cached per role: an executive's read-only page never reaches a manager
    and the other way round, whoever opened it first."""
    _, _, executive = membership_add(team=team, email="exe@example.com", role=Role.EXECUTIVE)
    client.force_login(executive)
    html = client.get(team_url()).content.decode()
    assert "read-only" in html and 'id="start-cycle"' not in html
    client.force_login(manager)
    html = client.get(team_url()).content.decode()
    assert "read-only" not in html and 'id="start-cycle"' in html
    assert "max.manager@example.com" in html or "Max" in html  # the top bar is the manager's


def test_the_period_asked_for_is_part_of_what_is_cached(login, loaded, manager):
    client = login(manager)
    default = client.get(team_url()).content.decode()
    past = client.get(team_url(), {"window": "26"}).content.decode()
    assert 'value="26" selected' in past and 'value="26" selected' not in default
    assert without_csrf(client.get(team_url()).content.decode()) == without_csrf(default)


def test_company_page_queries_do_not_grow_with_teams(login, loaded, executive):
    client = login(executive)
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("company_dashboard"))
    for i in range(3):
        load(team_create(slug=f"extra-{i}", name=f"Extra {i}"), prefix=f"x{i}")
    with CaptureQueriesContext(connection) as four:
        html = client.get(reverse("company_dashboard")).content.decode()
    assert html.count('class="card team-verdict') == 4
    # Session, user, the user's teams with the token (shared with the top bar), the page's reads.
    assert len(four) == len(one) <= 8


def test_poll_is_204_and_cheap_while_nothing_changed(login, loaded, manager):
    client = login(manager)
    token = token_of(client.get(team_url()).content.decode())
    with CaptureQueriesContext(connection) as queries:
        response = client.get(team_url(), {"since": token}, **HTMX)
    assert response.status_code == 204
    # Session, user, and the user's teams with the token, in one statement.
    assert len(queries) == 2 + SESSION_QUERIES


def test_the_pages_token_is_the_one_status_token_computes(
    login, loaded, executive, team, other_team
):
    """The token read in one statement with the user's teams is that of exactly the teams the
    page shows: all of them for the company page, the one team (and its recompute requests)
    for a team's page, as status_token reads them over the team table alone."""
    client = login(executive)
    company = token_of(client.get(reverse("company_dashboard")).content.decode())
    assert company == status_token(team_ids=sorted([team.id, other_team.id]))
    own = token_of(client.get(team_url()).content.decode())
    assert own == status_token(team_ids=[team.id], recompute_requests=True)
    assert own != company
    # A recompute waiting (as a write leaves it until the worker starts) changes the team
    # page's token, not the company page's.
    RecomputeState.objects.update_or_create(
        team=team, defaults={"queued": True, "requested_at": NOW + dt.timedelta(minutes=1)}
    )
    assert token_of(client.get(team_url()).content.decode()) != own
    assert status_token(team_ids=[team.id], recompute_requests=True) != own
    assert token_of(client.get(reverse("company_dashboard")).content.decode()) == company


def test_poll_returns_the_live_part_when_a_recompute_finished(login, loaded, manager, team):
    client = login(manager)
    token = token_of(client.get(team_url()).content.decode())
    team_recompute(team=team, now=NOW + dt.timedelta(minutes=5))
    response = client.get(team_url(), {"since": token}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="dash-live"')  # the partial, not the page
    assert "<html" not in html
    assert token_of(html) != token
    assert "HX-Request" in response["Vary"]


def test_company_poll_changes_when_any_visible_team_recomputes(login, loaded, executive, team):
    client = login(executive)
    url = reverse("company_dashboard")
    token = token_of(client.get(url).content.decode())
    assert client.get(url, {"since": token}, **HTMX).status_code == 204
    team_recompute(team=team, now=NOW + dt.timedelta(minutes=5))
    assert client.get(url, {"since": token}, **HTMX).status_code == 200


def test_team_without_snapshots_says_so(login, team, manager):
    html = login(manager).get(team_url()).content.decode()
    assert "Not computed yet" in html


def test_poll_picks_up_a_new_cycle_without_a_recompute(login, team, manager):
    from kaizen.models import Cycle

    client = login(manager)
    token = token_of(client.get(team_url()).content.decode())
    assert client.get(team_url(), {"since": token}, **HTMX).status_code == 204
    Cycle.objects.create(team=team, owner=manager, title="Call back within a day")
    response = client.get(team_url(), {"since": token}, **HTMX)
    assert response.status_code == 200
    assert "Call back within a day" in response.content.decode()
