"""The bottleneck dashboard: the company page and a team's page.

Each view serves the full page and, to htmx, its live part. The page polls its own URL with
the token of what it shows (`?since=`): while no recompute has finished the answer is a 204
after one query, so a room full of open dashboards costs almost nothing; when one has, the
live part is swapped in place.
"""

from __future__ import annotations

import hashlib
import time

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from funnel.models import Role
from funnel.periods import WINDOW_CHOICES, PeriodForm
from funnel.selectors import team_accesses_for_user, team_get_for_user
from kaizen.dashboard import context as contexts
from kaizen.dashboard.company import company_dashboard_get
from kaizen.dashboard.selectors import (
    status_token,
    team_dashboard_get,
    team_horizon,
    team_latest_status,
)

POLL_SECONDS = 3
CACHE_SECONDS = 600


def _page(request, template: str, key: str, build_context, page_context: dict, started: float):
    """The live part from the cache when this version of the snapshots was rendered already
    (the snapshots only change when a recompute finishes), else rendered and cached; then the
    page around it, or the live part alone for htmx."""
    live = cache.get(key)
    if live is None:
        context = {**build_context(), "poll_seconds": POLL_SECONDS}
        live = render_to_string(f"{template}#live", context, request=request)
        cache.set(key, live, CACHE_SECONDS)
    if request.htmx:
        response = HttpResponse(live)
    else:
        response = render(request, template, {**page_context, "live_html": mark_safe(live)})  # noqa: S308
    patch_vary_headers(response, ["HX-Request"])
    response["Cache-Control"] = "no-store"
    response["Server-Timing"] = f"view;dur={(time.perf_counter() - started) * 1000:.1f}"
    return response


@require_GET
@login_required
def company_dashboard(request: HttpRequest) -> HttpResponse:
    started = time.perf_counter()
    accesses = team_accesses_for_user(user=request.user)
    team_ids = sorted(a.team.id for a in accesses)
    token = status_token(team_ids=team_ids)
    if request.htmx and request.GET.get("since") == token:
        return HttpResponse(status=204)
    whole_company = any(a.role == Role.EXECUTIVE for a in accesses)
    # The default is each team at its own horizon (the live snapshots); a date judges every
    # team, and the company, as of that date.
    period = PeriodForm(request.GET).period(today=timezone.localdate(), horizon=None)
    url = reverse("company_dashboard")

    def build() -> dict:
        data = company_dashboard_get(team_ids=team_ids, whole_company=whole_company, period=period)
        context = contexts.company_context(
            accesses=accesses, data=data, whole_company=whole_company
        )
        poll = period.query().lstrip("?") + "&" if period.query() else ""
        return {**context, "token": token, "poll_url": url, "poll_query": poll}

    teams = hashlib.blake2b(repr(team_ids).encode(), digest_size=8).hexdigest()
    key = (
        f"dashboard:company:{teams}:{whole_company}:{token}:"
        f"{period.end}:{period.window_param}:{period.default}"
    )
    page = {
        "whole_company": whole_company,
        "period": period,
        "period_url": url,
        "period_windows": WINDOW_CHOICES,
        "period_judged": "each team at its own data horizon" if period.default else "",
    }
    return _page(request, "dashboard/company.html", key, build, page, started)


@require_GET
@login_required
def team_dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    """The team's verdict and charts for an analysis period (`?as_of=&window=`; the default
    is the team's data horizon, whose verdict is the live snapshot)."""
    started = time.perf_counter()
    access = team_get_for_user(user=request.user, slug=slug)
    # The page says how far behind its figures are, so a new request shows at the next poll.
    token = status_token(team_ids=[access.team.id], recompute_requests=True)
    if request.htmx and request.GET.get("since") == token:
        return HttpResponse(status=204)
    horizon = team_horizon(team_latest_status(team=access.team))
    period = PeriodForm(request.GET).period(today=timezone.localdate(), horizon=horizon)
    url = reverse("team_dashboard", args=[slug])

    def build() -> dict:
        data = team_dashboard_get(team=access.team, period=period)
        context = contexts.team_context(access=access, data=data)
        start = _cycle_start_url(access) if data.status else None
        poll = period.query().lstrip("?") + "&" if period.query() else ""
        return {
            **context,
            "token": token,
            "poll_url": url,
            "poll_query": poll,
            "cycle_start_url": start,
        }

    # What the live part shows depends on the snapshots' version, the viewer's role and the
    # weeks of the period (its figures depend on the week of as_of only).
    key = (
        f"dashboard:team:{access.team.id}:{access.role}:{token}:"
        f"{period.end}:{period.window_param}:{period.default}"
    )
    page = {
        "access": access,
        "team": access.team,
        "board_url": reverse("kaizen:cycle_board", args=[access.team.slug]),
        "period": period,
        "period_url": url,
        "period_windows": WINDOW_CHOICES,
        "period_judged": "verdict over 13 weeks, charts over all weeks"
        if period.window is None
        else "",
    }
    return _page(request, "dashboard/team.html", key, build, page, started)


def _cycle_start_url(access) -> str | None:
    """Where a manager starts a PDCA cycle at the bottleneck."""
    if not access.can_manage:
        return None
    return reverse("kaizen:cycle_new", args=[access.team.slug]) + "?from=bottleneck"
