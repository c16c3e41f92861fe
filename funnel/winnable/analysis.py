"""The winnable analysis as its pages show it: rates in percent, one row per characteristic
value as a sales sentence with its verdict, each characteristic's coverage. Plain values built
by funnel.winnable.selectors."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from funnel.metrics.intervals import Rate
from funnel.metrics.winnable import MIN_DIFFERENCE, Winnability, WinnableFinding

MIN_DEALS = 20  # closed deals on each side of a comparison for a verdict

# The verdicts as the pages say them: "no evidence" read as "there is proof of nothing".
VERDICT_WORDS = {
    Winnability.MORE: "more winnable",
    Winnability.LESS: "less winnable",
    Winnability.NO_EVIDENCE: "no clear effect",
    Winnability.TOO_SMALL: "too small to matter",
    Winnability.TOO_FEW: "too few deals",
}


def p_text(p: float | None) -> str:
    if p is None:
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}" if p < 0.1 else f"{p:.2f}"


@dataclass(frozen=True)
class RatePercent:
    """A rate in percent for display; None where there is no estimate."""

    rate: float | None
    low: float
    high: float
    k: int
    n: int

    @classmethod
    def of(cls, r: Rate) -> RatePercent:
        rate = None if r.rate is None else 100 * r.rate
        return cls(rate, 100 * r.low, 100 * r.high, r.successes, r.n)

    # Formatted here rather than with template filters: the page has a hundred of these, and
    # f-strings cost a fraction of floatformat/intcomma.
    @property
    def text(self) -> str:
        return "–" if self.rate is None else f"{self.rate:.1f} %"

    @property
    def short(self) -> str:
        return "–" if self.rate is None else f"{self.rate:.0f} %"

    @property
    def interval(self) -> str:
        return f"{self.low:.1f}–{self.high:.1f}"

    @property
    def interval_short(self) -> str:
        return f"{self.low:.0f}–{self.high:.0f}"

    @property
    def n_text(self) -> str:
        return f"{self.n:,}"

    @property
    def k_text(self) -> str:
        return f"{self.k:,}"


@dataclass(frozen=True)
class ValueRow:
    """One characteristic value as the page shows it."""

    key: str  # characteristic slug (or DEAL_DEPARTMENT)
    name: str  # characteristic name
    label: str  # the value as people read it
    finding: WinnableFinding
    won_amount: Decimal
    kind: str = ""  # the characteristic's kind ("yes_no", "choice", ...); "" for the deal record

    @property
    def pct(self) -> RatePercent:
        return RatePercent.of(self.finding.win_rate)

    @property
    def rest_pct(self) -> RatePercent:
        return RatePercent.of(self.finding.rest_rate)

    @property
    def difference_points(self) -> float | None:
        d = self.finding.difference
        return None if d is None else 100 * d

    @property
    def gap_text(self) -> str:
        """ "18.2 points lower than the rest" """
        d = self.difference_points
        if d is None:
            return "no rest to compare with"
        if abs(d) < 0.05:
            return "none: the same win rate as the rest"
        return f"{abs(d):.1f} points {'higher' if d > 0 else 'lower'} than the rest"

    @property
    def p_text(self) -> str:
        return p_text(self.finding.p_value)

    @property
    def adjusted_p_text(self) -> str:
        return p_text(self.finding.adjusted_p)

    @property
    def verdict_text(self) -> str:
        return VERDICT_WORDS[self.finding.verdict]

    @property
    def is_verdict(self) -> bool:
        """More or less winnable: a coloured dot on the chart."""
        return self.finding.verdict in (Winnability.MORE, Winnability.LESS)

    @property
    def whisker_clears_rest(self) -> bool | None:
        """Whether this value's interval leaves out the rest's win rate (the ring on the chart);
        None without a rest to compare with."""
        rate, rest = self.finding.win_rate, self.finding.rest_rate
        if rate.rate is None or rest.rate is None:
            return None
        return not (rate.low <= rest.rate <= rate.high)

    @property
    def subject(self) -> str:
        """Who the sentence is about: "Deals with champion identified"."""
        name = self.name[:1].lower() + self.name[1:]
        if self.kind == "yes_no" and self.finding.value in ("yes", "no"):
            return f"Deals {'with' if self.finding.value == 'yes' else 'without'} {name}"
        if not self.kind:  # the department on the deal record
            return f"Deals whose department on the record is {self.label}"
        return f"Deals where the {name} is {self.label}"

    @property
    def sentence(self) -> str:
        """The figure as a sales sentence: "Deals with champion identified win 33 % of the time
        (24–44 %), against 15 % without." """
        pct, rest = self.pct, self.rest_pct
        if pct.rate is None:
            return f"{self.subject}: none closed in this period."
        head = f"{self.subject} win {pct.rate:.0f} % of the time ({pct.low:.0f}–{pct.high:.0f} %)"
        if rest.rate is None:
            return f"{head}; no other deals were recorded to compare them with."
        if self.kind == "yes_no" and self.finding.value in ("yes", "no"):
            other = "without" if self.finding.value == "yes" else "with"
        else:
            other = "for the other values recorded"
        return f"{head}, against {rest.rate:.0f} % {other}."

    @property
    def verdict_reason(self) -> str:
        """Why the verdict, in one plain clause."""
        verdict = self.finding.verdict
        if verdict == Winnability.TOO_FEW:
            return "Too few closed deals on one side to tell."
        if verdict == Winnability.NO_EVIDENCE:
            return "A gap this size could be luck."
        if verdict == Winnability.TOO_SMALL:
            return "More than luck, but too small a gap to act on."
        return "A gap this large is very unlikely to be luck."

    @property
    def verdict_class(self) -> str:
        return {
            Winnability.MORE: "more",
            Winnability.LESS: "less",
            Winnability.NO_EVIDENCE: "none",
            Winnability.TOO_SMALL: "small",
            Winnability.TOO_FEW: "few",
        }[self.finding.verdict]


