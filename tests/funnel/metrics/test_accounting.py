import random
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnel.metrics.accounting import (
    DealJourney,
    funnel_accounting,
    stage_account,
    stage_conversion,
    stage_passages,
    stage_series,
    stage_weeks_from_journeys,
    week_start,
    weeks_between,
)

POSITIONS = (1, 2, 3)
MONDAY = datetime(2025, 3, 3, 9, tzinfo=UTC)  # a Monday


def week(n: int, day: int = 0) -> datetime:
    return MONDAY + timedelta(weeks=n, days=day)


# A: 1 (wk0) -> 2 (wk1) -> won (wk2): skipped stage 3 on the way to won.
# B: 1 (wk0) -> 3 (wk1), skipping 2 -> lost (wk3).
# C: 1 (wk0), still open.
# D: 1 (wk0) -> lost (wk1).
A = DealJourney(((1, week(0)), (2, week(1))), "won", week(2))
B = DealJourney(((1, week(0)), (3, week(1, 2))), "lost", week(3))
C = DealJourney(((1, week(0, 4)),))
D = DealJourney(((1, week(0, 1)),), "lost", week(1, 3))


def test_hand_worked_funnel():
    accounts = funnel_accounting([A, B, C, D], stage_positions=POSITIONS)
    by_stage = {a.stage_position: a for a in accounts}
    # Stage 1: all four entered; A and B advanced, D lost, C open -> 2 / (2 + 1).
    s1 = by_stage[1]
    assert (s1.entered, s1.advanced, s1.lost, s1.open) == (4, 2, 1, 1)
    assert s1.conversion.rate == pytest.approx(2 / 3)
    # Stage 2: A entered it, B passed it by skipping to 3; both advanced -> 2 / 2.
    s2 = by_stage[2]
    assert (s2.entered, s2.advanced, s2.lost, s2.open) == (2, 2, 0, 0)
    # Stage 3: B lost in it, A passed it by being won -> 1 / 2.
    s3 = by_stage[3]
    assert (s3.entered, s3.advanced, s3.lost, s3.open) == (2, 1, 1, 0)
    assert s3.conversion.rate == 0.5


