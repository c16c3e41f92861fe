"""What integration and browser tests need, and what happens when it is missing.

Tests marked ``integration`` need PostgreSQL (DATABASE_URL), Redis (CELERY_BROKER_URL) and a real
Celery worker, which the ``celery_worker_process`` fixture starts against the test database.
Tests marked ``browser`` need the Debian chromium (/usr/bin/chromium or CHROMIUM_PATH).

Where a requirement is missing the test is skipped with the reason, so the suite still runs on
SQLite on a bare machine. With KAIZEN_REQUIRE_INTEGRATION=1 (or CI=true) the same test fails
instead: CI must never pass by skipping them.

The hooks and fixtures are imported into tests/conftest.py, which is how pytest finds them.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
# Booting Django and the worker takes seconds, and far longer on a loaded two-core CI machine.
WORKER_READY_TIMEOUT = 120.0


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def integration_required() -> bool:
    return _truthy(os.environ.get("KAIZEN_REQUIRE_INTEGRATION")) or _truthy(os.environ.get("CI"))


def chromium_path() -> str:
    return os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"


@dataclass
class RunState:
    """What the end-of-run summary reports."""

    missing: dict[str, str | None] = field(default_factory=dict)  # marker -> reason or None
    marked: dict[str, set[str]] = field(default_factory=lambda: {"integration": set()})
    worker: WorkerProcess | None = None
    database: str = ""


STATE = RunState()


# --- Requirements ----------------------------------------------------------------------------
def _integration_missing() -> str | None:
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if engine != "django.db.backends.postgresql":
        return f"integration: DATABASE_URL is not PostgreSQL (engine {engine.rsplit('.', 1)[-1]})"
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker:
        return "integration: CELERY_BROKER_URL is not set (Celery runs eagerly, no worker)"
    if urlsplit(broker).scheme not in {"redis", "rediss"}:
        return f"integration: CELERY_BROKER_URL is not Redis ({urlsplit(broker).scheme}://)"
    import redis

    try:
        redis.Redis.from_url(broker, socket_connect_timeout=2, socket_timeout=2).ping()
    except redis.RedisError as exc:
        return f"integration: Redis at CELERY_BROKER_URL is not reachable ({exc})"
    return None


def _browser_missing() -> str | None:
    path = chromium_path()
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        return f"browser: chromium not found at {path} (install it or set CHROMIUM_PATH)"
    return None


CHECKS = {"integration": _integration_missing, "browser": _browser_missing}


def _missing(marker: str) -> str | None:
    """The reason the marker's requirements are not met (checked once per run), or None."""
    if marker not in STATE.missing:
        STATE.missing[marker] = CHECKS[marker]()
    return STATE.missing[marker]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip marked tests whose requirements are missing, unless they are required here."""
    for item in items:
        for marker in CHECKS:
            if item.get_closest_marker(marker) is None:
                continue
            STATE.marked.setdefault(marker, set()).add(item.nodeid)
            reason = _missing(marker)
            if reason and not integration_required():
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Where they are required (CI), a marked test fails before its fixtures are set up."""
    if not integration_required():
        return  # the skip markers added at collection apply
    for marker in CHECKS:
        if item.get_closest_marker(marker) is not None and (reason := _missing(marker)):
            pytest.fail(f"{reason} -- required here (KAIZEN_REQUIRE_INTEGRATION=1 or CI=true)")


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    from django.conf import settings

    write = terminalreporter.write_line
    terminalreporter.section("kaizen test environment")
    database = STATE.database or _database_label(settings.DATABASES["default"])
    write(f"database: {database}")
    nodeids = STATE.marked.get("integration", set())
    passed = sum(1 for r in terminalreporter.stats.get("passed", []) if r.nodeid in nodeids)
    if not nodeids:
        write("integration tests: none selected")
    elif STATE.missing.get("integration"):
        verb = "failed" if integration_required() else "skipped"
        write(f"integration tests: {len(nodeids)} {verb}: {STATE.missing['integration']}")
    elif STATE.worker is not None:
        write(
            f"integration tests: {passed} of {len(nodeids)} passed with a real Celery worker "
            f"({STATE.worker.hostname}, broker {STATE.worker.broker_label}, "
            f"started {STATE.worker.starts}x, log {STATE.worker.log_path})"
        )
    else:
        write(f"integration tests: {passed} of {len(nodeids)} passed, none needed the worker")
    if STATE.marked.get("browser"):
        reason = STATE.missing.get("browser")
        write(f"browser tests: {len(STATE.marked['browser'])}, " + (reason or chromium_path()))


def _database_label(db: dict, test_name: str = "") -> str:
    vendor = db["ENGINE"].rsplit(".", 1)[-1]
    if vendor == "sqlite3":
        return "SQLite (in-memory test database)"
    test_name = test_name or (db.get("TEST") or {}).get("NAME") or f"test_{db['NAME']}"
    return f"{vendor} test database {test_name!r} on {db.get('HOST') or 'localhost'}"


