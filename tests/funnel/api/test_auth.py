"""Bearer tokens: missing, unknown and revoked tokens get 401; other teams' objects are 404."""

import datetime as dt

import pytest
from django.utils import timezone

from funnel.api.auth import api_token_mark_used
from funnel.models import ApiToken

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer kz_nope_not-a-real-token"},
        {"Authorization": "Token something"},
        {"Authorization": "Bearer "},
    ],
)
def test_requests_without_a_valid_token_get_401(client, token, headers):
    for path in ("/api/v1/stages", "/api/v1/deals", "/api/v1/deals/D-1"):
        response = client.get(path, headers=headers)
        assert response.status_code == 401
        assert "API token" in response.json()["detail"]
        assert response["WWW-Authenticate"].startswith("Bearer")
    response = client.post("/api/v1/events", {"events": []}, content_type="application/json")
    assert response.status_code == 401


def test_a_revoked_token_gets_401(api, token):
    assert api.get("/stages").status_code == 200
    ApiToken.objects.update(revoked_at=timezone.now())
    response = api.get("/stages")
    assert response.status_code == 401


def test_the_token_is_found_by_its_hash_only(token):
    row = ApiToken.objects.get()
    assert token not in (row.token_hash, row.prefix, row.name)
    assert row.token_hash == ApiToken.hash_token(token)


def test_last_used_is_recorded_at_most_once_a_minute(api, token):
    assert ApiToken.objects.get().last_used_at is None
    api.get("/stages")
    first = ApiToken.objects.get().last_used_at
    assert first is not None
    api.get("/stages")
    assert ApiToken.objects.get().last_used_at == first  # within the minute: no write
    row = ApiToken.objects.get()
    later = first + dt.timedelta(seconds=61)
    assert api_token_mark_used(api_token=row, now=later) is True
    assert ApiToken.objects.get().last_used_at == later
    assert api_token_mark_used(api_token=row, now=later + dt.timedelta(seconds=30)) is False


def test_a_request_within_the_minute_costs_no_write(api, django_assert_num_queries):
    api.get("/stages")
    with django_assert_num_queries(2):  # the token with its team, the stages
        assert api.get("/stages").status_code == 200


def test_another_teams_deal_is_404_like_a_missing_one(api, other_api, team, other_team):
    from tests.funnel.api.conftest import event

    assert other_api.post("/events", {"events": [event("s1", deal="SOUTH-1")]}).status_code == 200
    assert other_api.get("/deals/SOUTH-1").status_code == 200
    theirs = api.get("/deals/SOUTH-1")
    missing = api.get("/deals/NO-SUCH-DEAL")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()
    assert api.get("/deals").json()["count"] == 0


def test_a_token_writes_only_to_its_own_team(api, other_api, team, other_team):
    from tests.funnel.api.conftest import event

    api.post("/events", {"events": [event("e1", deal="SHARED-ID")]})
    other_api.post("/events", {"events": [event("e1", deal="SHARED-ID", stage="engaged")]})
    assert team.deals.get(external_id="SHARED-ID").current_stage.slug == "inquiry"
    assert other_team.deals.get(external_id="SHARED-ID").current_stage.slug == "engaged"


def test_openapi_schema_and_docs_are_served(client):
    schema = client.get("/api/v1/openapi.json")
    assert schema.status_code == 200
    body = schema.json()
    assert body["info"]["title"] == "Sales Kaizen API"
    assert set(body["paths"]) >= {
        "/api/v1/events",
        "/api/v1/stages",
        "/api/v1/deals",
        "/api/v1/deals/{external_id}",
    }
    event_schema = body["components"]["schemas"]["EventItem"]
    assert {"id", "deal", "occurred_at"} <= set(event_schema["required"])
    assert body["components"]["securitySchemes"]["ApiTokenAuth"]["scheme"] == "bearer"
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()
    assert b"cdn.jsdelivr" not in docs.content  # served from our static files
    # Our copy of ninja/swagger.html: a page language for screen readers (axe html-has-lang).
    assert b'<html lang="en">' in docs.content
