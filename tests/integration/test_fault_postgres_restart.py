"""PostgreSQL restarted under a bounded API load (issue 17, item 5): every batch answered 2xx
has all its events stored, every other answer is 503 with Retry-After, never a 500.

The app runs in gunicorn against a PRIVATE PostgreSQL cluster (tests/fault_services.py), a copy
of the migrated test database, so stopping it touches no one else; its Celery messages go to a
private redis-server that no worker reads (the runs are not what this test is about).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from funnel.models import ApiToken
from funnel.services import team_create
from tests.fault_services import PrivatePostgres, PrivateRedis, free_port
from tests.integration_support import PROJECT_DIR, database_url, wait_for

pytestmark = pytest.mark.integration

NOW = timezone.now().replace(minute=0, second=0, microsecond=0)


def api_token(team) -> str:
    token, prefix, token_hash = ApiToken.generate()
    ApiToken.objects.create(team=team, name="CRM", prefix=prefix, token_hash=token_hash)
    return token


def api_event(event_id: str, deal: str, when: dt.datetime) -> dict:
    return {
        "id": event_id,
        "deal": {"id": deal},
        "occurred_at": when.isoformat(),
        "stage": "inquiry",
    }


BATCHES, EVENTS_PER_BATCH, THREADS = 200, 10, 4
# A client honouring Retry-After would wait 5 s; these wait this long, so the file stays short.
PAUSE_AFTER_503 = 0.3


class Load:
    """THREADS clients sending BATCHES batches, each answer recorded with its batch."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self.todo = list(range(BATCHES))
        self.lock = threading.Lock()
        self.answers: list[tuple[int, int, str | None]] = []  # batch, status, Retry-After
        self.failures: list[tuple[int, str]] = []  # no HTTP answer at all

    def body(self, batch: int) -> bytes:
        when = NOW - dt.timedelta(days=1)
        events = [
            api_event(f"L{batch}-{i}", f"L-{batch}-{i}", when) for i in range(EVENTS_PER_BATCH)
        ]
        return json.dumps({"events": events}).encode()

    def client(self) -> None:
        while True:
            with self.lock:
                if not self.todo:
                    return
                batch = self.todo.pop(0)
            request = urllib.request.Request(
                self.url,
                data=self.body(batch),
                headers={
                    "Authorization": f"Bearer {self.token}",
                    "Content-Type": "application/json",
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    answer = (batch, response.status, None)
            except urllib.error.HTTPError as error:
                answer = (batch, error.code, error.headers.get("Retry-After"))
            except OSError as error:
                with self.lock:
                    self.failures.append((batch, repr(error)))
                continue
            with self.lock:
                self.answers.append(answer)
            if answer[1] == 503:
                time.sleep(PAUSE_AFTER_503)

    def count(self, status: int) -> int:
        with self.lock:
            return sum(1 for _, code, _ in self.answers if code == status)


def _serve(pg: PrivatePostgres, broker: str, log_path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": pg.url("kaizen"),
        "CELERY_BROKER_URL": broker,  # a queue no worker reads: the runs just wait there
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
    }
    command = [
        sys.executable, "-m", "gunicorn", "kaizen.wsgi", "--bind", f"127.0.0.1:{port}",
        "--workers", "2", "--threads", "2", "--timeout", "60",
    ]  # fmt: skip
    log = log_path.open("ab")
    server = subprocess.Popen(command, cwd=PROJECT_DIR, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                return True
        except urllib.error.HTTPError:
            return True  # answering at all is enough here
        except OSError:
            return False

    wait_for(up, timeout=60, what="the web server")
    return server, base


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def test_postgresql_restarted_under_api_load_answers_2xx_or_503(
    transactional_db, private_redis, tmp_path
):
    """The app served by gunicorn on a private cluster (a copy of the migrated test database)
    while THREADS clients send BATCHES batches; the cluster is stopped with a fast shutdown
    (what `pg_ctl restart -m fast` does first, with the gap made long enough to be seen) and
    started again. Every batch answered 2xx has all its events stored; every other answer is a
    503 with Retry-After, including the requests in flight at the shutdown (their connection
    is terminated mid-statement). Such a batch may still have been stored if the connection
    broke during its commit: a client repeats it, and its event ids make that a duplicate.
    No request may go without an HTTP answer, since the web server itself stays up."""
    team = team_create(slug="load", name="Load")
    token = api_token(team)
    pg = PrivatePostgres()
    server = None
    try:
        pg.init()
        pg.start()
        # The test database as it stands: migrated, with this team and its token.
        pg.copy_database(source_url=database_url(connection.settings_dict), name="kaizen")
        server, base = _serve(pg, private_redis.url(db=1), tmp_path / "gunicorn.log")
        load = Load(f"{base}/api/v1/events", token)
        clients = [threading.Thread(target=load.client) for _ in range(THREADS)]
        for thread in clients:
            thread.start()
        wait_for(lambda: load.count(200) >= 20, timeout=60, what="20 batches stored")
        pg.stop()  # a fast shutdown: open connections are terminated mid-request
        wait_for(lambda: load.count(503) >= 3, timeout=30, what="503s while it is down")
        pg.start()
        stored_before_restart = load.count(200)
        for thread in clients:
            thread.join(timeout=120)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        # (the cluster is read below, then stopped)

    try:
        with psycopg.connect(pg.url("kaizen")) as db:
            stored = {row[0] for row in db.execute("SELECT event_id FROM funnel_stageevent")}
    finally:
        pg.remove()

    assert load.failures == []  # the web tier stayed up: every request got an answer
    statuses = {code for _, code, _ in load.answers}
    assert statuses <= {200, 503}, load.answers
    assert all(after == "5" for _, code, after in load.answers if code == 503)
    assert len(load.answers) == BATCHES
    ok = [batch for batch, code, _ in load.answers if code == 200]
    # Reconnected by itself after the restart.
    assert len(ok) > stored_before_restart, f"{len(ok)} stored, {load.count(503)} answered 503"
    missing = [
        f"L{batch}-{i}"
        for batch in ok
        for i in range(EVENTS_PER_BATCH)
        if f"L{batch}-{i}" not in stored
    ]
    assert missing == []
