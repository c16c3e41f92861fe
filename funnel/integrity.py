"""What the dropped database foreign keys no longer prevent: orphans and team mismatches.

The event log, the observations and the derived rows keep no database-level checks (each cost
more at commit than the insert itself); the services are their only writers and check the
team first. This check is the net under that rule: run nightly by beat and by
`manage.py integrity_check`, it reports every row whose reference is gone or points into
another team. It reports and never repairs: what to do with a broken row is an operator's
decision. The recompute skips such rows (funnel.pipeline.passages), so the verdict survives.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Exists, F, OuterRef, Q, QuerySet

from funnel.models import (
    Characteristic,
    Deal,
    DealPassage,
    Observation,
    PendingDeal,
    Stage,
    StageEvent,
    Team,
)

logger = logging.getLogger(__name__)

SAMPLE = 10  # ids shown per problem


@dataclass(frozen=True)
class Problem:
    key: str
    what: str
    count: int
    sample: tuple[int, ...]


@dataclass
class IntegrityReport:
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(p.count for p in self.problems)

    def counts(self) -> dict[str, int]:
        return {p.key: p.count for p in self.problems}

    def lines(self) -> list[str]:
        return [
            f"{p.count:>8,}  {p.what}  (ids {', '.join(map(str, p.sample))}"
            f"{', ...' if p.count > len(p.sample) else ''})"
            for p in self.problems
            if p.count
        ]


def _missing(model, column: str) -> Q:
    """Rows whose `column` names a row of `model` that does not exist."""
    return ~Exists(model.objects.filter(id=OuterRef(column)))


def _checks() -> list[tuple[str, str, QuerySet]]:
    user = get_user_model()
    return [
        (
            "deal_team",
            "deals of a team that does not exist",
            Deal.objects.filter(_missing(Team, "team_id")),
        ),
        (
            "deal_owner",
            "deals owned by a user who does not exist",
            Deal.objects.filter(owner_id__isnull=False).filter(_missing(user, "owner_id")),
        ),
        (
            "deal_stage_team",
            "deals whose current stage belongs to another team",
            Deal.objects.filter(current_stage__isnull=False).exclude(
                current_stage__team_id=F("team_id")
            ),
        ),
        (
            "event_deal",
            "stage events of a deal that does not exist",
            StageEvent.objects.filter(_missing(Deal, "deal_id")),
        ),
        (
            "event_team",
            "stage events of a team that does not exist",
            StageEvent.objects.filter(_missing(Team, "team_id")),
        ),
        (
            "event_deal_team",
            "stage events filed under another team than their deal's",
            StageEvent.objects.exclude(team_id=F("deal__team_id")),
        ),
        (
            "event_stage",
            "stage events of a stage that does not exist",
            StageEvent.objects.filter(stage_id__isnull=False).filter(_missing(Stage, "stage_id")),
        ),
        (
            "event_stage_team",
            "stage events at a stage of another team",
            StageEvent.objects.filter(stage_id__isnull=False).exclude(stage__team_id=F("team_id")),
        ),
        (
            "event_recorded_by",
            "stage events recorded by a user who does not exist",
            StageEvent.objects.filter(recorded_by_id__isnull=False).filter(
                _missing(user, "recorded_by_id")
            ),
        ),
        (
            "observation_deal",
            "observations of a deal that does not exist",
            Observation.objects.filter(_missing(Deal, "deal_id")),
        ),
        (
            "observation_characteristic",
            "observations of a characteristic that does not exist",
            Observation.objects.filter(_missing(Characteristic, "characteristic_id")),
        ),
        (
            "observation_team",
            "observations of a characteristic of another team than the deal's",
            Observation.objects.exclude(characteristic__team_id=F("deal__team_id")),
        ),
        (
            "passage_deal",
            "derived passages of a deal that does not exist",
            DealPassage.objects.filter(_missing(Deal, "deal_id")),
        ),
        (
            "pending_deal",
            "pending recompute marks of a deal that does not exist",
            PendingDeal.objects.filter(_missing(Deal, "deal_id")),
        ),
    ]


def integrity_check() -> IntegrityReport:
    report = IntegrityReport()
    for key, what, rows in _checks():
        ids = list(rows.order_by("pk").values_list("pk", flat=True)[:SAMPLE])
        count = rows.count() if len(ids) == SAMPLE else len(ids)
        report.problems.append(Problem(key=key, what=what, count=count, sample=tuple(ids)))
    if report.ok:
        logger.info("integrity check: no orphans, no team mismatches")
    else:
        for line in report.lines():
            logger.warning("integrity check: %s", line.strip())
    return report
