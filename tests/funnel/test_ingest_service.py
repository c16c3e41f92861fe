"""The one write path for stage events: validation, idempotency, order independence."""

import datetime as dt
import itertools
import logging
import re
from decimal import Decimal

import pgtrigger
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funnel.ingest import EventIn, IngestRejected, stage_events_ingest
from funnel.models import Deal, DealStatus, Origin, StageEvent

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def ev(event_id, deal="D-1", days=0, stage=None, outcome=None, **kw):
    return EventIn(
        event_id=event_id,
        deal_external_id=deal,
        occurred_at=T0 + dt.timedelta(days=days),
        stage=stage,
        outcome=outcome,
        **kw,
    )


def ingest(team, events, **kw):
    return stage_events_ingest(team=team, events=events, origin=Origin.API, **kw)


def deals_clear(team):
    """Between examples: the team's deals and their logs go, as with the team's deletion (the
    one deletion the event log's append-only guard lets through)."""
    with pgtrigger.ignore("funnel.StageEvent:stage_event_no_delete"):
        Deal.objects.filter(team=team).delete()


def test_first_sight_creates_the_deal_with_its_attributes(team, rep):
    result = ingest(
        team,
        [
            ev(
                "e1",
                stage="inquiry",
                owner_email="RITA.rep@example.com",
                account="Acme",
                amount=Decimal("1200.5"),
                department="Finance",
                source="Webinar",
            ),
            ev("e2", days=3, stage="engaged"),
        ],
    )
    assert (result.accepted, result.duplicates, result.deals_created) == (2, 0, 1)
    deal = Deal.objects.get(team=team, external_id="D-1")
    assert deal.owner == rep
    assert (deal.account, deal.department, deal.source) == ("Acme", "Finance", "Webinar")
    assert deal.amount == Decimal("1200.50")
    assert deal.current_stage.slug == "engaged"
    assert deal.stage_entered_at == T0 + dt.timedelta(days=3)
    assert deal.opened_at == T0
    assert deal.status == DealStatus.OPEN


def test_replay_counts_each_event_once(team):
    batch = [ev("e1", stage="inquiry"), ev("e2", days=1, stage="engaged")]
    assert ingest(team, batch).accepted == 2
    again = ingest(team, batch)
    assert (again.accepted, again.duplicates) == (0, 2)
    assert StageEvent.objects.filter(team=team).count() == 2


def test_same_id_twice_in_one_batch_is_one_event(team):
    result = ingest(team, [ev("e1", stage="inquiry"), ev("e1", stage="inquiry")])
    assert (result.accepted, result.duplicates) == (1, 1)


def test_event_ids_are_scoped_per_team(team, other_team):
    ingest(team, [ev("e1", stage="inquiry")])
    assert ingest(other_team, [ev("e1", stage="inquiry")]).accepted == 1


def test_an_invalid_event_rolls_back_the_whole_batch(team):
    with pytest.raises(IngestRejected) as caught:
        ingest(
            team,
            [
                ev("ok-1", stage="inquiry", deal="D-9"),
                ev("bad-1", stage="no-such-stage"),
                ev("bad-2", stage="inquiry", owner_email="nobody@example.com"),
                ev("bad-3", stage="inquiry", amount=Decimal("-5")),
                EventIn(
                    event_id="bad-4",
                    deal_external_id="D-2",
                    occurred_at=dt.datetime(2026, 3, 2, 9, 0),
                    stage="inquiry",
                ),
                EventIn(
                    event_id="bad-5",
                    deal_external_id="D-2",
                    occurred_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=30),
                    stage="inquiry",
                ),
                ev("bad-6", stage="inquiry", outcome="won"),
                ev("bad-7"),
                ev("bad-8", outcome="maybe"),
                ev("bad-9", stage="inquiry", lost_reason="price"),
                ev("", deal="", stage="inquiry"),
            ],
        )
    found = {(e.index, e.field) for e in caught.value.errors}
    assert found == {
        (1, "stage"),
        (2, "deal.owner"),
        (3, "deal.amount"),
        (4, "occurred_at"),
        (5, "occurred_at"),
        (6, "stage"),
        (7, "stage"),
        (8, "outcome"),
        (9, "lost_reason"),
        (10, "id"),
        (10, "deal.id"),
    }
    messages = {(e.index, e.field): e.message for e in caught.value.errors}
    assert "Unknown stage 'no-such-stage'" in messages[(1, "stage")]
    assert "offset" in messages[(4, "occurred_at")]
    assert "future" in messages[(5, "occurred_at")]
    assert StageEvent.objects.count() == 0
    assert Deal.objects.count() == 0


