"""The stage editor under /teams/<slug>/stages/: managers only.

One page and one partial (`stages/editor.html#stage-editor`): every POST answers an htmx
request with the re-rendered editor, and a plain form post with a redirect back to the page
(or the page with the form's errors).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from funnel.selectors import Action, TeamAccess, team_get_for_user
from funnel.stages.forms import StageAddForm, StageForm, StageMergeForm
from funnel.stages.history import stage_merge, stage_restore, stage_retire
from funnel.stages.selectors import stage_get_for_team, stages_for_editor
from funnel.stages.services import stage_create, stage_move, stage_update

TEMPLATE = "stages/editor.html"


def _access(request: HttpRequest, slug: str) -> TeamAccess:
    return team_get_for_user(user=request.user, slug=slug, action=Action.MANAGE)


def _stage(access: TeamAccess, stage_slug: str):
    stage = stage_get_for_team(team=access.team, slug=stage_slug)
    if stage is None:
        raise Http404("No such stage.")
    return stage


def _render(request: HttpRequest, access: TeamAccess, **extra) -> HttpResponse:
    stages = stages_for_editor(team=access.team)
    errors_for = extra.pop("errors_for", None)
    rows = [
        {
            "stage": s,
            "form": extra.get("form")
            if errors_for == s.slug
            else StageForm(stage=s, prefix=s.slug),
            "merge_errors": extra["merge_form"].errors.get("into", [])
            if errors_for == s.slug and extra.get("merge_form")
            else [],
        }
        for s in stages
    ]
    in_funnel = [r for r in rows if r["stage"].merged_into_id is None]
    context = {
        "access": access,
        "team": access.team,
        "rows": in_funnel,
        "merged": [r for r in rows if r["stage"].merged_into_id is not None],
        "targets": [s for s in stages if s.takes_events],
        "first_id": in_funnel[0]["stage"].id if in_funnel else None,
        "last_id": in_funnel[-1]["stage"].id if in_funnel else None,
        "add_form": extra.get("add_form") or StageAddForm(),
        "message": extra.get("message"),
        "error": extra.get("error"),
    }
    template = f"{TEMPLATE}#stage-editor" if request.htmx else TEMPLATE
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _done(request: HttpRequest, access: TeamAccess, message: str) -> HttpResponse:
    if request.htmx:
        return _render(request, access, message=message)
    return redirect("stage_editor", slug=access.team.slug)


def _form_errors(form, exc: ValidationError) -> None:
    for field, messages in exc.message_dict.items():
        field = "target_conversion_pct" if field == "target_conversion" else field
        form.add_error(field if field in form.fields else None, messages)


@require_GET
@login_required
def stage_editor(request: HttpRequest, slug: str) -> HttpResponse:
    return _render(request, _access(request, slug))


@require_POST
@login_required
def stage_add(request: HttpRequest, slug: str) -> HttpResponse:
    access = _access(request, slug)
    form = StageAddForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            stage = stage_create(
                team=access.team,
                slug=data["slug"],
                name=data["name"],
                station=data["station"],
                target_conversion=data["target_conversion"],
                target_days=data["target_days"],
                by=request.user,
            )
            return _done(request, access, f"Added {stage.name} at the end of the funnel.")
        except ValidationError as exc:
            _form_errors(form, exc)
    return _render(request, access, add_form=form)


@require_POST
@login_required
def stage_edit(request: HttpRequest, slug: str, stage_slug: str) -> HttpResponse:
    access = _access(request, slug)
    stage = _stage(access, stage_slug)
    form = StageForm(request.POST, stage=stage, prefix=stage.slug)
    if form.is_valid():
        data = form.cleaned_data
        try:
            changed = stage_update(
                stage=stage,
                name=data["name"],
                station=data["station"],
                target_conversion=data["target_conversion"],
                target_days=data["target_days"],
                by=request.user,
            )
            return _done(request, access, f"Saved {stage.name}." if changed else "No change.")
        except ValidationError as exc:
            _form_errors(form, exc)
    return _render(request, access, form=form, errors_for=stage.slug)


@require_POST
@login_required
def stage_move_view(request: HttpRequest, slug: str, stage_slug: str) -> HttpResponse:
    access = _access(request, slug)
    stage = _stage(access, stage_slug)
    if request.POST.get("direction") not in {"up", "down"}:
        return _render(request, access, error="Move a stage up or down.")
    up = request.POST["direction"] == "up"
    stage_move(stage=stage, up=up, by=request.user)
    return _done(request, access, f"Moved {stage.name} {'up' if up else 'down'}.")


@require_POST
@login_required
def stage_retire_view(request: HttpRequest, slug: str, stage_slug: str) -> HttpResponse:
    access = _access(request, slug)
    stage = _stage(access, stage_slug)
    restore = request.POST.get("restore") == "1"
    try:
        (stage_restore if restore else stage_retire)(stage=stage, by=request.user)
    except ValidationError as exc:
        return _render(request, access, error=" ".join(exc.messages))
    verb = "back in use" if restore else "retired; its history stays"
    return _done(request, access, f"{stage.name} is {verb}.")


@require_POST
@login_required
def stage_merge_view(request: HttpRequest, slug: str, stage_slug: str) -> HttpResponse:
    access = _access(request, slug)
    stage = _stage(access, stage_slug)
    form = StageMergeForm(request.POST, stage=stage)
    if form.is_valid():
        into = form.cleaned_data["into"]
        try:
            stage_merge(stage=stage, into=into, by=request.user)
            return _done(request, access, f"{stage.name}'s events now count for {into.name}.")
        except ValidationError as exc:
            _form_errors(form, exc)
    return _render(request, access, merge_form=form, errors_for=stage.slug)
