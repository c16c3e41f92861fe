"""Definition versions (never edited in place), what changed between them, and agreements."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from funnel.definitions.diff import version_changes
from funnel.definitions.selectors import (
    definition_changes_for_stage,
    definition_history,
    definition_roster,
)
from funnel.definitions.services import definition_agree, definition_version_create
from funnel.models import Agreement, DefinitionVersion, Stage


@pytest.fixture
def proposal(team):
    return Stage.objects.get(team=team, slug="proposal")


def new_version(definition, manager, **changes):
    current = definition.current_version
    values = {
        "meaning": current.meaning,
        "criteria": list(current.criteria),
        "how_measured": current.how_measured,
        "examples": current.examples,
        "non_examples": current.non_examples,
    }
    values.update(changes)
    return definition_version_create(definition=definition, by=manager, **values)


def test_an_edit_is_a_new_version_and_the_old_one_stays(proposal, manager):
    definition = proposal.definition
    v1 = definition.current_version
    v2 = new_version(definition, manager, criteria=[*v1.criteria, "A decision date is named."])
    assert (v1.number, v2.number) == (1, 2)
    assert definition.current_version == v2
    assert DefinitionVersion.objects.get(id=v1.id).criteria == v1.criteria
    assert v2.author == manager


def test_nothing_changed_is_refused(proposal, manager):
    with pytest.raises(ValidationError, match="Nothing changed"):
        new_version(
            proposal.definition, manager, meaning=proposal.definition.current_version.meaning + "  "
        )


def test_a_version_cannot_take_effect_before_the_current_one(proposal, manager):
    current = proposal.definition.current_version
    with pytest.raises(ValidationError, match="before the current one"):
        new_version(
            proposal.definition,
            manager,
            meaning="Changed.",
            effective_from=current.effective_from - dt.timedelta(days=1),
        )


def test_changes_field_by_field_and_criteria_added_removed(proposal, manager):
    v1 = proposal.definition.current_version
    v2 = new_version(
        proposal.definition,
        manager,
        meaning="The budget owner asked for a written proposal.",
        criteria=[v1.criteria[0], "A decision date is named."],
    )
    changes = {c.field: c for c in version_changes(v1, v2)}
    assert set(changes) == {"meaning", "criteria"}
    assert changes["meaning"].before == v1.meaning
    assert changes["criteria"].added == ("A decision date is named.",)
    assert changes["criteria"].removed == tuple(v1.criteria[1:])
    history = definition_history(definition=proposal.definition)
    assert [e.version.number for e in history] == [2, 1]
    assert history[0].changes and history[1].changes == ()


def test_reordering_criteria_is_no_change(proposal, manager):
    v1 = proposal.definition.current_version
    with pytest.raises(ValidationError):
        new_version(proposal.definition, manager, criteria=list(reversed(v1.criteria)))


def test_agree_to_current_only_and_roster(proposal, manager, rep, executive):
    definition = proposal.definition
    v1 = definition.current_version
    definition_agree(version=v1, user=rep)
    definition_agree(version=v1, user=rep)  # twice is once
    assert Agreement.objects.filter(user=rep).count() == 1
    v2 = new_version(definition, manager, meaning="Asked in writing for a proposal.")
    with pytest.raises(ValidationError, match="current version"):
        definition_agree(version=v1, user=manager)
    definition_agree(version=v2, user=manager)
    roster = {
        line.membership.user: line for line in definition_roster(definition=definition, current=v2)
    }
    assert set(roster) == {rep, manager}  # executives are not asked to agree
    assert roster[manager].current and roster[manager].agreed_number == 2
    assert not roster[rep].current and roster[rep].agreed_number == 1


def test_definition_changes_for_stage(proposal, manager):
    assert definition_changes_for_stage(proposal) == []
    later = proposal.definition.current_version.effective_from + dt.timedelta(days=10)
    new_version(proposal.definition, manager, meaning="Changed.", effective_from=later)
    assert definition_changes_for_stage(proposal) == [later]
    proposal.definition = None
    assert definition_changes_for_stage(proposal) == []
