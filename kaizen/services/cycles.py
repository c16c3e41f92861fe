"""Writes for PDCA cycles: plan and commit (baseline frozen), with the history they record; the
Check and Act writes are in kaizen.services.check_act.

Phase rules (a CycleError says what is missing when one is refused):

- plan -> do: the plan is complete; committing freezes the baseline (13 complete weeks before
  the Do start: pooled value, interval, XmR limits);
- do -> check: the Check has enough evidence (2 complete Do weeks, 20 decided deals);
- check -> act: a computed Check with enough evidence;
- act -> closed: a decision and the learnings. Adopt records standard work on the team; adapt
  opens a linked follow-up cycle in plan, prefilled; abandon just closes. The Act form follows
  the Check on the page, so closing a cycle in Check records check -> act and act -> closed.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from funnel.metrics.accounting import week_start
from funnel.models import Stage, Tactic, Team
from kaizen.check import (
    Baseline,
    baseline_capture,
)
from kaizen.models import (
    Cycle,
    CycleEvent,
    CycleMetric,
    Phase,
)
from kaizen.problem import problem_refreshed
from kaizen.selectors import (
    baseline_window,
    metric_week_counts,
    plan_problem_sentence,
)

logger = logging.getLogger(__name__)

PLAN_FIELDS = (
    "title",
    "stage",
    "metric",
    "tactic",
    "problem",
    "target_condition",
    "hypothesis",
    "predicted_direction",
    "predicted_size",
    "countermeasure",
    "do_start",
    "do_end",
    "comparison_team",
)
MIN_DO_DAYS = 14


class CycleError(Exception):
    """A phase rule refused the change; the message says what is missing."""


def _event(cycle: Cycle, by: AbstractBaseUser | None, action: str, changes: dict) -> None:
    CycleEvent.objects.create(cycle=cycle, actor=by, action=action, changes=changes)


def _shown(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Stage | Team | Tactic):
        return str(value)
    return value


def _phase_set(cycle: Cycle, phase: str, by: AbstractBaseUser | None, **extra) -> None:
    _event(cycle, by, "phase", {"phase": [cycle.phase, phase], **extra})
    cycle.phase = phase
    cycle.phase_changed_at = timezone.now()


def _snap_window(values: dict) -> dict:
    """Weekly metrics need whole weeks: the Do window runs Monday to Sunday."""
    if values.get("do_start"):
        values["do_start"] = week_start(values["do_start"])
    if values.get("do_end"):
        values["do_end"] = week_start(values["do_end"]) + dt.timedelta(days=6)
    stage = values.get("stage")
    if stage is not None:
        values["station"] = stage.station
    if values.get("metric") == CycleMetric.ARRIVALS:
        values["station"] = "market"
    if values.get("metric") == CycleMetric.RESPONSE_RATE:
        # Whether prospects answer is the marketing station's question (DESIGN.md §1).
        values["station"] = "marketing"
    return values


def _problem_for_window(team: Team, plan: dict, was: dict, today: dt.date) -> dict:
    """A problem still opening with the baseline sentence prefilled for the plan as it ``was``
    gets the sentence for the plan's new Do window; an edited one stays as written (the page
    warns that it no longer matches)."""
    if not plan.get("problem"):
        return plan
    metric = plan.get("metric", was.get("metric"))
    stage = plan.get("stage", was.get("stage"))
    do_start = plan.get("do_start", was.get("do_start"))
    before = plan_problem_sentence(
        team=team,
        metric=was.get("metric"),
        stage=was.get("stage"),
        do_start=was.get("do_start"),
        today=today,
    )
    now = plan_problem_sentence(
        team=team, metric=metric, stage=stage, do_start=do_start, today=today
    )
    return {**plan, "problem": problem_refreshed(plan["problem"], was=before, now=now)}


@transaction.atomic
def cycle_create(*, team: Team, by: AbstractBaseUser, **plan: Any) -> Cycle:
    unknown = set(plan) - set(PLAN_FIELDS)
    if unknown:
        raise TypeError(f"not plan fields: {sorted(unknown)}")
    today = timezone.localdate()
    # A plan prefilled from the bottleneck quotes the baseline of a Do window starting today.
    was = {"metric": plan.get("metric"), "stage": plan.get("stage"), "do_start": today}
    plan = _problem_for_window(team, plan, was, today)
    cycle = Cycle(team=team, owner=by, **_snap_window(dict(plan)))
    cycle.save()
    _event(cycle, by, "created", {k: _shown(v) for k, v in plan.items() if v not in (None, "")})
    logger.info("cycle created team=%s cycle=%s by=%s", team.slug, cycle.id, by.pk)
    return cycle


@transaction.atomic
def cycle_plan_update(*, cycle: Cycle, by: AbstractBaseUser, **plan: Any) -> Cycle:
    """Edit the plan; refused once it is committed (the Check must not chase the data)."""
    cycle = Cycle.objects.select_for_update(of=("self",)).select_related("team").get(id=cycle.id)
    if cycle.phase != Phase.PLAN or cycle.is_committed:
        raise CycleError("The plan is committed: it and its baseline no longer change.")
    unknown = set(plan) - set(PLAN_FIELDS)
    if unknown:
        raise TypeError(f"not plan fields: {sorted(unknown)}")
    was = {"metric": cycle.metric, "stage": cycle.stage, "do_start": cycle.do_start}
    plan = _problem_for_window(cycle.team, plan, was, timezone.localdate())
    changes = {}
    for name, value in _snap_window(dict(plan)).items():
        if getattr(cycle, name) != value:
            changes[name] = [_shown(getattr(cycle, name)), _shown(value)]
            setattr(cycle, name, value)
    if changes:
        cycle.save()
        _event(cycle, by, "plan_updated", changes)
        logger.info(
            "cycle plan updated team=%s cycle=%s fields=%s by=%s",
            cycle.team.slug,
            cycle.id,
            ",".join(sorted(changes)),
            by.pk,
        )
    return cycle


def cycle_plan_missing(cycle: Cycle) -> list[str]:
    """What the plan still lacks before it can be committed."""
    missing = [
        label
        for name, label in [
            ("title", "a title"),
            ("problem", "the problem (current condition)"),
            ("target_condition", "the target condition"),
            ("hypothesis", "a hypothesis"),
            ("predicted_direction", "the predicted direction"),
            ("countermeasure", "the countermeasure"),
            ("do_start", "the Do start"),
            ("do_end", "the Do end"),
        ]
        if not getattr(cycle, name)
    ]
    if cycle.predicted_size is None or cycle.predicted_size <= 0:
        missing.append("the predicted size (more than 0)")
    if cycle.metric == CycleMetric.CONVERSION and cycle.stage_id is None:
        missing.append("the stage whose conversion it means to move")
    if cycle.metric == CycleMetric.RESPONSE_RATE and cycle.tactic_id is None:
        missing.append("the tactic whose answer rate it means to move")
    if cycle.do_start and cycle.do_end and (cycle.do_end - cycle.do_start).days + 1 < MIN_DO_DAYS:
        missing.append("a Do window of at least two weeks")
    if cycle.comparison_team_id and cycle.comparison_team_id == cycle.team_id:
        missing.append("a comparison team other than this team")
    return missing


def _baseline(cycle: Cycle, today: dt.date) -> Baseline:
    first, last = baseline_window(do_start=cycle.do_start, today=today)
    counts = metric_week_counts(
        team=cycle.team,
        metric=cycle.metric,
        stage=cycle.stage,
        tactic=cycle.tactic,
        first=first,
        last=last,
    )
    return baseline_capture(cycle.metric, counts)


@transaction.atomic
def cycle_commit(*, cycle: Cycle, by: AbstractBaseUser, today: dt.date | None = None) -> Cycle:
    """Plan -> Do: freeze the baseline. A Do start in the past is allowed (the team may have
    started already) but recorded as retrospective in the history."""
    today = today or timezone.localdate()
    cycle = (
        Cycle.objects.select_for_update(of=("self",))
        .select_related("team", "stage", "tactic")
        .get(id=cycle.id)
    )
    if cycle.phase != Phase.PLAN or cycle.is_committed:
        raise CycleError("This plan is already committed.")
    missing = cycle_plan_missing(cycle)
    if missing:
        raise CycleError("To commit the plan, add " + ", ".join(missing) + ".")
    base = _baseline(cycle, today)
    first, last = baseline_window(do_start=cycle.do_start, today=today)
    if base.n == 0:
        what = f"no touches of {cycle.tactic}" if cycle.tactic_id else "no data for this metric"
        raise CycleError(
            f"No baseline: the {base.weeks} weeks from {first:%d %b %Y} to {last:%d %b %Y} have "
            f"{what}, so there is nothing to compare the Do window with."
        )
    cycle.baseline_from, cycle.baseline_to = first, last
    cycle.baseline_value, cycle.baseline_low, cycle.baseline_high = base.value, base.low, base.high
    cycle.baseline_successes, cycle.baseline_n = base.successes, base.n
    cycle.baseline_limits = base.limits
    cycle.committed_at = timezone.now()
    _phase_set(
        cycle,
        Phase.DO,
        by,
        baseline=[None, round(base.value, 4)],
        retrospective=cycle.do_start < week_start(today),
    )
    cycle.save()
    logger.info(
        "cycle committed team=%s cycle=%s baseline=%.4f n=%d by=%s",
        cycle.team.slug,
        cycle.id,
        base.value,
        base.n,
        by.pk,
    )
    return cycle
