"""Pipeline 5S and definitions in plain words (issue 16): the team's currency on amounts,
"No owner" for deals nobody owns, and counts of people in the right number."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from funnel.models import StaleRule
from tests.deal_history import deal_with_history

pytestmark = pytest.mark.django_db


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_pipeline_5s_amounts_in_currency_and_no_owner(login, team, manager):
    team.currency = "GBP"
    team.save(update_fields=["currency"])
    StaleRule.objects.create(team=team, number=1, days=30, effective_from=dt.date(2020, 1, 1))
    # Quiet for 40 days, so stale under the 30-day rule; nobody owns it.
    deal_with_history(
        team=team, external_id="S-1", stages=["inquiry"], amount=7000, closed_days_ago=40
    )
    words = text_of(login(manager).get(reverse("pipeline_5s", args=[team.slug])).content.decode())
    assert "£7,000" in words
    assert "No owner" in words and "Nobody" not in words


def test_definition_agreement_counts_one_person_in_the_singular(login, team, manager):
    html = login(manager).get(
        reverse("definitions:definition_detail", args=[team.slug, "stage-qualified"])
    )
    words = text_of(html.content.decode())
    assert "1 sellers and managers" not in words
    assert "0 of 1 seller or manager agree to v1" in words
