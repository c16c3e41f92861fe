"""The tactics page: which tactics earn an answer from prospects."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods

from funnel.selectors import Action, TeamAccess, team_get_for_user
from funnel.touches.analysis import tactics_analysis
from funnel.touches.forms import TacticForm, TacticsPeriodForm
from funnel.touches.selectors import tactics_for_team, touch_counts_for_team, touches_horizon
from funnel.touches.services import tactic_update


@require_GET
@login_required
def tactics_page(request: HttpRequest, slug: str) -> HttpResponse:
    """Which tactics earn an answer: every member of the team may read it (reps choose their
    tactics every day); outsiders get 404."""
    access = team_get_for_user(user=request.user, slug=slug)
    form = TacticsPeriodForm(request.GET or None)
    months = form.months()
    horizon = touches_horizon(team=access.team)
    since = (
        None
        if months is None or horizon is None
        else horizon - dt.timedelta(days=round(months * 365.25 / 12))
    )
    counts = touch_counts_for_team(team=access.team, since=since)
    context = {
        "access": access,
        "team": access.team,
        "form": form,
        "since": since,
        "horizon": horizon,
        "analysis": tactics_analysis(counts) if counts.tactics else None,
        "settings": tactics_for_team(team=access.team, active_only=False)
        if access.can_manage
        else [],
        "test_change_url": _test_change_url(access),
    }
    template = "touches/tactics.html" + ("#results" if request.htmx else "")
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _test_change_url(access: TeamAccess) -> str:
    """The improvement loop's new-cycle form, for those who may plan cycles ("" otherwise):
    resolved by the name in settings, since the loop lives in a layer above this one."""
    name = getattr(settings, "TACTIC_CYCLE_URL_NAME", "")
    if not name or not access.can_manage:
        return ""
    return reverse(name, kwargs={"slug": access.team.slug})


@require_http_methods(["GET", "POST"])
@login_required
def tactic_edit(request: HttpRequest, slug: str, tactic_slug: str) -> HttpResponse:
    """A manager changes a tactic's cost, its response window (a new rule version) or retires
    it. Other roles 403, outsiders 404."""
    access = team_get_for_user(user=request.user, slug=slug, action=Action.MANAGE)
    tactic = next(
        (t for t in tactics_for_team(team=access.team, active_only=False) if t.slug == tactic_slug),
        None,
    )
    if tactic is None:
        raise Http404("No such tactic.")
    initial = {
        "name": tactic.name,
        "channel": tactic.channel,
        "cost_per_touch": tactic.cost_per_touch,
        "window_days": tactic.rule.window_days if tactic.rule else None,
        "is_active": tactic.is_active,
    }
    form = TacticForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        tactic_update(tactic=tactic, by=request.user, **form.cleaned_data)
        messages.success(request, f"{form.cleaned_data['name']} saved.")
        return redirect("tactics_team", slug=access.team.slug)
    context = {"access": access, "team": access.team, "tactic": tactic, "form": form}
    return render(request, "touches/tactic_form.html", context, status=422 if form.errors else 200)
