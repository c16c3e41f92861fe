"""The 403 page: what the user's role may do instead, and the way back to their team.

404 and 500 use Django's own handlers with templates/404.html and 500.html; the 500 page
renders without a request context (no database), so it shows the frame without the user.
"""

import logging

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from funnel.models import Role
from funnel.selectors import TeamAccess, team_get_for_user

logger = logging.getLogger(__name__)

ROLE_MAY = {
    Role.REP: "As a rep you record stage changes and observations on your own deals, agree to "
    "the definitions and follow the team's dashboard and kaizen board. Targets, the winnable "
    "analysis, imports and the team's settings are for its managers.",
    Role.EXECUTIVE: "As an executive you can read every team's dashboard, funnel, deals, "
    "definitions and kaizen board, but not change them: each team's manager makes the changes.",
    Role.MANAGER: "As a manager you change this team's set-up, targets and PDCA cycles; this "
    "page or action is kept for someone else.",
}


def _with_article(word: str) -> str:
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"


def _team_access(request: HttpRequest) -> TeamAccess | None:
    """The user's access to the team in the refused URL, if they may see that team at all."""
    match = getattr(request, "resolver_match", None)
    slug = match.kwargs.get("slug") if match else None
    if not slug or not request.user.is_authenticated:
        return None
    try:
        return team_get_for_user(user=request.user, slug=slug)
    except (Http404, PermissionDenied):
        return None


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    access = _team_access(request)
    logger.info(
        "403 for user=%s at %s: %s", getattr(request.user, "pk", None), request.path, exception
    )
    context = {
        "access": access,
        "team": access.team if access else None,
        "reason": str(exception) if exception else "",
        "role_may": ROLE_MAY.get(access.role, "") if access else "",
        "role_phrase": _with_article(access.role_label.lower()) if access else "",
    }
    return render(request, "403.html", context, status=403)
