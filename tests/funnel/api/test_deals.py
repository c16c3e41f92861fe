"""GET /stages, /deals (paged, filtered, counted) and /deals/{id} (with its history)."""

import datetime as dt

import pytest
from django.utils import timezone

from funnel.models import Deal
from tests.funnel.api.conftest import event

pytestmark = pytest.mark.django_db


def test_stages_in_funnel_order(api, team, django_assert_num_queries):
    api.get("/stages")  # records the token's use; later calls within the minute write nothing
    with django_assert_num_queries(2):
        response = api.get("/stages")
    stages = response.json()
    expected = list(team.stages.order_by("position").values_list("slug", "position"))
    assert [(s["slug"], s["position"]) for s in stages] == expected
    assert set(stages[0]) == {
        "slug",
        "name",
        "station",
        "position",
        "target_conversion",
        "target_days",
    }
    assert stages[0]["station"] == "market"


@pytest.fixture
def deals(api, rep, manager):
    batch = []
    for i in range(12):
        owner = rep.email if i % 3 else manager.email
        source = "Webinar" if i % 2 else "Referral"
        attrs = {"owner": owner, "source": source, "amount": 1000 + i}
        deal = f"D-{i:02d}"
        batch.append(event(f"in-{i}", deal=deal, days=i, attrs=attrs))
        if i % 4 == 0:
            batch.append(event(f"won-{i}", deal=deal, days=i + 5, stage=None, outcome="won"))
        elif i % 4 == 1:
            batch.append(event(f"q-{i}", deal=deal, days=i + 5, stage="qualified"))
    assert api.post("/events", {"events": batch}).status_code == 200
    return batch


def ids(response):
    return [d["id"] for d in response.json()["results"]]


def test_deals_are_paged_in_a_stable_order_with_a_total(api, deals, django_assert_num_queries):
    with django_assert_num_queries(3):  # token, page, count
        first = api.get("/deals", {"limit": 5})
    body = first.json()
    assert (body["count"], body["limit"], body["offset"]) == (12, 5, 0)
    assert ids(first) == [f"D-{i:02d}" for i in range(5)]
    pages = [ids(api.get("/deals", {"limit": 5, "offset": o})) for o in (0, 5, 10)]
    assert sum(pages, []) == [f"D-{i:02d}" for i in range(12)]
    assert api.get("/deals", {"offset": 50}).json() == {
        "count": 12,
        "limit": 50,
        "offset": 50,
        "results": [],
    }
    deal = first.json()["results"][0]
    assert deal["owner"] == "max.manager@example.com"
    assert (deal["status"], deal["stage"], deal["amount"]) == ("won", "inquiry", "1000.00")


def test_query_count_does_not_grow_with_the_page(api, deals, django_assert_num_queries):
    with django_assert_num_queries(3):
        assert len(api.get("/deals", {"limit": 500}).json()["results"]) == 12


def test_filters(api, deals, rep):
    def count(**params):
        return api.get("/deals", params).json()["count"]

    assert count(status="won") == 3
    assert count(status="open") == 9
    assert count(stage="qualified") == 3
    assert count(stage="qualified", status="open") == 3
    assert count(owner="RITA.REP@example.com") == 8
    assert count(source="Webinar") == 6
    assert count(source="Webinar", owner=rep.email, status="open") == sum(
        1 for i in range(12) if i % 2 and i % 3 and i % 4 != 0
    )
    assert count(stage="no-such-stage") == 0
    later = timezone.now() + dt.timedelta(seconds=1)
    assert count(updated_since=later.isoformat()) == 0
    Deal.objects.filter(external_id="D-03").update(updated_at=later + dt.timedelta(minutes=1))
    assert ids(api.get("/deals", {"updated_since": later.isoformat()})) == ["D-03"]


@pytest.mark.parametrize(
    "params,field",
    [
        ({"limit": 501}, "limit"),
        ({"limit": 0}, "limit"),
        ({"offset": -1}, "offset"),
        ({"status": "pending"}, "status"),
        ({"updated_since": "last week"}, "updated_since"),
    ],
)
def test_bad_parameters_are_422(api, params, field):
    response = api.get("/deals", params)
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (error["index"], error["field"]) == (None, field)


def test_a_deal_with_its_history(api, deals, django_assert_num_queries):
    # Out of order on purpose: the history is ordered by occurred_at, not by arrival.
    api.post("/events", {"events": [event("late-early", deal="D-01", days=-3, stage="inquiry")]})
    api.get("/stages")
    with django_assert_num_queries(3):  # token, deal, events
        response = api.get("/deals/D-01")
    deal = response.json()
    assert (deal["id"], deal["status"], deal["stage"]) == ("D-01", "open", "qualified")
    assert [e["id"] for e in deal["events"]] == ["late-early", "in-1", "q-1"]
    assert deal["events"][2] == {
        "id": "q-1",
        "stage": "qualified",
        "outcome": None,
        "lost_reason": "",
        "occurred_at": deal["events"][2]["occurred_at"],
        "recorded_at": deal["events"][2]["recorded_at"],
        "origin": "api",
    }
    assert deal["events"][2]["occurred_at"].startswith("2026-03-08T09:00:00")


def test_missing_deal_is_404(api):
    response = api.get("/deals/NOPE")
    assert response.status_code == 404
    assert "detail" in response.json()