def test_hand_worked_weeks():
    rows = stage_weeks_from_journeys([A, B, C, D], stage_positions=POSITIONS)
    got = {(r.stage_position, (r.week_start - week(0).date()).days // 7): r for r in rows}
    # Stage 1, week 0: four entered; week 1: A and B advanced, D lost.
    assert (got[1, 0].entered, got[1, 0].decided) == (4, 0)
    assert (got[1, 1].advanced, got[1, 1].lost) == (2, 1)
    # Stage 2: A and B entered in week 1; B left at once (week 1), A when won (week 2).
    assert (got[2, 1].entered, got[2, 1].advanced) == (2, 1)
    assert got[2, 2].advanced == 1
    # Stage 3: B entered week 1, A entered (skipped) when won in week 2 and advanced then;
    # B lost in week 3.
    assert (got[3, 1].entered, got[3, 2].entered, got[3, 2].advanced) == (1, 1, 1)
    assert got[3, 3].lost == 1
    # The conversion decided in week 1 at stage 1: 2 advanced of 3 decided.
    rate = stage_conversion(
        rows, stage_position=1, weeks_from=week(1).date(), weeks_to=week(2).date()
    )
    assert (rate.successes, rate.n) == (2, 3)


def test_moving_back_does_not_undo_progress():
    # 1 -> 3 -> back to 2, still open: stages 1 and 2 passed, open at the furthest stage 3.
    journey = DealJourney(((1, week(0)), (3, week(1)), (2, week(2))))
    passages = stage_passages(journey, stage_positions=POSITIONS)
    assert [(p.stage_position, p.result) for p in passages] == [
        (1, "advanced"),
        (2, "advanced"),
        (3, "open"),
    ]
    assert passages[1].left_at == week(1)  # it first left stage 2 when it reached 3
    assert not any(p.skipped for p in passages)
    skipper = stage_passages(B, stage_positions=POSITIONS)
    assert [p.skipped for p in skipper] == [False, True, False]


def test_closed_deal_needs_a_close_date():
    with pytest.raises(ValueError):
        DealJourney(((1, week(0)),), "won")


def test_stage_account_checks_its_counts():
    with pytest.raises(ValueError):
        stage_account(stage_position=1, entered=5, advanced=1, lost=1, open=1)
    account = stage_account(stage_position=1, advanced=3, lost=1, open=2)
    assert account.entered == 6 and account.conversion.rate == 0.75


def test_week_calendar():
    assert week_start(date(2025, 3, 9)) == date(2025, 3, 3)  # Sunday -> its Monday
    assert weeks_between(date(2025, 3, 5), date(2025, 3, 17)) == [
        date(2025, 3, 3),
        date(2025, 3, 10),
    ]
    rows = stage_weeks_from_journeys([A, B, C, D], stage_positions=POSITIONS)
    series = stage_series(
        rows, stage_position=1, weeks=weeks_between(week(-1).date(), week(3).date())
    )
    assert series.entered == (0, 4, 0, 0)
    assert [r.n for r in series.conversion] == [0, 0, 3, 0]


@st.composite
def journeys(draw):
    """A random deal: a few visits in time order, then maybe an outcome."""
    n = draw(st.integers(1, 4))
    days = sorted(draw(st.lists(st.integers(0, 120), min_size=n + 1, max_size=n + 1)))
    stages = draw(st.lists(st.sampled_from(POSITIONS + (4, 5)), min_size=n, max_size=n))
    visits = tuple(
        (stage, MONDAY + timedelta(days=d)) for stage, d in zip(stages, days, strict=False)
    )
    outcome = draw(st.sampled_from(["open", "won", "lost"]))
    closed = None if outcome == "open" else MONDAY + timedelta(days=days[-1])
    return DealJourney(visits, outcome, closed)


FIVE = (1, 2, 3, 4, 5)


@settings(max_examples=50, deadline=None)
@given(st.lists(journeys(), max_size=30), st.randoms(use_true_random=False))
def test_accounting_invariants(deals, rnd):
    accounts = funnel_accounting(deals, stage_positions=FIVE)
    for account in accounts:
        assert account.entered == account.advanced + account.lost + account.open
        rate = account.conversion
        assert 0 <= rate.low <= (rate.rate if rate.rate is not None else 0.0) <= rate.high <= 1
    # Stages are nested: nobody enters a stage without having entered the one before it.
    entered = [a.entered for a in accounts]
    assert entered == sorted(entered, reverse=True)
    # The order in which deals arrive does not matter.
    shuffled = list(deals)
    rnd.shuffle(shuffled)
    assert funnel_accounting(shuffled, stage_positions=FIVE) == accounts
    # Weekly buckets add up to the all-time account.
    rows = stage_weeks_from_journeys(deals, stage_positions=FIVE)
    for account in accounts:
        mine = [r for r in rows if r.stage_position == account.stage_position]
        assert sum(r.entered for r in mine) == account.entered
        assert sum(r.advanced for r in mine) == account.advanced
        assert sum(r.lost for r in mine) == account.lost


@settings(max_examples=50, deadline=None)
@given(st.lists(journeys(), max_size=20), journeys())
def test_an_open_deal_never_changes_conversion(deals, extra):
    # Censoring: the open deal changes no conversion from the stage it waits in onwards; the
    # stages it has already passed each gain exactly one advanced deal.
    open_deal = DealJourney(extra.visits)
    waits_in = max(p for p, _ in open_deal.visits)
    before = funnel_accounting(deals, stage_positions=FIVE)
    after = funnel_accounting([*deals, open_deal], stage_positions=FIVE)
    for b, a in zip(before, after, strict=True):
        if a.stage_position >= waits_in:
            assert a.conversion == b.conversion
        else:
            assert (a.advanced, a.lost) == (b.advanced + 1, b.lost)


@settings(max_examples=50, deadline=None)
@given(journeys())
def test_a_deal_passes_every_stage_before_its_furthest(deal):
    passages = stage_passages(deal, stage_positions=FIVE)
    furthest = 5 if deal.outcome == "won" else max(p for p, _ in deal.visits)
    assert [p.stage_position for p in passages] == list(range(1, furthest + 1))
    assert all(p.left_at is None or p.entered_at <= p.left_at for p in passages)
    assert sum(p.result != "advanced" for p in passages) == (deal.outcome != "won")


def test_streams_a_large_team_quickly():
    rnd = random.Random(7)
    deals = []
    for _ in range(5_000):
        furthest = rnd.randint(1, 5)
        visits = tuple((p, week(p, rnd.randint(0, 6))) for p in range(1, furthest + 1))
        outcome = rnd.choice(["open", "won", "lost"])
        deals.append(DealJourney(visits, outcome, None if outcome == "open" else week(6)))
    rows = stage_weeks_from_journeys(iter(deals), stage_positions=FIVE)
    assert sum(r.entered for r in rows if r.stage_position == 1) == 5_000


def test_a_deal_lost_before_any_stage_was_recorded_is_lost_at_the_first_stage():
    # A win/loss export: one deal won, two lost, none with a stage. Stage 1 decided 3, 1 of
    # them advanced; stages 2 and 3 saw only the won deal.
    won = DealJourney((), "won", week(2))
    lost = [DealJourney((), "lost", week(1)), DealJourney((), "lost", week(2, 3))]
    [passage] = stage_passages(lost[0], stage_positions=POSITIONS)
    assert (passage.stage_position, passage.result, passage.skipped) == (1, "lost", True)
    assert passage.entered_at == passage.left_at == week(1)
    by_stage = {
        a.stage_position: a for a in funnel_accounting([won, *lost], stage_positions=POSITIONS)
    }
    assert (by_stage[1].advanced, by_stage[1].lost, by_stage[1].open) == (1, 2, 0)
    assert (by_stage[2].advanced, by_stage[2].lost) == (1, 0)
    assert by_stage[1].conversion.rate == pytest.approx(1 / 3)
