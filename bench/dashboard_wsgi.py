"""The project's WSGI app with a Server-Timing header of Django's own time, for the benchmark.

Django calls start_response once the response is built (middleware, session, view, template),
so the time until then is the server's time for the request, without the time spent queued
in gunicorn or on the wire. It serves bench.dashboard_urls: the project's URLs plus the floor
view the pages are judged against.
"""

import time

from django.conf import settings

from kaizen.wsgi import application as django_application

settings.ROOT_URLCONF = "bench.dashboard_urls"


def application(environ, start_response):
    started = time.perf_counter()

    def timed_start_response(status, headers, exc_info=None):
        elapsed = (time.perf_counter() - started) * 1000
        headers = [*headers, ("Server-Timing", f"app;dur={elapsed:.2f}")]
        return start_response(status, headers, exc_info)

    return django_application(environ, timed_start_response)
