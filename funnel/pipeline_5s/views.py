"""Pipeline 5S: stale and aged open deals per owner, with one-click "mark lost" and "still
alive". One template serves the page and, to htmx, the row an action updated."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from funnel.deals.selectors import deal_can_record, deal_get_for_user_by_slug
from funnel.models import Deal
from funnel.pipeline_5s.selectors import review_counts_by_owner, review_deals, review_for_team
from funnel.pipeline_5s.services import deal_mark_lost, deal_still_alive
from funnel.selectors import Action, team_get_for_user

PAGE_SIZE = 50
TEMPLATE = "pipeline_5s/page.html"


@require_GET
@login_required
def pipeline_5s(request: HttpRequest, slug: str) -> HttpResponse:
    access = team_get_for_user(user=request.user, slug=slug)
    review = review_for_team(team=access.team)
    deals = review_deals(team=access.team, review=review)
    owners = review_counts_by_owner(deals=deals, review=review)
    paginator = Paginator(deals, PAGE_SIZE)
    paginator.count = sum(o.deals for o in owners)  # counted per owner already
    page = paginator.get_page(request.GET.get("page"))
    for deal in page.object_list:
        review.annotate(deal)
        deal.can_act = deal_can_record(access=access, deal=deal, user=request.user)
    context = {
        "access": access,
        "team": access.team,
        "review": review,
        "owners": owners,
        "page": page,
        "stale_total": sum(o.stale for o in owners),
        "aged_total": sum(o.aged for o in owners),
    }
    return render(request, TEMPLATE, context)


def _deal_action(
    request: HttpRequest, slug: str, deal_id: int, act: Callable, done: str
) -> HttpResponse:
    deal, access = deal_get_for_user_by_slug(
        user=request.user, slug=slug, deal_id=deal_id, action=Action.RECORD
    )
    error = ""
    try:
        act(deal=deal, by=request.user)
    except ValidationError as invalid:
        error, done = " ".join(invalid.messages), ""
    if not request.htmx:
        (messages.error if error else messages.success)(request, f"{deal}: {error or done}")
        page = request.POST.get("page", "")
        suffix = f"?page={page}" if page.isdigit() else ""
        return redirect(reverse("pipeline_5s", args=[slug]) + suffix)
    deal = Deal.objects.select_related("owner", "current_stage").get(id=deal.id)
    review_for_team(team=access.team).annotate(deal)
    deal.can_act = True  # passed the record check above
    context = {"access": access, "team": access.team, "deal": deal, "done": done, "error": error}
    response = render(request, f"{TEMPLATE}#deal-row", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_POST
@login_required
def pipeline_5s_mark_lost(request: HttpRequest, slug: str, deal_id: int) -> HttpResponse:
    return _deal_action(request, slug, deal_id, deal_mark_lost, "marked lost.")


@require_POST
@login_required
def pipeline_5s_still_alive(request: HttpRequest, slug: str, deal_id: int) -> HttpResponse:
    return _deal_action(request, slug, deal_id, deal_still_alive, "checked: still alive.")
