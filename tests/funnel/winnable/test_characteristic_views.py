"""Characteristics: members read the list, managers add and deactivate."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from funnel.models import Characteristic, OperationalDefinition


def _list(team):
    return reverse("characteristic_list", args=[team.slug])


def _new(team):
    return reverse("characteristic_new", args=[team.slug])


def _active(c):
    return reverse("characteristic_active", args=[c.team.slug, c.id])


def test_list_shows_each_characteristic_with_its_definition(login, rep, team):
    response = login(rep).get(_list(team))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Decision maker reached" in body and "Prospect department" in body
    assert "Deactivate" not in body  # reps read, they do not manage


def test_list_access(client, login, team, outsider, manager):
    assert client.get(_list(team)).status_code == 302
    assert login(outsider).get(_list(team)).status_code == 404
    assert login(manager).post(_list(team)).status_code == 405


def test_list_query_count(login, manager, team):
    client = login(manager)
    with CaptureQueriesContext(connection) as before:
        client.get(_list(team))
    for i in range(5):
        Characteristic.objects.create(team=team, slug=f"x{i}", name=f"X {i}", kind="yes_no")
    with CaptureQueriesContext(connection) as after:
        client.get(_list(team))
    # Session, user, team, membership, characteristics, their definitions' versions, counts.
    assert len(after) == len(before) <= 8  # +1: the top bar's list of the user's teams


def test_manager_adds_a_choice_characteristic_with_a_new_definition(login, manager, team):
    response = login(manager).post(
        _new(team),
        {
            "name": "Buying process",
            "kind": "choice",
            "choices": "Tender\nDirect\ndirect\n",
            "meaning": "How the prospect buys.",
            "criteria": "The prospect described their purchasing steps.",
        },
    )
    assert response.status_code == 302
    created = Characteristic.objects.get(team=team, name="Buying process")
    assert created.slug == "buying-process" and created.choices == ["Tender", "Direct"]
    assert created.definition.term == "Buying process"
    version = created.definition.versions.get()
    assert version.number == 1 and version.criteria == [
        "The prospect described their purchasing steps."
    ]
    assert (
        created.position
        > Characteristic.objects.get(team=team, slug="prospect-department").position
    )


def test_manager_links_an_existing_definition(login, manager, team):
    definition = OperationalDefinition.objects.get(team=team, slug="char-pain-quantified")
    login(manager).post(
        _new(team), {"name": "Pain in hours", "kind": "number", "definition": definition.id}
    )
    assert Characteristic.objects.get(team=team, name="Pain in hours").definition == definition


@pytest.mark.parametrize(
    "data, field",
    [
        ({"name": "Tier", "kind": "choice", "choices": "Gold", "meaning": "m"}, "choices"),
        ({"name": "Tier", "kind": "yes_no"}, "meaning"),
        ({"name": "decision maker reached", "kind": "yes_no", "meaning": "m"}, "name"),
    ],
)
def test_invalid_characteristic_is_refused_with_a_message(login, manager, team, data, field):
    before = Characteristic.objects.count()
    response = login(manager).post(_new(team), data)
    assert response.status_code == 200 and response.context["form"].errors[field]
    assert Characteristic.objects.count() == before


def test_a_definition_of_another_team_cannot_be_linked(login, manager, team, other_team):
    foreign = OperationalDefinition.objects.filter(team=other_team).first()
    response = login(manager).post(
        _new(team), {"name": "X", "kind": "yes_no", "definition": foreign.id}
    )
    assert response.status_code == 200 and "definition" in response.context["form"].errors


def test_new_access(client, login, team, rep, executive, outsider):
    assert client.get(_new(team)).status_code == 302
    assert login(rep).get(_new(team)).status_code == 403
    assert (
        login(executive)
        .post(_new(team), {"name": "X", "kind": "yes_no", "meaning": "m"})
        .status_code
        == 403
    )
    assert login(outsider).get(_new(team)).status_code == 404
    assert not Characteristic.objects.filter(name="X").exists()


def test_deactivate_and_reactivate_through_htmx(login, manager, team):
    c = Characteristic.objects.get(team=team, slug="competitor-present")
    client = login(manager)
    response = client.post(_active(c), {"active": "0"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200 and body.lstrip().startswith(
        f'<tr id="characteristic-{c.id}"'
    )
    assert "Reactivate" in body
    c.refresh_from_db()
    assert not c.is_active
    response = client.post(_active(c), {"active": "1"})
    assert response.status_code == 302
    c.refresh_from_db()
    assert c.is_active


def test_deactivate_access(client, login, team, other_team, rep, executive, outsider, manager):
    c = Characteristic.objects.get(team=team, slug="competitor-present")
    assert client.post(_active(c), {"active": "0"}).status_code == 302
    assert login(rep).post(_active(c), {"active": "0"}).status_code == 403
    assert login(executive).post(_active(c), {"active": "0"}).status_code == 403
    assert login(outsider).post(_active(c), {"active": "0"}).status_code == 404
    assert login(manager).get(_active(c)).status_code == 405
    foreign = Characteristic.objects.filter(team=other_team).first()
    # A characteristic of another team through this team's URL: 404, as for an unknown id.
    assert (
        login(manager)
        .post(reverse("characteristic_active", args=[team.slug, foreign.id]))
        .status_code
        == 404
    )
    c.refresh_from_db()
    assert c.is_active


def test_list_shows_the_current_meaning_of_each_definition(login, manager, team):
    from funnel.models import DefinitionVersion

    c = Characteristic.objects.get(team=team, slug="pain-quantified")
    DefinitionVersion.objects.create(
        definition=c.definition, number=2, meaning="Newer meaning.", effective_from="2026-01-01"
    )
    body = login(manager).get(_list(team)).content.decode()
    assert "Newer meaning." in body and "v2" in body
