from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from funnel.deals.services import observation_record
from funnel.deals.views import PAGE_SIZE
from funnel.models import Characteristic, Deal, Stage
from tests.deal_history import deal_with_history


def url(**query):
    base = reverse("deal_list", kwargs={"slug": "north"})
    if query:
        base += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return base


def test_rep_sees_own_open_deals_by_default(login, rep, rep_deal, other_deal, team):
    deal_with_history(team=team, external_id="D-WON", stages=["inquiry"], owner=rep, outcome="won")
    response = login(rep).get(url())
    assert response.status_code == 200
    deals = list(response.context["page"].object_list)
    assert deals == [rep_deal]
    content = response.content.decode()
    assert "My deals" in content and "Account D-100" in content and "D-200" not in content
    assert response["Vary"] and "HX-Request" in response["Vary"]


def test_row_shows_stage_age_amount_and_missing_observations(login, rep, rep_deal, yes_no):
    observation_record(deal=rep_deal, characteristic=yes_no, value="yes", by=rep)
    response = login(rep).get(url())
    deal = response.context["page"].object_list[0]
    active = Characteristic.objects.filter(team=rep_deal.team, is_active=True).count()
    assert yes_no not in deal.missing and len(deal.missing) == active - 1
    assert deal.days_in_stage == 5  # entered "engaged" 5 days ago (see deal_with_history)
    content = response.content.decode()
    assert 'class="station-badge station-marketing"' in content and ">Engaged<" in content
    assert "5 d" in content and "12,000" in content
    assert "Pain quantified" in content  # still missing
    assert "Decision maker reached" not in content.split("Still to observe")[1]
    assert response.context["totals"] == {"count": 1, "amount": Decimal("12000")}
    assert "in pipeline" in content


def test_a_deal_over_its_stage_target_days_is_flagged(login, rep, rep_deal, team):
    engaged = Stage.objects.get(team=team, slug="engaged")
    engaged.target_days = 4
    engaged.save()
    response = login(rep).get(url())
    assert response.context["page"].object_list[0].is_aged
    assert 'class="age age-over" title="Over the stage\'s target of 4 days"' in (
        response.content.decode()
    )
    engaged.target_days = 5
    engaged.save()
    assert not login(rep).get(url()).context["page"].object_list[0].is_aged


def test_manager_sees_all_team_deals_and_can_filter_by_owner(
    login, manager, rep_deal, other_deal, other_rep
):
    client = login(manager)
    assert set(client.get(url()).context["page"].object_list) == {rep_deal, other_deal}
    filtered = client.get(url(owner=other_rep.pk)).context["page"].object_list
    assert list(filtered) == [other_deal]


def test_executive_sees_all_read_only(login, executive, rep_deal, other_deal):
    response = login(executive).get(url())
    assert set(response.context["page"].object_list) == {rep_deal, other_deal}
    assert "read-only" in response.content.decode()


def test_filters_status_stage_and_search(login, manager, team, rep, rep_deal, other_deal):
    lost = deal_with_history(
        team=team, external_id="LOST-1", stages=["inquiry"], owner=rep, outcome="lost"
    )
    client = login(manager)
    assert list(client.get(url(status="lost")).context["page"].object_list) == [lost]
    assert len(client.get(url(status="all")).context["page"].object_list) == 3
    assert list(client.get(url(stage="qualified")).context["page"].object_list) == [other_deal]
    assert list(client.get(url(q="d-1")).context["page"].object_list) == [rep_deal]
    assert list(client.get(url(q="account+d-2")).context["page"].object_list) == [other_deal]


def test_bad_filter_values_fall_back_to_the_defaults(login, rep, rep_deal):
    response = login(rep).get(url(status="nonsense", owner="999999"))
    assert response.status_code == 200
    assert list(response.context["page"].object_list) == [rep_deal]


def test_htmx_request_gets_only_the_results(login, rep, rep_deal):
    response = login(rep).get(url(), headers={"HX-Request": "true"})
    content = response.content.decode()
    assert content.lstrip().startswith('<section id="deal-results"')
    assert "<html" not in content and "Account D-100" in content


def test_empty_states(login, rep, manager, other_deal):
    assert "No open deals of yours" in login(rep).get(url()).content.decode()
    assert "No deals match these filters" in login(manager).get(url(q="zzz")).content.decode()


def test_empty_team(login, manager):
    assert "No open deals yet" in login(manager).get(url()).content.decode()


def test_paginated_by_50(login, manager, team, rep):
    for i in range(PAGE_SIZE + 3):
        Deal.objects.create(team=team, external_id=f"P-{i:03}", owner=rep)
    client = login(manager)
    first = client.get(url()).context["page"]
    assert (len(first.object_list), first.paginator.count, first.has_next()) == (50, 53, True)
    assert len(client.get(url(page=2)).context["page"].object_list) == 3


def test_query_count_does_not_grow_with_the_deals(login, manager, team, rep, yes_no):
    client = login(manager)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url()).status_code == 200
        return len(captured)

    deal_with_history(team=team, external_id="Q-0", stages=["inquiry"], owner=rep)
    few = queries()
    for i in range(1, 25):
        deal = deal_with_history(team=team, external_id=f"Q-{i}", stages=["inquiry"], owner=rep)
        observation_record(deal=deal, characteristic=yes_no, value="yes", by=rep)
    assert queries() == few
    assert few <= 11  # +1: the top bar's list of the user's teams


def test_outsider_gets_404_and_anonymous_goes_to_login(client, login, outsider, rep_deal):
    anonymous = client.get(url())
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))
    assert login(outsider).get(url()).status_code == 404
    assert login(outsider).get(reverse("deal_list", kwargs={"slug": "nope"})).status_code == 404


def test_post_is_not_allowed(login, rep):
    assert login(rep).post(url()).status_code == 405


def test_any_status_lists_open_deals_first_then_the_latest_closed(login, manager, team, rep):
    old = deal_with_history(
        team=team,
        external_id="OLD",
        stages=["inquiry"],
        owner=rep,
        outcome="lost",
        closed_days_ago=30,
    )
    recent = deal_with_history(
        team=team,
        external_id="NEW",
        stages=["inquiry"],
        owner=rep,
        outcome="won",
        closed_days_ago=2,
    )
    still_open = deal_with_history(team=team, external_id="OPEN", stages=["inquiry"], owner=rep)
    response = login(manager).get(url(status="all"))
    assert list(response.context["page"].object_list) == [still_open, recent, old]
    # Closed deals show no "still to observe": a value recorded now would not count anyway.
    assert response.content.decode().count('<span class="muted">closed</span>') == 2
