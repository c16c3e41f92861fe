"""POST /api/v1/events: counts, idempotency, every bad event listed, nothing written on error."""

import datetime as dt
import itertools
import json

import pytest
from django.test import RequestFactory, override_settings
from django.utils import timezone

from funnel.api.errors import body_too_large
from funnel.models import Deal, DealStatus, StageEvent
from tests.funnel.api.conftest import event

pytestmark = pytest.mark.django_db


def test_a_batch_is_stored_and_counted(api, rep, team, django_capture_on_commit_callbacks):
    batch = [
        event(
            "e1",
            attrs={
                "owner": rep.email,
                "account": "Acme",
                "department": "Finance",
                "source": "Webinar",
                "amount": 1200.5,
            },
        ),
        event("e2", days=2, stage="engaged"),
        event("e3", deal="D-2", days=1, outcome="lost", lost_reason="No budget", stage=None),
    ]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.post("/events", {"events": batch})
    assert response.status_code == 200
    assert response.json() == {"accepted": 3, "duplicates": 0, "deals_created": 2}
    assert len(callbacks) == 1  # the team's recompute, scheduled on commit
    deal = Deal.objects.get(team=team, external_id="D-1")
    assert (deal.owner, deal.account, deal.department, deal.source) == (
        rep,
        "Acme",
        "Finance",
        "Webinar",
    )
    assert str(deal.amount) == "1200.50"
    assert deal.current_stage.slug == "engaged"
    lost = Deal.objects.get(team=team, external_id="D-2")
    assert (lost.status, lost.lost_reason) == (DealStatus.LOST, "No budget")
    assert set(StageEvent.objects.values_list("origin", flat=True)) == {"api"}


def test_a_replayed_batch_is_counted_once(api):
    batch = {"events": [event("e1"), event("e2", days=1, stage="engaged")]}
    assert api.post("/events", batch).json()["accepted"] == 2
    again = api.post("/events", batch)
    assert again.status_code == 200
    assert again.json() == {"accepted": 0, "duplicates": 2, "deals_created": 0}
    assert StageEvent.objects.count() == 2


def test_every_bad_event_is_listed_and_nothing_is_written(api, rep):
    future = (timezone.now() + dt.timedelta(days=3)).isoformat()
    batch = [
        event("ok-1", deal="GOOD"),
        event("bad-stage", stage="no-such-stage"),
        event("bad-owner", attrs={"owner": "nobody@example.com"}),
        event("bad-amount", attrs={"amount": "12,5 EUR"}),
        event("negative", attrs={"amount": -3}),
        {**event("naive"), "occurred_at": "2026-03-02T09:00:00"},
        {**event("future"), "occurred_at": future},
        {"id": "no-deal", "stage": "inquiry", "occurred_at": "2026-03-02T09:00:00Z"},
        {**event("wrong-type"), "id": 17},
        {**event("unix-time"), "occurred_at": 1767225600},
        {**event("garbled-time"), "occurred_at": "yesterday"},
        {**event("both"), "outcome": "won"},  # stage and outcome
        event("maybe", stage=None, outcome="maybe"),
        event("typo", attrs={"ammount": 5}),
    ]
    response = api.post("/events", {"events": batch})
    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == "13 invalid event(s); nothing was written."
    found = {(e["index"], e["field"]): e["message"] for e in body["errors"]}
    assert set(found) == {
        (1, "stage"),
        (2, "deal.owner"),
        (3, "deal.amount"),
        (4, "deal.amount"),
        (5, "occurred_at"),
        (6, "occurred_at"),
        (7, "deal"),
        (8, "id"),
        (9, "occurred_at"),
        (10, "occurred_at"),
        (11, "stage"),
        (12, "outcome"),
        (13, "deal.ammount"),
    }
    assert "Unknown stage 'no-such-stage'" in found[(1, "stage")]
    assert "Unknown owner 'nobody@example.com'" in found[(2, "deal.owner")]
    assert found[(3, "deal.amount")] == "Input should be a valid decimal"
    assert "0 to 999,999,999,999" in found[(4, "deal.amount")]
    assert "offset" in found[(5, "occurred_at")]
    assert "future" in found[(6, "occurred_at")]
    assert found[(7, "deal")] == "Field required"
    assert found[(8, "id")] == "Input should be a valid string"
    assert "ISO 8601" in found[(9, "occurred_at")]
    assert "datetime" in found[(10, "occurred_at")]
    assert "not both" in found[(11, "stage")]
    assert "'won' or 'lost'" in found[(12, "outcome")]
    assert "Extra inputs" in found[(13, "deal.ammount")]
    assert [e["index"] for e in body["errors"]] == sorted(e["index"] for e in body["errors"])
    assert StageEvent.objects.count() == 0
    assert Deal.objects.count() == 0


