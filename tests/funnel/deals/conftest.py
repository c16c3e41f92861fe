"""Deals owned by the fixture rep and by a second rep of the same team, built from real event
histories (the cached position comes from the same service as in production)."""

import pytest

from funnel.models import Characteristic, Role
from funnel.services import membership_add
from tests.deal_history import deal_with_history


@pytest.fixture
def other_rep(team):
    _, _, user = membership_add(team=team, email="oscar.rep@example.com", role=Role.REP)
    return user


@pytest.fixture
def rep_deal(team, rep):
    """Open, in "engaged" (entered 5 days ago), owned by the rep."""
    return deal_with_history(
        team=team, external_id="D-100", stages=["inquiry", "engaged"], owner=rep, amount=12000
    )


@pytest.fixture
def other_deal(team, other_rep):
    return deal_with_history(
        team=team, external_id="D-200", stages=["inquiry", "qualified"], owner=other_rep
    )


@pytest.fixture
def yes_no(team):
    return Characteristic.objects.get(team=team, slug="decision-maker-reached")


@pytest.fixture
def department(team):
    return Characteristic.objects.get(team=team, slug="prospect-department")


@pytest.fixture
def deal_size(team):
    """A custom number characteristic."""
    return Characteristic.objects.create(
        team=team, slug="seats", name="Seats", kind="number", position=50
    )
