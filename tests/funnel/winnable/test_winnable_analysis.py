"""The analysis read from the aggregates, checked against scipy computed here."""

import datetime as dt
import random

import numpy as np
import pytest
from scipy.stats import false_discovery_control, fisher_exact

from funnel.metrics.winnable import Winnability
from funnel.winnable.selectors import department_analysis, period_start, winnable_analysis
from funnel.winnable.services import team_winnable_recompute
from tests.funnel.winnable.conftest import UTC, counts_build, deal_closed


def _wilson(k, n, z=1.959963984540054):
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def test_figures_equal_scipy(team):
    rows = [
        ("decision-maker-reached", "yes", 30, 10),
        ("decision-maker-reached", "no", 15, 45),
        ("competitor-present", "yes", 12, 28),
        ("competitor-present", "no", 20, 25),
        ("prospect-department", "Finance", 14, 16),
        ("prospect-department", "IT", 8, 22),
        ("prospect-department", "HR", 3, 5),  # 8 deals: too few for a verdict
    ]
    counts_build(team, rows)
    analysis = winnable_analysis(team_ids=[team.id], since=None)

    by_value = {(r.key, r.finding.value): r for r in analysis.rows}
    # Independent: each value against the other values of its characteristic.
    expected_p = {}
    for slug, value, won, lost in rows:
        rest_won = sum(w for s, v, w, _ in rows if s == slug and v != value)
        rest_lost = sum(lo for s, v, _, lo in rows if s == slug and v != value)
        finding = by_value[slug, value].finding
        assert (finding.win_rate.successes, finding.win_rate.n) == (won, won + lost)
        assert (finding.rest_rate.successes, finding.rest_rate.n) == (
            rest_won,
            rest_won + rest_lost,
        )
        low, high = _wilson(won, won + lost)
        assert finding.win_rate.low == pytest.approx(
            low
        ) and finding.win_rate.high == pytest.approx(high)
        assert finding.difference == pytest.approx(
            won / (won + lost) - rest_won / (rest_won + rest_lost)
        )
        if won + lost >= 20 and rest_won + rest_lost >= 20:
            expected_p[slug, value] = fisher_exact([[won, lost], [rest_won, rest_lost]]).pvalue
            assert finding.p_value == pytest.approx(expected_p[slug, value])
        else:
            assert finding.p_value is None and finding.verdict == Winnability.TOO_FEW
    keys = list(expected_p)
    adjusted = false_discovery_control([expected_p[k] for k in keys])
    for key, q in zip(keys, adjusted, strict=True):
        finding = by_value[key].finding
        assert finding.adjusted_p == pytest.approx(q)
        expected = (
            Winnability.NO_EVIDENCE
            if q >= 0.05
            else Winnability.MORE
            if finding.difference > 0
            else Winnability.LESS
        )
        assert finding.verdict == expected
    assert by_value["decision-maker-reached", "yes"].finding.verdict == Winnability.MORE
    # Sorted by strength of evidence: adjusted p ascending, too-few last.
    qs = [r.finding.adjusted_p for r in analysis.rows if r.finding.adjusted_p is not None]
    assert qs == sorted(qs)
    assert analysis.rows[-1].finding.value == "HR"
    assert (analysis.overall.successes, analysis.overall.n) == (102, 253)


def test_minimum_n_rule(team):
    # A huge effect on 19 deals gets no verdict; the same effect on 20 deals does.
    counts_build(
        team,
        [
            ("decision-maker-reached", "yes", 19, 0),
            ("decision-maker-reached", "no", 0, 40),
            ("champion-identified", "yes", 20, 0),
            ("champion-identified", "no", 0, 40),
        ],
    )
    rows = {
        (r.key, r.finding.value): r.finding
        for r in winnable_analysis(team_ids=[team.id], since=None).rows
    }
    assert rows["decision-maker-reached", "yes"].verdict == Winnability.TOO_FEW
    assert rows["decision-maker-reached", "yes"].adjusted_p is None
    # "no" has 40 deals but its rest (the 19) is below the minimum: no verdict either.
    assert rows["decision-maker-reached", "no"].verdict == Winnability.TOO_FEW
    assert rows["champion-identified", "yes"].verdict == Winnability.MORE


def test_flat_data_gets_no_more_winnable_verdict(team):
    # Six characteristics whose values are drawn independently of the outcome (30 % win rate).
    rng = random.Random(2026)
    rows = []
    for slug in (
        "decision-maker-reached",
        "pain-quantified",
        "budget-confirmed",
        "competitor-present",
        "champion-identified",
    ):
        for value in ("yes", "no"):
            n = rng.randrange(60, 140)
            won = sum(rng.random() < 0.3 for _ in range(n))
            rows.append((slug, value, won, n - won))
    counts_build(team, rows)
    analysis = winnable_analysis(team_ids=[team.id], since=None)
    assert analysis.rows and all(r.finding.p_value is not None for r in analysis.rows)
    assert not [r for r in analysis.rows if r.finding.verdict == Winnability.MORE]
    assert analysis.verdicts == 0


def test_period_filter_counts_by_close_month(team, characteristic):
    dm = characteristic("decision-maker-reached")
    today = dt.date.today()
    recent = dt.datetime.now(UTC) - dt.timedelta(days=1)
    old = dt.datetime(today.year - 2, 1, 15, tzinfo=UTC)
    for i, closed_at in enumerate([recent, recent, old]):
        deal_closed(
            team, f"P-{i}", won=True, closed_at=closed_at, observations=[(dm, "yes", closed_at)]
        )
    team_winnable_recompute(team=team)
    since = period_start("3", today)
    assert winnable_analysis(team_ids=[team.id], since=since).overall.n == 2
    assert winnable_analysis(team_ids=[team.id], since=None).overall.n == 3


def test_period_start_by_hand():
    assert period_start("3", dt.date(2026, 2, 10)) == dt.date(2025, 12, 1)
    assert period_start("12", dt.date(2026, 11, 27)) == dt.date(2025, 12, 1)
    assert period_start("all", dt.date(2026, 11, 27)) is None


def test_departments_from_the_record_and_from_observations(team, characteristic):
    department = characteristic("prospect-department")
    closed = dt.datetime.now(UTC) - dt.timedelta(days=2)
    for i in range(30):
        won = i % 3 == 0
        deal_closed(
            team,
            f"D-{i}",
            won=won,
            closed_at=closed,
            amount="1000",
            department="Finance" if i < 20 else "",
            observations=[(department, "IT" if i % 2 else "Finance", closed)],
        )
    team_winnable_recompute(team=team)
    record, observed = department_analysis(team_ids=[team.id], since=None)
    finance = next(r for r in record.rows if r.finding.value == "Finance")
    # 20 deals with Finance on the record, i = 0, 3, ..., 18 won: 7 of 20, 7,000 won.
    assert (finance.finding.win_rate.successes, finance.finding.win_rate.n) == (7, 20)
    assert finance.won_amount == 7000
    assert record.coverage[0].observed == 20 and record.coverage[0].closed == 30
    observed_counts = {r.finding.value: r.finding.win_rate.n for r in observed.rows}
    assert observed_counts == {"IT": 15, "Finance": 15}
