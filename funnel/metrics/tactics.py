"""Value or waste by the customer's response (issue 19): pure arithmetic over counts.

Each tactic's response rate (responses / touches) carries its Wilson interval. A tactic is
compared with the team's other touches exactly as the winnable analysis compares a value with
the rest (funnel.metrics.winnable: Fisher's exact test, Benjamini-Hochberg across every tactic
compared, a minimum n on both sides) and a minimum practical size: 5 points, or one rate 1.5
times the other and at least a point apart (`practical`). Only a difference that survives all
of that is called "value" (answered more than the rest) or "waste" (less); else "not enough
evidence". Touches to the same prospect are not independent trials, so the test is
read as a screen, not a proof; the interval says how sure the rate itself is.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from funnel.metrics.intervals import Rate, wilson_interval
from funnel.metrics.winnable import ValueCount, Winnability, winnable_findings

MIN_TOUCHES = 30
MIN_DIFFERENCE = 0.05
# Answer rates are often a few percent, where 5 points is more than the whole rate: a gap also
# matters when one rate is MIN_RATIO times the other and they lie at least MIN_GAP apart (2 %
# against 6 % matters to a sales team; 0.1 % against 0.2 % does not).
MIN_RATIO = 1.5
MIN_GAP = 0.01
TOUCH_BUCKETS = ("1", "2", "3", "4", "5+")


class TacticVerdict(StrEnum):
    VALUE = "value"
    WASTE = "waste"
    NOT_ENOUGH = "not enough evidence"


@dataclass(frozen=True, slots=True)
class TacticCount:
    tactic: str
    touches: int
    responses: int
    cost_per_touch: Decimal | None = None


@dataclass(frozen=True, slots=True)
class TacticFinding:
    tactic: str
    rate: Rate
    rest: Rate
    difference: float | None
    adjusted_p: float | None
    verdict: TacticVerdict
    reason: str  # why there is no verdict, in plain words ("" for value or waste)
    cost_per_response: Decimal | None


_REASONS = {
    Winnability.NO_EVIDENCE: "the difference to the other tactics is within chance",
    Winnability.TOO_SMALL: "the difference is real but smaller than the minimum that matters",
    Winnability.TOO_FEW: "too few touches to tell",
}


def cost_per_response(count: TacticCount) -> Decimal | None:
    if count.cost_per_touch is None or count.responses == 0:
        return None
    return (count.cost_per_touch * count.touches / count.responses).quantize(Decimal("0.01"))


def practical(rate: float, rest: float, *, min_difference: float = MIN_DIFFERENCE) -> bool:
    """Whether a gap between two answer rates is big enough to act on."""
    gap = abs(rate - rest)
    if gap >= min_difference - 1e-9:
        return True
    low, high = sorted((rate, rest))
    return gap >= MIN_GAP - 1e-9 and (low == 0 or high / low >= MIN_RATIO - 1e-9)


def tactic_findings(
    counts: Sequence[TacticCount],
    *,
    min_touches: int = MIN_TOUCHES,
    min_difference: float = MIN_DIFFERENCE,
    alpha: float = 0.05,
) -> list[TacticFinding]:
    """One finding per tactic, in the order given (the page sorts for display)."""
    # Every difference that survives the test comes back as more or less; its size is judged
    # here, by `practical`, instead of the winnable analysis's points alone.
    findings = winnable_findings(
        [ValueCount("tactic", c.tactic, c.touches, c.responses) for c in counts],
        min_deals=min_touches,
        alpha=alpha,
        min_difference=0.0,
    )
    by_tactic = {f.value: f for f in findings}
    out = []
    for c in counts:
        f = by_tactic[c.tactic]
        if f.verdict in (Winnability.MORE, Winnability.LESS) and not practical(
            f.win_rate.rate, f.rest_rate.rate, min_difference=min_difference
        ):
            verdict, reason = TacticVerdict.NOT_ENOUGH, _REASONS[Winnability.TOO_SMALL]
        elif f.verdict is Winnability.MORE:
            verdict, reason = TacticVerdict.VALUE, ""
        elif f.verdict is Winnability.LESS:
            verdict, reason = TacticVerdict.WASTE, ""
        else:
            verdict, reason = TacticVerdict.NOT_ENOUGH, _REASONS[f.verdict]
        out.append(
            TacticFinding(
                tactic=c.tactic,
                rate=f.win_rate,
                rest=f.rest_rate,
                difference=f.difference,
                adjusted_p=f.adjusted_p,
                verdict=verdict,
                reason=reason,
                cost_per_response=cost_per_response(c),
            )
        )
    return out


def touch_bucket(touches: int) -> str:
    """The bucket of a prospect that received this many touches: "1" ... "4", "5+"."""
    if touches < 1:
        raise ValueError("a prospect in the analysis has at least one touch")
    return str(touches) if touches < 5 else "5+"


def response_by_touch_count(prospects: Sequence[tuple[int, bool]]) -> list[tuple[str, Rate]]:
    """(touches the prospect received, whether they responded to any) -> the response rate of
    prospects by how often they were touched, with intervals: where it stops rising, more
    touches are waste."""
    counts = {bucket: [0, 0] for bucket in TOUCH_BUCKETS}
    for touches, responded in prospects:
        cell = counts[touch_bucket(touches)]
        cell[0] += 1
        cell[1] += bool(responded)
    return [(bucket, wilson_interval(k, n)) for bucket, (n, k) in counts.items()]


def response_by_touch_count_at_least(
    at_least: Mapping[int, tuple[int, int]],
) -> list[tuple[str, Rate]]:
    """The same rates from "at least k touches" counts (k = 1 ... 5: prospects with at least k
    touches, and how many of them answered), as the kept aggregates give them: exactly k is at
    least k minus at least k + 1; "5+" is at least 5."""
    out = []
    for k, bucket in enumerate(TOUCH_BUCKETS, start=1):
        n, answered = at_least.get(k, (0, 0))
        if k < len(TOUCH_BUCKETS):
            more_n, more_answered = at_least.get(k + 1, (0, 0))
            n, answered = n - more_n, answered - more_answered
        out.append((bucket, wilson_interval(answered, n)))
    return out
