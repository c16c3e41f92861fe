"""A deterministic, realistic year of demo deals. Pure: plain values in and out, no ORM.

The same seed and the same anchor (midnight of a day) always give the same deals. Every deal walks
the default stages (inquiry -> engaged -> qualified -> proposal -> negotiation -> handover -> won),
waiting a lognormal number of days in each and being lost at each with a stage-specific rate.
Deals whose next move would fall after the anchor are still open, so there is work in progress.

What is true in the data, so that the statistics built on it have something real to find:
- Enterprise's proposal stage got worse: deals leaving proposal in the last 12 weeks advance
  about 22 % of the time (base rate), against about 55 % before. Mid-Market's funnel is steady.
- Enterprise's PDCA story (kaizen.services.demo builds its cycles on the same dates): new deals
  arrive twice as often from the Do start of the webinar cycle on (adopted, so it lasts), and
  qualified deals advance more often during the Do window of the discovery-call cycle only.
- From qualification on, a deal's odds of advancing rise when the decision maker was reached or
  a champion identified, fall when a competitor is present, rise a little with a confirmed budget,
  and are better for Finance and Executive buyers. Pain quantified has no effect at all.
"""

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from funnel.default_characteristics import DEPARTMENTS
from funnel.default_stages import DEFAULT_STAGES
from funnel.models import Outcome

STAGE_SLUGS: tuple[str, ...] = tuple(t.slug for t in DEFAULT_STAGES)
RECENT_WEEKS = 12
HISTORY_DAYS = 364

SOURCES: dict[str, float] = {
    "Webinar": 0.18,
    "Referral": 0.14,
    "Outbound call": 0.22,
    "Paid search": 0.18,
    "Trade show": 0.10,
    "Content download": 0.18,
}
DEPARTMENT_WEIGHTS: dict[str, float] = dict(
    zip(DEPARTMENTS, (0.20, 0.20, 0.19, 0.12, 0.10, 0.06, 0.13), strict=True)
)
LOST_REASONS: dict[str, tuple[str, ...]] = {
    "inquiry": ("No response", "Not a fit", "Student or job seeker"),
    "engaged": ("No show", "No response", "Not a fit"),
    "qualified": ("No budget", "No pain", "Bad timing", "No decision maker"),
    "proposal": ("Price", "Chose a competitor", "No decision", "Scope mismatch"),
    "negotiation": ("Price", "Legal terms", "Chose a competitor"),
    "handover": ("Cancelled before go-live",),
}

# Log-odds added to the chance of advancing, at the stages where the buyer decides.
DECIDING_STAGES = frozenset({"qualified", "proposal", "negotiation"})
YES_NO_TRUTH: dict[str, tuple[float, float]] = {
    # slug: (share of deals where it is true, log-odds effect when true)
    "decision-maker-reached": (0.50, 1.0),
    "pain-quantified": (0.50, 0.0),
    "budget-confirmed": (0.50, 0.3),
    "competitor-present": (0.45, -0.9),
    "champion-identified": (0.40, 1.0),
}
DEPARTMENT_EFFECT: dict[str, float] = {"Finance": 0.9, "Executive": 0.9}
# Centre the effects so a stage's average conversion stays near its base rate.
MEAN_EFFECT = sum(share * effect for share, effect in YES_NO_TRUTH.values()) + sum(
    DEPARTMENT_WEIGHTS[d] * e for d, e in DEPARTMENT_EFFECT.items()
)

EVIDENCE: dict[tuple[str, str], str] = {
    ("decision-maker-reached", "yes"): "The budget owner joined the call and asked about terms.",
    ("decision-maker-reached", "no"): "Only our contact so far; the signer has not met us.",
    ("pain-quantified", "yes"): "Prospect put a number on it in the discovery call.",
    ("pain-quantified", "no"): "Pain described, but no figure from the prospect yet.",
    ("budget-confirmed", "yes"): "Prospect confirmed the amount is in this year's budget.",
    ("budget-confirmed", "no"): "Budget to be found if the business case holds.",
    ("competitor-present", "yes"): "Prospect said they are comparing us with another vendor.",
    ("competitor-present", "no"): "Prospect said we are the only vendor they talk to.",
    ("champion-identified", "yes"): "Our contact set up the internal demo and briefed us.",
    ("champion-identified", "no"): "Friendly contact, but nobody drives it internally.",
}


