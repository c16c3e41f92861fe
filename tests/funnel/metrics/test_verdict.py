from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest, norm

from funnel.metrics.accounting import StageWeek
from funnel.metrics.flow import stage_flow
from funnel.metrics.verdict import (
    BEYOND_CHANCE,
    StageSpec,
    VerdictKind,
    VerdictSettings,
    bottleneck_verdict,
)

START = date(2024, 1, 1)  # a Monday
STATIONS = ("market", "marketing", "qualifying", "selling", "selling", "servicing")
CONVERSION = (0.6, 0.5, 0.5, 0.6, 0.7, 0.9)
STAGES = tuple(StageSpec(i + 1, station) for i, station in enumerate(STATIONS))


def generated_funnel(seed, *, weeks=78, arrivals=60.0, change=None):
    """Weekly counts of a funnel where each stage decides its deals a week after they enter.

    ``change`` = (first week, stage index or "arrivals", factor) alters the funnel from then on.
    """
    rng = np.random.default_rng(seed)
    n = len(CONVERSION)
    entered = np.zeros((n, weeks + 2), dtype=int)
    advanced, lost = np.zeros_like(entered), np.zeros_like(entered)
    for w in range(weeks):
        changed = change is not None and w >= change[0]
        rate = arrivals * (change[2] if changed and change[1] == "arrivals" else 1)
        entered[0, w] += rng.poisson(rate)
        for i, c in enumerate(CONVERSION):
            c = c * (change[2] if changed and change[1] == i else 1)
            a = rng.binomial(entered[i, w], c)
            advanced[i, w + 1] += a
            lost[i, w + 1] += entered[i, w] - a
            if i + 1 < n:
                entered[i + 1, w + 1] += a
    rows = [
        StageWeek(i + 1, START + timedelta(weeks=w), *map(int, (e[w], a[w], x[w])))
        for i, (e, a, x) in enumerate(zip(entered, advanced, lost, strict=True))
        for w in range(weeks)
    ]
    return rows, START + timedelta(weeks=weeks)


def test_a_steady_funnel_rarely_names_a_bottleneck():
    # The test behind a signal holds the family-wise false alarm at 5 %; over 40 steady
    # funnels, some 2 are expected, and 5 or more would happen by chance in 1 run of 20.
    named = 0
    for seed in range(40):
        rows, as_of = generated_funnel(seed)
        verdict = bottleneck_verdict(stages=STAGES, stage_weeks=rows, as_of=as_of)
        assert verdict.kind != VerdictKind.NOT_ENOUGH_DATA
        named += verdict.kind == VerdictKind.BOTTLENECK
    assert named <= 4


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("stage_index", range(6))
def test_halving_a_stage_for_a_quarter_names_it(stage_index, seed):
    # 100 arrivals a week, so the last stages still decide some 50 deals a quarter.
    rows, as_of = generated_funnel(seed, arrivals=100, change=(65, stage_index, 0.5))
    verdict = bottleneck_verdict(stages=STAGES, stage_weeks=rows, as_of=as_of)
    assert verdict.kind == VerdictKind.BOTTLENECK
    assert verdict.stage_position == stage_index + 1
    assert verdict.station == STATIONS[stage_index]
    winner = next(c for c in verdict.contenders if c.stage_position == stage_index + 1)
    assert winner.target_source == "capability" and winner.signal
    # Halved: the target (a lower bound near the old rate) is up to twice the current rate,
    # so the gap is up to about W.
    assert 0.3 * verdict.won_per_week < verdict.gap < 1.5 * verdict.won_per_week


def test_halving_arrivals_names_the_market():
    rows, as_of = generated_funnel(7, arrivals=100, change=(65, "arrivals", 0.5))
    verdict = bottleneck_verdict(stages=STAGES, stage_weeks=rows, as_of=as_of)
    assert verdict.kind == VerdictKind.BOTTLENECK
    assert (verdict.station, verdict.stage_position) == ("market", None)
    assert verdict.contenders[0].metric == "arrivals"


