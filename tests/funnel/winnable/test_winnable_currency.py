"""Won value carries its currency; across teams in different currencies it is never added up."""

import datetime as dt

from django.urls import reverse

from funnel.winnable.services import team_winnable_recompute
from tests.funnel.winnable.conftest import UTC, deal_closed

CLOSED = dt.datetime.now(UTC) - dt.timedelta(days=3)


def _won(team, prefix, amounts, department="Finance"):
    for i, amount in enumerate(amounts):
        deal_closed(
            team, f"{prefix}-{i}", won=True, closed_at=CLOSED, amount=amount, department=department
        )
    deal_closed(team, f"{prefix}-lost", won=False, closed_at=CLOSED, amount="999999")
    team_winnable_recompute(team=team)


def test_team_pages_write_won_value_in_the_teams_currency(login, manager, team):
    team.currency = "EUR"
    team.save()
    _won(team, "N", ["1200000", "750000"])
    client = login(manager)
    body = client.get(reverse("winnable_team", args=[team.slug])).content.decode()
    assert "€1,950,000" in body  # 1,200,000 + 750,000 won; the lost deal's amount is not won
    body = client.get(reverse("departments_team", args=[team.slug])).content.decode()
    assert "Won value <strong>€1,950,000</strong>" in body  # the Finance card
    assert "1,950,000</dd>" not in body.replace("€1,950,000</dd>", "")


def test_company_pages_show_each_currency_apart(login, executive, team, other_team):
    team.currency = "EUR"
    team.save()
    _won(team, "N", ["1000"])
    _won(other_team, "S", ["2000", "500"])
    for name in ("winnable_company", "departments_company"):
        body = login(executive).get(reverse(name)).content.decode()
        assert "<span>€1,000</span>" in body and "<span>$2,500</span>" in body
        assert "3,500" not in body  # never the sum of euros and dollars
        assert "never added up" in body
    # One team chosen: its own currency again.
    body = login(executive).get(reverse("winnable_company"), {"team": "south"}).content.decode()
    assert "$2,500" in body and "never added up" not in body


def test_company_pages_add_up_one_currency(login, executive, team, other_team):
    _won(team, "N", ["1000"])
    _won(other_team, "S", ["2000", "500"])
    body = login(executive).get(reverse("winnable_company")).content.decode()
    assert "$3,500" in body and "never added up" not in body
