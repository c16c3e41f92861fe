"""observations_record_bulk: many observations in a few statements, with the checks of
observation_record, and nothing written when one of them is bad."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from funnel.deals.services import ObservationNew, observations_record_bulk
from funnel.models import Observation, Origin
from tests.deal_history import deal_with_history

pytestmark = pytest.mark.django_db
AT = timezone.now() - dt.timedelta(days=2)


def test_appends_each_with_its_observer_and_evidence_and_asks_once_for_the_recompute(
    team,
    rep_deal,
    other_deal,
    rep,
    other_rep,
    yes_no,
    department,
    deal_size,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks() as callbacks:
        added = observations_record_bulk(
            team=team,
            origin=Origin.SEED,
            observations=[
                ObservationNew(rep_deal.id, yes_no.id, " Yes ", AT, rep.pk, " CFO joined "),
                ObservationNew(other_deal.id, department.id, "finance", AT, other_rep.pk),
                ObservationNew(other_deal.id, deal_size.id, "12,5", AT),
            ],
        )
    assert added == 3
    assert len(callbacks) == 1
    stored = Observation.objects.order_by("id").values_list(
        "deal_id", "value", "value_number", "observed_by_id", "evidence", "origin"
    )
    assert list(stored) == [
        (rep_deal.id, "yes", None, rep.pk, "CFO joined", "seed"),
        (other_deal.id, "Finance", None, other_rep.pk, "", "seed"),
        (other_deal.id, "12.5", 12.5, None, "", "seed"),
    ]


def test_without_schedule_recompute_asks_for_nothing(
    team, rep_deal, yes_no, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        observations_record_bulk(
            team=team,
            origin=Origin.SEED,
            observations=[ObservationNew(rep_deal.id, yes_no.id, "no", AT)],
            schedule_recompute=False,
        )
    assert callbacks == [] and Observation.objects.count() == 1


def test_a_deal_of_another_team_refuses_the_whole_batch(team, other_team, rep_deal, yes_no):
    theirs = deal_with_history(team=other_team, external_id="S-1", stages=["inquiry"])
    with pytest.raises(ValidationError) as raised:
        observations_record_bulk(
            team=team,
            origin=Origin.SEED,
            observations=[
                ObservationNew(rep_deal.id, yes_no.id, "yes", AT),
                ObservationNew(theirs.id, yes_no.id, "yes", AT),
            ],
        )
    assert raised.value.message_dict == {"deal": ["Observation 1: Not a deal of this team."]}
    assert not Observation.objects.exists()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"value": "maybe"}, "value", "is yes or no"),
        ({"characteristic": "theirs"}, "characteristic", "not in use on this team"),
        ({"characteristic": "inactive"}, "characteristic", "not in use on this team"),
        ({"observed_by_id": 987654321}, "observed_by", "No such user"),
        ({"observed_at": timezone.now() + dt.timedelta(days=3)}, "observed_at", "future"),
        ({"evidence": "x" * 2001}, "evidence", "under 2000"),
    ],
)
def test_a_bad_observation_is_named_and_nothing_is_written(
    team, other_team, rep_deal, yes_no, change, field, message
):
    values = {"value": "yes", "observed_by_id": None, "observed_at": AT, "evidence": ""}
    characteristic = yes_no
    if change.get("characteristic") == "theirs":
        characteristic = other_team.characteristics.get(slug=yes_no.slug)
    elif change.get("characteristic") == "inactive":
        yes_no.is_active = False
        yes_no.save()
    values.update({k: v for k, v in change.items() if k != "characteristic"})
    with pytest.raises(ValidationError) as raised:
        observations_record_bulk(
            team=team,
            origin=Origin.SEED,
            observations=[ObservationNew(rep_deal.id, characteristic.id, **values)],
        )
    (messages,) = raised.value.message_dict.values()
    assert list(raised.value.message_dict) == [field]
    assert messages[0].startswith("Observation 0: ") and message in messages[0]
    assert not Observation.objects.exists()
