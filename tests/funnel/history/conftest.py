"""History is written by PostgreSQL triggers: these tests need PostgreSQL."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from funnel.ingest import EventIn, stage_events_ingest
from funnel.models import Deal

pg_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="history triggers exist on PostgreSQL only"
)
sqlite_only = pytest.mark.skipif(
    connection.vendor == "postgresql", reason="shows what SQLite, with no history, says"
)
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def deal(team, rep):
    stage_events_ingest(
        team=team,
        origin="api",
        schedule_recompute=False,
        events=[
            EventIn(
                event_id="d1",
                deal_external_id="D-1",
                occurred_at=START,
                stage="inquiry",
                owner_email=rep.email,
                account="Acme",
                amount=Decimal("1000"),
            )
        ],
    )
    return Deal.objects.get(team=team, external_id="D-1")
