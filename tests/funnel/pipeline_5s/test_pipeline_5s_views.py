"""The pipeline 5S page: stale and aged open deals per owner, mark lost / still alive.

Deals (days before now; the team's rule: stale after 30 days; "inquiry" has a 3-day target):

    R1  Rita's, inquiry 40 days ago             stale (40 > 30), aged (40 > 3)
    R2  Rita's, inquiry 5 days ago              aged only (5 > 3)
    R3  Rita's, inquiry 1 day ago               neither: not listed
    O1  Oscar's, inquiry 60, engaged 45 ago     stale only ("engaged" has no target, no p85 yet)
    W1  Rita's, won                             closed: not listed
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from funnel.ingest import EventIn, stage_events_ingest
from funnel.models import Deal, Role, Stage, StageEvent, StaleRule
from funnel.services import membership_add

pytestmark = pytest.mark.django_db

RITA, OSCAR = "rita.rep@example.com", "oscar.rep@example.com"


@pytest.fixture
def other_rep(team):
    _, _, user = membership_add(team=team, email=OSCAR, role=Role.REP)
    return user


@pytest.fixture
def deals(team, rep, other_rep):
    now = timezone.now()
    Stage.objects.filter(team=team, slug="inquiry").update(target_days=3)
    Stage.objects.filter(team=team, slug="engaged").update(target_days=None)
    StaleRule.objects.create(team=team, number=1, days=30, effective_from=dt.date(2020, 1, 1))
    plan = [
        ("R1", RITA, [(40, "inquiry")]),
        ("R2", RITA, [(5, "inquiry")]),
        ("R3", RITA, [(1, "inquiry")]),
        ("O1", OSCAR, [(60, "inquiry"), (45, "engaged")]),
        ("W1", RITA, [(50, "inquiry"), (48, "won")]),
    ]
    events = [
        EventIn(
            event_id=f"{deal}-{i}",
            deal_external_id=deal,
            occurred_at=now - dt.timedelta(days=ago),
            stage=None if what == "won" else what,
            outcome="won" if what == "won" else None,
            owner_email=owner,
            account=f"Account {deal}",
            amount=Decimal(1000),
        )
        for deal, owner, steps in plan
        for i, (ago, what) in enumerate(steps)
    ]
    stage_events_ingest(team=team, origin="api", events=events)
    return {d.external_id: d for d in Deal.objects.filter(team=team)}


def page_url(team):
    return reverse("pipeline_5s", kwargs={"slug": team.slug})


def action_url(team, deal, action):
    return reverse(f"pipeline_5s_{action}", kwargs={"slug": team.slug, "deal_id": deal.id})


def test_lists_stale_and_aged_deals_grouped_per_owner(
    login, rep, other_rep, team, deals, django_assert_max_num_queries
):
    client = login(rep)
    with django_assert_max_num_queries(10):
        response = client.get(page_url(team))
    assert response.status_code == 200
    listed = [d.external_id for d in response.context["page"].object_list]
    assert listed == ["R1", "R2", "O1"]  # Rita's group (longest quiet first), then Oscar's
    counts = {o.owner_id: (o.deals, o.stale, o.aged) for o in response.context["owners"]}
    assert counts == {rep.id: (2, 1, 2), other_rep.id: (1, 1, 0)}
    rows = {d.external_id: d for d in response.context["page"].object_list}
    assert (rows["R1"].quiet_days, rows["R1"].is_stale, rows["R1"].is_aged) == (40, True, True)
    assert (rows["R2"].quiet_days, rows["R2"].is_stale, rows["R2"].is_aged) == (5, False, True)
    assert (rows["O1"].quiet_days, rows["O1"].stage_days) == (45, 45)
    # A rep acts on their own deals only: buttons on R1 and R2, none on Oscar's O1.
    assert [rows[k].can_act for k in ("R1", "R2", "O1")] == [True, True, False]
    content = response.content.decode()
    assert content.count("Mark lost</button>") == 2
    assert "no event for more than 30 days, the team's rule" in content


def test_the_list_costs_the_same_queries_with_more_deals(
    login, manager, team, deals, django_assert_max_num_queries
):
    now = timezone.now()
    stage_events_ingest(
        team=team,
        origin="api",
        events=[
            EventIn(
                event_id=f"X{i}",
                deal_external_id=f"X{i}",
                occurred_at=now - dt.timedelta(days=50 + i),
                stage="inquiry",
                owner_email=OSCAR,
            )
            for i in range(30)
        ],
    )
    client = login(manager)
    with django_assert_max_num_queries(10):
        response = client.get(page_url(team))
    assert response.context["page"].paginator.count == 33


def test_rule_off_lists_by_the_stage_p85_and_targets(login, manager, team, deals):
    StaleRule.objects.create(team=team, number=2, days=None, effective_from=dt.date(2020, 1, 2))
    response = login(manager).get(page_url(team))
    # No p85 yet (no recompute) and no target on "engaged": O1 is no longer listed.
    assert [d.external_id for d in response.context["page"].object_list] == ["R1", "R2"]
    assert "the team's stale rule is off" in response.content.decode()


def test_mark_lost_records_a_real_lost_event_by_the_user(
    login, rep, team, deals, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = login(rep).post(action_url(team, deals["R1"], "mark_lost"), {"page": "1"})
    assert response.status_code == 302
    assert response["Location"] == page_url(team) + "?page=1"
    deal = Deal.objects.get(id=deals["R1"].id)
    assert (deal.status, deal.lost_reason) == ("lost", "No activity (pipeline 5S clean-up)")
    event = StageEvent.objects.filter(deal=deal).order_by("-id").first()
    assert (event.outcome, event.origin, event.recorded_by_id) == ("lost", "ui", rep.id)


def test_still_alive_updates_the_row_in_place_without_changing_the_stage(login, rep, team, deals):
    before = deals["R1"]
    response = login(rep).post(
        action_url(team, before, "still_alive"), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert content.strip().startswith(f'<tr id="deal-{before.id}">')
    assert "<html" not in content
    assert "Checked: still alive." in content
    assert "HX-Request" in response["Vary"]
    deal = Deal.objects.get(id=before.id)
    assert (deal.status, deal.current_stage_id, deal.stage_entered_at) == (
        "open",
        before.current_stage_id,
        before.stage_entered_at,
    )
    assert deal.last_event_at > before.last_event_at
    event = StageEvent.objects.filter(deal=deal).order_by("-id").first()
    assert (event.stage_id, event.recorded_by_id) == (before.current_stage_id, rep.id)
    # No longer stale; still aged (40 days in a 3-day stage), so still listed, as aged only.
    row = next(d for d in login(rep).get(page_url(team)).context["page"] if d.id == deal.id)
    assert (row.is_stale, row.is_aged) == (False, True)


def test_manager_acts_on_any_deal_of_the_team(login, manager, team, deals):
    response = login(manager).post(action_url(team, deals["O1"], "mark_lost"))
    assert response.status_code == 302
    assert Deal.objects.get(id=deals["O1"].id).status == "lost"


def test_a_closed_deal_gets_a_clear_message_and_no_event(login, manager, team, deals):
    response = login(manager).post(
        action_url(team, deals["W1"], "mark_lost"), headers={"HX-Request": "true"}
    )
    assert "This deal is won already." in response.content.decode()
    assert StageEvent.objects.filter(deal=deals["W1"]).count() == 2


def test_a_rep_cannot_act_on_another_reps_deal(login, rep, team, deals):
    response = login(rep).post(action_url(team, deals["O1"], "mark_lost"))
    assert response.status_code == 403
    assert Deal.objects.get(id=deals["O1"].id).status == "open"


def test_executive_reads_but_cannot_act(login, executive, team, deals):
    client = login(executive)
    response = client.get(page_url(team))
    assert response.status_code == 200
    assert "Mark lost</button>" not in response.content.decode()
    assert client.post(action_url(team, deals["R1"], "still_alive")).status_code == 403
    assert client.post(action_url(team, deals["R1"], "mark_lost")).status_code == 403


def test_outsider_gets_404(login, outsider, team, deals):
    client = login(outsider)
    assert client.get(page_url(team)).status_code == 404
    assert client.post(action_url(team, deals["R1"], "mark_lost")).status_code == 404
    assert Deal.objects.get(id=deals["R1"].id).status == "open"


def test_wrong_methods_are_405(login, manager, team, deals):
    client = login(manager)
    assert client.get(action_url(team, deals["R1"], "mark_lost")).status_code == 405
    assert client.get(action_url(team, deals["R1"], "still_alive")).status_code == 405
    assert client.post(page_url(team)).status_code == 405


def test_empty_state(login, manager, team):
    response = login(manager).get(page_url(team))
    assert response.status_code == 200
    assert "Nothing to sort out" in response.content.decode()