def steady_rows(weeks, stage_counts):
    """The same counts every week: stage_counts = [(entered, advanced, lost), ...]."""
    return [
        StageWeek(position, START + timedelta(weeks=w), *counts)
        for w in range(weeks)
        for position, counts in enumerate(stage_counts, start=1)
    ]


def test_hand_worked_gap_against_manager_targets():
    # Two stages, every week: stage 1 decides 10 advanced + 10 lost, stage 2 5 won + 5 lost.
    # W = 5 won per week, c1 = c2 = 0.5.
    # Stage 1 target 0.8: gap = 5 × (0.8 / 0.5 − 1) = 3.0 won deals per week.
    # Stage 2 target 0.6: gap = 5 × (0.6 / 0.5 − 1) = 1.0.
    rows = steady_rows(20, [(20, 10, 10), (10, 5, 5)])
    stages = [
        StageSpec(1, "marketing", target_conversion=0.8),
        StageSpec(2, "selling", target_conversion=0.6),
    ]
    verdict = bottleneck_verdict(stages=stages, stage_weeks=rows, as_of=START + timedelta(weeks=20))
    assert verdict.won_per_week == 5.0
    assert verdict.decided_recent == 13 * (5 + 10 + 5)
    arrivals, first, second = verdict.contenders
    assert (first.current, first.n, first.target, first.target_source) == (0.5, 260, 0.8, "manager")
    assert first.gap == pytest.approx(3.0) and second.gap == pytest.approx(1.0)
    # Intervals at the one level the app shows, 95 %, checked against scipy.
    assert first.confidence == 0.95
    expected = binomtest(130, 260).proportion_ci(method="wilson", confidence_level=0.95)
    assert (first.low, first.high) == (pytest.approx(expected.low), pytest.approx(expected.high))
    # A manager's target is fixed in advance: a one-sided z-test at the target's variance.
    # Stage 2: z = (0.6 − 0.5) / sqrt(0.6 × 0.4 / 130) = 2.327, p = 0.00998. Three contenders
    # are tested (arrivals too), so a signal needs p < 0.05 / 3 = 0.0167.
    assert second.p_value == pytest.approx(norm.sf(0.1 / (0.24 / 130) ** 0.5))
    assert second.p_value == pytest.approx(0.00998, abs=1e-5)
    assert first.p_value == pytest.approx(norm.sf(0.3 / (0.16 / 260) ** 0.5))
    assert first.threshold == pytest.approx(0.05 / 3) and verdict.tested == 3
    assert first.signal_by == (BEYOND_CHANCE,) and second.signal
    assert verdict.kind == VerdictKind.BOTTLENECK and verdict.metric == "conversion"
    assert (verdict.stage_position, verdict.gap) == (1, pytest.approx(3.0))
    # Arrivals have no manager target: every 13-week window is the same, so no shortfall.
    assert arrivals.target_source == "capability" and not arrivals.signal
    assert arrivals.p_value == 1.0


def test_steady_counts_without_targets_have_no_clear_bottleneck():
    rows = steady_rows(30, [(20, 10, 10), (10, 5, 5)])
    stages = [StageSpec(1, "marketing"), StageSpec(2, "selling")]
    verdict = bottleneck_verdict(stages=stages, stage_weeks=rows, as_of=START + timedelta(weeks=30))
    assert verdict.kind == VerdictKind.NO_CLEAR_BOTTLENECK
    assert all(c.target_source == "capability" and not c.signal for c in verdict.contenders)


