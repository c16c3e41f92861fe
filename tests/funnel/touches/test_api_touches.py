"""POST /api/v1/touches: counts, idempotency, every bad touch listed, nothing written on error,
the token's team only."""

import pytest

from funnel.models import Touch
from tests.deal_history import deal_with_history
from tests.funnel.api.conftest import T0, ApiClient, _token

pytestmark = pytest.mark.django_db


@pytest.fixture
def deal(team, rep):
    return deal_with_history(team=team, external_id="D-1", stages=["inquiry"], owner=rep)


def touch(touch_id, deal="D-1", tactic="call", **kw):
    body = {"id": touch_id, "tactic": tactic, "occurred_at": T0.isoformat(), **kw}
    if deal is not None:
        body["deal"] = deal
    return body


def test_a_batch_is_stored_with_its_answers(api, deal, team):
    batch = [
        touch("t1", responded=True, responded_at="2026-03-02T10:00:00+00:00"),
        touch("t2", tactic="email", campaign="Spring", content="Price list"),
        touch("t3", deal=None, prospect="P-9", channel="event", responded=False),
    ]
    response = api.post("/touches", {"touches": batch})
    assert response.status_code == 200, response.json()
    assert response.json() == {"accepted": 3, "duplicates": 0}
    stored = {t.touch_id: t for t in Touch.objects.filter(team=team)}
    assert stored["t1"].deal == deal and stored["t1"].responded is True
    assert stored["t1"].channel == "phone"  # the tactic's channel by default
    assert (stored["t2"].campaign, stored["t2"].content, stored["t2"].responded) == (
        "Spring",
        "Price list",
        None,
    )
    assert (stored["t3"].deal, stored["t3"].prospect, stored["t3"].channel) == (
        None,
        "P-9",
        "event",
    )
    assert {t.origin for t in stored.values()} == {"api"}


def test_a_replayed_batch_is_counted_once(api, deal):
    batch = {"touches": [touch("t1"), touch("t2", tactic="email")]}
    assert api.post("/touches", batch).json() == {"accepted": 2, "duplicates": 0}
    again = api.post("/touches", {"touches": [touch("t1"), touch("t3")]})
    assert again.json() == {"accepted": 1, "duplicates": 1}
    assert Touch.objects.count() == 3


def test_every_bad_touch_is_listed_and_nothing_is_written(api, deal):
    batch = [
        touch("good"),
        touch("no-tactic", tactic="carrier-pigeon"),
        touch("no-deal", deal="D-404"),
        touch("nobody", deal=None),
        {**touch("naive"), "occurred_at": "2026-03-02T09:00:00"},
        {**touch("unix"), "occurred_at": 1767225600},
        touch("channel", channel="fax"),
        touch("answer-time", responded_at="2026-03-02T10:00:00+00:00"),
        touch("good"),  # repeats the id of touch 0
        {**touch("typo"), "campain": "x"},
        touch("long", content="x" * 301),
    ]
    response = api.post("/touches", {"touches": batch})
    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == "10 invalid touch(es); nothing was written."
    where = {(e["index"], e["field"]) for e in body["errors"]}
    assert {
        (1, "tactic"),
        (2, "deal"),
        (3, "deal"),
        (4, "occurred_at"),
        (5, "occurred_at"),
        (6, "channel"),
        (7, "responded_at"),
        (8, "id"),
        (9, "campain"),
        (10, "content"),
    } <= where
    assert 0 not in {e["index"] for e in body["errors"]}
    assert Touch.objects.count() == 0


def test_a_token_writes_to_its_own_team_only(client, deal, other_team):
    south = ApiClient(client, _token(other_team))
    response = south.post("/touches", {"touches": [touch("t1")]})
    assert response.status_code == 422  # team south has no deal D-1
    assert response.json()["errors"][0]["field"] == "deal"
    assert Touch.objects.count() == 0


def test_no_token_is_401(client):
    response = client.post("/api/v1/touches", {"touches": []}, content_type="application/json")
    assert response.status_code == 401


def test_the_operation_is_documented_with_its_answers(api):
    schema = api.get("/openapi.json").json()
    operation = schema["paths"]["/api/v1/touches"]["post"]
    assert {"200", "400", "401", "413", "422", "429"} <= set(operation["responses"])


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("deal", "D-\x001", "NUL character"),
        ("tactic", "ca\x00ll", "NUL character"),
        ("occurred_at", "2026-03-02T09:00:00-21:23", "between -14:00 and +14:00"),
    ],
)
def test_what_the_database_cannot_store_is_named_not_a_500(api, deal, field, value, message):
    response = api.post("/touches", {"touches": [touch("t-1", **{field: value})]})

    assert response.status_code == 422
    said = [
        e["message"] for e in response.json()["errors"] if (e["index"], e["field"]) == (0, field)
    ]
    assert any(message in words for words in said), said
    assert not Touch.objects.exists()
