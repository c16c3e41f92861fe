"""The glossary page: every term, for any signed-in user."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from funnel.glossary.terms import TERMS


@require_GET
@login_required
def glossary(request: HttpRequest) -> HttpResponse:
    terms = sorted(TERMS, key=lambda t: t.name.casefold())
    return render(request, "glossary/glossary.html", {"terms": terms})