def test_not_enough_data():
    stages = [StageSpec(1, "marketing"), StageSpec(2, "selling")]
    few_weeks = bottleneck_verdict(
        stages=stages,
        stage_weeks=steady_rows(8, [(20, 10, 10), (10, 5, 5)]),
        as_of=START + timedelta(weeks=8),
    )
    # Nothing happened in the week of as_of, so the last week of data may be partial (an
    # export that stopped mid-week): 7 complete weeks are judged.
    assert few_weeks.kind == VerdictKind.NOT_ENOUGH_DATA and few_weeks.history_weeks == 7
    # 13 weeks × (1 won + 1 lost) = 26 closed deals < 30.
    few_deals = bottleneck_verdict(
        stages=stages,
        stage_weeks=steady_rows(20, [(2, 1, 0), (1, 1, 1)]),
        as_of=START + timedelta(weeks=20),
    )
    assert few_deals.kind == VerdictKind.NOT_ENOUGH_DATA and few_deals.decided_recent == 26


def test_flow_is_reported_beside_the_yield():
    rows = steady_rows(20, [(20, 10, 10), (10, 5, 5)])
    stages = [StageSpec(1, "marketing", target_days=7), StageSpec(2, "selling")]
    flows = [
        stage_flow(stage_position=1, left_days=[5, 9, 10], open_age_days=[3, 20]),
        stage_flow(stage_position=2, left_days=[1, 2], open_age_days=[]),
    ]
    verdict = bottleneck_verdict(
        stages=stages, stage_weeks=rows, as_of=START + timedelta(weeks=20), flows=flows
    )
    first, second = verdict.flow
    assert (first.median_days, first.target_days, first.slow) == (9.0, 7, True)
    assert (second.slow, second.target_days) == (False, None)


week_counts = st.tuples(st.integers(0, 40), st.integers(0, 40), st.integers(0, 40))


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.lists(week_counts, min_size=3, max_size=3), min_size=13, max_size=40),
    st.lists(st.one_of(st.none(), st.floats(0.05, 1.0)), min_size=3, max_size=3),
)
def test_the_verdict_never_names_a_shortfall_within_noise(weeks, targets):
    stages = [
        StageSpec(i + 1, station, target_conversion=t)
        for i, (station, t) in enumerate(
            zip(("marketing", "qualifying", "selling"), targets, strict=True)
        )
    ]
    rows = [
        StageWeek(position, START + timedelta(weeks=w), *counts)
        for w, week in enumerate(weeks)
        for position, counts in enumerate(week, start=1)
    ]
    as_of = START + timedelta(weeks=len(weeks))
    verdict = bottleneck_verdict(
        stages=stages, stage_weeks=rows, as_of=as_of, settings=VerdictSettings(min_decided=1)
    )
    # The weeks judged end before the newest week with new deals (nothing arrived after it).
    active = [w for w, week in enumerate(weeks) if week[0][0] > 0]
    end = active[-1] if active else len(weeks)
    recent = [r for r in rows if end - 13 <= (r.week_start - START).days // 7 < end]
    threshold = 0.05 / verdict.tested if verdict.tested else None
    for contender in verdict.contenders[1:]:
        mine = [r for r in recent if r.stage_position == contender.stage_position]
        k, n = sum(r.advanced for r in mine), sum(r.decided for r in mine)
        assert contender.n == n
        if contender.target_source == "manager" and n:
            t = contender.target
            if k / n >= t:
                expected = 1.0
            elif t == 1.0:  # no variance at the target: any shortfall is certain
                expected = 0.0
            else:
                expected = norm.sf((t - k / n) / (t * (1 - t) / n) ** 0.5)
            assert contender.p_value == pytest.approx(expected)
        if contender.p_value is not None:
            assert contender.threshold == pytest.approx(threshold)
            assert contender.signal == (contender.shortfall and contender.p_value < threshold)
    if verdict.kind == VerdictKind.BOTTLENECK:
        winner = next(
            c
            for c in verdict.contenders
            if (c.stage_position, c.station) == (verdict.stage_position, verdict.station)
        )
        assert winner.signal and winner.shortfall and winner.gap > 0
        assert winner.current < winner.target
        assert all(c.gap <= winner.gap for c in verdict.contenders if c.signal)
    else:
        assert not any(c.signal and c.gap and c.gap > 0 for c in verdict.contenders)
