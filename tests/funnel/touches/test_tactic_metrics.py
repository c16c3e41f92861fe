"""Response rates and verdicts against an independent computation: scipy's Wilson interval
(binomtest) and Fisher's exact test, and Benjamini-Hochberg worked by hand."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import binomtest, fisher_exact

from funnel.metrics.tactics import (
    TacticCount,
    TacticVerdict,
    practical,
    response_by_touch_count,
    response_by_touch_count_at_least,
    tactic_findings,
    touch_bucket,
)

COUNTS = [
    TacticCount("call", 400, 80, Decimal("2.50")),  # 20 %
    TacticCount("email", 1000, 60),  # 6 %
    TacticCount("linkedin", 300, 30),  # 10 %
    TacticCount("meeting", 20, 15),  # too few to test
]


def _bh(p_values: list[float]) -> list[float]:
    """Benjamini-Hochberg by hand: p * m / rank, made monotone from the largest down."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, p_values[i] * m / rank)
        adjusted[i] = running
    return adjusted


def test_rates_intervals_and_verdicts_match_scipy():
    findings = {f.tactic: f for f in tactic_findings(COUNTS)}
    total_n, total_k = sum(c.touches for c in COUNTS), sum(c.responses for c in COUNTS)
    tested = ["call", "email", "linkedin"]
    p_values = []
    for name in tested:
        c = next(c for c in COUNTS if c.tactic == name)
        rest_n, rest_k = total_n - c.touches, total_k - c.responses
        table = [[c.responses, c.touches - c.responses], [rest_k, rest_n - rest_k]]
        p_values.append(fisher_exact(table).pvalue)
        ci = binomtest(c.responses, c.touches).proportion_ci(method="wilson")
        f = findings[name]
        assert f.rate.rate == pytest.approx(c.responses / c.touches)
        assert (f.rate.low, f.rate.high) == pytest.approx((ci.low, ci.high), abs=1e-9)
        assert f.rest.rate == pytest.approx(rest_k / rest_n)
    for name, q in zip(tested, _bh(p_values), strict=True):
        assert findings[name].adjusted_p == pytest.approx(q, rel=1e-6)
    assert findings["call"].verdict is TacticVerdict.VALUE
    assert findings["email"].verdict is TacticVerdict.WASTE
    assert findings["meeting"].verdict is TacticVerdict.NOT_ENOUGH
    assert findings["meeting"].adjusted_p is None
    assert findings["meeting"].reason == "too few touches to tell"
    # 400 touches at 2.50 for 80 answers
    assert findings["call"].cost_per_response == Decimal("12.50")
    assert findings["email"].cost_per_response is None


def test_flat_data_gets_no_verdict():
    flat = [TacticCount(name, 500, 50) for name in ("call", "email", "linkedin", "meeting")]
    assert {f.verdict for f in tactic_findings(flat)} == {TacticVerdict.NOT_ENOUGH}


def test_a_real_but_tiny_difference_is_too_small_to_matter():
    counts = [TacticCount("call", 200_000, 21_000), TacticCount("email", 200_000, 20_000)]
    findings = tactic_findings(counts)
    assert all(f.adjusted_p < 1e-6 for f in findings)
    assert {f.verdict for f in findings} == {TacticVerdict.NOT_ENOUGH}
    assert "smaller than the minimum" in findings[0].reason


def test_response_by_number_of_touches_by_hand():
    prospects = [(1, True), (1, False), (1, False), (2, True), (2, True), (3, False), (7, True)]
    rates = dict(response_by_touch_count(prospects))
    assert (rates["1"].successes, rates["1"].n) == (1, 3)
    assert (rates["2"].successes, rates["2"].n) == (2, 2)
    assert (rates["3"].successes, rates["3"].n) == (0, 1)
    assert (rates["4"].n, rates["4"].rate) == (0, None)
    assert (rates["5+"].successes, rates["5+"].n) == (1, 1)
    ci = binomtest(1, 3).proportion_ci(method="wilson")
    assert (rates["1"].low, rates["1"].high) == pytest.approx((ci.low, ci.high))


@given(st.lists(st.tuples(st.integers(1, 40), st.booleans()), max_size=60))
def test_every_prospect_lands_in_exactly_one_bucket(prospects):
    rates = response_by_touch_count(prospects)
    assert [label for label, _ in rates] == ["1", "2", "3", "4", "5+"]
    assert sum(r.n for _, r in rates) == len(prospects)
    assert sum(r.successes for _, r in rates) == sum(1 for _, yes in prospects if yes)


def test_a_bucket_needs_a_touch():
    with pytest.raises(ValueError):
        touch_bucket(0)


def test_a_low_rate_three_times_another_is_a_verdict_though_under_five_points():
    # By hand: cellular 3,853 / 62,877 = 6.13 %, telephone 787 / 42,877 = 1.84 %: a gap of
    # 4.3 points, under 5, but 3.3 times the rate (the UCI bank marketing file's two channels).
    counts = [TacticCount("cellular", 62_877, 3_853), TacticCount("telephone", 42_877, 787)]
    cellular, telephone = tactic_findings(counts)
    assert round(cellular.difference, 4) == round(3853 / 62877 - 787 / 42877, 4) == 0.0429
    assert (cellular.verdict, telephone.verdict) == (TacticVerdict.VALUE, TacticVerdict.WASTE)


@pytest.mark.parametrize(
    ("rate", "rest", "matters"),
    [
        (0.10, 0.05, True),  # 5 points
        (0.06, 0.02, True),  # 4 points, 3 times
        (0.03, 0.02, True),  # 1 point and 1.5 times: just matters
        (0.029, 0.02, False),  # 0.9 point, 1.45 times
        (0.032, 0.02, True),  # 1.2 points, 1.6 times
        (0.002, 0.001, False),  # twice, but a tenth of a point
        (0.30, 0.26, False),  # 4 points, 1.15 times
    ],
)
def test_what_size_of_gap_matters(rate, rest, matters):
    assert practical(rate, rest) is matters


@given(st.lists(st.tuples(st.integers(1, 12), st.booleans()), max_size=60))
def test_at_least_counts_give_the_same_buckets_as_the_prospects(prospects):
    """The kept counts give "at least k touches" (k = 1 ... 5); counted here from the list."""
    at_least = {
        k: (
            sum(1 for n, _ in prospects if n >= k),
            sum(1 for n, answered in prospects if n >= k and answered),
        )
        for k in range(1, 6)
    }
    assert response_by_touch_count_at_least(at_least) == response_by_touch_count(prospects)
