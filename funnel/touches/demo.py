"""The demo's touches: what the demo teams did to their prospects, and who answered.

Generated from the demo deals (seeded, so a re-run gives the same touches): each deal was
touched a few times around its first weeks, with tactics whose answer rates differ as they do in
the field (a meeting booked is answered far more often than a cold e-mail) and fall with every
further touch of the same prospect. Some touches carry no recorded answer, so the tactic's rule
derives it from the deal's next stage.

One change shows in the data: from eight weeks before the demo's today, Enterprise's reps open
their calls with a needs assessment instead of a cold pitch, and first calls are answered about
twice as often. The PDCA story (kaizen.services.demo) tests that change as a cycle on the
call tactic's answer rate.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass

from funnel.touches.ingest import TouchIn


@dataclass(frozen=True)
class DemoTactic:
    slug: str
    weight: float  # how often the team uses it
    answered: float  # the chance a first touch is answered


DEMO_TACTICS = (
    DemoTactic("call", 0.40, 0.16),
    DemoTactic("email", 0.35, 0.07),
    DemoTactic("linkedin", 0.15, 0.10),
    DemoTactic("meeting", 0.10, 0.45),
)


@dataclass(frozen=True)
class DemoChange:
    """From the Monday `weeks_ago` weeks before the week of `now`, a tactic's first touches are
    answered with chance `answered` instead of its usual one."""

    slug: str
    weeks_ago: int
    answered: float


NEEDS_ASSESSMENT = DemoChange("call", weeks_ago=8, answered=0.34)
TACTIC_CHANGES = {"enterprise": (NEEDS_ASSESSMENT,)}

REPEAT_FADE = 0.6  # each further touch of the same prospect is answered this much less often
UNRECORDED = 0.15  # share of touches whose answer nobody recorded


def change_starts(change: DemoChange, now: dt.datetime) -> dt.datetime:
    """The Monday (midnight, in `now`'s time zone) from which `change` applies."""
    monday = now.date() - dt.timedelta(days=now.weekday(), weeks=change.weeks_ago)
    return dt.datetime.combine(monday, dt.time(), tzinfo=now.tzinfo)


def demo_touches(
    *,
    deals: Sequence[tuple[str, dt.datetime]],
    seed: str,
    now: dt.datetime,
    changes: Sequence[DemoChange] = (),
) -> list[TouchIn]:
    """Touches for (deal id, first event time) pairs, none later than `now`, with the tactic
    `changes` applied from their start (the random draws are the same with or without them)."""
    rng = random.Random(f"touches-{seed}")
    weights = [t.weight for t in DEMO_TACTICS]
    changed = {c.slug: (change_starts(c, now), c.answered) for c in changes}
    out = []
    for external_id, opened_at in deals:
        for n in range(1, rng.choice((1, 1, 2, 2, 3, 3, 4, 5, 6, 7)) + 1):
            tactic = rng.choices(DEMO_TACTICS, weights)[0]
            when = opened_at + dt.timedelta(days=rng.uniform(0, 6) * n, hours=rng.uniform(0, 8))
            if when > now:
                break
            chance = tactic.answered
            if tactic.slug in changed and when >= changed[tactic.slug][0]:
                chance = changed[tactic.slug][1]
            answered = rng.random() < chance * REPEAT_FADE ** (n - 1)
            recorded = rng.random() >= UNRECORDED
            out.append(
                TouchIn(
                    touch_id=f"demo-{external_id}-{n}",
                    tactic=tactic.slug,
                    occurred_at=when,
                    deal_external_id=external_id,
                    responded=answered if recorded else None,
                    responded_at=min(now, when + dt.timedelta(hours=rng.uniform(1, 48)))
                    if recorded and answered
                    else None,
                )
            )
    return out
