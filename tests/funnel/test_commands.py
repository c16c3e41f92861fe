"""The create_team and add_member management commands."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from funnel.default_characteristics import DEFAULT_CHARACTERISTICS
from funnel.default_stages import DEFAULT_STAGES
from funnel.models import (
    Characteristic,
    DefinitionVersion,
    Membership,
    Role,
    Stage,
    Tactic,
    Team,
)
from funnel.touches.defaults import DEFAULT_TACTICS


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_create_team_creates_stages_characteristics_and_definitions():
    out = run("create_team", "west", "West Region")

    team = Team.objects.get(slug="west")
    assert team.name == "West Region"
    stages = list(Stage.objects.filter(team=team).order_by("position"))
    assert [s.slug for s in stages] == [t.slug for t in DEFAULT_STAGES]
    characteristics = Characteristic.objects.filter(team=team).order_by("position")
    assert [c.slug for c in characteristics] == [t.slug for t in DEFAULT_CHARACTERISTICS]
    department = characteristics.get(slug="prospect-department")
    assert department.kind == "choice"
    assert "Finance" in department.choices
    assert characteristics.get(slug="competitor-present").kind == "yes_no"
    # Every stage and characteristic has a version-1 definition of its own.
    slugs = set(
        DefinitionVersion.objects.filter(definition__team=team, number=1).values_list(
            "definition__slug", flat=True
        )
    )
    assert slugs == {f"stage-{t.slug}" for t in DEFAULT_STAGES} | {
        f"char-{t.slug}" for t in DEFAULT_CHARACTERISTICS
    } | {f"response-{t.slug}" for t in DEFAULT_TACTICS}
    assert all(c.definition.slug == f"char-{c.slug}" for c in characteristics)
    # Every default tactic says what counts as a response to it, and its first rule.
    tactics = Tactic.objects.filter(team=team).order_by("position")
    assert [t.slug for t in tactics] == [t.slug for t in DEFAULT_TACTICS]
    assert all(t.definition.slug == f"response-{t.slug}" for t in tactics)
    assert all(t.response_rules.get().number == 1 for t in tactics)
    # The output lists each stage with its station.
    assert "Created team West Region (west)" in out
    assert "1. Inquiry" in out and "station: Market" in out
    assert "Handover" in out and "station: Servicing" in out


@pytest.mark.django_db
def test_create_team_refuses_an_existing_slug():
    run("create_team", "west", "West Region")
    with pytest.raises(CommandError, match="already exists"):
        run("create_team", "west", "Another West")
    assert Team.objects.filter(slug="west").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("slug", ["west region", "west/1", "wëst!", ""])
def test_create_team_refuses_an_invalid_slug(slug):
    with pytest.raises(CommandError, match="not a valid slug"):
        run("create_team", slug, "West Region")
    assert not Team.objects.exists()


def test_add_member_creates_the_user_and_says_how_to_set_a_password(team, user_model):
    out = run("add_member", "--team=north", "Ana.Costa@Example.com", "rep", "--name=Ana Costa")

    user = user_model.objects.get(username="ana.costa@example.com")
    assert user.first_name == "Ana" and user.last_name == "Costa"
    assert not user.has_usable_password()
    assert Membership.objects.get(user=user, team=team).role == Role.REP
    assert "Created user ana.costa@example.com as rep of North Region" in out
    assert "python manage.py changepassword ana.costa@example.com" in out


def test_add_member_changes_the_role_of_an_existing_membership(team, rep, user_model):
    out = run("add_member", "--team", "north", rep.email, "manager")

    assert Membership.objects.get(user=rep, team=team).role == Role.MANAGER
    assert user_model.objects.filter(username=rep.username).count() == 1
    assert "from rep to manager" in out
    assert "changepassword" not in out


def test_add_member_adds_an_existing_user_to_another_team(team, other_team, rep):
    out = run("add_member", "--team", "south", rep.email, "executive")

    assert Membership.objects.get(user=rep, team=other_team).role == Role.EXECUTIVE
    assert Membership.objects.get(user=rep, team=team).role == Role.REP
    assert "Added existing user" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--team", "north", "a@example.com", "owner"], "Unknown role 'owner'"),
        (["--team", "nowhere", "a@example.com", "rep"], "No team with slug 'nowhere'"),
        (["--team", "north", "not-an-email", "rep"], "not a valid email"),
    ],
)
def test_add_member_errors(team, user_model, args, message):
    with pytest.raises(CommandError, match=message):
        run("add_member", *args)
    assert not user_model.objects.filter(username__in=["a@example.com", "not-an-email"]).exists()
