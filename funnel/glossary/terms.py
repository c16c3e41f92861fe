"""The glossary's entries: one per term the app shows, in words a sales VP uses.

Each entry has a slug (the anchor on /glossary/ and the first argument of ``{% term %}``), the
term as it reads on the pages, a one-line ``short`` meaning (the link's tooltip) and a ``body``
of a few plain sentences. The page lists them in alphabetical order of ``name``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    slug: str
    name: str
    short: str
    body: str


TERMS: tuple[Term, ...] = (
    Term(
        "agreement",
        "Agreement",
        "A rep or manager has read a definition's current version and signed up to it.",
        "Each version of an operational definition asks the team to agree to it. The count of "
        "agreements shows whether everyone who records deals is using the same meaning; a figure "
        "built on a definition half the team has not agreed to is weaker than it looks.",
    ),
    Term(
        "aged-deal",
        "Aged deal",
        "An open deal that has sat in its stage longer than the stage's target days.",
        "Where the manager set no target days for the stage, the yardstick is the stage's p85: "
        "longer than 85 in 100 deals stayed there. An aged deal is still alive; it is a prompt to "
        "ask what is holding it, not a loss.",
    ),
    Term(
        "baseline",
        "Baseline",
        "How the measure ran before a change, frozen when the experiment starts.",
        "A PDCA cycle compares the weeks after a change with this baseline. It is frozen so the "
        "yardstick cannot move while the experiment runs.",
    ),
    Term(
        "benjamini-hochberg",
        "Benjamini–Hochberg correction",
        "A correction for testing many things at once, so luck does not pass for a finding.",
        "Test twenty characteristics and one will look like a winner by luck alone. The "
        "Benjamini–Hochberg correction raises each chance-of-luck figure according to how many "
        "were tested, so that among the findings the app reports, at most about 1 in 20 is a "
        "fluke. The winnable pages give a verdict only on the corrected figure.",
    ),
    Term(
        "bottleneck",
        "Bottleneck",
        "The one station where getting better would win the most additional deals.",
        "A sales system is a chain: improving a link that is not the weakest changes nothing "
        "downstream. The app names the bottleneck only when the shortfall there is a signal, "
        "not routine variation; otherwise it says no station stands out.",
    ),
    Term(
        "interval",
        "Confidence interval",
        "The range the true figure plausibly lies in, given how many deals it rests on.",
        "“37 % (27–48 %)” means: from these deals the win rate is 37 %, and the true rate is "
        "very likely between 27 % and 48 %. Fewer deals give a wider range. The app shows every "
        "interval at the same 95 % level: the range misses the true figure about 1 time in 20.",
    ),
    Term(
        "conversion",
        "Conversion",
        "Of the deals decided at a stage, the share that moved on rather than being lost.",
        "Open deals still in the stage are not counted as failures; they count in the week they "
        "advance or are lost (or go stale, if the team's stale rule is on).",
    ),
    Term(
        "days-in-stage",
        "Days in stage",
        "How long a deal spent in a stage before it moved on or was lost.",
        "A slower stage passes fewer deals a week at the same amount of work waiting in it, so "
        "days in stage can be a bottleneck as much as conversion can.",
    ),
    Term(
        "demonstrated-capability",
        "Demonstrated capability",
        "The best 13 weeks the team has actually achieved in the last year.",
        "When the manager has not set a target, the app uses what the team has shown it can do, "
        "less what the best of many windows gains by luck alone. It is a target the team has "
        "already met, not a wish.",
    ),
    Term(
        "do-window",
        "Do window",
        "The weeks a PDCA experiment runs its change, and the weeks the Check judges.",
        "The Check compares these weeks with the baseline. It runs once the window has ended; "
        "weeks outside it do not count for or against the change.",
    ),
    Term(
        "fishers-exact-test",
        "Fisher's exact test",
        "The test that gives the chance of a win-rate gap this large by luck alone.",
        "It takes the won and lost deals with a value and without it, and works out how often a "
        "gap at least this large would appear if the value made no difference. It is exact: it "
        "holds for small numbers of deals, where rules of thumb break down.",
    ),
    Term(
        "lead-time",
        "Lead time",
        "How long a deal takes from entering the funnel to being won or lost.",
        "The sum of its days in each stage. By Little's law, lead time is work in progress "
        "divided by how many deals finish a week.",
    ),
    Term(
        "minimum-practical-difference",
        "Minimum practical difference",
        "The smallest gap in win rate worth acting on (a team setting, 5 points by default).",
        "With enough deals, even a 1-point gap is more than luck, yet nobody should change how "
        "they sell for it. A gap below this minimum is reported as “too small to matter”, "
        "however many deals show it.",
    ),
    Term(
        "natural-process-limits",
        "Natural process limits",
        "The band a weekly figure moves in when nothing has changed.",
        "Worked out from the figure's own week-to-week variation. A week inside the limits is "
        "routine variation, whatever the change from last week; a week outside them is a signal "
        "worth asking about.",
    ),
    Term(
        "newcombe-interval",
        "Newcombe interval",
        "The range for a difference between two rates, such as before and after a change.",
        "Built from the two rates' Wilson intervals. If the range lies wholly above zero, the "
        "change very likely helped; if it includes zero, the data cannot tell the difference "
        "from luck.",
    ),
    Term(
        "operational-definition",
        "Operational definition",
        "What a buyer has to observably do before a deal counts as, say, “qualified”.",
        "Written with examples and non-examples, so two people looking at the same deal record "
        "the same thing. Without one, numbers from different reps cannot be compared.",
    ),
    Term(
        "p-value",
        "Chance of luck (p-value)",
        "The chance of a difference this large by luck alone, if nothing were really different.",
        "Below 0.05 (1 in 20), the app treats a difference as more than luck; above it, the data "
        "cannot tell the difference from chance. It is not the chance the finding is true, and a "
        "tiny p says nothing about whether the difference is big enough to matter.",
    ),
    Term(
        "p85",
        "p85 (85th percentile)",
        "The time 85 in 100 deals stayed within; 15 in 100 took longer.",
        "Used as the yardstick for slow deals where no target is set: it ignores the few "
        "extreme cases that an average would be pulled by.",
    ),
    Term(
        "routine-variation",
        "Routine variation",
        "The ups and downs a figure shows week to week when nothing has changed.",
        "A week that is “down 8 %” is usually this. Reacting to it wastes effort and can make "
        "things worse; the natural process limits show how large it runs.",
    ),
    Term(
        "signal",
        "Signal",
        "A change larger than routine variation explains: worth asking what happened.",
        "On an XmR chart: a week outside the natural process limits, or a long run on one side "
        "of the centre line. Only signals call for action.",
    ),
    Term(
        "stale-deal",
        "Stale deal",
        "An open deal with no activity for longer than the team's stale rule allows.",
        "When the manager switches the rule on (“no event for N days counts as lost”), the "
        "funnel counts stale deals as lost. Off by default; the deals themselves are never "
        "rewritten.",
    ),
    Term(
        "station",
        "Station",
        "One of the five parts of the sales system: market, marketing, qualifying, selling, "
        "servicing.",
        "Every funnel stage belongs to one station. The bottleneck is named by station, so the "
        "fix is aimed at the right part of the system.",
    ),
    Term(
        "target",
        "Target",
        "The level a figure is judged against: the manager's, or the team's demonstrated "
        "capability.",
        "Every target shown says where it comes from: set by the manager in advance, or "
        "demonstrated by the team's own best weeks.",
    ),
    Term(
        "wilson-interval",
        "Wilson interval",
        "The method behind the range shown for a single rate, such as a win rate.",
        "It stays sensible for small numbers of deals and for rates near 0 % or 100 %, where the "
        "textbook formula gives ranges below zero or above one hundred.",
    ),
    Term(
        "winnable",
        "Winnable",
        "How much more (or less) often deals with a given characteristic are won than the rest.",
        "A characteristic is called more or less winnable only when three things hold: enough "
        "closed deals on both sides, a gap unlikely to be luck after allowing for testing many "
        "characteristics at once, and a gap of at least the minimum practical difference. It "
        "says what goes with winning, not what causes it.",
    ),
    Term(
        "wip",
        "WIP (work in progress)",
        "The open deals in a stage right now.",
        "Too much WIP slows every deal in it: at the same capacity, twice the deals waiting "
        "means each waits about twice as long.",
    ),
    Term(
        "xmr-chart",
        "XmR chart",
        "A weekly chart with natural process limits that separates signals from routine variation.",
        "X is the weekly value, mR the change from one week to the next. The limits come from "
        "the typical change, so the chart tells at a glance whether a week is news or noise.",
    ),
)

TERMS_BY_SLUG: dict[str, Term] = {t.slug: t for t in TERMS}
