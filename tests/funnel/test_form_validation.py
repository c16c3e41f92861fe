"""Every form outside the PDCA cycle says what is wrong on the page itself, next to the field
and in a summary, when the browser's own checks are bypassed (issue 16, item 5)."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from funnel.imports.service import import_job_create
from funnel.models import Membership
from tests.deal_history import deal_with_history

pytestmark = pytest.mark.django_db


def field_error(body: str, field_id: str, text: str) -> None:
    """`text` is in an error paragraph that directly follows the field with `field_id`."""
    start = body.index(f'id="{field_id}"')
    after = body[start : start + 3000]
    match = re.search(r'class="field-error"[^>]*>([^<]*)<', after)
    assert match, f"no field error after #{field_id}"
    assert text in match.group(1), match.group(1)


def summary(body: str, text: str) -> None:
    """The form's error summary at its top names the problem (and links the field)."""
    box = re.search(r'<div class="error-summary" role="alert"[^>]*>(.*?)</div>', body, re.S)
    assert box, "no error summary"
    assert text in box.group(1), box.group(1)


def test_login(client, rep):
    response = client.post(reverse("login"), {"username": "", "password": ""})
    body = response.content.decode()
    field_error(body, "id_username", "Enter your e-mail address.")
    field_error(body, "id_password", "Enter your password.")
    summary(body, "Enter your e-mail address.")

    response = client.post(reverse("login"), {"username": rep.email, "password": "wrong"})
    summary(response.content.decode(), "e-mail and password do not match")


@pytest.fixture
def administrator(django_user_model):
    return django_user_model.objects.create_user(
        username="ada@example.com", email="ada@example.com", is_superuser=True, is_staff=True
    )


def test_team_new(login, administrator, team):
    response = login(administrator).post(
        reverse("team_new"), {"name": "", "slug": "", "manager_email": "not-an-address"}
    )
    body = response.content.decode()
    field_error(body, "id_name", "Give the team a name.")
    field_error(body, "id_manager_email", "Enter a valid e-mail address")
    summary(body, "Give the team a name.")


def test_member_invite(login, manager, team):
    response = login(manager).post(
        reverse("member_invite", args=[team.slug]), {"email": "", "role": "boss"}
    )
    body = response.content.decode()
    field_error(body, "id_email", "Enter the e-mail address to invite.")
    field_error(body, "id_role", "Choose rep, manager or executive.")
    summary(body, "Enter the e-mail address to invite.")


def test_member_role_change(login, manager, rep, team):
    membership = Membership.objects.get(user=rep, team=team)
    response = login(manager).post(
        reverse("member_role", args=[team.slug, membership.id]), {"role": "boss"}, follow=True
    )
    assert "Choose rep, manager or executive." in response.content.decode()


def test_stage_add(login, manager, team):
    response = login(manager).post(
        reverse("stage_add", args=[team.slug]),
        {"name": "", "slug": "Not a slug!", "station": "selling", "target_days": "0"},
    )
    body = response.content.decode()
    field_error(body, "id_name", "Give the stage a name.")
    field_error(body, "id_slug", "letters, digits and hyphens")
    field_error(body, "id_target_days", "between 1 and 365")
    summary(body, "Give the stage a name.")


def test_stage_edit(login, manager, team):
    stage = team.stages.order_by("position").first()
    response = login(manager).post(
        reverse("stage_edit", args=[team.slug, stage.slug]),
        {f"{stage.slug}-name": "", f"{stage.slug}-station": stage.station},
    )
    body = response.content.decode()
    field_error(body, f"id_{stage.slug}-name", "Give the stage a name.")
    summary(body, "Give the stage a name.")


def test_stage_targets(login, manager, team):
    stage = team.stages.order_by("position").first()
    response = login(manager).post(
        reverse("stage_targets", args=[team.slug, stage.slug]),
        {"target_days": "400", "target_conversion_pct": "150"},
    )
    body = response.content.decode()
    field_error(body, "id_target_days", "between 1 and 365")
    field_error(body, "id_target_conversion_pct", "at most 100 %")
    summary(body, "between 1 and 365")


def test_definition_edit(login, manager, team):
    definition = team.stages.order_by("position").first().definition
    response = login(manager).post(
        reverse("definitions:definition_edit", args=[team.slug, definition.slug]),
        {"meaning": "", "criteria": "", "effective_from": "not a date"},
    )
    body = response.content.decode()
    field_error(body, "id_meaning", "Say what the term means")
    field_error(body, "id_effective_from", "Enter a valid date")
    summary(body, "Say what the term means")


@pytest.mark.parametrize("typed", ["0001-01-01", "9999-12-31", "1969-12-31"])
def test_definition_effective_date_at_the_edge_of_the_calendar(login, manager, team, typed):
    definition = team.stages.order_by("position").first().definition
    before = definition.versions.count()
    response = login(manager).post(
        reverse("definitions:definition_edit", args=[team.slug, definition.slug]),
        {"meaning": "A new meaning", "criteria": "One criterion", "effective_from": typed},
    )
    body = response.content.decode()
    field_error(body, "id_effective_from", "Give a date between 1 Jan 1970 and 31 Dec 2100.")
    assert definition.versions.count() == before


def test_stale_rule(login, manager, team):
    response = login(manager).post(
        reverse("definitions:stale_rule", args=[team.slug]),
        {"rule": "on", "days": "", "effective_from": "2026-01-01"},
    )
    body = response.content.decode()
    field_error(body, "id_days", "Give the number of days without an event")
    summary(body, "Give the number of days without an event")


def test_characteristic_new(login, manager, team):
    response = login(manager).post(
        reverse("characteristic_new", args=[team.slug]), {"name": "", "kind": "yes_no"}
    )
    body = response.content.decode()
    field_error(body, "id_name", "Name the characteristic")
    summary(body, "Name the characteristic")


def test_deal_stage_record(login, rep, team):
    deal = deal_with_history(team=team, external_id="D1", stages=["inquiry"], owner=rep)
    client = login(rep)
    url = reverse("deal_stage_record", args=[team.slug, deal.id])
    body = client.post(url, {"action": "stage", "stage": ""}).content.decode()
    assert "Choose the stage the deal moved to." in body
    body = client.post(url, {"action": "lost", "lost_reason": " "}).content.decode()
    field_error(body, "lost-reason", "Say why it was lost")


def test_import_upload(login, manager, team):
    url = reverse("import_list", args=[team.slug])
    # A browser's post always carries the CSRF token, so the form is bound even with no file.
    response = login(manager).post(url, {"csrfmiddlewaretoken": "token"})
    body = response.content.decode()
    field_error(body, "id_file", "Choose the CSV file to import.")
    response = login(manager).post(
        url, {"file": SimpleUploadedFile("x.csv", b"", content_type="text/csv")}
    )
    field_error(response.content.decode(), "id_file", "empty")


def test_import_mapping(login, manager, team):
    job = import_job_create(
        team=team,
        uploaded_by=manager,
        filename="deals.csv",
        content=b"Deal,Stage,Created\nA-1,Qualified,2026-01-05\n",
    )
    data = {"shape": "deals", "date_format": "iso", "on_repeated_deal": "error"}
    data |= {"col_0": "nonsense", "col_1": "stage", "col_2": "created_at"}
    response = login(manager).post(reverse("import_validate", args=[team.slug, job.id]), data)
    body = response.content.decode()
    summary(body, "Choose what this column means from the list.")
    assert 'href="#id_col_0"' in body  # the summary leads to the column's choice