@dataclass(frozen=True)
class WeekStep:
    weeks: int
    ratio: float


@dataclass(frozen=True)
class ConversionWindow:
    stage_slug: str
    start_weeks: int  # the window starts this many weeks before the anchor
    weeks: int
    advance: float


@dataclass(frozen=True)
class TeamProfile:
    slug: str
    name: str
    prefix: str
    deals: int
    reps: tuple[str, ...]
    advance: dict[str, float]  # base chance of advancing from each stage
    recent_advance: dict[str, float]  # in the last RECENT_WEEKS, where it differs
    median_days: dict[str, float]
    amount_median: float
    amount_step: int
    # The sample's own seed, where the shared DEMO_SEED's does not show the built-in effects.
    seed: str = ""
    # From `weeks` weeks before the anchor on, new deals arrive `ratio` times as often.
    arrivals_step: WeekStep | None = None
    # A stage's base chance of advancing from `start_weeks` weeks before the anchor, for `weeks`.
    conversion_windows: tuple[ConversionWindow, ...] = ()


@dataclass
class DemoEvent:
    stage_slug: str | None
    outcome: str
    lost_reason: str
    occurred_at: datetime


@dataclass
class DemoObservation:
    characteristic_slug: str
    value: str
    observed_at: datetime
    evidence: str


@dataclass
class DemoDeal:
    external_id: str
    owner: str
    account: str
    department: str
    source: str
    amount: Decimal
    events: list[DemoEvent] = field(default_factory=list)
    observations: list[DemoObservation] = field(default_factory=list)


@dataclass(frozen=True)
class DemoUser:
    name: str
    email: str
    team: str
    role: str


ACCOUNT_FIRST = (
    "Northwind", "Bluefin", "Cedar", "Granite", "Harbor", "Ironbridge", "Juniper", "Keystone",
    "Lakeshore", "Meridian", "Oakridge", "Pinnacle", "Quarry", "Redwood", "Silverline", "Summit",
    "Tidewater", "Vantage", "Westbrook", "Brightwater", "Copperfield", "Evergreen", "Foxglove",
    "Highland", "Alder", "Beacon", "Crescent", "Driftwood",
)  # fmt: skip
ACCOUNT_SECOND = (
    "Logistics", "Analytics", "Foods", "Health", "Manufacturing", "Insurance", "Energy",
    "Retail", "Systems", "Partners", "Labs", "Freight", "Dental", "Engineering", "Media",
    "Capital", "Pharma", "Hotels",
)  # fmt: skip
ACCOUNT_SUFFIX = ("", "", "", " Ltd", " GmbH", " Inc.", " AG", " B.V.", " Group")


