"""/healthz: the database, the broker and the recompute lag, for load balancers and probes."""

import datetime as dt

import pytest
from django.db import OperationalError, connections
from django.urls import reverse
from django.utils import timezone

from funnel.models import RecomputeState
from kaizen.celery import app
from kaizen.health import health_report

URL = reverse("healthz")
# Nothing listens on port 1: the connection is refused at once.
UNREACHABLE_BROKER = "redis://127.0.0.1:1/0"


@pytest.fixture
def broker_down():
    """Celery sends to a broker that refuses connections (the app's configuration, no mock)."""
    previous = app.conf.task_always_eager, app.conf.get("broker_write_url")
    app.conf.task_always_eager = False
    app.conf.broker_write_url = UNREACHABLE_BROKER  # what producers connect to
    yield
    app.conf.task_always_eager, app.conf.broker_write_url = previous


@pytest.fixture
def database_down(monkeypatch):
    """Django's connection fails as it does when the server is gone."""

    def refused(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connections["default"], "cursor", refused)


@pytest.mark.django_db
def test_healthy_without_logging_in(client):
    response = client.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    # No broker configured: tasks run eagerly, nothing to reach.
    assert body["broker"] == {"ok": True, "mode": "eager"}
    assert body["recompute_lag_seconds"] == 0.0
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_reports_the_oldest_waiting_recompute_over_all_teams(client, team, other_team):
    now = timezone.now()
    RecomputeState.objects.create(
        team=team, queued=True, requested_at=now - dt.timedelta(seconds=30)
    )
    RecomputeState.objects.create(
        team=other_team, queued=True, requested_at=now - dt.timedelta(seconds=90)
    )
    body = client.get(URL).json()
    assert 90 <= body["recompute_lag_seconds"] < 120
    assert body["status"] == "ok"  # a queue is slow, not down


@pytest.mark.django_db
def test_unreachable_broker_is_503_naming_the_broker(client, broker_down):
    response = client.get(URL)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "failing"
    assert body["broker"] == {"ok": False, "error": "OperationalError"}
    assert body["database"]["ok"] is True


@pytest.mark.django_db
def test_unreachable_database_is_503_naming_the_database(client, database_down):
    response = client.get(URL)
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == {"ok": False, "error": "OperationalError"}
    assert body["broker"]["ok"] is True
    assert body["recompute_lag_seconds"] is None


@pytest.mark.django_db
def test_failures_are_logged_in_full(client, broker_down, caplog):
    client.get(URL)
    assert any(
        r.name == "kaizen.health"
        and "broker check failed" in r.getMessage()
        and "Connection refused" in r.getMessage()
        for r in caplog.records
    )


@pytest.mark.django_db
def test_wrong_method_is_405(client):
    assert client.post(URL).status_code == 405


@pytest.mark.django_db
def test_plain_http_probe_is_not_redirected_in_production(client, settings):
    """With the HTTPS redirect on, a probe over plain HTTP under an allowed host gets its answer,
    where any other page is redirected."""
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["sales.example.com"]
    assert client.get(URL, HTTP_HOST="sales.example.com").status_code == 200
    login = client.get(reverse("login"), HTTP_HOST="sales.example.com")
    assert login.status_code == 301
    assert login["Location"].startswith("https://")
    # Django answers only the hosts it serves: a probe must send one of them (docker-compose).
    assert client.get(URL, HTTP_HOST="127.0.0.1").status_code == 400


@pytest.mark.integration
@pytest.mark.django_db
def test_a_real_redis_broker_answers():
    report = health_report()
    assert report.ok
    assert report.broker["ok"] is True and report.broker["mode"] == "redis"
