"""What makes deals winnable (DESIGN.md §4): win rate by characteristic value, against the rest.

For each value of a characteristic: closed deals n, won k, win rate with its Wilson interval,
the difference to the rest of the deals observed for that characteristic, Fisher's exact test
on [[k, n − k], [K − k, (N − n) − (K − k)]], and Benjamini-Hochberg across every value compared.
A value gets a verdict only with enough deals on both sides, an adjusted p below 0.05 and a
difference of at least ``min_difference`` (a team setting, 5 points by default): with enough
deals, a 1-point difference is "significant" and still not worth acting on. Flat data yields
"no evidence" rather than a story.
"""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from scipy.stats import false_discovery_control

from funnel.metrics.fisher import fisher_exact_two_sided
from funnel.metrics.intervals import Rate, wilson_interval


class Winnability(StrEnum):
    MORE = "more winnable"
    LESS = "less winnable"
    NO_EVIDENCE = "no evidence"
    TOO_SMALL = "too small to matter"
    TOO_FEW = "too few deals"


# Differences in win rate below this are not called more or less winnable, however many deals.
MIN_DIFFERENCE = 0.05


@dataclass(frozen=True, slots=True)
class ValueCount:
    """Closed deals whose latest observation (before closing) had this value, and how many won."""

    characteristic: str
    value: str
    closed: int
    won: int


@dataclass(frozen=True, slots=True)
class WinnableFinding:
    characteristic: str
    value: str
    win_rate: Rate
    rest_rate: Rate
    difference: float | None  # win rate of the value minus that of the rest
    p_value: float | None  # Fisher's exact, two-sided
    adjusted_p: float | None  # Benjamini-Hochberg over all values compared
    verdict: Winnability


def winnable_findings(
    counts: Sequence[ValueCount],
    *,
    totals: Mapping[str, tuple[int, int]] | None = None,
    min_deals: int = 20,
    alpha: float = 0.05,
    min_difference: float = MIN_DIFFERENCE,
) -> list[WinnableFinding]:
    """Findings sorted by strength of evidence (adjusted p, then size of the difference).

    ``totals`` maps a characteristic to (closed, won) over all deals it was observed on; by
    default the sum over its values. Values with fewer than ``min_deals`` closed deals, or whose
    rest has fewer, are "too few deals" and take no part in the correction.
    """
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for c in counts:
        sums[c.characteristic][0] += c.closed
        sums[c.characteristic][1] += c.won
    total = {name: tuple(v) for name, v in sums.items()} | dict(totals or {})

    rows = []
    for c in counts:
        n_all, k_all = total[c.characteristic]
        rest_n, rest_k = n_all - c.closed, k_all - c.won
        if rest_n < 0 or rest_k < 0 or rest_k > rest_n:
            raise ValueError(f"{c.characteristic}={c.value}: counts exceed the totals")
        rows.append((c, wilson_interval(c.won, c.closed), wilson_interval(rest_k, rest_n)))

    compared = [i for i, (c, _, rest) in enumerate(rows) if min(c.closed, rest.n) >= min_deals]
    p_values = {
        i: fisher_exact_two_sided(
            [
                [rows[i][0].won, rows[i][0].closed - rows[i][0].won],
                [rows[i][2].successes, rows[i][2].failures],
            ]
        )
        for i in compared
    }
    adjusted = (
        dict(zip(compared, false_discovery_control([p_values[i] for i in compared]), strict=True))
        if compared
        else {}
    )

    findings = []
    for i, (c, rate, rest) in enumerate(rows):
        difference = None if rate.rate is None or rest.rate is None else rate.rate - rest.rate
        q = float(adjusted[i]) if i in adjusted else None
        if q is None:
            verdict = Winnability.TOO_FEW
        elif q < alpha and difference and abs(difference) >= min_difference - 1e-9:
            verdict = Winnability.MORE if difference > 0 else Winnability.LESS
        elif q < alpha and difference:
            verdict = Winnability.TOO_SMALL
        else:
            verdict = Winnability.NO_EVIDENCE
        findings.append(
            WinnableFinding(
                c.characteristic, c.value, rate, rest, difference, p_values.get(i), q, verdict
            )
        )
    findings.sort(
        key=lambda f: (
            f.adjusted_p is None,
            f.adjusted_p if f.adjusted_p is not None else 1.0,
            -abs(f.difference or 0.0),
        )
    )
    return findings
