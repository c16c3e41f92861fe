"""The deal page's touch panel: a rep's one-tap touch and the prospect's answer to it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST

from funnel.deals.selectors import deal_can_record, deal_get_for_user_by_slug
from funnel.models import Deal
from funnel.selectors import Action, TeamAccess
from funnel.touches.forms import TouchForm, TouchResponseForm
from funnel.touches.selectors import touch_get_for_deal, touch_panel_for_deal
from funnel.touches.services import touch_record, touch_response_set

PANEL = "deals/_touches.html"


@require_POST
@login_required
def touch_record_view(request: HttpRequest, slug: str, deal_id: int) -> HttpResponse:
    deal, access = deal_get_for_user_by_slug(
        user=request.user, slug=slug, deal_id=deal_id, action=Action.RECORD
    )
    form = TouchForm(request.POST, team=deal.team)
    if not form.is_valid():
        error = " ".join(m for ms in form.errors.values() for m in ms)
        return _panel(request, deal, access, error=error, status=422)
    tactic = form.cleaned_data["tactic"]
    touch = touch_record(deal=deal, tactic=tactic, by=request.user)
    message = f"{tactic.name} logged. Did they answer? Tap “They answered” when they do."
    return _after_write(request, deal, access, message, touch.id)


@require_POST
@login_required
def touch_response_view(request: HttpRequest, slug: str, deal_id: int, touch_id: int):
    deal, access = deal_get_for_user_by_slug(
        user=request.user, slug=slug, deal_id=deal_id, action=Action.RECORD
    )
    touch = touch_get_for_deal(deal=deal, touch_id=touch_id)
    if touch is None:
        raise Http404("No such touch.")
    form = TouchResponseForm(request.POST)
    if not form.is_valid():
        return _panel(request, deal, access, error="Choose whether they answered.", status=422)
    touch_response_set(touch=touch, responded=form.value())
    answered = touch.responded
    message = f"{touch.tactic.name}: " + ("answered." if answered else "answer cleared.")
    return _after_write(request, deal, access, message, touch.id)


def _after_write(request, deal: Deal, access: TeamAccess, message: str, touch_id: int):
    if not request.htmx:
        messages.success(request, message)
        return redirect("deal_detail", slug=deal.team.slug, deal_id=deal.id)
    return _panel(request, deal, access, saved=message, saved_id=touch_id)


def _panel(
    request: HttpRequest,
    deal: Deal,
    access: TeamAccess,
    *,
    saved: str = "",
    saved_id: int | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    if not request.htmx:
        messages.error(request, error)
        return redirect("deal_detail", slug=deal.team.slug, deal_id=deal.id)
    context = {
        "team": deal.team,
        "deal": deal,
        "access": access,
        "can_record": deal_can_record(access=access, deal=deal, user=request.user),
        "touch_saved": saved,
        "touch_saved_id": saved_id,
        "touch_error": error,
        **touch_panel_for_deal(deal=deal),
    }
    response = render(request, PANEL, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response
