"""Faults the pipeline and the web tier survive, against real services (issue 17, item 5).

The Redis faults use a PRIVATE redis-server (tests/fault_services.py) with its own Celery
worker, so flushing or stopping it never touches the shared Redis; the PostgreSQL restart uses
a private cluster. "Within one sweep" is tested by calling the sweep as the beat's next tick
would run it: the clock one sweep interval on, the queue length as the broker reports it now
(waiting a real minute for the beat would only make the file slow).

The PostgreSQL restart under load is in test_fault_postgres_restart.py; the import killed
mid-run is tested with the imports.
"""

from __future__ import annotations

import datetime as dt
import os

import pgtrigger
import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from bench.synthetic import FunnelShape, funnel_events, funnel_generate
from funnel.imports.service import import_job_create, import_job_validate
from funnel.ingest import EventIn, stage_events_ingest
from funnel.models import (
    ApiToken,
    BottleneckStatus,
    RecomputeState,
    Role,
    StageEvent,
    StageMetric,
    WinnableCount,
)
from funnel.pipeline.queue import queue_length
from funnel.pipeline.request import team_recompute_request, teams_sweep
from funnel.pipeline.run import team_rebuild
from funnel.pipeline.tasks import teams_rebuild_task
from funnel.services import membership_add, team_create
from kaizen.celery import app
from tests.fault_services import PrivateRedis
from tests.integration_support import WorkerProcess, database_url, wait_for

pytestmark = pytest.mark.integration

NOW = timezone.now().replace(minute=0, second=0, microsecond=0)
SWEEP_INTERVAL = dt.timedelta(seconds=settings.CELERY_BEAT_SCHEDULE["teams-sweep"]["schedule"])
EDGES = ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00")


BROKER_SETTINGS = ("broker_url", "broker_read_url", "broker_write_url")


# --- A private Redis with its own worker -----------------------------------------------------
@pytest.fixture(scope="module")
def private_redis(tmp_path_factory):
    server = PrivateRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def fault_worker(django_db_setup, django_db_blocker, private_redis, tmp_path_factory):
    """A worker on the test database and the private Redis; this process sends there too."""
    shared = {name: app.conf[name] for name in BROKER_SETTINGS}
    app.conf.update(dict.fromkeys(BROKER_SETTINGS, private_redis.url()))
    app._after_fork()  # drop the pooled connections to the shared broker
    with django_db_blocker.unblock():
        db_url = database_url(connection.settings_dict)
    worker = WorkerProcess(
        database_url=db_url,
        broker_url=private_redis.url(),
        log_path=tmp_path_factory.mktemp("faults") / "worker.log",
    )
    worker.hostname = f"faults-{os.getpid()}@{os.uname().nodename}"
    try:
        worker.start()
        yield worker
    finally:
        worker.stop()
        app.conf.update(shared)
        app._after_fork()
        with django_db_blocker.unblock():
            connection.close()


@pytest.fixture
def worker(fault_worker, transactional_db, private_redis):
    if not fault_worker.is_alive():
        fault_worker.start()
    yield fault_worker
    fault_worker.wait_idle()


# --- Helpers ----------------------------------------------------------------------------------
def ingest(team, events, batch=1000):
    for i in range(0, len(events), batch):
        stage_events_ingest(team=team, events=events[i : i + batch], origin="api")


def next_sweep() -> list[int]:
    """The beat's next sweep: at most one interval from now, the queue as the broker has it."""
    return teams_sweep(now=timezone.now() + SWEEP_INTERVAL, waiting=queue_length())


def converged(team, timeout=90):
    last = StageEvent.objects.filter(team=team).latest("id").id

    def done():
        status = BottleneckStatus.objects.filter(team=team).order_by("-computed_at").first()
        return status if status and status.watermark >= last else None

    return wait_for(done, timeout=timeout, what=f"a recompute through event {last}")


def snapshot(team):
    metrics = list(
        StageMetric.objects.filter(team=team)
        .order_by("position", "week")
        .values_list("position", "week", "entered", "advanced", "lost", "conversion")
    )
    status = BottleneckStatus.objects.filter(team=team).order_by("-computed_at").first()
    winnable = sorted(
        WinnableCount.objects.filter(team=team).values_list(
            "dimension", "characteristic_id", "value", "month", "closed", "won", "won_amount"
        ),
        key=repr,
    )
    return metrics, (status.verdict, status.stage_id, status.station, status.gap_per_week), winnable


