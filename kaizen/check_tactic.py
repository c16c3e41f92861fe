"""The Check of a cycle on a tactic's answer rate ("replace cold calls with a needs assessment"
tested like any change). Pure: no ORM.

A tactic week is a share like a stage's conversion: of the week's touches, how many the
prospects answered (by the tactic's response rule in force). So the Check is kaizen.check's
proportion Check over those counts, as honest as the conversion one: the baseline is the pooled
rate of the 13 weeks before Do with its Wilson interval and the XmR limits of the weekly rates;
the Do window is judged by the XmR rules and by the difference of the pooled rates with
Newcombe's interval, labelled observational. Only the evidence guard differs: it counts
touches, and a rate of a few percent needs more of them than a conversion needs decided deals.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from kaizen.check import (
    ARRIVALS,
    MIN_DECIDED,
    CheckResult,
    WeekCount,
    check_waits_for,
    cycle_check,
)

RESPONSE_RATE = "response_rate"
# At a 10 % answer rate, 50 touches carry about 5 answers: fewer and the interval of the Do
# window's rate spans most of the plausible range.
MIN_TOUCHES = 50


@dataclass(frozen=True, slots=True)
class Evidence:
    """What a metric's evidence guard counts and how much of it the Check needs."""

    minimum: int
    one: str
    many: str


EVIDENCE = {
    RESPONSE_RATE: Evidence(MIN_TOUCHES, "touch", "touches"),
    ARRIVALS: Evidence(MIN_DECIDED, "new deal", "new deals"),
}
DECIDED = Evidence(MIN_DECIDED, "decided deal", "decided deals")


def evidence_for(metric: str) -> Evidence:
    return EVIDENCE.get(metric, DECIDED)


def tactic_week(week: dt.date, touches: int, responses: int) -> WeekCount:
    """A tactic week as the proportion Check reads it: answered of touched."""
    return WeekCount(week, entered=touches, advanced=responses, lost=touches - responses)


def metric_check(*, metric: str, **arguments) -> CheckResult:
    """kaizen.check.cycle_check with the metric's own evidence guard."""
    if metric != RESPONSE_RATE:
        return cycle_check(metric=metric, **arguments)
    return cycle_check(metric=metric, min_decided=MIN_TOUCHES, volume_noun="touches", **arguments)


def metric_waits_for(*, metric: str, do_weeks: int, do_volume: int, opens_on: dt.date) -> str:
    """kaizen.check.check_waits_for with the metric's own evidence guard."""
    evidence = evidence_for(metric)
    return check_waits_for(
        metric=metric,
        do_weeks=do_weeks,
        do_volume=do_volume,
        opens_on=opens_on,
        min_decided=evidence.minimum,
        volume_nouns=(evidence.one, evidence.many),
    )
