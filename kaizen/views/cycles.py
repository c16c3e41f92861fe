"""The kaizen board and PDCA cycles: plan, phase transitions, Check, journal."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from funnel.models import Stage, Station, Team
from funnel.selectors import (
    Action,
    memberships_for_team,
    team_accesses_for_user,
    team_get_for_user,
    team_status_latest,
)
from kaizen.forms import BoardFilterForm, CycleCloseForm, CycleNoteForm, CyclePlanForm
from kaizen.models import Cycle, Phase, StandardWork
from kaizen.selectors import (
    cycle_get,
    cycle_prefill_from_bottleneck,
    cycle_prefill_from_tactic,
    cycles_for_team,
    default_do_window,
)
from kaizen.services.check_act import cycle_check_run, cycle_close, cycle_note_add
from kaizen.services.cycles import (
    PLAN_FIELDS,
    CycleError,
    cycle_commit,
    cycle_create,
    cycle_plan_update,
)
from kaizen.views.cycle_page import cycle_page_context, plan_problem_warning


def _htmx_render(request: HttpRequest, template: str, partial: str, context: dict) -> HttpResponse:
    response = render(request, f"{template}#{partial}" if request.htmx else template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def station_label(station: str) -> str:
    return Station(station).label if station in Station.values else ""


@require_GET
@login_required
def cycle_board(request: HttpRequest, slug: str) -> HttpResponse:
    access = team_get_for_user(user=request.user, slug=slug)
    team = access.team
    owners = [
        (m.user_id, m.user.get_full_name() or m.user.email)
        for m in memberships_for_team(team=team)
        if m.role == "manager"
    ]
    stages = list(Stage.objects.filter(team=team).order_by("position").values_list("id", "name"))
    form = BoardFilterForm(request.GET or None, owners=owners, stages=stages)
    filters = form.cleaned_data if form.is_valid() else {}
    cycles = list(
        cycles_for_team(
            team=team,
            owner_id=filters.get("owner"),
            stage_id=filters.get("stage"),
            phase=filters.get("phase") or "",
        )
    )
    now = timezone.now()
    for cycle in cycles:
        cycle.days_in_phase = (now - cycle.phase_changed_at).days
    shown_phases = [p for p in Phase if not filters.get("phase") or p == filters["phase"]]
    columns = [(phase, [c for c in cycles if c.phase == phase]) for phase in shown_phases]
    context = {
        "access": access,
        "team": team,
        "form": form,
        "columns": columns,
        "total": len(cycles),
    }
    if not request.htmx:
        bottleneck = team_status_latest(team=team)
        context["bottleneck"] = bottleneck
        context["bottleneck_station"] = station_label(bottleneck.station if bottleneck else "")
        context["standard_work"] = StandardWork.objects.filter(team=team).select_related(
            "cycle", "stage"
        )
    return _htmx_render(request, "kaizen/board.html", "board", context)


def _comparison_teams(request: HttpRequest, team: Team):
    ids = [a.team.id for a in team_accesses_for_user(user=request.user) if a.team.id != team.id]
    return Team.objects.filter(id__in=ids).order_by("name")


@require_http_methods(["GET", "POST"])
@login_required
def cycle_new(request: HttpRequest, slug: str) -> HttpResponse:
    access = team_get_for_user(user=request.user, slug=slug, action=Action.MANAGE)
    team = access.team
    prefill = None
    today = timezone.localdate()
    if request.GET.get("from") == "bottleneck":
        prefill = cycle_prefill_from_bottleneck(team=team, today=today)
    elif request.GET.get("tactic"):
        prefill = cycle_prefill_from_tactic(
            team=team, tactic_slug=request.GET["tactic"], today=today
        )
    do_start, do_end = default_do_window(today)
    initial = (
        prefill.values
        if prefill
        else {
            "metric": "conversion",
            "predicted_direction": "up",
            "do_start": do_start,
            "do_end": do_end,
        }
    )
    form = CyclePlanForm(
        request.POST or None,
        initial=initial,
        team=team,
        comparison_teams=_comparison_teams(request, team),
    )
    if request.method == "POST" and form.is_valid():
        cycle = cycle_create(team=team, by=request.user, **form.cleaned_data)
        messages.success(request, "Plan saved as a draft. Commit it when it is complete.")
        return redirect("kaizen:cycle_detail", slug=slug, cycle_id=cycle.id)
    context = {
        "access": access,
        "team": team,
        "form": form,
        "prefill": prefill,
        "no_bottleneck": request.GET.get("from") == "bottleneck" and prefill is None,
        "no_tactic": bool(request.GET.get("tactic")) and prefill is None,
    }
    return render(request, "kaizen/cycle_plan.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def cycle_plan_edit(request: HttpRequest, slug: str, cycle_id: int) -> HttpResponse:
    access = team_get_for_user(user=request.user, slug=slug, action=Action.MANAGE)
    cycle = cycle_get(team=access.team, cycle_id=cycle_id)
    if cycle.phase != Phase.PLAN:
        messages.error(request, "The plan is committed: it and its baseline no longer change.")
        return redirect("kaizen:cycle_detail", slug=slug, cycle_id=cycle.id)
    initial = {name: getattr(cycle, name) for name in PLAN_FIELDS}
    form = CyclePlanForm(
        request.POST or None,
        initial=initial,
        team=access.team,
        comparison_teams=_comparison_teams(request, access.team),
        tactic_id=cycle.tactic_id,
    )
    if request.method == "POST" and form.is_valid():
        try:
            cycle_plan_update(cycle=cycle, by=request.user, **form.cleaned_data)
        except CycleError as error:
            messages.error(request, str(error))
        return redirect("kaizen:cycle_detail", slug=slug, cycle_id=cycle.id)
    context = {
        "access": access,
        "team": access.team,
        "form": form,
        "cycle": cycle,
        "problem_warning": plan_problem_warning(cycle, timezone.localdate()),
    }
    return render(request, "kaizen/cycle_plan.html", context)


@require_GET
@login_required
def cycle_detail(request: HttpRequest, slug: str, cycle_id: int) -> HttpResponse:
    access = team_get_for_user(user=request.user, slug=slug)
    cycle = cycle_get(team=access.team, cycle_id=cycle_id)
    context = cycle_page_context(access=access, cycle=cycle, today=timezone.localdate())
    return render(request, "kaizen/cycle_detail.html", context)


def _transition(request: HttpRequest, slug: str, cycle_id: int, step) -> HttpResponse:
    access = team_get_for_user(user=request.user, slug=slug, action=Action.MANAGE)
    cycle = cycle_get(team=access.team, cycle_id=cycle_id)
    try:
        message = step(cycle)
    except CycleError as error:
        messages.error(request, str(error))
    else:
        if message:
            messages.success(request, message)
    return redirect("kaizen:cycle_detail", slug=slug, cycle_id=cycle.id)


@require_POST
@login_required
def cycle_commit_view(request: HttpRequest, slug: str, cycle_id: int) -> HttpResponse:
    def step(cycle: Cycle) -> str:
        cycle = cycle_commit(cycle=cycle, by=request.user)
        window = f"{cycle.do_start:%-d %b} – {cycle.do_end:%-d %b}"
        return f"Plan committed; the baseline is frozen. Do runs {window}."

    return _transition(request, slug, cycle_id, step)


@require_POST
@login_required
def cycle_check_view(request: HttpRequest, slug: str, cycle_id: int) -> HttpResponse:
    def step(cycle: Cycle) -> str:
        result = cycle_check_run(cycle=cycle, by=request.user, require_evidence=True)
        return (
            f"Check computed: {result.verdict_label.lower()}. "
            "Decide below: adopt, adapt or abandon the change."
        )

    return _transition(request, slug, cycle_id, step)


def _detail_with_errors(request: HttpRequest, access, cycle: Cycle, **forms) -> HttpResponse:
    """The cycle page again, with the invalid form's messages next to its fields."""
    context = cycle_page_context(access=access, cycle=cycle, today=timezone.localdate(), **forms)
    return render(request, "kaizen/cycle_detail.html", context)