def api_token(team) -> str:
    token, prefix, token_hash = ApiToken.generate()
    ApiToken.objects.create(team=team, name="CRM", prefix=prefix, token_hash=token_hash)
    return token


def api_event(event_id: str, deal: str, when: dt.datetime | str, stage="inquiry") -> dict:
    when = when if isinstance(when, str) else when.isoformat()
    return {"id": event_id, "deal": {"id": deal}, "occurred_at": when, "stage": stage}


# --- a. The worker killed during a recompute -------------------------------------------------
def test_a_worker_killed_mid_recompute_converges_to_a_clean_rebuild(worker):
    team = team_create(slug="killed", name="Killed")
    events = funnel_events(funnel_generate(FunnelShape(seed=21, weeks=52), now=NOW))
    for i in range(0, len(events), 1000):  # written without a run, then one run asked for
        stage_events_ingest(
            team=team, events=events[i : i + 1000], origin="api", schedule_recompute=False
        )
    log_size = worker.log_path.stat().st_size
    team_recompute_request(team_id=team.id)
    # Its first step drains some 10,000 marked deals, which takes seconds: kill it there.
    wait_for(
        lambda: "funnel.pipeline.team_recompute" in worker.log_path.read_text()[log_size:],
        timeout=60,
        interval=0.01,
        what="the worker to take the recompute",
    )
    worker.kill()  # SIGKILL: no ack, PostgreSQL rolls the open transaction back
    assert "recompute team=killed" not in worker.log_path.read_text()[log_size:]
    assert not BottleneckStatus.objects.filter(team=team).exists()  # it died mid-run
    worker.start()

    assert next_sweep() == [team.id]
    converged(team)
    wait_for(
        lambda: RecomputeState.objects.filter(team=team, winnable_at__isnull=False).exists(),
        what="the re-enqueued run to finish",
    )
    repaired = snapshot(team)
    team_rebuild(team=team)  # clean: everything re-derived from the event log
    assert snapshot(team) == repaired
    assert sum(WinnableCount.objects.filter(team=team).values_list("closed", flat=True)) > 0


# --- b. Redis flushed after the writes -------------------------------------------------------
def test_redis_flushed_after_the_writes_is_repaired_by_the_next_sweep(worker, private_redis):
    team = team_create(slug="flushed", name="Flushed")
    worker.stop()
    ingest(team, funnel_events(funnel_generate(FunnelShape(weeks=20, seed=22), now=NOW)))
    assert queue_length() >= 1  # the run waits in the queue...
    private_redis.flush()  # ...and is gone, as after a Redis restart without persistence
    worker.start()
    assert RecomputeState.objects.get(team=team).queued  # the database still says "waiting"
    assert queue_length() == 0

    assert next_sweep() == [team.id]
    status = converged(team)
    assert status.watermark == StageEvent.objects.filter(team=team).latest("id").id


# --- c. Redis stopped while API batches and browser writes arrive ---------------------------
def test_writes_while_redis_is_down_succeed_and_the_next_sweep_catches_up(
    worker, private_redis, client
):
    team = team_create(slug="outage", name="Outage")
    _, _, rep = membership_add(team=team, email="rita.rep@example.com", role=Role.REP)
    stage_events_ingest(
        team=team,
        origin="api",
        events=[
            EventIn(
                event_id="seed",
                deal_external_id="D-rep",
                occurred_at=NOW - dt.timedelta(days=3),
                stage="inquiry",
                owner_email=rep.email,
            )
        ],
    )
    converged(team)
    token = api_token(team)
    deal = team.deals.get(external_id="D-rep")
    engaged = team.stages.get(slug="engaged")

    private_redis.stop()
    try:
        for batch in range(5):
            events = [
                api_event(f"b{batch}-{i}", f"D-{batch}-{i}", NOW - dt.timedelta(days=2, hours=i))
                for i in range(20)
            ]
            response = client.post(
                "/api/v1/events",
                {"events": events},
                content_type="application/json",
                headers={"Authorization": f"Bearer {token}"},
            )
            assert response.status_code == 200, response.content
            assert response.json()["accepted"] == 20
        client.force_login(rep)
        response = client.post(
            reverse("deal_stage_record", args=[team.slug, deal.id]),
            {"action": "stage", "stage": engaged.slug},
        )
        assert response.status_code == 302  # saved: back to the deal's page
    finally:
        private_redis.start()

    assert StageEvent.objects.filter(team=team).count() == 1 + 5 * 20 + 1
    deal.refresh_from_db()
    assert deal.current_stage_id == engaged.id
    assert RecomputeState.objects.get(team=team).queued is False  # the broker refused the run
    # The worker reconnects by itself; or, if Redis vanished while it held a message (the
    # delayed company roll-up), Celery exits and its restart policy brings it back (every
    # service in docker-compose.yml restarts unless stopped).
    try:
        worker.wait_ready()
    except RuntimeError:
        worker.start()

    assert next_sweep() == [team.id]
    status = converged(team)
    assert status.watermark == StageEvent.objects.filter(team=team).latest("id").id


