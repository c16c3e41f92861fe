"""A cycle's figures as sales sentences, each rate with its n; the methods behind them in plain
words for the page's "How we know" panel."""

from __future__ import annotations

from funnel.metrics.intervals import wilson_interval
from funnel.models import ResponseRule
from funnel.touches.selectors import tactic_rule_at
from kaizen.check import ARRIVALS, Baseline
from kaizen.check_tactic import RESPONSE_RATE
from kaizen.models import Cycle, CycleMetric
from kaizen.problem import baseline_figure

METHOD_WORDS = {
    CycleMetric.CONVERSION: (
        "The range around the change in conversion comes from the two periods' own ranges "
        "(Wilson score intervals), combined as Newcombe's hybrid score method; it stays reliable "
        "with few deals and with rates near 0 or 100 %."
    ),
    CycleMetric.ARRIVALS: (
        "The range around the change in arrivals a week treats each period's arrivals as a "
        "Poisson count (normal approximation to the difference of two rates)."
    ),
    CycleMetric.RESPONSE_RATE: (
        "A touch counts as answered by the tactic's response rule in force when the plan was "
        "committed, for the baseline and the Do window alike. Each period's answer rate pools "
        "its touches and carries a Wilson score interval; the range around the change combines "
        "the two as Newcombe's hybrid score method, which stays reliable with rates of a few "
        "percent."
    ),
}


def metric_label(cycle: Cycle) -> str:
    if cycle.metric == CycleMetric.ARRIVALS:
        return "New deals a week"
    if cycle.metric == CycleMetric.RESPONSE_RATE:
        return f"{cycle.tactic.name} answer rate" if cycle.tactic else "Answer rate"
    return f"{cycle.stage.name} conversion" if cycle.stage else "Conversion"


def frozen_baseline(cycle: Cycle) -> Baseline | None:
    if not cycle.is_committed or cycle.baseline_value is None:
        return None
    weeks = (cycle.baseline_to - cycle.baseline_from).days // 7 + 1
    return Baseline(
        cycle.baseline_value,
        cycle.baseline_low,
        cycle.baseline_high,
        cycle.baseline_successes,
        cycle.baseline_n,
        weeks,
        cycle.baseline_limits,
    )


def period_figure(metric: str, totals: dict) -> str:
    """A stored period's totals ({successes, n, weeks}) in words, with its n."""
    successes, n, weeks = totals["successes"], totals["n"], totals["weeks"]
    if metric == ARRIVALS:
        if not weeks:
            return "not measured yet (no complete week)"
        return f"{successes / weeks:.1f} new deals a week ({successes} in {weeks} weeks)"
    if metric == RESPONSE_RATE:
        if not n:
            return "not measurable yet (no touches)"
        return f"{successes / n * 100:.1f} % ({successes} of {n} touches)"
    if not n:
        return "not measurable yet (no decided deals)"
    return f"{successes / n * 100:.1f} % ({successes} of {n} decided deals)"


def interval_words(low: float, high: float, confidence_pct: str) -> str:
    return f"{confidence_pct} % interval {low:+.1f} to {high:+.1f}"


def check_sentences(cycle: Cycle, check: dict) -> dict:
    """The Check's main sentences: where the metric was, where it is now, by how much."""
    if cycle.metric == CycleMetric.RESPONSE_RATE:
        return {
            "before_after": answer_rate_sentence(cycle, check),
            "method": METHOD_WORDS[cycle.metric],
        }
    label = metric_label(cycle)
    before = period_figure(cycle.metric, check["before"])
    after = period_figure(cycle.metric, check["after"])
    weeks = check["before"]["weeks"]
    do_weeks = check["do_weeks"]
    verb = "was" if cycle.metric == CycleMetric.CONVERSION else "ran at"
    now = "it is" if cycle.metric == CycleMetric.CONVERSION else "it runs at"
    return {
        "before_after": (
            f"{label} {verb} {before} in the {weeks} weeks before Do; since Do started {now} "
            f"{after} over {do_weeks} complete week{'' if do_weeks == 1 else 's'}."
        ),
        "method": METHOD_WORDS[cycle.metric],
    }


def answer_rate_sentence(cycle: Cycle, check: dict) -> str:
    """ "Needs assessment call touches were answered 18.0 % of the time (14–23 %) in the Do
    window, 27 of 150; against 9.0 % (45 of 500) in the 13 weeks before." """
    before, after = check["before"], check["after"]
    name = cycle.tactic.name if cycle.tactic else "The tactic's"
    do_weeks = check["do_weeks"]
    window = f"the {do_weeks} complete Do week{'' if do_weeks == 1 else 's'}"
    was = period_figure(RESPONSE_RATE, before)
    if not after["n"]:
        return f"{name} touches: none yet in {window}; before Do they were answered {was}."
    rate = wilson_interval(after["successes"], after["n"])
    return (
        f"{name} touches were answered {rate.rate * 100:.1f} % of the time "
        f"({rate.low * 100:.0f}–{rate.high * 100:.0f} %) in {window}, "
        f"{after['successes']} of {after['n']}; against {was} in the {before['weeks']} "
        "weeks before."
    )


def baseline_words(cycle: Cycle) -> str:
    base = frozen_baseline(cycle)
    return baseline_figure(cycle.metric, base) if base else ""


def _rule_words(rule: ResponseRule | None) -> str:
    if rule is None or rule.window_days is None:
        number = f"version {rule.number}: " if rule else ""
        return f"{number}answers recorded by the rep or an import only"
    days = f"{rule.window_days} day{'s' if rule.window_days != 1 else ''}"
    return f"version {rule.number}: a recorded answer, or a stage move or win within {days}"


def rule_sentence(cycle: Cycle) -> str:
    """Which version of its tactic's response rule a cycle counts answers by ("" for other
    metrics), and whether the tactic has changed its rule since: the cycle keeps the version in
    force at its commit, so its baseline and Do window are counted by one rule."""
    if cycle.tactic is None:
        return ""
    if cycle.committed_at is None:
        rule = tactic_rule_at(tactic=cycle.tactic)
        return f"Answers are counted by the tactic's response rule ({_rule_words(rule)})."
    kept = tactic_rule_at(tactic=cycle.tactic, moment=cycle.committed_at)
    now = tactic_rule_at(tactic=cycle.tactic)
    sentence = (
        f"Answers are counted by the response rule in force when the plan was committed "
        f"({_rule_words(kept)})."
    )
    if now is not None and (kept is None or now.number != kept.number):
        sentence += (
            f" The tactic's rule has changed since, on {now.created_at:%-d %b %Y} "
            f"({_rule_words(now)}); this cycle keeps the rule it was planned with, so that its "
            "baseline and its Do window are counted alike."
        )
    return sentence
