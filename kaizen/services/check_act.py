"""Writes for a PDCA cycle's Check and Act: the Check computed and stored (refused until its
evidence rules are met), the Act decision that closes a cycle (adopt records standard work,
adapt opens a follow-up, abandon just closes), notes, and the daily Check of due cycles.
Plan and Do are in kaizen.services.cycles, whose phase rules apply here too.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from funnel.metrics.accounting import week_start
from kaizen.check import Baseline, CheckResult, check_opens_on
from kaizen.check_tactic import metric_check, metric_waits_for
from kaizen.models import (
    ActDecision,
    Cycle,
    CycleMetric,
    CycleNote,
    Direction,
    Phase,
    StandardWork,
)
from kaizen.selectors import (
    comparison_stage,
    cycle_do_weeks,
    metric_week_counts,
    week_counts,
)
from kaizen.services.cycles import CycleError, _event, _phase_set, cycle_create

logger = logging.getLogger(__name__)


def cycle_check_compute(*, cycle: Cycle, today: dt.date) -> CheckResult:
    """The Check over the frozen baseline and the complete Do weeks so far (reads snapshots)."""
    base_first = week_start(cycle.baseline_from)
    do_first, do_last = cycle_do_weeks(cycle=cycle, today=today)
    counts = metric_week_counts(
        team=cycle.team,
        metric=cycle.metric,
        stage=cycle.stage,
        tactic=cycle.tactic,
        first=base_first,
        last=max(do_last, do_first),
        # A tactic's answers by the rule in force when the plan was committed: the baseline was
        # counted by it, so the Do window is too, whatever rule the tactic has since.
        rule_at=cycle.committed_at,
    )
    counts = [c for c in counts if c.week <= do_last or c.week < do_first]
    do_index = (do_first - base_first).days // 7
    comparison = None
    # A tactic is the team's own: no other team's series compares with it.
    if cycle.comparison_team_id and cycle.metric != CycleMetric.RESPONSE_RATE:
        other = comparison_stage(team=cycle.comparison_team, stage=cycle.stage, metric=cycle.metric)
        comparison = week_counts(stage=other, first=base_first, last=max(do_last, do_first))
        comparison = comparison[: len(counts)]
    baseline = Baseline(
        cycle.baseline_value,
        cycle.baseline_low,
        cycle.baseline_high,
        cycle.baseline_successes,
        cycle.baseline_n,
        (week_start(cycle.baseline_to) - base_first).days // 7 + 1,
        cycle.baseline_limits,
    )
    return metric_check(
        metric=cycle.metric,
        counts=counts,
        do_start_index=do_index,
        baseline_end_index=baseline.weeks,
        baseline=baseline,
        predicted_direction=1 if cycle.predicted_direction == Direction.UP else -1,
        predicted_size=cycle.predicted_size,
        comparison=comparison,
    )


@transaction.atomic
def cycle_check_run(
    *,
    cycle: Cycle,
    by: AbstractBaseUser | None,
    today: dt.date | None = None,
    require_evidence: bool = False,
) -> CheckResult:
    """Compute and store the Check; in Do, move to Check when there is enough evidence.

    With ``require_evidence`` (a person pressed "Run the Check"), a Check in Do without enough
    evidence is refused and nothing is stored; the beat job stores it at the Do window's end."""
    started = time.perf_counter()
    today = today or timezone.localdate()
    cycle = (
        Cycle.objects.select_for_update(of=("self",))
        .select_related("team", "stage", "tactic", "comparison_team")
        .get(id=cycle.id)
    )
    if cycle.phase not in (Phase.DO, Phase.CHECK):
        raise CycleError("The Check runs in the Do and Check phases only.")
    result = cycle_check_compute(cycle=cycle, today=today)
    if require_evidence and cycle.phase == Phase.DO and not result.enough_evidence:
        waits = metric_waits_for(
            metric=cycle.metric,
            do_weeks=result.do_weeks,
            do_volume=result.do_volume,
            opens_on=check_opens_on(cycle.do_start),
        )
        raise CycleError(f"Not enough evidence yet. {waits or ' '.join(result.reasons)}")
    cycle.check_result = result.to_json()
    cycle.checked_at = timezone.now()
    _event(cycle, by, "check_computed", {"verdict": result.verdict_label})
    if cycle.phase == Phase.DO and result.enough_evidence:
        _phase_set(cycle, Phase.CHECK, by)
    cycle.save()
    logger.info(
        "cycle check team=%s cycle=%s verdict=%s phase=%s by=%s in %.0f ms",
        cycle.team.slug,
        cycle.id,
        result.verdict_label,
        cycle.phase,
        by.pk if by is not None else "beat",
        (time.perf_counter() - started) * 1000,
    )
    return result