def test_a_domain_error_alone_also_rolls_back_the_batch(api):
    batch = [event(f"e{i}", deal=f"D-{i}") for i in range(5)] + [event("x", stage="nope")]
    response = api.post("/events", {"events": batch})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"index": 5, "field": "stage", "message": response.json()["errors"][0]["message"]}
    ]
    assert StageEvent.objects.count() == Deal.objects.count() == 0


def test_shape_errors_of_the_batch_itself(api):
    for body, field in (({}, "events"), ({"events": "all"}, "events"), ([], "events")):
        response = api.post("/events", body)
        assert response.status_code == 422, body
        errors = response.json()["errors"]
        assert errors[0]["field"] == field and errors[0]["index"] is None


def test_unparseable_json_is_400(api):
    response = api.post("/events", b"{not json", headers={})
    assert response.status_code == 400
    assert response.json()["detail"] == "Cannot parse request body"


def test_at_most_1000_events(api):
    thousand = [event(f"e{i}", deal=f"D-{i % 300}") for i in range(1000)]
    assert api.post("/events", {"events": thousand}).json()["accepted"] == 1000
    response = api.post("/events", {"events": [*thousand, event("one-more")]})
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (error["index"], error["field"]) == (None, "events")
    assert "1000" in error["message"]


@override_settings(API_MAX_BODY_BYTES=2000)
def test_a_body_over_the_limit_is_refused_before_parsing(api, token):
    big = json.dumps({"events": [event(f"e{i}") for i in range(40)]})
    assert len(big) > 2000
    response = api.post("/events", big)
    assert response.status_code == 413
    assert response.json()["limit_bytes"] == 2000
    assert "larger than the limit" in response.json()["detail"]
    # Refused before authentication and parsing: a bad token or broken JSON changes nothing.
    assert api.post("/events", big, headers={"Authorization": "Bearer nope"}).status_code == 413
    assert api.post("/events", "{" * 3000).status_code == 413
    assert StageEvent.objects.count() == 0


def test_a_body_without_length_is_read_only_to_the_limit():
    request = RequestFactory().post("/api/v1/events", b"x" * 5000, content_type="text/plain")
    del request.META["CONTENT_LENGTH"]  # as with chunked transfer
    request._stream.remaining = 5000
    assert body_too_large(request, 1000) is True
    small = RequestFactory().post("/api/v1/events", b'{"events": []}', "application/json")
    del small.META["CONTENT_LENGTH"]
    small._stream.remaining = 14
    assert body_too_large(small, 1000) is False
    assert small.body == b'{"events": []}'


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000, API_MAX_BODY_BYTES=100_000)
def test_djangos_own_upload_limit_does_not_break_the_api(api):
    batch = {"events": [event(f"e{i}", deal=f"D-{i}") for i in range(20)]}
    assert len(json.dumps(batch)) > 1000
    response = api.post("/events", batch)
    assert response.status_code == 200
    assert response.json()["accepted"] == 20


def _positions(team, prefix):
    rows = (
        Deal.objects.filter(team=team, external_id__startswith=prefix)
        .order_by("external_id")
        .values_list("external_id", "status", "current_stage__slug", "closed_at")
    )
    return [(ext.removeprefix(prefix), *rest) for ext, *rest in rows]


def test_out_of_order_arrival_gives_the_same_current_stage(api, team):
    events = [
        event("a", days=0, stage="inquiry"),
        event("b", days=3, stage="engaged"),
        event("c", days=9, stage="qualified"),
        event("d", days=12, stage=None, outcome="lost", lost_reason="Timing"),
        event("e", days=1, deal="D-2", stage="inquiry"),
        event("f", days=4, deal="D-2", stage="proposal"),
    ]

    def prefixed(e, prefix):
        return {**e, "id": prefix + e["id"], "deal": {"id": prefix + e["deal"]["id"]}}

    in_order = [prefixed(e, "in-order:") for e in events]
    assert api.post("/events", {"events": in_order}).status_code == 200
    expected = _positions(team, "in-order:")
    assert [row[1:3] for row in expected] == [("lost", "qualified"), ("open", "proposal")]
    orders = [list(reversed(events))] + [
        list(p) for p in itertools.islice(itertools.permutations(events), 7, 720, 111)
    ]
    for n, order in enumerate(orders):
        prefix = f"p{n}:"
        for i, single in enumerate(order):
            # One event per request in this arrival order, with replays of earlier ones.
            api.post("/events", {"events": [prefixed(single, prefix)]})
            api.post("/events", {"events": [prefixed(order[i // 2], prefix)]})
        assert _positions(team, prefix) == expected, order
    assert StageEvent.objects.count() == len(events) * (len(orders) + 1)
