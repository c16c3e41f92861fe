"""The tactics page's figures and words, from the kept counts (funnel.touches.selectors) and
the pure arithmetic (funnel.metrics.tactics). The chart reuses the winnable analysis's interval
chart."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from funnel.metrics.intervals import Rate, wilson_interval
from funnel.metrics.tactics import (
    MIN_DIFFERENCE,
    MIN_TOUCHES,
    TacticCount,
    TacticFinding,
    TacticVerdict,
    response_by_touch_count_at_least,
    tactic_findings,
)
from funnel.models import Tactic
from funnel.touches.selectors import TouchCounts
from funnel.winnable.chart import Mark, Scale, chart_mark, chart_scale

VERDICT_CLASS = {
    TacticVerdict.VALUE: "more",
    TacticVerdict.WASTE: "less",
    TacticVerdict.NOT_ENOUGH: "none",
}


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


@dataclass(frozen=True)
class TacticRow:
    tactic: Tactic
    finding: TacticFinding
    mark: Mark | None
    answered_deals: int
    answered_deals_won: int
    deal_answers: int = 0
    answers_advanced: int = 0

    @property
    def verdict_class(self) -> str:
        if self.finding.verdict is TacticVerdict.NOT_ENOUGH and self.finding.adjusted_p is None:
            return "few"
        return VERDICT_CLASS[self.finding.verdict]

    @property
    def won_share(self) -> Rate:
        return wilson_interval(self.answered_deals_won, self.answered_deals)

    @property
    def advanced_share(self) -> Rate:
        return wilson_interval(self.answers_advanced, self.deal_answers)

    @property
    def advanced_sentence(self) -> str:
        """Did the answers lead anywhere: the plain line under each tactic."""
        if not self.deal_answers:
            return "No answer came on a deal, so none can show whether it led anywhere."
        n, k = self.deal_answers, self.answers_advanced
        answers = "answer" if n == 1 else "answers"
        return (
            f"Of {n:,} {answers} on deals, {k:,} led to a later stage or a win "
            f"({pct(self.advanced_share.rate)})."
        )

    @property
    def sentence(self) -> str:
        f, name = self.finding, self.tactic.name
        rest = (
            f"the team's other touches {pct(f.rest.rate)}"
            if f.rest.n
            else "no other tactic to compare with"
        )
        said = (
            f"{name}: {f.rate.successes:,} of {f.rate.n:,} touches answered ({pct(f.rate.rate)}, "
            f"likely between {pct(f.rate.low)} and {pct(f.rate.high)}); {rest}."
        )
        if f.verdict is TacticVerdict.VALUE:
            return f"{said} Prospects answer it more often than the rest: worth the effort."
        if f.verdict is TacticVerdict.WASTE:
            return f"{said} Prospects answer it less often than the rest: likely waste."
        return f"{said} No verdict: {f.reason}."


@dataclass(frozen=True)
class BucketRow:
    label: str
    rate: Rate
    mark: Mark | None

    @property
    def words(self) -> str:
        if self.label == "1":
            return "1 touch"
        return "5 or more touches" if self.label == "5+" else f"{self.label} touches"


@dataclass(frozen=True)
class TacticsAnalysis:
    rows: list[TacticRow]
    scale: Scale
    overall: Rate
    buckets: list[BucketRow]
    bucket_scale: Scale
    prospects: int
    min_touches: int = MIN_TOUCHES
    min_difference_points: int = round(MIN_DIFFERENCE * 100)

    @property
    def tested(self) -> int:
        return sum(1 for r in self.rows if r.finding.adjusted_p is not None)

    @property
    def verdicts(self) -> int:
        return sum(1 for r in self.rows if r.finding.verdict is not TacticVerdict.NOT_ENOUGH)


def tactics_analysis(counts: TouchCounts) -> TacticsAnalysis:
    inputs = [
        TacticCount(c.tactic.slug, c.touches, c.responses, c.tactic.cost_per_touch)
        for c in counts.tactics
    ]
    findings = tactic_findings(inputs)
    scale = chart_scale([f.rate for f in findings], points=[f.rest for f in findings])
    rows = [
        TacticRow(
            c.tactic,
            f,
            chart_mark(f.rate, scale, f.rest),
            c.answered_deals,
            c.answered_deals_won,
            c.deal_answers,
            c.answers_advanced,
        )
        for c, f in zip(counts.tactics, findings, strict=True)
    ]
    rows.sort(key=lambda r: (-(r.finding.rate.rate or 0), r.tactic.position))
    buckets = response_by_touch_count_at_least(counts.at_least)
    bucket_scale = chart_scale([rate for _, rate in buckets])
    return TacticsAnalysis(
        rows=rows,
        scale=scale,
        overall=wilson_interval(
            sum(c.responses for c in counts.tactics), sum(c.touches for c in counts.tactics)
        ),
        buckets=[BucketRow(label, rate, chart_mark(rate, bucket_scale)) for label, rate in buckets],
        bucket_scale=bucket_scale,
        prospects=counts.prospects,
    )


def cost_text(value: Decimal | None) -> str:
    return "" if value is None else f"{value:,.2f}"
