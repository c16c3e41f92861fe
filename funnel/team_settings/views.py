"""/teams/<slug>/settings/: the team's name, currency and winnable threshold (managers)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from funnel.selectors import Action, team_get_for_user
from funnel.team_settings.forms import TeamSettingsForm
from funnel.team_settings.services import team_settings_update


@require_http_methods(["GET", "POST"])
@login_required
def team_settings(request: HttpRequest, slug: str) -> HttpResponse:
    access = team_get_for_user(user=request.user, slug=slug, action=Action.MANAGE)
    form = TeamSettingsForm.for_team(
        access.team, request.POST if request.method == "POST" else None
    )
    if request.method == "POST" and form.is_valid():
        team_settings_update(
            team=access.team,
            name=form.cleaned_data["name"],
            currency=form.cleaned_data["currency"],
            winnable_min_difference=form.winnable_min_difference,
            by=request.user,
        )
        messages.success(request, "Settings saved.")
        return redirect("team_settings", slug=access.team.slug)
    status = 400 if request.method == "POST" else 200
    context = {"access": access, "team": access.team, "form": form}
    return render(request, "team_settings/page.html", context, status=status)
