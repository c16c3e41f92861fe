"""The tactics page: which tactics earn an answer from prospects."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from funnel.selectors import team_get_for_user
from funnel.touches.analysis import tactics_analysis
from funnel.touches.forms import TacticsPeriodForm
from funnel.touches.selectors import touch_counts_for_team, touches_horizon


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
    }
    template = "touches/tactics.html" + ("#results" if request.htmx else "")
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response
