"""Deal screens in plain words and the team's currency (issue 16): amounts carry the team's
currency on the list, the detail and pipeline 5S; a deal without an owner says "No owner"; a
closed deal shows when it closed instead of "0 d in stage"."""

import re

import pytest
from django.urls import reverse

from tests.deal_history import deal_with_history

pytestmark = pytest.mark.django_db


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def euro_team(team):
    team.currency = "EUR"
    team.save(update_fields=["currency"])
    return team


def test_deal_list_and_detail_write_amounts_in_the_teams_currency(login, euro_team, manager):
    deal = deal_with_history(
        team=euro_team, external_id="E-1", stages=["inquiry"], owner=manager, amount=25000
    )
    deal_with_history(team=euro_team, external_id="E-2", stages=["inquiry"], amount=1500)
    client = login(manager)
    listing = client.get(reverse("deal_list", args=["north"]), {"owner": "all"}).content.decode()
    assert "€25,000" in listing and "€1,500" in listing
    assert "€26,500" in listing  # the total of the two open deals, 25,000 + 1,500
    assert "25,000</td>" not in listing.replace("€25,000", "")
    detail = client.get(reverse("deal_detail", args=["north", deal.id])).content.decode()
    assert "€25,000" in detail


def test_a_deal_without_an_owner_says_no_owner(login, team, manager):
    deal = deal_with_history(team=team, external_id="N-1", stages=["inquiry"], amount=100)
    client = login(manager)
    listing = client.get(reverse("deal_list", args=["north"]), {"owner": "all"}).content.decode()
    row = listing[listing.index("N-1") :]
    row = row[: row.index("</tr>")]
    assert "No owner" in row and "nobody" not in row
    assert 'class="owner-cell no-owner"' in row  # the phone card drops its "Owner:" prefix
    detail = text_of(client.get(reverse("deal_detail", args=["north", deal.id])).content.decode())
    assert "Owner No owner" in detail and "nobody" not in detail


def test_a_closed_deal_shows_when_it_closed_not_days_in_stage(login, team, manager):
    deal_with_history(
        team=team, external_id="C-1", stages=["inquiry"], owner=manager, outcome="won"
    )
    listing = login(manager).get(
        reverse("deal_list", args=["north"]), {"owner": "all", "status": "all"}
    )
    html = listing.content.decode()
    row = html[html.index("C-1") :]
    row = text_of(row[: row.index("</tr>")])
    assert " d " not in row.replace("Won", "")  # no "0 d in stage" for a closed deal
    assert re.search(r"Won \d{1,2} \w{3} \d{4}", row)