def business_time(anchor: datetime, days_before_anchor: float) -> datetime:
    """A moment during office hours (08:00-18:00) of the day, keeping the order of moments."""
    day = math.floor(days_before_anchor)
    fraction = days_before_anchor - day
    return anchor + timedelta(days=day) + timedelta(hours=8 + 10 * fraction)


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _logistic(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def weeks_back(weeks: int) -> float:
    """`weeks` weeks before the anchor, in days relative to it. The same whatever the anchor's
    weekday, so the sample (and what the statistics find in it) does not change with the day;
    the story's cycles start their Do on the Monday of that week, so the change falls in it."""
    return -7.0 * weeks


def _arrival(uniform: float, step: WeekStep | None) -> float:
    """Spread a uniform draw over the history, `step.ratio` times denser from the step on
    (the inverse of the piecewise-constant distribution, so the draws stay the same)."""
    if step is None:
        return uniform
    start = weeks_back(step.weeks)
    before = start + HISTORY_DAYS
    mass = (uniform + HISTORY_DAYS) / HISTORY_DAYS * (before - start * step.ratio)
    if mass < before:
        return -HISTORY_DAYS + mass
    return start + (mass - before) / step.ratio


def demo_deals(*, profile: TeamProfile, anchor: datetime, seed: str) -> list[DemoDeal]:
    """The team's deals over the HISTORY_DAYS before anchor (a midnight), oldest first."""
    rng = random.Random(seed)
    arrivals = sorted(
        _arrival(rng.uniform(-HISTORY_DAYS, 0), profile.arrivals_step) for _ in range(profile.deals)
    )
    recent_start = -7 * RECENT_WEEKS
    windows = [
        (
            w.stage_slug,
            weeks_back(w.start_weeks),
            weeks_back(w.start_weeks - w.weeks),
            w.advance,
        )
        for w in profile.conversion_windows
    ]
    deals = []
    for number, arrival in enumerate(arrivals, start=1):
        truth = {slug: rng.random() < share for slug, (share, _) in YES_NO_TRUTH.items()}
        department = _weighted(rng, DEPARTMENT_WEIGHTS)
        effect = (
            sum(YES_NO_TRUTH[slug][1] for slug, true in truth.items() if true)
            + DEPARTMENT_EFFECT.get(department, 0.0)
            - MEAN_EFFECT
        )
        amount = rng.lognormvariate(math.log(profile.amount_median), 0.55)
        deal = DemoDeal(
            external_id=f"{profile.prefix}-{number:04d}",
            owner=rng.choice(profile.reps),
            account=rng.choice(ACCOUNT_FIRST)
            + " "
            + rng.choice(ACCOUNT_SECOND)
            + rng.choice(ACCOUNT_SUFFIX),
            department=department,
            source=_weighted(rng, SOURCES),
            amount=Decimal(max(1, round(amount / profile.amount_step)) * profile.amount_step),
        )
        # Walk the stages; `spans` keeps (stage, entered, left) in days relative to the anchor.
        spans: list[tuple[str, float, float]] = []
        t = arrival
        deal.events.append(DemoEvent("inquiry", "", "", business_time(anchor, t)))
        for index, slug in enumerate(STAGE_SLUGS):
            days = max(0.1, rng.lognormvariate(math.log(profile.median_days[slug]), 0.7))
            roll = rng.random()
            left = t + days
            if left >= 0:  # the move lies in the future: still open here
                spans.append((slug, t, 0.0))
                break
            spans.append((slug, t, left))
            p = profile.advance[slug]
            if left >= recent_start:
                p = profile.recent_advance.get(slug, p)
            for stage_slug, start, end, advance in windows:
                if stage_slug == slug and start <= left < end:
                    p = advance
            if slug in DECIDING_STAGES:
                p = _logistic(_logit(p) + effect)
            when = business_time(anchor, left)
            if roll >= p:
                reason = rng.choice(LOST_REASONS[slug])
                deal.events.append(DemoEvent(None, Outcome.LOST, reason, when))
                break
            if index + 1 == len(STAGE_SLUGS):
                deal.events.append(DemoEvent(None, Outcome.WON, "", when))
            else:
                deal.events.append(DemoEvent(STAGE_SLUGS[index + 1], "", "", when))
            t = left
        deal.observations = _observations(rng, anchor, spans, truth, department)
        deals.append(deal)
    return deals


def _observations(
    rng: random.Random,
    anchor: datetime,
    spans: list[tuple[str, float, float]],
    truth: dict[str, bool],
    department: str,
) -> list[DemoObservation]:
    """What the owner observed while the deal was open, each strictly before it moved on."""
    by_stage = {slug: (entered, left) for slug, entered, left in spans}
    found: list[DemoObservation] = []

    def at(slug: str, share: float) -> datetime:
        entered, left = by_stage[slug]
        return business_time(anchor, entered + share * (left - entered))

    if "engaged" in by_stage and rng.random() < 0.9:
        found.append(
            DemoObservation(
                "prospect-department",
                department,
                at("engaged", rng.uniform(0.1, 0.6)),
                "Named by the budget owner's team.",
            )
        )
    if "qualified" not in by_stage:
        return found
    for slug, true in truth.items():
        if rng.random() >= 0.85:  # not every seller records every characteristic
            continue
        value = "yes" if true else "no"
        # A deal that went on to proposal sometimes only earned a "yes" there.
        if true and "proposal" in by_stage and rng.random() < 0.25:
            found.append(
                DemoObservation(
                    slug, "no", at("qualified", rng.uniform(0.1, 0.5)), EVIDENCE[(slug, "no")]
                )
            )
            found.append(
                DemoObservation(
                    slug, "yes", at("proposal", rng.uniform(0.1, 0.6)), EVIDENCE[(slug, "yes")]
                )
            )
            continue
        found.append(
            DemoObservation(
                slug, value, at("qualified", rng.uniform(0.1, 0.6)), EVIDENCE[(slug, value)]
            )
        )
    return sorted(found, key=lambda o: o.observed_at)
