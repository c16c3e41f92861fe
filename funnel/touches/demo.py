"""The demo's touches: what the demo teams did to their prospects, and who answered.

Generated from the demo deals (seeded, so a re-run gives the same touches): each deal was
touched a few times around its first weeks, with tactics whose answer rates differ as they do in
the field (a meeting booked is answered far more often than a cold e-mail) and fall with every
further touch of the same prospect. Some touches carry no recorded answer, so the tactic's rule
derives it from the deal's next stage.
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
REPEAT_FADE = 0.6  # each further touch of the same prospect is answered this much less often
UNRECORDED = 0.15  # share of touches whose answer nobody recorded


def demo_touches(
    *, deals: Sequence[tuple[str, dt.datetime]], seed: str, now: dt.datetime
) -> list[TouchIn]:
    """Touches for (deal id, first event time) pairs, none later than `now`."""
    rng = random.Random(f"touches-{seed}")
    weights = [t.weight for t in DEMO_TACTICS]
    out = []
    for external_id, opened_at in deals:
        for n in range(1, rng.choice((1, 1, 2, 2, 3, 3, 4, 5, 6, 7)) + 1):
            tactic = rng.choices(DEMO_TACTICS, weights)[0]
            when = opened_at + dt.timedelta(days=rng.uniform(0, 6) * n, hours=rng.uniform(0, 8))
            if when > now:
                break
            answered = rng.random() < tactic.answered * REPEAT_FADE ** (n - 1)
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
