"""Events at the same instant are read in the funnel's order (stages in order, then lost, then
won), never in the order they arrived or stood in a file: the same events give the same
positions and passages whatever their order (issue 14, item 6)."""

import datetime as dt
import itertools
import random

from funnel.ingest import EventIn, stage_events_ingest
from funnel.models import Deal, DealPassage, DealStatus
from funnel.pipeline.passages import team_flow_rebuild
from funnel.pipeline.run import team_recompute
from funnel.positions import deal_refresh_position, events_in_log_order

AT = dt.datetime(2026, 3, 2, 15, 30, tzinfo=dt.UTC)
EARLIER = AT - dt.timedelta(days=9)


def events_for(deal: str, order: tuple[int, ...]) -> list[EventIn]:
    """A deal that entered Inquiry, then was marked Qualified, Proposal and won all at once (a
    CRM that stamps a bulk update with one time)."""
    at_once = [
        EventIn(event_id=f"{deal}-q", deal_external_id=deal, occurred_at=AT, stage="qualified"),
        EventIn(event_id=f"{deal}-p", deal_external_id=deal, occurred_at=AT, stage="proposal"),
        EventIn(event_id=f"{deal}-w", deal_external_id=deal, occurred_at=AT, outcome="won"),
    ]
    first = EventIn(
        event_id=f"{deal}-i", deal_external_id=deal, occurred_at=EARLIER, stage="inquiry"
    )
    return [first, *(at_once[i] for i in order)]


def position(deal: Deal) -> tuple:
    deal.refresh_from_db()
    return deal.status, deal.current_stage.slug, deal.stage_entered_at, deal.closed_at


def passages(deal: Deal) -> list[tuple]:
    return sorted(
        DealPassage.objects.filter(deal=deal).values_list(
            "stage__slug", "entered_at", "left_at", "result", "skipped"
        )
    )


EXPECTED = (DealStatus.WON, "proposal", AT, AT)


ORDERS = list(itertools.permutations(range(3)))


def test_one_batch_gives_the_same_position_in_any_order(team):
    batch = [e for n, order in enumerate(ORDERS) for e in events_for(f"D-{n}", order)]
    stage_events_ingest(team=team, events=batch, origin="api")
    team_recompute(team=team)
    deals = list(Deal.objects.filter(team=team).order_by("external_id"))
    assert [position(d) for d in deals] == [EXPECTED] * len(ORDERS)
    assert all(passages(d) == passages(deals[0]) for d in deals)
    assert ("proposal", AT, AT, "advanced", False) in passages(deals[0])


def test_events_arriving_one_by_one_give_the_same_position(team):
    for n, order in enumerate(ORDERS):
        for event in events_for(f"D-{n}", order):
            stage_events_ingest(team=team, events=[event], origin="api")
    team_recompute(team=team)
    deals = list(Deal.objects.filter(team=team).order_by("external_id"))
    assert [position(d) for d in deals] == [EXPECTED] * len(ORDERS)
    reference = passages(deals[0])
    assert all(passages(d) == reference for d in deals)
    # The cached positions and the passages equal a rebuild from the whole log.
    for deal in deals:
        deal_refresh_position(deal=deal)
        assert position(deal) == EXPECTED
    team_flow_rebuild(team=team)
    assert all(passages(d) == reference for d in deals)


def test_a_large_batch_of_new_deals_in_shuffled_order(team):
    """Large enough for the COPY path on PostgreSQL (200 new deals or more)."""
    shuffle = random.Random(14)
    batch = []
    for n in range(240):
        batch += events_for(f"D-{n}", tuple(shuffle.sample(range(3), 3)))
    shuffle.shuffle(batch)
    stage_events_ingest(team=team, events=batch, origin="csv")
    team_recompute(team=team)
    deals = Deal.objects.filter(team=team).select_related("current_stage")
    assert {(d.status, d.current_stage.slug, d.closed_at) for d in deals} == {
        (DealStatus.WON, "proposal", AT)
    }


def test_an_event_at_the_instant_of_the_last_one_but_earlier_in_the_funnel(team):
    """Stored: won at AT. Then Qualified at AT arrives: it sorts before the outcome, so the
    deal stays won (before, it reopened the deal)."""
    stage_events_ingest(team=team, events=events_for("D-1", (1, 2)), origin="api")
    late = EventIn(event_id="late", deal_external_id="D-1", occurred_at=AT, stage="qualified")
    stage_events_ingest(team=team, events=[late], origin="api")
    deal = Deal.objects.get(team=team, external_id="D-1")
    assert position(deal) == EXPECTED


def test_log_order_ranks_stages_then_lost_then_won():
    at = AT
    events = [
        {"stage_id": None, "outcome": "won", "occurred_at": at, "n": 1},
        {"stage_id": 12, "outcome": "", "occurred_at": at, "n": 2},
        {"stage_id": None, "outcome": "lost", "occurred_at": at, "n": 3},
        {"stage_id": 11, "outcome": "", "occurred_at": at, "n": 4},
        {"stage_id": 13, "outcome": "", "occurred_at": EARLIER, "n": 5},
    ]
    positions = {11: 1, 12: 2, 13: 3}
    assert [e["n"] for e in events_in_log_order(events, positions)] == [5, 4, 2, 3, 1]