@transaction.atomic
def cycle_to_act(*, cycle: Cycle, by: AbstractBaseUser) -> Cycle:
    cycle = Cycle.objects.select_for_update(of=("self",)).select_related("team").get(id=cycle.id)
    if cycle.phase != Phase.CHECK:
        raise CycleError("Only a cycle in Check moves to Act.")
    if not (cycle.check_result and cycle.check_result.get("enough_evidence")):
        raise CycleError("Act needs a computed Check with enough evidence; run the Check first.")
    _phase_set(cycle, Phase.ACT, by)
    cycle.save()
    logger.info("cycle to act team=%s cycle=%s by=%s", cycle.team.slug, cycle.id, by.pk)
    return cycle


def _follow_up_create(cycle: Cycle, by: AbstractBaseUser, learnings: str) -> Cycle:
    result = cycle.check_result or {}
    problem = f"Follow-up of “{cycle.title}” (Check: {result.get('verdict_label', 'n/a')})."
    if learnings:
        problem += f" What we learned: {learnings}"
    return cycle_create(
        team=cycle.team,
        by=by,
        title=f"{cycle.title} (adapted)",
        stage=cycle.stage,
        metric=cycle.metric,
        tactic=cycle.tactic,
        problem=problem,
        target_condition=cycle.target_condition,
        hypothesis=cycle.hypothesis,
        predicted_direction=cycle.predicted_direction,
        predicted_size=cycle.predicted_size,
        countermeasure=cycle.countermeasure,
        comparison_team=cycle.comparison_team,
    )


@transaction.atomic
def cycle_close(
    *,
    cycle: Cycle,
    by: AbstractBaseUser,
    decision: str,
    learnings: str,
    standard_work: str = "",
) -> Cycle:
    """Act -> closed with a decision and the learnings written down. From Check (the Act form
    follows the Check on the page) it passes through Act, both steps in the history."""
    cycle = (
        Cycle.objects.select_for_update(of=("self",))
        .select_related("team", "stage")
        .get(id=cycle.id)
    )
    if cycle.phase not in (Phase.CHECK, Phase.ACT):
        raise CycleError("Only a cycle whose Check is done can be closed.")
    if cycle.phase == Phase.CHECK and not (cycle.check_result or {}).get("enough_evidence"):
        raise CycleError("Act needs a computed Check with enough evidence; run the Check first.")
    if decision not in ActDecision.values:
        raise CycleError("Choose adopt, adapt or abandon.")
    if not learnings.strip():
        raise CycleError("Write down the learnings before closing the cycle.")
    if cycle.phase == Phase.CHECK:
        _phase_set(cycle, Phase.ACT, by)
    cycle.act_decision = decision
    cycle.learnings = learnings.strip()
    extra: dict[str, Any] = {"decision": decision}
    if decision == ActDecision.ADOPT:
        text = standard_work.strip() or cycle.countermeasure
        StandardWork.objects.create(
            team=cycle.team, cycle=cycle, stage=cycle.stage, text=text, adopted_by=by
        )
        extra["standard_work"] = text
    elif decision == ActDecision.ADAPT:
        cycle.follow_up = _follow_up_create(cycle, by, cycle.learnings)
        extra["follow_up"] = cycle.follow_up_id
    _phase_set(cycle, Phase.CLOSED, by, **extra)
    cycle.save()
    logger.info(
        "cycle closed team=%s cycle=%s decision=%s by=%s",
        cycle.team.slug,
        cycle.id,
        decision,
        by.pk,
    )
    return cycle


@transaction.atomic
def cycle_note_add(*, cycle: Cycle, by: AbstractBaseUser, body: str) -> CycleNote:
    if not body.strip():
        raise CycleError("A note needs some text.")
    if cycle.phase == Phase.CLOSED:
        raise CycleError("The cycle is closed; its journal is complete.")
    note = CycleNote.objects.create(cycle=cycle, author=by, body=body.strip())
    logger.info("cycle note team=%s cycle=%s by=%s", cycle.team.slug, cycle.id, by.pk)
    return note


def cycles_check_due(*, today: dt.date | None = None) -> list[int]:
    """Beat job: run the Check of every cycle in Do whose window has ended and whose Check has
    not run since. Returns the ids checked."""
    started = time.perf_counter()
    today = today or timezone.localdate()
    checked, failed = [], []
    for cycle in Cycle.objects.filter(phase=Phase.DO, do_end__lt=today).select_related("team"):
        if cycle.checked_at and cycle.checked_at.date() > cycle.do_end:
            continue
        # One team's failing Check must not stop the others'; each runs in its own transaction.
        try:
            cycle_check_run(cycle=cycle, by=None, today=today)
        except Exception:
            logger.exception("cycle check team=%s cycle=%s failed", cycle.team.slug, cycle.id)
            failed.append(cycle.id)
            continue
        checked.append(cycle.id)
    if checked or failed:
        logger.info(
            "cycles check due: checked=%d failed=%d in %.0f ms",
            len(checked),
            len(failed),
            (time.perf_counter() - started) * 1000,
        )
    return checked
