"""The shortfall test against the best window, checked against an independent simulation of
the exact binomial weeks (not the normal draws the code uses), and its selection gain."""

import numpy as np
import pytest

from funnel.metrics.capability import WeeklySeries, capability_test, fixed_target_p_value

WEEKS, WINDOW = 40, 13


def exact_p_value(decided, rate, observed_gap, sims=20_000, seed=99):
    """P(best window − recent window ≥ observed) when every week converts at `rate`."""
    rng = np.random.default_rng(seed)
    advanced = rng.binomial(decided, rate, size=(sims, decided.size)).astype(float)
    a = np.concatenate([np.zeros((sims, 1)), advanced.cumsum(axis=1)], axis=1)
    n = np.concatenate([[0], decided.cumsum()])
    values = (a[:, WINDOW:] - a[:, :-WINDOW]) / (n[WINDOW:] - n[:-WINDOW])
    gaps = values.max(axis=1) - values[:, -1]
    return float(np.mean(gaps >= observed_gap))


@pytest.mark.parametrize("recent_rate", [0.45, 0.42])
def test_the_p_value_matches_an_exact_binomial_simulation(recent_rate):
    # 20 decided deals a week at 50 %, the last 13 weeks at a lower rate.
    decided = np.full(WEEKS, 20)
    rates = np.where(np.arange(WEEKS) >= WEEKS - WINDOW, recent_rate, 0.5)
    advanced = np.round(decided * rates)
    result = capability_test(
        WeeklySeries(advanced, decided.astype(float)),
        kind="conversion",
        window=WINDOW,
        min_size=30,
        baseline_weeks=WEEKS - WINDOW,
    )
    pooled = advanced.sum() / decided.sum()
    windows = [advanced[i : i + WINDOW].sum() / 260 for i in range(WEEKS - WINDOW + 1)]
    gap = max(windows) - windows[-1]
    assert result.best == pytest.approx(max(windows))
    assert result.current == pytest.approx(windows[-1])
    expected = exact_p_value(decided, pooled, gap - 1e-9)
    # Monte Carlo error of both simulations (2,000 and 20,000 draws) plus the normal law's.
    assert result.p_value == pytest.approx(expected, abs=0.015)
    # The baseline weeks are all exactly 50 %: less spread than chance, so dispersion 1.
    assert result.dispersion == 1.0


def test_the_target_is_the_best_window_less_its_expected_luck():
    # Every week exactly 50 %: all windows are equal, the best is no better than the rest,
    # but the best of 28 windows of a steady 50 % would be higher by luck: the target may not
    # fall below the pooled rate, so it is 50 %, and there is no shortfall (p = 1).
    decided = np.full(WEEKS, 20.0)
    result = capability_test(
        WeeklySeries(decided / 2, decided),
        kind="conversion",
        window=WINDOW,
        min_size=30,
        baseline_weeks=WEEKS - WINDOW,
    )
    assert (result.best, result.target, result.p_value, result.windows) == (0.5, 0.5, 1.0, 28)


def test_a_spread_beyond_chance_widens_the_null():
    # Weeks alternate 30 % and 70 % of 20: Pearson's dispersion is
    # sum((k - 10)^2 / (20 × 0.25)) / (n - 1) = 16 / 5 × n / (n - 1).
    decided = np.full(WEEKS, 20.0)
    advanced = np.where(np.arange(WEEKS) % 2 == 0, 6.0, 14.0)
    result = capability_test(
        WeeklySeries(advanced, decided),
        kind="conversion",
        window=WINDOW,
        min_size=30,
        baseline_weeks=WEEKS - WINDOW,
    )
    base = WEEKS - WINDOW
    assert result.dispersion == pytest.approx(16 / 5 * base / (base - 1))


def test_days_are_better_when_lower():
    # 10 deals leave a week after 5 days each, the last 13 weeks after 15 days each.
    left = np.full(WEEKS, 10.0)
    days = np.where(np.arange(WEEKS) >= WEEKS - WINDOW, 15.0, 5.0)
    result = capability_test(
        WeeklySeries(days * left, left, higher_is_better=False),
        kind="days",
        window=WINDOW,
        min_size=30,
        baseline_weeks=WEEKS - WINDOW,
        squares=float(np.sum(days * days * left)),
    )
    assert (result.current, result.best) == (15.0, 5.0)
    assert result.p_value < 0.001 and result.target < result.current


def test_a_fixed_target_p_value_is_the_one_sided_z_test():
    # 40 of 100 against 50 %: z = 0.1 / sqrt(0.25 / 100) = 2, p = 0.02275.
    assert fixed_target_p_value(current=0.4, target=0.5, size=100, variance=0.25) == (
        pytest.approx(0.02275, abs=1e-5)
    )
    assert fixed_target_p_value(current=0.6, target=0.5, size=100, variance=0.25) == 1.0