@require_POST
@login_required
def cycle_close_view(request: HttpRequest, slug: str, cycle_id: int) -> HttpResponse:
    access = team_get_for_user(user=request.user, slug=slug, action=Action.MANAGE)
    cycle = cycle_get(team=access.team, cycle_id=cycle_id)
    form = CycleCloseForm(request.POST)
    if not form.is_valid():
        return _detail_with_errors(request, access, cycle, close_form=form)

    def step(cycle: Cycle) -> str:
        cycle = cycle_close(cycle=cycle, by=request.user, **form.cleaned_data)
        if cycle.follow_up_id:
            return "Cycle closed. A follow-up cycle is open in Plan, prefilled from this one."
        return f"Cycle closed: {cycle.get_act_decision_display().lower()}."

    return _transition(request, slug, cycle_id, step)


@require_POST
@login_required
def cycle_note_view(request: HttpRequest, slug: str, cycle_id: int) -> HttpResponse:
    access = team_get_for_user(user=request.user, slug=slug, action=Action.RECORD)
    cycle = cycle_get(team=access.team, cycle_id=cycle_id)
    form = CycleNoteForm(request.POST)
    note_error = ""
    if form.is_valid():
        try:
            cycle_note_add(cycle=cycle, by=request.user, body=form.cleaned_data["body"])
        except CycleError as error:
            note_error = str(error)
    else:
        note_error = " ".join(form.errors.get("body", ["A note needs some text."]))
    if not request.htmx:
        if note_error and form.is_valid():
            messages.error(request, note_error)
        elif note_error:
            return _detail_with_errors(request, access, cycle, note_form=form)
        return redirect("kaizen:cycle_detail", slug=slug, cycle_id=cycle.id)
    context = cycle_page_context(
        access=access, cycle=cycle, today=timezone.localdate(), chart=False
    )
    context["note_error"] = note_error
    return _htmx_render(request, "kaizen/cycle_detail.html", "journal", context)
