"""stage_targets_set: the one writer of a stage's targets; it asks for the team's recompute."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from funnel.models import RecomputeState
from funnel.stages.services import stage_targets_set

pytestmark = pytest.mark.django_db


def test_sets_both_targets_and_the_team_is_recomputed_on_commit(
    team, manager, django_capture_on_commit_callbacks
):
    stage = team.stages.get(slug="proposal")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        stage_targets_set(
            stage=stage, target_conversion=Decimal("0.4567"), target_days=9, by=manager
        )
    stage.refresh_from_db()
    assert (stage.target_conversion, stage.target_days) == (Decimal("0.457"), 9)
    assert len(callbacks) == 1
    assert RecomputeState.objects.get(team=team).runs == 1


def test_none_clears_a_target(team, manager):
    stage = team.stages.get(slug="proposal")
    stage_targets_set(stage=stage, target_conversion=Decimal("0.5"), target_days=None, by=manager)
    stage.refresh_from_db()
    assert stage.target_days is None and stage.target_conversion == Decimal("0.5")


@pytest.mark.parametrize(
    ("conversion", "days", "field"),
    [
        (Decimal("0"), 5, "target_conversion"),
        (Decimal("1.2"), 5, "target_conversion"),
        (None, 0, "target_days"),
        (None, 366, "target_days"),
    ],
)
def test_out_of_range_writes_nothing(team, manager, conversion, days, field):
    stage = team.stages.get(slug="proposal")
    with pytest.raises(ValidationError) as raised:
        stage_targets_set(stage=stage, target_conversion=conversion, target_days=days, by=manager)
    assert field in raised.value.message_dict
    stage.refresh_from_db()
    assert (stage.target_conversion, stage.target_days) == (None, 21)
