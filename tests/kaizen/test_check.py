"""The PDCA Check's statistics against values computed independently: scipy's Wilson interval,
Newcombe's published example, hand-computed XmR limits and difference-in-differences."""

import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest, norm

from kaizen.check import (
    Baseline,
    WeekCount,
    baseline_capture,
    check_opens_on,
    check_waits_for,
    cycle_check,
    totals,
)

Z = norm.ppf(0.975)
MONDAY = dt.date(2026, 1, 5)


def counts(rows, first=MONDAY, entered=None):
    return [
        WeekCount(first + dt.timedelta(weeks=i), entered or 0, a, lost)
        for i, (a, lost) in enumerate(rows)
    ]


BASE = [(4, 6), (5, 5), (3, 7), (4, 6), (5, 5), (4, 6), (3, 7), (4, 6), (5, 5), (4, 6), (4, 6)]
BASE += [(3, 7), (5, 5)]
DO = [(8, 2), (7, 3), (8, 2), (9, 1)]


def run(rows_base=BASE, rows_do=DO, **kwargs):
    series = counts(rows_base + rows_do)
    baseline = baseline_capture("conversion", series[: len(rows_base)])
    kwargs.setdefault("predicted_direction", 1)
    return cycle_check(
        metric="conversion",
        counts=series,
        do_start_index=len(rows_base),
        baseline=baseline,
        **kwargs,
    )


def wilson(k, n):
    ci = binomtest(k, n).proportion_ci(method="wilson")
    return k / n, ci.low, ci.high


def test_baseline_value_interval_and_limits_by_hand():
    baseline = baseline_capture("conversion", counts(BASE))
    assert (baseline.successes, baseline.n, baseline.weeks) == (53, 130, 13)
    p, low, high = wilson(53, 130)
    assert baseline.value == pytest.approx(p)
    assert baseline.low == pytest.approx(low, abs=1e-12)
    assert baseline.high == pytest.approx(high, abs=1e-12)
    rates = np.array([a / (a + lost) for a, lost in BASE])
    mmr = np.mean(np.abs(np.diff(rates)))
    assert baseline.limits["mean"] == pytest.approx(rates.mean())
    assert baseline.limits["upper"] == pytest.approx(rates.mean() + 2.66 * mmr)
    assert baseline.limits["lower"] == pytest.approx(rates.mean() - 2.66 * mmr)


def test_before_after_is_newcombe_computed_by_hand():
    result = run()
    p1, l1, u1 = wilson(32, 40)
    p2, l2, u2 = wilson(53, 130)
    d = p1 - p2
    assert result.effect.estimate == pytest.approx(d)
    assert result.effect.low == pytest.approx(d - math.hypot(p1 - l1, u2 - p2))
    assert result.effect.high == pytest.approx(d + math.hypot(u1 - p1, p2 - l2))
    assert result.label.startswith("Observational")