# --- Celery mode per test --------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _celery_mode(request, settings):
    """Unit tests run tasks eagerly even when CELERY_BROKER_URL is set (as in CI), so they do
    not depend on a worker; integration tests send them through the broker to the real worker."""
    from kaizen.celery import app

    eager = request.node.get_closest_marker("integration") is None
    if not eager and not os.environ.get("CELERY_BROKER_URL"):
        eager = True  # the test is skipped anyway; keep the process consistent
    previous = app.conf.task_always_eager
    settings.CELERY_TASK_ALWAYS_EAGER = eager
    app.conf.task_always_eager = eager
    yield
    app.conf.task_always_eager = previous


# --- The real worker -------------------------------------------------------------------------
def database_url(db: dict) -> str:
    """A DATABASE_URL for the settings dict Django is using now (the test database)."""
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{db.get('HOST') or ''}{port}/{quote(db['NAME'], safe='')}"


class WorkerProcess:
    """One `celery worker` subprocess reading the pytest-django test database.

    Tests may kill it mid-task (``kill()``) and bring it back (``start()`` / ``restart()``).
    """

    def __init__(self, *, database_url: str, broker_url: str, log_path: Path) -> None:
        self.database_url = database_url
        self.broker_url = broker_url
        self.log_path = log_path
        self.hostname = f"pytest-{os.getpid()}@{os.uname().nodename}"
        self.process: subprocess.Popen | None = None
        self.starts = 0
        self.env = {
            **{k: v for k, v in os.environ.items() if k != "TEST_DATABASE_NAME"},
            "DJANGO_SETTINGS_MODULE": "kaizen.settings",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DEBUG": "0",
            "PYTHONUNBUFFERED": "1",
        }

    @property
    def broker_label(self) -> str:
        parts = urlsplit(self.broker_url)
        return f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def is_alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        if self.is_alive():
            return
        command = [
            sys.executable, "-m", "celery", "-A", "kaizen", "worker",
            "--pool=solo", "--concurrency=1", "-Q", "celery", "--loglevel=INFO",
            "--hostname", self.hostname, "--without-mingle", "--without-gossip",
        ]  # fmt: skip
        with self.log_path.open("ab") as log:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            log.write(f"\n=== {stamp} start #{self.starts + 1}: {' '.join(command)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                command,
                cwd=PROJECT_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C on pytest is handled by our teardown
            )
        self.starts += 1
        self.wait_ready()

    def wait_ready(self, timeout: float = WORKER_READY_TIMEOUT) -> None:
        from kaizen.celery import app

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.is_alive():
                raise RuntimeError(f"Celery worker exited early.\n{self.log_tail()}")
            if app.control.ping(destination=[self.hostname], timeout=0.5):
                return
        raise RuntimeError(f"Celery worker did not answer ping in {timeout}s.\n{self.log_tail()}")

    def wait_idle(self, timeout: float = 120.0) -> None:
        """Until no message waits in the queue and the worker runs no task (or is dead)."""
        import redis

        from kaizen.celery import app

        broker = redis.Redis.from_url(self.broker_url)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.is_alive():
            # A solo-pool worker answers control messages only between tasks: no answer = busy.
            active = app.control.inspect(destination=[self.hostname], timeout=1.0).active()
            if broker.llen("celery") == 0 and active is not None and not any(active.values()):
                return
            time.sleep(0.2)

    def stop(self, timeout: float = 15.0) -> None:
        """Warm shutdown: the worker finishes (or requeues) its task, then exits."""
        if not self.is_alive():
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL: the worker dies mid-task without acknowledging anything."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no worker log)"
        return "\n".join(text[-lines:])


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real Celery worker on the test database, for the whole session.

    Depends on django_db_setup, so it is torn down before the test database is dropped (a
    worker still connected would block DROP DATABASE).
    """
    from django.db import connection

    from kaizen.celery import app

    if shutil.which("celery", path=str(Path(sys.executable).parent)) is None:
        pytest.fail("celery is not installed in this environment")
    broker = os.environ["CELERY_BROKER_URL"]
    with django_db_blocker.unblock():
        db_url = database_url(connection.settings_dict)
        STATE.database = _database_label(connection.settings_dict, connection.settings_dict["NAME"])
        STATE.database += ", shared with the worker"
    app.control.purge()  # messages left by an earlier, aborted run must not run here
    worker = WorkerProcess(
        database_url=db_url,
        broker_url=broker,
        log_path=tmp_path_factory.mktemp("celery") / "worker.log",
    )
    STATE.worker = worker
    try:
        worker.start()
        yield worker
    finally:
        worker.stop()
        with django_db_blocker.unblock():
            connection.close()


@pytest.fixture
def celery_worker(celery_worker_process, transactional_db):
    """The running worker, brought back first if an earlier test killed it.

    After the test it waits until the worker is idle: the database is flushed next, and a
    trailing recompute still running then would deadlock with the flush.
    """
    if not celery_worker_process.is_alive():
        celery_worker_process.start()
    yield celery_worker_process
    celery_worker_process.wait_idle()


def wait_for(predicate, *, timeout: float = 20.0, interval: float = 0.2, what: str = "condition"):
    """Poll until predicate() returns a truthy value; return it, or fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
