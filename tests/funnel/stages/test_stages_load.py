"""manage.py stages_load and PUT/GET /api/v1/stages: the same list, the same rules."""

import datetime as dt
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from funnel.ingest import EventIn, stage_events_ingest
from funnel.models import ApiToken, Stage
from funnel.stages.load import stage_list_of_team

pytestmark = pytest.mark.django_db

FOUR = [
    {
        "slug": "submitted",
        "name": "Submitted",
        "station": "market",
        "target_conversion": 0.5,
        "target_days": 7,
    },
    {"slug": "qualified", "name": "Qualified", "station": "qualifying"},
    {"slug": "proposal", "name": "Proposal sent", "station": "selling", "target_days": 21},
    {"slug": "contract", "name": "Contract", "station": "selling"},
]


def write(tmp_path, data):
    path = tmp_path / "stages.json"
    path.write_text(json.dumps(data))
    return str(path)


def snapshot(team):
    return list(
        Stage.objects.filter(team=team)
        .order_by("id")
        .values_list(
            "slug", "name", "station", "position", "target_conversion", "target_days", "retired_at"
        )
    )


def test_load_sets_the_list_and_retires_stages_with_events(team, tmp_path, capsys):
    call_command("stages_load", "--team", team.slug, write(tmp_path, FOUR))
    out = capsys.readouterr().out
    assert "added submitted, contract" in out
    assert [s["slug"] for s in stage_list_of_team(team=team)] == [
        "submitted",
        "qualified",
        "proposal",
        "contract",
    ]
    assert stage_list_of_team(team=team)[0]["target_conversion"] == 0.5
    assert Stage.objects.get(team=team, slug="proposal").name == "Proposal sent"  # renamed


def test_loading_the_same_list_writes_nothing(
    team, tmp_path, django_capture_on_commit_callbacks, capsys
):
    path = write(tmp_path, FOUR)
    call_command("stages_load", "--team", team.slug, path)
    before = snapshot(team)
    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks() as callbacks,
    ):
        call_command("stages_load", "--team", team.slug, path)
    assert "No change" in capsys.readouterr().out
    assert snapshot(team) == before
    assert callbacks == []  # no rebuild
    writes = [q["sql"] for q in queries if q["sql"].split()[0] in {"INSERT", "UPDATE", "DELETE"}]
    assert writes == []


def test_a_stage_with_events_left_out_is_retired_not_deleted(team, tmp_path):
    stage_events_ingest(
        team=team,
        origin="api",
        events=[EventIn("e1", "d1", dt.datetime(2026, 3, 2, tzinfo=dt.UTC), stage="engaged")],
    )
    call_command("stages_load", "--team", team.slug, write(tmp_path, FOUR))
    engaged = Stage.objects.get(team=team, slug="engaged")
    assert engaged.retired_at is not None
    assert not Stage.objects.filter(team=team, slug="handover").exists()  # no events: deleted
    # Listing it again takes it back into use.
    call_command(
        "stages_load",
        "--team",
        team.slug,
        write(tmp_path, [*FOUR, {"slug": "engaged", "name": "Engaged", "station": "marketing"}]),
    )
    assert Stage.objects.get(team=team, slug="engaged").retired_at is None


def test_errors_name_item_and_field_and_change_nothing(team, tmp_path):
    before = snapshot(team)
    bad = [
        {"slug": "a", "name": "A", "station": "moon"},
        {"slug": "a", "name": "", "station": "market", "target_conversion": 1.5},
        {"slug": "won", "name": "Won", "station": "selling", "target_days": 0},
    ]
    with pytest.raises(CommandError) as err:
        call_command("stages_load", "--team", team.slug, write(tmp_path, bad))
    message = str(err.value)
    assert "item 0, station: Unknown station 'moon'" in message
    assert "item 1, slug: 'a' is listed twice" in message
    assert "item 1, name:" in message
    assert "item 1, target_conversion:" in message
    assert "item 2, slug: 'won' is an outcome" in message
    assert "item 2, target_days:" in message
    assert snapshot(team) == before


def test_command_refuses_unknown_team_and_bad_json(team, tmp_path):
    with pytest.raises(CommandError, match="No team"):
        call_command("stages_load", "--team", "nope", write(tmp_path, FOUR))
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    with pytest.raises(CommandError, match="not a JSON file"):
        call_command("stages_load", "--team", team.slug, str(path))


# The API -----------------------------------------------------------------------------------


def _token(team, can_manage):
    token, prefix, token_hash = ApiToken.generate()
    ApiToken.objects.create(
        team=team, name="t", prefix=prefix, token_hash=token_hash, can_manage=can_manage
    )
    return {"Authorization": f"Bearer {token}"}


def put(client, headers, body):
    return client.put(
        "/api/v1/stages", json.dumps(body), content_type="application/json", headers=headers
    )


def test_api_get_then_put_back_changes_nothing(client, team, django_capture_on_commit_callbacks):
    headers = _token(team, can_manage=True)
    got = client.get("/api/v1/stages", headers=headers)
    assert got.status_code == 200
    assert [s["slug"] for s in got.json()] == [
        "inquiry",
        "engaged",
        "qualified",
        "proposal",
        "negotiation",
        "handover",
    ]
    before = snapshot(team)
    with django_capture_on_commit_callbacks() as callbacks:
        response = put(client, headers, got.json())
    assert response.status_code == 200, response.content
    assert response.json()["changed"] is False
    assert callbacks == []
    assert snapshot(team) == before


def test_api_put_replaces_the_list(client, team, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = put(client, _token(team, can_manage=True), FOUR)
    assert response.status_code == 200
    body = response.json()
    assert body["changed"] is True and body["created"] == ["submitted", "contract"]
    assert [s["slug"] for s in body["stages"]] == ["submitted", "qualified", "proposal", "contract"]
    assert callbacks  # the rebuild


def test_api_put_needs_a_managing_token(client, team, other_team):
    assert put(client, _token(team, can_manage=False), FOUR).status_code == 403
    assert put(client, {"Authorization": "Bearer nope"}, FOUR).status_code == 401
    # Another team's token changes its own team only.
    put(client, _token(other_team, can_manage=True), FOUR)
    assert not Stage.objects.filter(team=team, slug="submitted").exists()


def test_api_put_422_names_index_and_field(client, team):
    before = snapshot(team)
    response = put(
        client,
        _token(team, can_manage=True),
        [FOUR[0], {"slug": "x", "name": "X", "station": "selling", "target_conversion": 0}],
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "index": 1,
            "field": "target_conversion",
            "message": "A target conversion is above 0 and at most 1.",
        }
    ]
    assert snapshot(team) == before
    response = put(client, _token(team, can_manage=True), [{"slug": "x", "station": "selling"}])
    assert response.status_code == 422
    assert response.json()["errors"][0]["index"] == 0
    assert response.json()["errors"][0]["field"] == "name"


def test_openapi_describes_put_stages(client):
    schema = client.get("/api/v1/openapi.json").json()
    put_op = schema["paths"]["/api/v1/stages"]["put"]
    assert "Replace the team's stage list" in put_op["summary"]
    assert "422" in put_op["responses"] and "403" in put_op["responses"]