def test_before_after_matches_newcombes_published_example():
    # Newcombe (1998), Statistics in Medicine 17:873, example (a): 56/70 - 48/80,
    # method 10 (hybrid score): 0.0524 to 0.3339.
    before = [(48 // 4, 20 - 48 // 4)] * 4  # 48 of 80 over four weeks
    after = [(14, 4)] * 2 + [(14, 3)] * 2  # 56 of 70 over four weeks
    result = run(before + [(12, 8)] * 0, after, min_decided=1)
    assert (result.before.successes, result.before.n) == (48, 80)
    assert (result.after.successes, result.after.n) == (56, 70)
    assert result.effect.low == pytest.approx(0.0524, abs=5e-5)
    assert result.effect.high == pytest.approx(0.3339, abs=5e-5)


def test_xmr_signal_in_the_do_window_in_the_predicted_direction():
    result = run(predicted_size=10)
    rates = np.array([a / (a + lost) for a, lost in BASE])
    upper = rates.mean() + 2.66 * np.mean(np.abs(np.diff(rates)))
    do_rates = [a / (a + lost) for a, lost in DO]
    beyond = [13 + i for i, r in enumerate(do_rates) if r > upper]
    assert beyond, "the fixture needs Do weeks beyond the upper limit"
    flagged = {s.index for s in result.signals if "outside_limits" in s.rules}
    assert flagged == set(beyond)
    assert all(s.direction == 1 for s in result.signals)
    assert result.signal_predicted and not result.signal_against
    assert result.enough_evidence
    assert result.verdict == "supported"
    assert result.size_reached is True  # +39 pp against a prediction of 10
    assert run(predicted_size=45).size_reached is False
    assert run(predicted_direction=-1).verdict == "against"


def test_no_signal_when_the_do_window_looks_like_the_baseline():
    result = run(rows_do=[(4, 6), (5, 5), (4, 6)])
    assert result.signals == ()
    assert result.verdict == "no_change"
    assert result.effect.low < 0 < result.effect.high


def test_difference_in_differences_by_hand():
    comparison_rows = [(5, 5)] * 13 + [(6, 4)] * 4
    result = run(comparison=counts(comparison_rows))
    pt_b, pt_a = 53 / 130, 32 / 40
    pc_b, pc_a = 65 / 130, 24 / 40
    estimate = (pt_a - pt_b) - (pc_a - pc_b)
    var = sum(p * (1 - p) / n for p, n in [(pt_b, 130), (pt_a, 40), (pc_b, 130), (pc_a, 40)])
    assert result.did.estimate == pytest.approx(estimate)
    assert result.did.low == pytest.approx(estimate - Z * math.sqrt(var))
    assert result.did.high == pytest.approx(estimate + Z * math.sqrt(var))
    assert result.did.comparison_before == pytest.approx(0.5)


def test_guards_short_do_window_and_too_few_decided_deals():
    short = run(rows_do=[(9, 1)])
    assert not short.enough_evidence
    assert short.verdict == "not_enough_evidence"
    assert any("1 complete week of the 2" in r for r in short.reasons)
    thin = run(rows_do=[(3, 1), (4, 1), (5, 2)])
    assert not thin.enough_evidence
    assert any("16 decided deals" in r and "at least 20" in r for r in thin.reasons)
    assert thin.effect.estimate is not None  # still computed, just not judged


def test_check_waits_for_says_what_is_missing_until_the_guards_pass():
    # Do started Wednesday 18 Nov 2026: its first week is 16-22 Nov, the second 23-29 Nov, so
    # the Do window has two complete weeks on Monday 30 Nov.
    opens_on = check_opens_on(dt.date(2026, 11, 18))
    assert opens_on == dt.date(2026, 11, 30)
    assert check_waits_for(metric="conversion", do_weeks=1, do_volume=12, opens_on=opens_on) == (
        "The Check opens on Mon 30 Nov 2026, when the Do window has 2 complete weeks (1 so far), "
        "and once it has 8 more decided deals (12 of 20 so far)."
    )
    assert check_waits_for(metric="conversion", do_weeks=0, do_volume=25, opens_on=opens_on) == (
        "The Check opens on Mon 30 Nov 2026, when the Do window has 2 complete weeks (0 so far)."
    )
    assert check_waits_for(metric="conversion", do_weeks=3, do_volume=19) == (
        "The Check opens once the Do window has 1 more decided deal (19 of 20 so far)."
    )
    assert check_waits_for(metric="arrivals", do_weeks=2, do_volume=7) == (
        "The Check opens once the Do window has 13 more new deals (7 of 20 so far)."
    )
    assert check_waits_for(metric="conversion", do_weeks=2, do_volume=20) == ""
    # The same thresholds as the Check's own guards, on either side of them.
    for rows, ready in (([(8, 2), (7, 2)], False), ([(8, 2), (7, 3)], True), ([(20, 5)], False)):
        result = run(rows_do=rows)
        waits = check_waits_for(
            metric="conversion", do_weeks=result.do_weeks, do_volume=result.do_volume
        )
        assert result.enough_evidence is ready and (waits == "") is ready, rows


def test_arrivals_difference_of_poisson_rates_by_hand():
    series = [
        WeekCount(MONDAY + dt.timedelta(weeks=i), e) for i, e in enumerate([10] * 13 + [16] * 3)
    ]
    baseline = baseline_capture("arrivals", series[:13])
    assert baseline.value == pytest.approx(10)
    result = cycle_check(
        metric="arrivals",
        counts=series,
        do_start_index=13,
        baseline=baseline,
        predicted_direction=1,
    )
    estimate = 16 - 10
    se = math.sqrt(48 / 3**2 + 130 / 13**2)
    assert result.effect.estimate == pytest.approx(estimate)
    assert result.effect.low == pytest.approx(estimate - Z * se)
    assert result.effect.high == pytest.approx(estimate + Z * se)


def test_result_round_trips_to_json():
    data = run().to_json()
    assert data["weeks"][0] == MONDAY.isoformat()
    assert data["effect"]["method"] == "Newcombe hybrid score"
    assert isinstance(data["signals"][0]["week"], str)


@settings(max_examples=60, deadline=None)
@given(
    base=st.lists(st.tuples(st.integers(0, 8), st.integers(0, 8)), min_size=5, max_size=13),
    do=st.lists(st.tuples(st.integers(0, 8), st.integers(0, 8)), min_size=0, max_size=6),
)
def test_effect_interval_contains_estimate_and_guards_are_consistent(base, do):
    series = counts(base + do)
    baseline = baseline_capture("conversion", series[: len(base)])
    result = cycle_check(
        metric="conversion",
        counts=series,
        do_start_index=len(base),
        baseline=baseline,
        predicted_direction=1,
    )
    decided = sum(a + lost for a, lost in do)
    assert result.enough_evidence == (len(do) >= 2 and decided >= 20 and baseline.n > 0)
    if result.effect.estimate is not None:
        assert result.effect.low <= result.effect.estimate <= result.effect.high
    assert totals("conversion", series[len(base) :]).n == decided


def test_frozen_baseline_is_what_the_check_uses():
    series = counts(BASE + DO)
    frozen = Baseline(0.5, 0.4, 0.6, 65, 130, 13, None)
    result = cycle_check(
        metric="conversion",
        counts=series,
        do_start_index=13,
        baseline=frozen,
        predicted_direction=1,
    )
    assert result.effect.before == pytest.approx(0.5)
    assert result.signals == ()  # no limits, no rules
    assert result.notes
