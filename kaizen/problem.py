"""The problem statement a plan prefilled from the bottleneck opens with: one sentence that
quotes the baseline the plan's Do window would freeze. Pure: no ORM.

When the Do window changes, that baseline changes. A sentence still exactly as it was prefilled
for the old window is rewritten for the new one; one the manager edited is left alone, and the
page warns that it no longer matches (``problem_mismatch``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from funnel.metrics.intervals import CONFIDENCE
from kaizen.check import ARRIVALS, Baseline
from kaizen.check_tactic import RESPONSE_RATE

BASELINE_WEEKS = 13
# "<where> is the bottleneck: ... in the 13 weeks to 22 Nov 2026 (95 % interval ...)."
_SENTENCE = re.compile(
    r"^.+? (?:is|are) the bottleneck: .+? in the \d+ weeks to \d{1,2} [A-Z][a-z]{2} \d{4}"
    r"(?: \([^()]*\))?\."
)


def baseline_figure(metric: str, base: Baseline) -> str:
    """The baseline in words: "29.5 % (13 of 44 decided deals)" or "3.2 a week (42 in 13 weeks)"."""
    if base.value is None:
        return "no data"
    if metric == ARRIVALS:
        return f"{base.value:.1f} new deals a week ({base.successes} in {base.weeks} weeks)"
    if metric == RESPONSE_RATE:
        return f"{base.value * 100:.1f} % of touches answered ({base.successes} of {base.n})"
    return f"{base.value * 100:.1f} % ({base.successes} of {base.n} decided deals)"


def baseline_sentence(*, where: str, metric: str, base: Baseline, last_day: dt.date) -> str:
    """The problem's opening sentence for a baseline ending on ``last_day`` (a Sunday)."""
    if base.value is None:
        return f"{where} is the team's bottleneck."
    to = f"{last_day:%-d %b %Y}"
    if metric == ARRIVALS:
        return (
            f"Arrivals are the bottleneck: {base.successes} new deals arrived in the "
            f"{base.weeks} weeks to {to} ({base.value:.1f} a week)."
        )
    return (
        f"{where} is the bottleneck: it converted {baseline_figure(metric, base)} "
        f"in the {base.weeks} weeks to {to} ({CONFIDENCE * 100:g} % interval "
        f"{base.low * 100:.0f}–{base.high * 100:.0f} %)."
    )


def tactic_baseline_sentence(*, tactic: str, base: Baseline, last_day: dt.date) -> str:
    """A tactic's answer rate before a Do window, for the problem of a cycle meant to move it."""
    if base.value is None:
        return f"{tactic}: no touches in the 13 weeks to {last_day:%-d %b %Y}."
    return (
        f"{tactic} touches were answered {base.value * 100:.1f} % of the time ({base.successes} "
        f"of {base.n}) in the {base.weeks} weeks to {last_day:%-d %b %Y} "
        f"({CONFIDENCE * 100:g} % interval "
        f"{base.low * 100:.0f}–{base.high * 100:.0f} %)."
    )


def sentence_in(problem: str) -> str:
    """The prefilled baseline sentence the problem opens with, or ""."""
    found = _SENTENCE.match(problem or "")
    return found.group(0) if found else ""


def problem_refreshed(problem: str, *, was: str, now: str) -> str:
    """The problem with its baseline sentence rewritten from ``was`` to ``now``, if the
    manager left it exactly as prefilled; otherwise unchanged."""
    if was and now and was != now and sentence_in(problem) == was:
        return now + problem[len(was) :]
    return problem


@dataclass(frozen=True)
class ProblemMismatch:
    quoted: str  # the sentence the problem opens with
    figure: str  # the baseline the current Do window would freeze, in words
    to: dt.date


def problem_mismatch(
    problem: str, *, now: str, metric: str, base: Baseline, last_day: dt.date
) -> ProblemMismatch | None:
    """The problem quotes a baseline other than the one its Do window would freeze."""
    quoted = sentence_in(problem)
    if not quoted or quoted == now:
        return None
    return ProblemMismatch(quoted, baseline_figure(metric, base), last_day)
