"""Everything a cycle's page shows: plan, phase track, chart, Check, journal and history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from funnel.definitions.selectors import definition_changes_for_stage
from funnel.metrics.accounting import week_start
from funnel.metrics.xmr import XmrLimits
from funnel.selectors import TeamAccess
from kaizen.charts.xmr import FrozenBaseline, XmrSvg, pct, per_week, xmr_svg
from kaizen.check import MIN_DO_WEEKS, baseline_capture, check_opens_on
from kaizen.check_tactic import evidence_for, metric_waits_for
from kaizen.forms import CycleCloseForm, CycleNoteForm
from kaizen.models import Cycle, CycleMetric, Phase, StandardWork
from kaizen.problem import problem_mismatch
from kaizen.selectors import (
    PHASE_ORDER,
    baseline_window,
    metric_stage,
    metric_week_counts,
    plan_baseline,
    plan_problem_sentence,
)
from kaizen.services.check_act import cycle_check_compute
from kaizen.services.cycles import cycle_plan_missing
from kaizen.views.cycle_words import baseline_words, check_sentences, metric_label, rule_sentence

VERDICT_EXPLANATIONS = {
    "not_enough_evidence": "Too little has happened in the Do window to judge it; keep going.",
    "supported": "The Do weeks signal a change in the predicted direction and the before/after "
    "interval excludes zero.",
    "partial": "One of the two tests points the predicted way, the other does not: promising, "
    "not proven.",
    "no_change": "The Do weeks stay within the baseline's routine variation and the interval "
    "includes zero: no effect shown (yet).",
    "against": "The data moved the other way from the prediction.",
}

PHASE_HELP = {
    Phase.PLAN: "Write the plan; committing it freezes the baseline.",
    Phase.DO: "The countermeasure is running; the Check waits for enough evidence.",
    Phase.CHECK: "The Check is done: read it, then decide below whether to adopt, adapt or "
    "abandon the change.",
    Phase.ACT: "Adopt, adapt or abandon — and write down what was learned.",
    Phase.CLOSED: "Done. The learnings stay with the team.",
}


CHART_UNITS = {
    CycleMetric.CONVERSION: "of decided deals advance",
    CycleMetric.ARRIVALS: "new deals a week",
    CycleMetric.RESPONSE_RATE: "of touches answered",
}


@dataclass(frozen=True)
class EffectView:
    """An effect in display units: percentage points (conversion) or deals a week."""

    estimate: float
    low: float
    high: float
    before: float | None
    after: float | None
    unit: str
    method: str
    predicted: bool  # the interval lies wholly on the predicted side of zero
    against: bool  # wholly on the other side
    comparison_before: float | None = None
    comparison_after: float | None = None


def _effect_view(effect: dict | None, conversion: bool, direction: int) -> EffectView | None:
    if not effect or effect.get("estimate") is None:
        return None
    scale = 100 if conversion else 1

    def scaled(value):
        return None if value is None else value * scale

    return EffectView(
        estimate=effect["estimate"] * scale,
        low=effect["low"] * scale,
        high=effect["high"] * scale,
        before=scaled(effect["before"]),
        after=scaled(effect["after"]),
        unit="pp" if conversion else "a week",
        method=effect["method"],
        predicted=effect["low"] > 0 if direction > 0 else effect["high"] < 0,
        against=effect["high"] < 0 if direction > 0 else effect["low"] > 0,
        comparison_before=scaled(effect.get("comparison_before")),
        comparison_after=scaled(effect.get("comparison_after")),
    )


def _limits_shown(limits: dict | None, conversion: bool) -> str:
    if not limits:
        return ""
    if conversion:
        low, high = max(limits["lower"], 0.0) * 100, min(limits["upper"], 1.0) * 100
        return f"{low:.0f}–{high:.0f} %"
    return f"{max(limits['lower'], 0.0):.1f}–{limits['upper']:.1f} a week"


def _cycle_chart(
    cycle: Cycle,
    *,
    title: str,
    weeks: list[dt.date],
    values: list[float | None],
    volumes: list[int],
    limits: dict | None,
    dividers: list[dt.date],
    do_start: int | None = None,
    do_mean: float | None = None,
    pooled: tuple[int, int] | None = None,
) -> XmrSvg:
    """The cycle's weekly chart: the baseline's limits across it, the Do window judged against
    them as the Check judges it."""
    proportion = cycle.is_proportion
    return xmr_svg(
        key="cycle",
        title=title,
        unit=CHART_UNITS[cycle.metric],
        periods=weeks,
        values=values,
        dividers=[(day, "Definition changed", "definition") for day in dividers],
        baseline=FrozenBaseline(XmrLimits(**limits) if limits else None, do_start, do_mean),
        fmt=pct if proportion else per_week,
        period_why="as the Check judges it" if do_start is not None else "",
        notes=_centre_line_note(limits, values, do_start, pooled, evidence_for(cycle.metric).many)
        if proportion
        else (),
        y_label=metric_label(cycle),
        volumes=volumes if proportion else None,
    )


def _centre_line_note(
    limits: dict | None,
    values: list[float | None],
    do_start: int | None,
    pooled: tuple[int, int] | None,
    what: str = "decided deals",
) -> tuple[str, ...]:
    """Why the chart's baseline mean differs from the baseline rate on the page: the XmR chart
    (and the Check's rules) average the weekly rates, each week counting the same; the
    baseline rate pools the decided deals (touches), so a busy week counts more."""
    if not limits or not pooled or not pooled[1]:
        return ()
    weeks = sum(v is not None for v in values[:do_start])
    rate = pooled[0] / pooled[1]
    mean = limits["mean"]
    if f"{mean * 100:.1f}" == f"{rate * 100:.1f}":
        return ()
    return (
        f"The baseline mean line, {mean * 100:.1f} %, is the average of the {weeks} baseline "
        f"weeks' rates, each week counting the same; the limits and the Check's rules are "
        f"built on it. The baseline rate, {rate * 100:.1f} % ({pooled[0]} of {pooled[1]}), "
        f"pools the {what}, so busier weeks count more.",
    )


def _chart_from_check(cycle: Cycle, check: dict, dividers) -> XmrSvg:
    """The Check's weeks, and while the Do window runs its weeks still to come (empty), so
    the whole window the Check will judge is in view, not only its first days."""
    effect = check.get("effect") or {}
    weeks = [dt.date.fromisoformat(w) for w in check["weeks"]]
    ahead = []
    if weeks and cycle.do_end:
        nxt = weeks[-1] + dt.timedelta(weeks=1)
        while nxt <= cycle.do_end:
            ahead.append(nxt)
            nxt += dt.timedelta(weeks=1)
    before = check.get("before") or {}
    return _cycle_chart(
        cycle,
        title=f"{metric_label(cycle)} by week",
        weeks=weeks + ahead,
        values=list(check["values"]) + [None] * len(ahead),
        volumes=list(check["volumes"]) + [0] * len(ahead),
        limits=check.get("limits"),
        dividers=dividers,
        do_start=check["do_start_index"],
        do_mean=effect.get("after") if check["do_weeks"] else None,
        pooled=(before["successes"], before["n"]) if before.get("n") else None,
    )


def _current_condition_chart(cycle: Cycle, today: dt.date, dividers) -> XmrSvg:
    """Plan phase: the weeks that would be the baseline if the plan were committed today."""
    first, last = baseline_window(do_start=cycle.do_start or today, today=today)
    counts = metric_week_counts(
        team=cycle.team,
        metric=cycle.metric,
        stage=cycle.stage,
        tactic=cycle.tactic,
        first=first,
        last=week_start(last),
    )
    base = baseline_capture(cycle.metric, counts)
    proportion = cycle.is_proportion
    values = [
        (c.advanced / c.decided if c.decided else None) if proportion else float(c.entered)
        for c in counts
    ]
    return _cycle_chart(
        cycle,
        title="Current condition: the last 13 weeks",
        weeks=[c.week for c in counts],
        values=values,
        volumes=[c.decided for c in counts],
        limits=base.limits,
        dividers=dividers,
        pooled=(base.successes, base.n),
    )


def _check_button_why(cycle: Cycle, progress: dict, today: dt.date) -> str:
    """Beside the disabled "Run the Check": when it opens, or how many deals it waits for."""
    opens_on = check_opens_on(cycle.do_start)
    if progress["do_weeks"] < MIN_DO_WEEKS and opens_on > today:
        return f"Opens {opens_on:%a %-d %b}"
    evidence = evidence_for(cycle.metric)
    missing = evidence.minimum - progress["do_volume"]
    if missing > 0:
        return f"Waits for {missing} more {evidence.one if missing == 1 else evidence.many}"
    return ""


def plan_problem_warning(cycle: Cycle, today: dt.date):
    """In Plan: the problem quotes a baseline other than the one its Do window would freeze."""
    if cycle.phase != Phase.PLAN or not cycle.do_start or not cycle.problem:
        return None
    if cycle.metric == CycleMetric.CONVERSION and cycle.stage is None:
        return None
    if cycle.metric == CycleMetric.RESPONSE_RATE:
        return None  # its problem quotes no bottleneck sentence to keep in step
    plan = {
        "team": cycle.team,
        "metric": cycle.metric,
        "stage": cycle.stage,
        "do_start": cycle.do_start,
        "today": today,
    }
    base, last = plan_baseline(**plan)
    now = plan_problem_sentence(**plan)
    return problem_mismatch(cycle.problem, now=now, metric=cycle.metric, base=base, last_day=last)


def cycle_page_context(
    *,
    access: TeamAccess,
    cycle: Cycle,
    today: dt.date,
    chart: bool = True,
    close_form: CycleCloseForm | None = None,
    note_form: CycleNoteForm | None = None,
) -> dict:
    proportion = cycle.is_proportion
    evidence = evidence_for(cycle.metric)
    check = cycle.check_result
    preview = False
    progress = None
    if chart and cycle.phase == Phase.DO:
        # Progress so far, computed like the Check but not stored: the stored Check is the one
        # the manager ran (or the beat job ran when the Do window ended). Whether the Check can
        # run is read from it, so the button is there as soon as the evidence rules are met.
        progress = cycle_check_compute(cycle=cycle, today=today).to_json()
        if check is None:
            check, preview = progress, True
    the_chart = None
    if chart:
        stage = metric_stage(team=cycle.team, metric=cycle.metric, stage=cycle.stage)
        dividers = []
        if stage is not None:
            dividers = definition_changes_for_stage(stage)
        if check:
            the_chart = _chart_from_check(cycle, check, dividers)
        elif cycle.metric != CycleMetric.CONVERSION or cycle.stage_id:
            the_chart = _current_condition_chart(cycle, today, dividers)
    phase_index = PHASE_ORDER.index(cycle.phase)
    direction = -1 if cycle.predicted_direction == "down" else 1
    return {
        "access": access,
        "team": access.team,
        "cycle": cycle,
        "proportion": proportion,
        "volume_noun": evidence.many,
        "rule_sentence": rule_sentence(cycle),
        "phases": [
            (p, "done" if i < phase_index else "current" if i == phase_index else "todo")
            for i, p in enumerate(PHASE_ORDER)
        ],
        "phase_help": PHASE_HELP[cycle.phase],
        "plan_missing": cycle_plan_missing(cycle) if cycle.phase == Phase.PLAN else [],
        "check": check,
        "check_preview": preview,
        "signal_weeks": sorted(
            {
                dt.date.fromisoformat(s["week"])
                for s in (check or {}).get("signals", [])
                if s["direction"] == direction
            }
        ),
        "verdict_explanation": VERDICT_EXPLANATIONS.get(check["verdict"], "") if check else "",
        "baseline_limits_shown": _limits_shown(cycle.baseline_limits, proportion),
        "effect": _effect_view(check.get("effect") if check else None, proportion, direction),
        "did": _effect_view(check.get("did") if check else None, proportion, direction),
        "chart": the_chart,
        "progress": progress,
        "today": today,
        "check_waits_for": metric_waits_for(
            metric=cycle.metric,
            do_weeks=progress["do_weeks"],
            do_volume=progress["do_volume"],
            opens_on=check_opens_on(cycle.do_start),
        )
        if progress
        else "",
        "check_button_why": _check_button_why(cycle, progress, today) if progress else "",
        "sentences": check_sentences(cycle, check) if check else {},
        "baseline_words": baseline_words(cycle),
        "problem_warning": plan_problem_warning(cycle, today) if chart else None,
        "min_do_weeks": MIN_DO_WEEKS,
        "min_decided": evidence.minimum,
        "notes": cycle.notes.select_related("author"),
        "events": cycle.events.select_related("actor"),
        "note_form": note_form or CycleNoteForm(),
        "close_form": close_form or CycleCloseForm(initial={"standard_work": cycle.countermeasure}),
        "standard_work": StandardWork.objects.filter(cycle=cycle).first(),
        "follow_up_of": Cycle.objects.filter(follow_up=cycle).only("id", "title").first(),
        "days_in_phase": (dt.datetime.now(dt.UTC) - cycle.phase_changed_at).days,
    }
