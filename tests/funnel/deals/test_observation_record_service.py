import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from funnel.deals.services import observation_record
from funnel.models import Characteristic, Observation, Origin


def test_yes_no_is_stored_lowercase_with_who_and_evidence(
    rep_deal, yes_no, rep, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        o = observation_record(
            deal=rep_deal, characteristic=yes_no, value=" Yes ", by=rep, evidence=" CFO joined "
        )
    o.refresh_from_db()
    assert (o.value, o.value_number, o.evidence) == ("yes", None, "CFO joined")
    assert o.observed_by == rep and o.origin == Origin.UI
    assert abs((timezone.now() - o.observed_at).total_seconds()) < 60
    assert len(callbacks) == 1  # the team's recompute, scheduled on commit


def test_choice_matches_case_insensitively_and_keeps_the_teams_spelling(rep_deal, department, rep):
    o = observation_record(deal=rep_deal, characteristic=department, value="finance", by=rep)
    assert o.value == "Finance"


def test_number_is_parsed_and_stored_both_ways(rep_deal, deal_size, rep):
    assert (
        observation_record(deal=rep_deal, characteristic=deal_size, value="12", by=rep).value
        == "12"
    )
    o = observation_record(deal=rep_deal, characteristic=deal_size, value="2,5", by=rep)
    assert (o.value, o.value_number) == ("2.5", 2.5)


@pytest.mark.parametrize(
    ("slug", "value", "message"),
    [
        ("decision-maker-reached", "maybe", "Decision maker reached is yes or no, not 'maybe'."),
        ("decision-maker-reached", "  ", "Choose or enter a value."),
        ("prospect-department", "Legal", "'Legal' is not a choice of Prospect department"),
        ("seats", "a dozen", "Seats is a number, not 'a dozen'."),
        ("seats", "nan", "Seats is a number, not 'nan'."),
        ("seats", "inf", "Seats is a number, not 'inf'."),
    ],
)
def test_a_value_the_kind_does_not_allow_is_refused_and_nothing_written(
    rep_deal, deal_size, rep, team, slug, value, message
):
    characteristic = Characteristic.objects.get(team=team, slug=slug)
    with pytest.raises(ValidationError) as refused:
        observation_record(deal=rep_deal, characteristic=characteristic, value=value, by=rep)
    assert message in refused.value.message_dict["value"][0]
    assert not Observation.objects.exists()


def test_choice_error_lists_the_allowed_choices(rep_deal, department, rep):
    with pytest.raises(ValidationError) as refused:
        observation_record(deal=rep_deal, characteristic=department, value="Legal", by=rep)
    assert "Finance, Operations, IT" in refused.value.message_dict["value"][0]


def test_a_characteristic_of_another_team_or_retired_is_refused(rep_deal, other_team, yes_no, rep):
    foreign = Characteristic.objects.get(team=other_team, slug="decision-maker-reached")
    yes_no.is_active = False
    yes_no.save()
    for characteristic in (foreign, yes_no):
        with pytest.raises(ValidationError) as refused:
            observation_record(deal=rep_deal, characteristic=characteristic, value="yes", by=rep)
        assert "characteristic" in refused.value.message_dict
    assert not Observation.objects.exists()


def test_a_time_in_the_future_or_a_huge_note_is_refused(rep_deal, yes_no, rep):
    later = timezone.now() + dt.timedelta(days=3)
    with pytest.raises(ValidationError, match="future"):
        observation_record(
            deal=rep_deal, characteristic=yes_no, value="yes", by=rep, observed_at=later
        )
    with pytest.raises(ValidationError, match="2000"):
        observation_record(
            deal=rep_deal, characteristic=yes_no, value="yes", by=rep, evidence="x" * 2001
        )
    assert not Observation.objects.exists()


def test_recording_again_appends_a_row(rep_deal, yes_no, rep):
    first = observation_record(deal=rep_deal, characteristic=yes_no, value="no", by=rep)
    second = observation_record(deal=rep_deal, characteristic=yes_no, value="yes", by=rep)
    assert list(Observation.objects.order_by("id").values_list("id", "value")) == [
        (first.id, "no"),
        (second.id, "yes"),
    ]