def test_executive_is_not_a_deal_owner(team, executive):
    with pytest.raises(IngestRejected) as caught:
        ingest(team, [ev("e1", stage="inquiry", owner_email=executive.email)])
    assert caught.value.errors[0].field == "deal.owner"


def test_outcome_closes_the_deal_and_a_later_stage_reopens_it(team):
    ingest(
        team, [ev("e1", stage="inquiry"), ev("e2", days=2, outcome="lost", lost_reason="No budget")]
    )
    deal = Deal.objects.get(external_id="D-1")
    assert (deal.status, deal.lost_reason) == ("lost", "No budget")
    assert deal.closed_at == T0 + dt.timedelta(days=2)
    assert deal.current_stage.slug == "inquiry"  # the stage it was lost in
    ingest(team, [ev("e3", days=5, stage="engaged")])
    deal.refresh_from_db()
    assert (deal.status, deal.closed_at, deal.current_stage.slug) == ("open", None, "engaged")


def test_a_late_arriving_older_event_does_not_move_the_deal_back(team):
    ingest(team, [ev("e2", days=5, stage="qualified")])
    ingest(team, [ev("e1", days=1, stage="inquiry")])
    deal = Deal.objects.get(external_id="D-1")
    assert deal.current_stage.slug == "qualified"
    assert deal.opened_at == T0 + dt.timedelta(days=1)


def test_events_at_the_same_instant_break_ties_by_arrival(team):
    ingest(team, [ev("e1", stage="inquiry"), ev("e2", stage="engaged")])
    assert Deal.objects.get(external_id="D-1").current_stage.slug == "engaged"


STAGES = ["inquiry", "engaged", "qualified", "proposal", "negotiation", "handover"]

event_strategy = st.builds(
    lambda n, deal, day, step: (f"e{n}", f"D-{deal}", day, step),
    st.integers(0, 30),
    st.integers(0, 3),
    st.integers(0, 40),
    st.sampled_from([*STAGES, "won", "lost"]),
)


def _event(spec):
    event_id, deal, day, step = spec
    if step in ("won", "lost"):
        return ev(event_id, deal=deal, days=day, outcome=step)
    return ev(event_id, deal=deal, days=day, stage=step)


def _events_at_distinct_instants(specs):
    """One event per deal and instant, so "latest occurred_at" is unambiguous."""
    seen, events = set(), []
    for spec in specs:
        if (spec[1], spec[2]) not in seen:
            seen.add((spec[1], spec[2]))
            events.append(_event(spec))
    return events


def _positions(team):
    return sorted(
        Deal.objects.filter(team=team).values_list(
            "external_id",
            "status",
            "lost_reason",
            "current_stage__slug",
            "stage_entered_at",
            "opened_at",
            "closed_at",
            "last_event_at",
        )
    )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    specs=st.lists(event_strategy, min_size=1, max_size=12, unique_by=lambda s: s[0]),
    data=st.data(),
)
def test_any_arrival_order_with_duplicates_gives_the_same_positions(team, specs, data):
    events = _events_at_distinct_instants(specs)
    deals_clear(team)
    ingest(team, events)
    expected = _positions(team)

    deals_clear(team)
    shuffled = data.draw(st.permutations(events))
    with_dupes = shuffled + data.draw(st.lists(st.sampled_from(events), max_size=5))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(with_dupes)), max_size=4)))
    for start, stop in zip([0, *cuts], [*cuts, len(with_dupes)], strict=True):
        ingest(team, with_dupes[start:stop])
    assert _positions(team) == expected
    assert StageEvent.objects.filter(team=team).count() == len(events)


