import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest, poisson

from funnel.metrics.intervals import poisson_rate_interval, proportion_difference, wilson_interval


def test_wilson_hand_worked_five_of_ten():
    # p = 0.5, z = 1.959964, z²/n = 0.3841459
    # centre = (0.5 + 0.3841459/2) / 1.3841459 = 0.5
    # half   = 1.959964 * sqrt(0.025 + 0.3841459/40) / 1.3841459
    #        = 1.959964 * sqrt(0.03460365) / 1.3841459
    #        = 1.959964 * 0.1860206 / 1.3841459 = 0.263407
    rate = wilson_interval(5, 10)
    assert rate.rate == 0.5
    assert rate.low == pytest.approx(0.236593, abs=1e-6)
    assert rate.high == pytest.approx(0.763407, abs=1e-6)
    assert rate.n == 10 and rate.successes == 5 and rate.failures == 5


def test_wilson_at_the_edges_is_exact():
    assert wilson_interval(0, 10).low == 0.0
    assert wilson_interval(10, 10).high == 1.0
    # 0 of 10: high = z²/n / (1 + z²/n) = 0.3841459 / 1.3841459
    assert wilson_interval(0, 10).high == pytest.approx(0.3841459 / 1.3841459, rel=1e-6)


def test_wilson_without_deals_has_no_estimate():
    rate = wilson_interval(0, 0)
    assert rate.rate is None and (rate.low, rate.high) == (0.0, 1.0)


def test_wilson_rejects_impossible_counts():
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


@settings(max_examples=100)
@given(st.integers(1, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_matches_scipy_and_contains_the_rate(kn):
    k, n = kn
    rate = wilson_interval(k, n)
    expected = binomtest(k, n).proportion_ci(method="wilson")
    assert rate.low == pytest.approx(expected.low, abs=1e-9)
    assert rate.high == pytest.approx(expected.high, abs=1e-9)
    assert 0.0 <= rate.low <= rate.rate <= rate.high <= 1.0


def test_newcombe_difference_reproduces_his_published_example():
    # Newcombe (1998), Statistics in Medicine 17:873, example (a): 56/70 − 48/80 = 0.2,
    # method 10 interval 0.0524 to 0.3339.
    diff = proportion_difference(56, 70, 48, 80)
    assert diff.estimate == pytest.approx(0.2)
    assert diff.low == pytest.approx(0.0524, abs=5e-5)
    assert diff.high == pytest.approx(0.3339, abs=5e-5)


def test_newcombe_difference_without_deals_is_uninformative():
    diff = proportion_difference(0, 0, 3, 10)
    assert diff.estimate is None and (diff.low, diff.high) == (-1.0, 1.0)


@settings(max_examples=100)
@given(
    st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
)
def test_newcombe_interval_contains_the_difference(a, b):
    diff = proportion_difference(*a, *b)
    assert -1.0 <= diff.low <= diff.estimate <= diff.high <= 1.0


@pytest.mark.parametrize("count", [1, 7, 130])
def test_poisson_interval_is_exact(count):
    # Garwood bounds: P(X >= count | low) = 0.025 and P(X <= count | high) = 0.025.
    interval = poisson_rate_interval(count, 13)
    assert interval.rate == pytest.approx(count / 13)
    assert poisson.sf(count - 1, interval.low * 13) == pytest.approx(0.025, rel=1e-6)
    assert poisson.cdf(count, interval.high * 13) == pytest.approx(0.025, rel=1e-6)


def test_poisson_interval_of_zero_events():
    interval = poisson_rate_interval(0, 2)
    # P(X = 0 | mu) = exp(-mu) = 0.025  ->  mu = -ln 0.025 = 3.6889, per unit 1.8444
    assert interval.low == 0.0
    assert interval.high == pytest.approx(-math.log(0.025) / 2, rel=1e-6)