# --- e. Events at the edge of the calendar ---------------------------------------------------
def test_events_at_the_edge_of_the_calendar_cannot_get_in(transactional_db, client):
    team = team_create(slug="edges", name="Edges")
    _, _, manager = membership_add(team=team, email="max@example.com", role=Role.MANAGER)
    good = api_event("ok", "D-1", NOW - dt.timedelta(days=1))
    events = [good, *(api_event(f"edge-{i}", f"D-{i}", when) for i, when in enumerate(EDGES))]
    response = client.post(
        "/api/v1/events",
        {"events": events},
        content_type="application/json",
        headers={"Authorization": f"Bearer {api_token(team)}"},
    )
    assert response.status_code == 422, response.content
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [
        (1, "occurred_at"),
        (2, "occurred_at"),
    ]

    csv = "deal,stage,when\nD-1,Inquiry,2024-01-05T09:00:00+00:00\n" + "".join(
        f"D-{i},Inquiry,{when}\n" for i, when in enumerate(EDGES, start=2)
    )
    job = import_job_create(
        team=team, uploaded_by=manager, filename="edges.csv", content=csv.encode()
    )
    mapping = {
        "shape": "events",
        "date_format": "iso",
        "columns": {"deal": "deal_id", "stage": "stage", "when": "occurred_at"},
        "stage_values": {"Inquiry": "inquiry"},
    }
    errors = import_job_validate(job=job, mapping=mapping).errors
    assert sorted((e.row, e.column) for e in errors) == [(3, "when"), (4, "when")]
    assert not StageEvent.objects.filter(team=team).exists()


# --- f. Planted bad rows and the nightly rebuild ---------------------------------------------
def test_planted_bad_rows_do_not_stop_the_nightly_rebuild_of_the_others(worker):
    bad, good = team_create(slug="planted", name="Planted"), team_create(slug="clean", name="Clean")
    for team in (bad, good):
        ingest(team, funnel_events(funnel_generate(FunnelShape(weeks=12, seed=23), now=NOW)))
        converged(team)
    event = StageEvent.objects.filter(team=bad).order_by("id").first()
    # Around every boundary and the log's append-only guard, as an old bug or raw SQL did.
    with pgtrigger.ignore("funnel.StageEvent:stage_event_no_update"), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE funnel_stageevent SET occurred_at = '0001-01-01 00:00:00+14' WHERE id = %s",
            [event.id],
        )
    sent_at = timezone.now()

    teams_rebuild_task.delay()

    marked = wait_for(
        lambda: RecomputeState.objects.filter(team=bad, failed_at__gte=sent_at).first(),
        timeout=60,
        what="the planted team's rebuild to be marked failed",
    )
    assert "1970 to 9999" in marked.failure and event.deal.external_id in marked.failure
    rebuilt = wait_for(
        lambda: RecomputeState.objects.filter(team=good, finished_at__gte=sent_at).first(),
        timeout=60,
        what="the other team's rebuild",
    )
    assert rebuilt.failed_at is None
    # The worker logs the rebuild after its transaction commits: the row can be seen first.
    wait_for(
        lambda: "rebuild team=clean" in worker.log_path.read_text(),
        timeout=10,
        what="the worker's log line of the other team's rebuild",
    )
