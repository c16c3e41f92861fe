"""The benchmark's URLs: the project's own, plus the floor a dashboard page is judged against.

`/bench/floor/` answers a fixed body behind `login_required`, through the same gunicorn and
middleware stack as the pages (the session and the user are read, as for any signed-in page):
what a request costs before the page reads or renders anything. bench.dashboard_wsgi serves
these URLs; the product never does.
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.decorators.http import require_GET

from kaizen.urls import handler403, handler500  # noqa: F401 (the project's error pages)

FLOOR_BODY = b"<!doctype html><title>floor</title><p>A fixed answer.</p>"


@require_GET
@login_required
def floor(request: HttpRequest) -> HttpResponse:
    return HttpResponse(FLOOR_BODY)


urlpatterns = [path("bench/floor/", floor), path("", include("kaizen.urls"))]
