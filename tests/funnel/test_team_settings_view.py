"""/teams/<slug>/settings/: managers set the team's name, currency and winnable threshold;
invalid input is refused field by field with a summary (issue 16, item 2)."""

from decimal import Decimal

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def url(team):
    return reverse("team_settings", args=[team.slug])


VALID = {"name": "North", "currency": "eur", "winnable_min_points": "10"}


def test_a_manager_sees_the_current_settings(login, manager, team):
    response = login(manager).get(url(team))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'value="North Region"' in body
    assert 'value="USD"' in body
    assert 'value="5"' in body  # 0.05 shown as 5 points
    for name in ["stage_editor", "team_members", "definitions:stale_rule"]:
        assert reverse(name, args=[team.slug]) in body


def test_saving_writes_the_settings(login, manager, team):
    response = login(manager).post(url(team), VALID)
    assert response.status_code == 302
    team.refresh_from_db()
    assert team.name == "North"
    assert team.currency == "EUR"  # typed in lower case, stored as the ISO code
    assert team.winnable_min_difference == Decimal("0.10")


@pytest.mark.parametrize("currency", ["EURO", "E1R", "", "€"])
def test_an_invalid_currency_is_refused_next_to_the_field(login, manager, team, currency):
    response = login(manager).post(url(team), {**VALID, "currency": currency})
    assert response.status_code == 400
    body = response.content.decode()
    assert 'class="error-summary"' in body
    assert 'id="id_currency_error"' in body
    assert "three-letter" in body
    team.refresh_from_db()
    assert team.currency == "USD" and team.name == "North Region"


@pytest.mark.parametrize(
    ("points", "message"),
    [("0", "at least 1 point"), ("95", "at most 90 points"), ("2.5", "whole number")],
)
def test_the_winnable_threshold_is_checked(login, manager, team, points, message):
    response = login(manager).post(url(team), {**VALID, "winnable_min_points": points})
    assert response.status_code == 400
    assert message in response.content.decode()


def test_an_empty_name_is_refused(login, manager, team):
    response = login(manager).post(url(team), {**VALID, "name": "   "})
    assert response.status_code == 400
    assert "Give the team a name." in response.content.decode()


def test_reps_and_executives_are_refused(login, rep, executive, team):
    for user in (rep, executive):
        assert login(user).get(url(team)).status_code == 403
        assert login(user).post(url(team), VALID).status_code == 403
    team.refresh_from_db()
    assert team.currency == "USD"


def test_an_outsider_gets_not_found(login, outsider, team):
    assert login(outsider).get(url(team)).status_code == 404


def test_wrong_method(login, manager, team):
    assert login(manager).put(url(team)).status_code == 405
