"""`manage.py healthcheck`: the worker and beat containers' probe (the /healthz checks)."""

import json
import os
import secrets
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from kaizen.celery import app
from tests.integration_support import PROJECT_DIR

UNREACHABLE_BROKER = "redis://127.0.0.1:1/0"


@pytest.mark.django_db
def test_healthy_prints_the_report():
    out = StringIO()
    call_command("healthcheck", stdout=out)
    report = json.loads(out.getvalue())
    assert report["status"] == "ok"
    assert report["database"]["ok"] and report["broker"]["ok"]
    assert report["recompute_lag_seconds"] == 0.0


@pytest.mark.django_db
def test_unreachable_broker_fails_naming_it():
    previous = app.conf.task_always_eager, app.conf.get("broker_write_url")
    app.conf.task_always_eager, app.conf.broker_write_url = False, UNREACHABLE_BROKER
    out = StringIO()
    try:
        with pytest.raises(CommandError, match="broker failing"):
            call_command("healthcheck", stdout=out)
    finally:
        app.conf.task_always_eager, app.conf.broker_write_url = previous
    report = json.loads(out.getvalue())
    assert report["status"] == "failing"
    assert report["broker"] == {"ok": False, "error": "OperationalError"}


def test_exit_status_is_what_docker_reads(tmp_path):
    """Run as the containers run it: status 0 when healthy, 1 when the broker is down."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"TEST_DATABASE_NAME", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env |= {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'probe.sqlite3'}",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "0",
    }

    def probe(**extra) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", "healthcheck"],
            cwd=PROJECT_DIR,
            env=env | extra,
            capture_output=True,
            text=True,
            timeout=120,
        )

    healthy = probe()
    assert healthy.returncode == 0, healthy.stderr
    assert json.loads(healthy.stdout)["broker"] == {"ok": True, "mode": "eager"}
    broken = probe(CELERY_BROKER_URL=UNREACHABLE_BROKER)
    assert broken.returncode == 1
    assert json.loads(broken.stdout)["broker"]["ok"] is False
    assert "broker failing" in broken.stderr
