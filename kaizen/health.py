"""Can this instance do its work: the database answers, the Celery broker answers, and how long
the oldest recompute request has been waiting for a run.

`/healthz` serves it to load balancers and the web container's probe (no login; exempt from the
HTTPS redirect, see SECURE_REDIRECT_EXEMPT); `manage.py healthcheck` runs the same checks in the
worker and beat containers. The lag is reported, not judged: a long queue is slow, not down.
Failures are named in the answer (the exception's class only, since the endpoint is public) and
logged in full.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from funnel.pipeline.request import oldest_pending_recompute_seconds
from kaizen.celery import app

logger = logging.getLogger(__name__)

# A probe must answer well within its own timeout (docker-compose gives it 10 s).
BROKER_TIMEOUT_SECONDS = 2


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def database_check() -> dict:
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:
        logger.warning("health: database check failed: %r", error)
        return {"ok": False, "error": type(error).__name__}
    return {"ok": True, "ms": _ms(started)}


def broker_check() -> dict:
    """Connect to the broker once, with a short timeout. Without a broker (the embedded
    default) tasks run eagerly in process: nothing to reach, so that is healthy."""
    if app.conf.task_always_eager or app.conf.broker_write_url.startswith("memory://"):
        return {"ok": True, "mode": "eager"}
    started = time.perf_counter()
    timeouts = {
        "socket_connect_timeout": BROKER_TIMEOUT_SECONDS,
        "socket_timeout": BROKER_TIMEOUT_SECONDS,
    }
    try:
        with app.connection_for_write(
            connect_timeout=BROKER_TIMEOUT_SECONDS, transport_options=timeouts
        ) as broker:
            transport = broker.transport_cls
            # One retry at once, for a connection the broker dropped; no sleeping in a probe.
            broker.ensure_connection(
                max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT_SECONDS
            )
    except Exception as error:
        logger.warning("health: broker check failed: %r", error)
        return {"ok": False, "error": type(error).__name__}
    return {"ok": True, "mode": transport, "ms": _ms(started)}


def recompute_lag_check(*, database_ok: bool) -> float | None:
    """Seconds the oldest waiting recompute request has waited (0 when none); None when the
    database cannot say."""
    if not database_ok:
        return None
    try:
        return round(oldest_pending_recompute_seconds(), 1)
    except Exception as error:
        logger.warning("health: recompute lag not read: %r", error)
        return None


@dataclass(frozen=True)
class HealthReport:
    database: dict
    broker: dict
    recompute_lag_seconds: float | None

    @property
    def ok(self) -> bool:
        return self.database["ok"] and self.broker["ok"]

    @property
    def failing(self) -> list[str]:
        return [name for name in ("database", "broker") if not getattr(self, name)["ok"]]

    def as_dict(self) -> dict:
        return {
            "status": "ok" if self.ok else "failing",
            "database": self.database,
            "broker": self.broker,
            "recompute_lag_seconds": self.recompute_lag_seconds,
        }


def health_report() -> HealthReport:
    database = database_check()
    return HealthReport(
        database=database,
        broker=broker_check(),
        recompute_lag_seconds=recompute_lag_check(database_ok=database["ok"]),
    )


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the broker answer, 503 naming what does not."""
    report = health_report()
    return JsonResponse(report.as_dict(), status=200 if report.ok else 503)