@dataclass(frozen=True)
class Coverage:
    key: str
    name: str
    observed: int  # closed deals in the period with a value for it
    closed: int  # all closed deals in the period
    definition_id: int | None = None

    @property
    def unobserved(self) -> int:
        return self.closed - self.observed

    @property
    def percent(self) -> float:
        return 100 * self.observed / self.closed if self.closed else 0.0


@dataclass
class WinnableAnalysis:
    overall: Rate
    won_amount: Decimal
    rows: list[ValueRow]  # sorted by strength of evidence
    coverage: list[Coverage]
    min_deals: int = MIN_DEALS
    min_difference: float = MIN_DIFFERENCE
    groups: list[tuple[Coverage, list[ValueRow]]] = field(default_factory=list)

    @property
    def min_difference_points(self) -> str:
        return f"{self.min_difference * 100:.0f}"

    @property
    def overall_pct(self) -> RatePercent:
        return RatePercent.of(self.overall)

    @property
    def verdicts_clear_rest(self) -> bool:
        """Whether every more/less winnable value's whisker leaves out its rest's rate: the page
        states it only when it holds (it nearly always does: a significant gap between two
        groups puts the rest outside the value's own range)."""
        return all(r.whisker_clears_rest for r in self.rows if r.is_verdict)

    @property
    def tested(self) -> int:
        """Values tested together (the correction's N): those with enough deals on both sides."""
        return sum(r.finding.adjusted_p is not None for r in self.rows)

    @property
    def undecided(self) -> int:
        """Values without a verdict: no clear effect, too small to matter, too few deals."""
        return len(self.rows) - self.verdicts

    @property
    def verdicts(self) -> int:
        return sum(r.finding.verdict in (Winnability.MORE, Winnability.LESS) for r in self.rows)
