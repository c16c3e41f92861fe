"""deal_details_update: corrects a deal's details (never its team, id or position) and asks for
the team's recompute when something changed."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from funnel.deals.services import deal_details_update
from funnel.models import Deal, RecomputeState

pytestmark = pytest.mark.django_db


def details(deal, **changes):
    values = {
        "owner": deal.owner,
        "account": deal.account,
        "department": deal.department,
        "source": deal.source,
        "amount": deal.amount,
    }
    return {**values, **changes}


def test_changes_the_details_and_the_team_is_recomputed_on_commit(
    rep_deal, other_rep, manager, team, django_capture_on_commit_callbacks
):
    position = Deal.objects.values(
        "team_id", "external_id", "status", "current_stage_id", "stage_entered_at", "opened_at"
    ).get(id=rep_deal.id)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        deal = deal_details_update(
            deal=rep_deal,
            by=manager,
            **details(
                rep_deal,
                owner=other_rep,
                department=" Finance ",
                source="Referral",
                amount=Decimal("99.999"),
            ),
        )
    deal.refresh_from_db()
    assert (deal.owner, deal.department, deal.source, deal.amount) == (
        other_rep,
        "Finance",
        "Referral",
        Decimal("100.00"),
    )
    assert Deal.objects.values(*position).get(id=deal.id) == position
    assert len(callbacks) == 1 and RecomputeState.objects.get(team=team).runs == 1


def test_nothing_changed_asks_for_nothing(rep_deal, manager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        deal_details_update(deal=rep_deal, by=manager, **details(rep_deal))
    assert callbacks == []


def test_an_owner_who_left_the_team_may_stay_the_owner(rep_deal, rep, manager, team):
    rep.memberships.filter(team=team).delete()
    deal = deal_details_update(deal=rep_deal, by=manager, **details(rep_deal, account="Renamed"))
    deal.refresh_from_db()
    assert (deal.owner, deal.account) == (rep, "Renamed")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"owner": "outsider"}, "owner"),
        ({"owner": "executive"}, "owner"),
        ({"amount": Decimal("-1")}, "amount"),
        ({"amount": Decimal("1e13")}, "amount"),
        ({"account": "x" * 201}, "account"),
    ],
)
def test_refused_details_write_nothing(rep_deal, manager, outsider, executive, change, field):
    people = {"outsider": outsider, "executive": executive}
    change = {
        k: people.get(v, v) if isinstance(v, str) and k == "owner" else v for k, v in change.items()
    }
    before = Deal.objects.values().get(id=rep_deal.id)
    with pytest.raises(ValidationError) as raised:
        deal_details_update(deal=rep_deal, by=manager, **details(rep_deal, **change))
    assert list(raised.value.message_dict) == [field]
    assert Deal.objects.values().get(id=rep_deal.id) == before
