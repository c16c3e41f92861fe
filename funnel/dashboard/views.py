"""The bottleneck dashboard: the company page and a team's page.

Each view serves the full page and, to htmx, its live part. The page polls its own URL with
the token of what it shows (`?since=`): while no recompute has finished the answer is a 204
after one query, so a room full of open dashboards costs almost nothing; when one has, the
live part is swapped in place.
"""

from __future__ import annotations

import time

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from funnel.dashboard import context as build
from funnel.dashboard.selectors import company_dashboard_get, status_token, team_dashboard_get
from funnel.models import Role
from funnel.selectors import team_accesses_for_user, team_get_for_user

POLL_SECONDS = 3


def _timed(request: HttpRequest, template: str, context: dict, started: float) -> HttpResponse:
    if request.htmx:
        template += "#live"
    response = render(request, template, {**context, "poll_seconds": POLL_SECONDS})
    patch_vary_headers(response, ["HX-Request"])
    response["Cache-Control"] = "no-store"
    response["Server-Timing"] = f"view;dur={(time.perf_counter() - started) * 1000:.1f}"
    return response


@require_GET
@login_required
def company_dashboard(request: HttpRequest) -> HttpResponse:
    started = time.perf_counter()
    accesses = team_accesses_for_user(user=request.user)
    team_ids = [a.team.id for a in accesses]
    token = status_token(team_ids=team_ids)
    if request.htmx and request.GET.get("since") == token:
        return HttpResponse(status=204)
    whole_company = any(a.role == Role.EXECUTIVE for a in accesses)
    data = company_dashboard_get(team_ids=team_ids, whole_company=whole_company)
    context = build.company_context(accesses=accesses, data=data, whole_company=whole_company)
    context.update(token=token, poll_url=reverse("company_dashboard"))
    return _timed(request, "dashboard/company.html", context, started)


@require_GET
@login_required
def team_dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    started = time.perf_counter()
    access = team_get_for_user(user=request.user, slug=slug)
    token = status_token(team_ids=[access.team.id])
    if request.htmx and request.GET.get("since") == token:
        return HttpResponse(status=204)
    data = team_dashboard_get(team=access.team)
    context = build.team_context(access=access, data=data)
    context.update(
        token=token,
        poll_url=reverse("team_dashboard", args=[slug]),
        cycle_start_url=_cycle_start_url(access) if data.status else None,
    )
    return _timed(request, "dashboard/team.html", context, started)


def _cycle_start_url(access) -> str | None:
    """Where a manager starts a PDCA cycle at the bottleneck (the kaizen pages), if installed."""
    if not access.can_manage:
        return None
    try:
        return reverse("kaizen:cycle_new", args=[access.team.slug]) + "?from=bottleneck"
    except NoReverseMatch:
        return None
