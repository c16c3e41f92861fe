from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods

from funnel.forms import StageTargetsForm
from funnel.members.selectors import user_is_administrator
from funnel.models import Role, Stage, Team
from funnel.selectors import (
    Action,
    TeamFigures,
    memberships_for_team,
    stage_targets_in_use,
    stages_with_definitions_for_team,
    team_accesses_for_user,
    team_figures_for_user,
    team_get_for_user,
)
from funnel.stages.services import stage_targets_set


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    accesses = team_accesses_for_user(user=request.user)
    figures = team_figures_for_user(user=request.user, team_ids=[a.team.id for a in accesses])
    roles = {a.role for a in accesses}
    is_administrator = user_is_administrator(user=request.user)
    context = {
        "teams": [(a, figures[a.team.id]) for a in accesses],
        "is_executive": Role.EXECUTIVE in roles,
        "is_administrator": is_administrator,
        # Administrators set up every team, also those they are not on (its members page).
        "all_teams": list(Team.objects.order_by("name")) if is_administrator else [],
        "roles": [Role(r) for r in Role.values if r in roles],
        "totals": TeamFigures(
            open_deals=sum(f.open_deals for f in figures.values()),
            won_recent=sum(f.won_recent for f in figures.values()),
            lost_recent=sum(f.lost_recent for f in figures.values()),
        ),
    }
    return render(request, "funnel/home.html", context)


@require_GET
@login_required
def team_overview(request: HttpRequest, slug: str) -> HttpResponse:
    access = team_get_for_user(user=request.user, slug=slug)
    memberships = memberships_for_team(team=access.team)
    members_by_role = [
        (role, [m for m in memberships if m.role == role])
        for role in (Role.MANAGER, Role.REP, Role.EXECUTIVE)
    ]
    stages = stages_with_definitions_for_team(team=access.team)
    stage_targets_in_use(team=access.team, stages=stages)
    context = {
        "access": access,
        "team": access.team,
        "stages": stages,
        "members_by_role": members_by_role,
    }
    return render(request, "funnel/team_overview.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def stage_targets(request: HttpRequest, slug: str, stage_slug: str) -> HttpResponse:
    access = team_get_for_user(user=request.user, slug=slug, action=Action.MANAGE)
    stage = get_object_or_404(Stage, team=access.team, slug=stage_slug)
    form = StageTargetsForm(request.POST or None, stage=stage)
    if request.method == "POST" and form.is_valid():
        stage_targets_set(
            stage=stage,
            target_conversion=form.cleaned_data["target_conversion"],
            target_days=form.cleaned_data["target_days"],
            by=request.user,
        )
        if not request.htmx:
            return redirect("team_overview", slug=access.team.slug)
        form = StageTargetsForm(stage=stage)
        saved = True
    else:
        saved = False
    stage_targets_in_use(team=access.team, stages=[stage])
    template = "funnel/stage_targets.html"
    if request.htmx:
        template += "#targets-form"
    response = render(
        request,
        template,
        {"access": access, "team": access.team, "stage": stage, "form": form, "saved": saved},
    )
    patch_vary_headers(response, ["HX-Request"])
    return response
