"""The stage editor: managers only; every action as a plain post and as htmx."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from funnel.models import Stage

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def editor(team):
    return reverse("stage_editor", args=[team.slug])


def act(team, name, stage="qualified"):
    return reverse(name, args=[team.slug, stage])


def order(team):
    return list(team.stages.in_funnel().order_by("position").values_list("slug", flat=True))


def test_manager_sees_the_stages_in_order_with_definitions(login, manager, team):
    html = login(manager).get(editor(team)).content.decode()
    positions = [html.index(f'id="stage-{s}"') for s in order(team)]
    assert positions == sorted(positions)
    assert reverse("definitions:definition_detail", args=[team.slug, "stage-qualified"]) in html
    assert "Nurturing &amp; qualifying" in html


def test_page_queries_do_not_grow_with_stages(
    login, manager, team, django_capture_on_commit_callbacks
):
    client = login(manager)
    with CaptureQueriesContext(connection) as six:
        client.get(editor(team))
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(4):
            client.post(
                reverse("stage_add", args=[team.slug]),
                {"name": f"Extra {i}", "slug": f"extra-{i}", "station": "selling"},
            )
    with CaptureQueriesContext(connection) as ten:
        response = client.get(editor(team))
    assert response.content.decode().count('class="se-row') == 10
    assert len(ten) == len(six)


def test_roles_and_methods(login, rep, executive, outsider, team):
    assert login(rep).get(editor(team)).status_code == 403
    assert login(executive).post(act(team, "stage_retire")).status_code == 403
    assert login(outsider).get(editor(team)).status_code == 404
    assert login(outsider).post(act(team, "stage_merge"), {"into": "inquiry"}).status_code == 404


def test_wrong_method(login, manager, team):
    client = login(manager)
    assert client.post(editor(team)).status_code == 405
    for name in ("stage_edit", "stage_move", "stage_retire", "stage_merge"):
        assert client.get(act(team, name)).status_code == 405


def test_unknown_stage_is_404(login, manager, team):
    assert login(manager).post(act(team, "stage_retire", "nope")).status_code == 404


def test_edit_inline_renames_and_sets_targets(
    login, manager, team, django_capture_on_commit_callbacks
):
    data = {
        "qualified-name": "Budget confirmed",
        "qualified-station": "qualifying",
        "qualified-target_conversion_pct": "40",
        "qualified-target_days": "12",
    }
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = login(manager).post(act(team, "stage_edit"), data, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="stage-editor"')  # the fragment
    assert "Saved Budget confirmed." in html
    assert response["Vary"] and "HX-Request" in response["Vary"]
    stage = team.stages.get(slug="qualified")
    assert (stage.name, stage.target_conversion, stage.target_days) == (
        "Budget confirmed",
        Decimal("0.400"),
        12,
    )
    assert callbacks  # the recompute


def test_edit_errors_are_shown_and_change_nothing(login, manager, team):
    data = {
        "qualified-name": "",
        "qualified-station": "moon",
        "qualified-target_conversion_pct": "140",
        "qualified-target_days": "0",
    }
    html = login(manager).post(act(team, "stage_edit"), data, **HTMX).content.decode()
    assert "Give the stage a name." in html
    assert "Choose one of the five stations." in html
    assert "at most 100 %" in html
    assert team.stages.get(slug="qualified").name == "Qualified"


def test_move_up_and_down_plain_and_htmx(login, manager, team, django_capture_on_commit_callbacks):
    client = login(manager)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(act(team, "stage_move"), {"direction": "up"})
    assert response.status_code == 302
    assert order(team)[:3] == ["inquiry", "qualified", "engaged"]
    assert callbacks  # the rebuild
    response = client.post(act(team, "stage_move"), {"direction": "down"}, **HTMX)
    assert response.status_code == 200 and "Moved Qualified down" in response.content.decode()
    assert order(team)[:3] == ["inquiry", "engaged", "qualified"]


def test_add_refuses_a_duplicate_slug(login, manager, team):
    response = login(manager).post(
        reverse("stage_add", args=[team.slug]),
        {"name": "Again", "slug": "qualified", "station": "selling"},
        **HTMX,
    )
    assert "already has a stage &#x27;qualified&#x27;" in response.content.decode()
    assert team.stages.count() == 6


def test_add_puts_the_stage_last_with_a_definition(login, manager, team):
    response = login(manager).post(
        reverse("stage_add", args=[team.slug]),
        {"name": "Onboarding", "slug": "onboarding", "station": "servicing"},
    )
    assert response.status_code == 302
    stage = team.stages.get(slug="onboarding")
    assert stage.position == 7 and stage.definition.slug == "stage-onboarding"


def test_retire_and_restore(login, manager, team):
    client = login(manager)
    html = client.post(act(team, "stage_retire"), **HTMX).content.decode()
    assert "Qualified is retired" in html and "Take back into use" in html
    assert team.stages.get(slug="qualified").retired_at is not None
    client.post(act(team, "stage_retire"), {"restore": "1"}, **HTMX)
    assert team.stages.get(slug="qualified").retired_at is None


def test_merge_from_the_editor(login, manager, team):
    html = (
        login(manager)
        .post(act(team, "stage_merge", "engaged"), {"into": "qualified"}, **HTMX)
        .content.decode()
    )
    assert "Engaged&#x27;s events now count for Qualified" in html
    assert "Merged stages" in html
    engaged = Stage.objects.get(team=team, slug="engaged")
    assert engaged.merged_into.slug == "qualified"
    assert order(team) == ["inquiry", "qualified", "proposal", "negotiation", "handover"]


def test_merge_needs_a_target(login, manager, team):
    html = (
        login(manager)
        .post(act(team, "stage_merge", "engaged"), {"into": ""}, **HTMX)
        .content.decode()
    )
    assert "Choose the stage to merge into." in html
    assert Stage.objects.get(team=team, slug="engaged").merged_into_id is None
