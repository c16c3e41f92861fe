"""Reads for the pipeline 5S page: the open deals to sort out, per owner.

Stale: by the team's rule when it is on (no event for N days); when it is off, no event for
longer than the stage's 85th-percentile days in stage. Aged: in the stage longer than its
target days, or its 85th percentile where no target is set (the flow figures of the latest
verdict, so no page view aggregates the event log). Both are judged as of now, or for a history
whose data stopped, as of its data horizon.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone

from funnel.models import BottleneckStatus, Deal, DealStatus, Stage, Team
from funnel.pipeline.stale import stale_rule_in_force


@dataclass(frozen=True)
class StageLimits:
    stage: Stage
    quiet_days: float | None  # no event for longer: stale (rule off)
    aged_days: float | None  # in the stage for longer: aged
    aged_basis: str  # "target" or "p85"


@dataclass(frozen=True)
class Review:
    """What the page judges by: the as-of moment, the rule's N (None: off), each stage's limits."""

    as_of: dt.datetime
    history_up_to: dt.date | None
    rule_days: int | None
    limits: dict[int, StageLimits] = field(default_factory=dict)  # by stage id

    def stale_q(self) -> Q:
        if self.rule_days is not None:
            return Q(last_event_at__lt=self.as_of - dt.timedelta(days=self.rule_days))
        return _any(
            Q(current_stage_id=stage_id, last_event_at__lt=self.as_of - _days(limit.quiet_days))
            for stage_id, limit in self.limits.items()
            if limit.quiet_days is not None
        )

    def aged_q(self) -> Q:
        return _any(
            Q(current_stage_id=stage_id, stage_entered_at__lt=self.as_of - _days(limit.aged_days))
            for stage_id, limit in self.limits.items()
            if limit.aged_days is not None
        )

    def annotate(self, deal: Deal) -> Deal:
        """Give a deal of the list its days since the last event and in the stage, and why it
        is listed (stale, aged)."""
        limit = self.limits.get(deal.current_stage_id)
        deal.quiet_days = _whole_days(deal.last_event_at, self.as_of)
        deal.stage_days = _whole_days(deal.stage_entered_at, self.as_of)
        cut = self.rule_days if self.rule_days is not None else (limit and limit.quiet_days)
        deal.is_stale = bool(
            cut is not None and deal.last_event_at and deal.last_event_at < self.as_of - _days(cut)
        )
        deal.is_aged = bool(
            limit
            and limit.aged_days is not None
            and deal.stage_entered_at
            and deal.stage_entered_at < self.as_of - _days(limit.aged_days)
        )
        deal.limits = limit
        return deal


NOTHING = Q(pk__in=[])


def _any(parts) -> Q:
    combined = NOTHING
    for part in parts:
        combined |= part
    return combined


def _days(value: float) -> dt.timedelta:
    return dt.timedelta(days=float(value))


def _whole_days(start: dt.datetime | None, end: dt.datetime) -> int | None:
    return None if start is None else max(0, (end - start).days)


def review_for_team(*, team: Team, now: dt.datetime | None = None) -> Review:
    """The as-of moment, the rule, and each stage's limits from the latest verdict's figures."""
    now = now or timezone.now()
    status = BottleneckStatus.objects.filter(team=team).order_by("-computed_at", "-id").first()
    figures = status.figures if status else {}
    history_up_to = figures.get("history_up_to")
    as_of = now
    if history_up_to:
        horizon = dt.date.fromisoformat(history_up_to) + dt.timedelta(days=1)
        zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
        as_of = dt.datetime.combine(horizon, dt.time(), tzinfo=zone)
    flow = {item.get("stage_position"): item for item in figures.get("flow", [])}
    limits = {}
    for stage in Stage.objects.filter(team=team).order_by("position"):
        note = flow.get(stage.position, {})
        p85 = note.get("p85_days")
        target = stage.target_days or note.get("target_days")
        limits[stage.id] = StageLimits(
            stage=stage,
            quiet_days=p85,
            aged_days=target or p85,
            aged_basis="target" if target else "p85",
        )
    rule = stale_rule_in_force(team=team, today=timezone.localdate(now))
    return Review(
        as_of=as_of,
        history_up_to=dt.date.fromisoformat(history_up_to) if history_up_to else None,
        rule_days=rule.days if rule else None,
        limits=limits,
    )


def review_deals(*, team: Team, review: Review) -> QuerySet[Deal]:
    """Open deals that are stale or aged, grouped by owner, the longest quiet first."""
    return (
        Deal.objects.filter(team=team, status=DealStatus.OPEN, current_stage__isnull=False)
        .filter(review.stale_q() | review.aged_q())
        .select_related("owner", "current_stage")
        .order_by(
            F("owner__first_name").asc(nulls_last=True),
            F("owner__last_name").asc(nulls_last=True),
            F("owner_id").asc(nulls_last=True),
            "last_event_at",
            "id",
        )
    )


@dataclass(frozen=True)
class OwnerCounts:
    owner_id: int | None
    name: str
    deals: int
    stale: int
    aged: int
    amount: float | None


def review_counts_by_owner(*, deals: QuerySet[Deal], review: Review) -> list[OwnerCounts]:
    """Per owner: how many deals to review, how many stale and aged (a deal may be both)."""
    rows = (
        deals.order_by()
        .values("owner_id", "owner__first_name", "owner__last_name", "owner__email")
        .annotate(
            n=Count("id"),
            stale=Count("id", filter=review.stale_q()),
            aged=Count("id", filter=review.aged_q()),
            amount=Sum("amount"),
        )
    )
    counts = [
        OwnerCounts(
            owner_id=row["owner_id"],
            name=" ".join(filter(None, [row["owner__first_name"], row["owner__last_name"]]))
            or row["owner__email"]
            or "No owner",
            deals=row["n"],
            stale=row["stale"],
            aged=row["aged"],
            amount=row["amount"],
        )
        for row in rows
    ]
    return sorted(counts, key=lambda c: (c.owner_id is None, -c.deals, c.name))
