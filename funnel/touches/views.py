"""The tactics page: which tactics earn an answer from prospects."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from funnel.pipeline.tactics import team_tactics_ensure
from funnel.selectors import Action, TeamAccess, team_accesses_for_user, team_get_for_user
from funnel.touches.analysis import tactics_analysis
from funnel.touches.forms import TacticForm, TacticsFilterForm
from funnel.touches.selectors import (
    tactic_counts_for_team,
    tactics_for_team,
    tactics_settings_version,
    tactics_stations,
)
from funnel.touches.services import tactic_update

RESULTS_CACHE_SECONDS = 600


@require_GET
@login_required
def tactics_page(request: HttpRequest, slug: str) -> HttpResponse:
    """Which tactics earn an answer: every member of the team may read it (reps choose their
    tactics every day); outsiders get 404. It reads the counts the recompute keeps (built here
    on the first read); someone on several teams may switch team."""
    started = time.perf_counter()
    access = team_get_for_user(user=request.user, slug=slug)
    team = access.team
    state = team_tactics_ensure(team=team)
    teams = sorted((a.team for a in team_accesses_for_user(user=request.user)), key=str)
    form = TacticsFilterForm(
        request.GET or None,
        stations=tactics_stations(team=team),
        teams=[(t.slug, t.name) for t in teams],
    )
    if (other := form.team_selected(team.slug)) != team.slug:
        url = reverse("tactics_team", args=[other]) + f"?period={form.selected}"
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    tactics = tactics_for_team(team=team, active_only=False) if access.can_manage else None
    results = _results_html(request, access, state, form, tactics)
    if request.htmx:
        response = HttpResponse(results)
    else:
        context = {
            "access": access,
            "team": team,
            "teams": teams,
            "form": form,
            "settings": tactics or [],
            "results_html": mark_safe(results),  # noqa: S308 (rendered by our template)
        }
        response = render(request, "touches/tactics.html", context)
    patch_vary_headers(response, ["HX-Request"])
    response["Server-Timing"] = f"view;dur={(time.perf_counter() - started) * 1000:.1f}"
    return response


def _test_change_url(access: TeamAccess) -> str:
    """The improvement loop's new-cycle form, for those who may plan cycles ("" otherwise):
    resolved by the name in settings, since the loop lives in a layer above this one."""
    name = getattr(settings, "TACTIC_CYCLE_URL_NAME", "")
    if not name or not access.can_manage:
        return ""
    return reverse(name, kwargs={"slug": access.team.slug})


def _results_html(request, access, state, form: TacticsFilterForm, tactics) -> str:
    """The results for these filters, from the cache when this version of the counts was
    rendered already (they only change when a rebuild finishes), else computed and cached."""
    team = access.team
    since = form.since(state.tactics_horizon)
    counted = state.tactics_at.timestamp() if state.tactics_at else 0
    named = tactics_settings_version(team_id=team.id)
    test_change_url = _test_change_url(access)
    key = (
        f"tactics:{team.id}:{counted}:{named}:{since}:{form.station_selected}:"
        f"{int(access.can_manage)}:{test_change_url}"
    )
    results = cache.get(key)
    if results is None:
        counts = tactic_counts_for_team(
            team=team, since=since, station=form.station_filter(), tactics=tactics
        )
        context = {
            "access": access,
            "team": team,
            "form": form,
            "since": since,
            "horizon": state.tactics_horizon,
            "counted_at": state.tactics_at,
            "analysis": tactics_analysis(counts) if counts.tactics else None,
            "test_change_url": test_change_url,
        }
        results = render_to_string("touches/tactics.html#results", context, request=request)
        cache.set(key, results, RESULTS_CACHE_SECONDS)
    return results


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
