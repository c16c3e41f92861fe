import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import fisher_exact

from funnel.metrics.winnable import ValueCount, Winnability, winnable_findings


def test_hand_worked_characteristic():
    # Decision maker engaged: yes 40 closed, 30 won (0.75); no 60 closed, 15 won (0.25).
    # Difference for yes: 0.75 − 15/60 = 0.5. Two values compared; both p-values are the same
    # table (mirrored), so BH leaves them as they are.
    findings = winnable_findings([ValueCount("dm", "yes", 40, 30), ValueCount("dm", "no", 60, 15)])
    yes = next(f for f in findings if f.value == "yes")
    no = next(f for f in findings if f.value == "no")
    assert yes.difference == pytest.approx(0.5) and no.difference == pytest.approx(-0.5)
    expected = fisher_exact([[30, 10], [15, 45]]).pvalue
    assert yes.p_value == pytest.approx(expected) and yes.adjusted_p == pytest.approx(expected)
    assert (yes.verdict, no.verdict) == (Winnability.MORE, Winnability.LESS)
    assert yes.win_rate.n == 40 and yes.rest_rate.n == 60


def test_small_values_get_no_verdict_and_no_say_in_the_correction():
    counts = [
        ValueCount("src", "webinar", 5, 5),
        ValueCount("src", "ads", 50, 15),
        ValueCount("src", "referral", 45, 14),
    ]
    findings = winnable_findings(counts, min_deals=20)
    webinar = next(f for f in findings if f.value == "webinar")
    assert webinar.verdict == Winnability.TOO_FEW and webinar.adjusted_p is None
    assert findings[-1] is webinar  # too few deals sorts last
    # Two values compared: ads vs the other 50 (19 won), referral vs the other 55 (20 won).
    ads = next(f for f in findings if f.value == "ads")
    assert ads.rest_rate.n == 50 and ads.rest_rate.successes == 19
    assert ads.p_value == pytest.approx(fisher_exact([[15, 35], [19, 31]]).pvalue)
    # BH with m = 2: the larger p stays, the smaller is min(2p, larger p).
    ps = sorted(f.p_value for f in findings if f.p_value is not None)
    adjusted = sorted(f.adjusted_p for f in findings if f.adjusted_p is not None)
    assert adjusted == [pytest.approx(min(2 * ps[0], ps[1])), pytest.approx(ps[1])]


def test_counts_beyond_the_totals_are_refused():
    with pytest.raises(ValueError):
        winnable_findings([ValueCount("x", "a", 10, 5)], totals={"x": (5, 2)})


def test_flat_data_does_not_over_claim():
    # Thirty characteristics with three values each, all winning at the same 30 %: with BH at
    # 5 %, no value should be called more or less winnable.
    rng = np.random.default_rng(3)
    counts = [
        ValueCount(f"c{c}", f"v{v}", 60, int(rng.binomial(60, 0.3)))
        for c in range(30)
        for v in range(3)
    ]
    findings = winnable_findings(counts)
    assert all(f.verdict == Winnability.NO_EVIDENCE for f in findings)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.integers(1, 200).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
        min_size=2,
        max_size=6,
    )
)
def test_findings_are_sorted_and_adjusted_p_not_below_raw(pairs):
    counts = [ValueCount("c", f"v{i}", n, k) for i, (k, n) in enumerate(pairs)]
    findings = winnable_findings(counts, min_deals=10)
    adjusted = [f.adjusted_p for f in findings if f.adjusted_p is not None]
    assert adjusted == sorted(adjusted)
    for f in findings:
        if f.adjusted_p is not None:
            assert f.p_value <= f.adjusted_p + 1e-12 <= 1 + 1e-12
        if f.verdict in (Winnability.MORE, Winnability.LESS):
            assert f.adjusted_p < 0.05
            assert (f.difference > 0) == (f.verdict == Winnability.MORE)


def test_a_significant_one_point_difference_on_100000_deals_is_too_small_to_matter():
    # 100,000 closed deals, two values of 50,000: 30.5 % against 29.5 % won. Fisher's test
    # (scipy, independently) calls the 1-point difference significant; the analysis does not
    # call it more or less winnable.
    yes, no = ValueCount("dm", "yes", 50_000, 15_250), ValueCount("dm", "no", 50_000, 14_750)
    p = fisher_exact([[15_250, 34_750], [14_750, 35_250]]).pvalue
    assert p < 0.001
    findings = winnable_findings([yes, no])
    assert {f.verdict for f in findings} == {Winnability.TOO_SMALL}
    assert all(f.adjusted_p == pytest.approx(p) for f in findings)
    assert {round(f.difference, 4) for f in findings} == {0.01, -0.01}


def test_the_minimum_difference_is_the_boundary_of_a_verdict():
    # 35 % against 30 % on 5,000 deals each: a 5-point difference, significant.
    counts = [ValueCount("dm", "yes", 5_000, 1_750), ValueCount("dm", "no", 5_000, 1_500)]
    assert fisher_exact([[1_750, 3_250], [1_500, 3_500]]).pvalue < 0.001
    at_five = {f.value: f.verdict for f in winnable_findings(counts, min_difference=0.05)}
    assert at_five == {"yes": Winnability.MORE, "no": Winnability.LESS}
    at_six = {f.verdict for f in winnable_findings(counts, min_difference=0.06)}
    assert at_six == {Winnability.TOO_SMALL}