def test_batches_over_the_limit_are_refused(team):
    events = [ev(f"e{i}", stage="inquiry", deal=f"D-{i}") for i in range(1001)]
    with pytest.raises(IngestRejected):
        ingest(team, events)
    assert StageEvent.objects.count() == 0


def test_recompute_is_scheduled_on_commit_only_when_something_was_written(
    team, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        ingest(team, [ev("e1", stage="inquiry")])
    assert len(callbacks) == 1
    with django_capture_on_commit_callbacks() as callbacks:
        ingest(team, [ev("e1", stage="inquiry")])
    assert callbacks == []


def test_permutations_of_a_small_history_all_agree(team):
    events = [
        ev("a", stage="inquiry"),
        ev("b", days=1, stage="engaged"),
        ev("c", days=2, outcome="won"),
    ]
    results = set()
    for order in itertools.permutations(events):
        deals_clear(team)
        for e in order:
            ingest(team, [e])
        results.add(tuple(_positions(team)))
    assert len(results) == 1
    assert next(iter(results))[0][1] == "won"


def _reference_positions(events):
    """Positions worked out straight from the definition, apart from the service's code."""
    out = []
    for deal in sorted({e.deal_external_id for e in events}):
        log = sorted((e for e in events if e.deal_external_id == deal), key=lambda e: e.occurred_at)
        last = log[-1]
        stages = [e for e in log if e.stage]
        entered = None
        for i, e in enumerate(stages):
            if i == 0 or e.stage != stages[i - 1].stage:
                entered = e
        out.append(
            (
                deal,
                last.outcome or "open",
                last.lost_reason if last.outcome == "lost" else "",
                entered.stage if entered else None,
                entered.occurred_at if entered else None,
                log[0].occurred_at,
                last.occurred_at if last.outcome else None,
                last.occurred_at,
            )
        )
    return out


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    specs=st.lists(event_strategy, min_size=1, max_size=14, unique_by=lambda s: s[0]),
    data=st.data(),
)
def test_positions_equal_a_reference_in_order_and_out_of_order(team, specs, data):
    events = _events_at_distinct_instants(specs)
    deals_clear(team)
    # In time order batch after batch (each deal's position extended), or shuffled (some
    # deals re-read from their whole log).
    if data.draw(st.booleans()):
        order = sorted(events, key=lambda e: e.occurred_at)
    else:
        order = data.draw(st.permutations(events))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(order)), max_size=5)))
    for start, stop in zip([0, *cuts], [*cuts, len(order)], strict=True):
        ingest(team, order[start:stop])
    assert _positions(team) == _reference_positions(events)


def ingest_log(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "funnel.ingest"]


def test_a_batch_logs_one_line_with_its_team_counts_and_time(team, caplog):
    ingest(team, [ev("e1", stage="inquiry")])
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="funnel.ingest"):
        ingest(team, [ev("e1", stage="inquiry"), ev("e2", deal="D-2", stage="inquiry")])
    [line] = ingest_log(caplog)
    assert line.startswith("ingest team=north origin=api events=2 accepted=1 duplicates=1 ")
    assert "deals_created=1" in line
    assert re.search(r" in \d+ ms$", line)


def test_a_rejected_batch_logs_its_team_and_error_count(team, caplog):
    with caplog.at_level(logging.INFO, logger="funnel.ingest"), pytest.raises(IngestRejected):
        ingest(team, [ev("e1", stage="no-such-stage"), ev("e2", stage="inquiry")])
    [line] = ingest_log(caplog)
    assert line.startswith("ingest rejected team=north origin=api events=2 errors=1 ")
