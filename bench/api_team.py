"""The benchmark team of bench_api: many stored deals, and realistic batches for the API."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from bench.data import deals_delete, event_log_deletes
from funnel.bulk import rows_insert, rows_update
from funnel.ingest import DEAL_INSERT_FIELDS
from funnel.ingest.writes import EVENT_FIELDS
from funnel.models import Deal, DealStatus, Origin, StageEvent, Team

SOURCES = ["Webinar", "Referral", "Outbound", "Trade show", "Website"]
DEPARTMENTS = ["Finance", "IT", "Operations", "Sales", "HR"]


def tables_analyze() -> None:
    """Refresh the planner's statistics after the bulk load, as autovacuum would in time.

    Without them PostgreSQL takes the freshly filled tables for tiny ones and scans them whole
    for every `deal_id IN (...)` of a batch.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in apps.get_app_config("funnel").get_models():
            cursor.execute(f"ANALYZE {model._meta.db_table}")


def deals_preload(team, stages, owners, count, rng) -> dict[str, int]:
    """Store `count` deals, each with events through its current stage; fast, set-based.

    Returns each deal's external id with the number of stages it has passed.
    """
    levels: dict[str, int] = {}
    now = timezone.now()
    chunk = 10_000
    for start in range(0, count, chunk):
        with transaction.atomic():
            deal_rows, specs = [], []
            for i in range(start, min(count, start + chunk)):
                ext = f"PRE-{i:07d}"
                level = rng.randint(1, 3)
                opened = now - dt.timedelta(days=rng.randint(30, 300))
                levels[ext] = level
                specs.append((ext, level, opened))
                deal_rows.append(
                    (
                        team.id,
                        ext,
                        rng.choice(owners).id,
                        Decimal(rng.randint(1_000, 90_000)),
                        f"Account {i % 5000}",
                        rng.choice(DEPARTMENTS),
                        rng.choice(SOURCES),
                        DealStatus.OPEN,
                        "",
                        now,
                        now,
                    )
                )
            ids = dict(
                rows_insert(Deal, DEAL_INSERT_FIELDS, deal_rows, returning=("external_id", "id"))
            )
            event_rows, positions = [], []
            for ext, level, opened in specs:
                for step in range(level):
                    event_rows.append(
                        (
                            team.id,
                            ids[ext],
                            stages[step][1],
                            "",
                            "",
                            opened + dt.timedelta(days=7 * step),
                            now,
                            f"pre-{ext}-{step}",
                            Origin.SEED,
                            None,
                            None,
                        )
                    )
                entered = opened + dt.timedelta(days=7 * (level - 1))
                positions.append((stages[level - 1][1], entered, opened, entered, ids[ext]))
            rows_insert(
                StageEvent,
                EVENT_FIELDS,
                event_rows,
            )
            rows_update(
                Deal,
                ("current_stage_id", "stage_entered_at", "opened_at", "last_event_at"),
                positions,
            )
    return levels


def api_batches(
    stages, owners, levels, rng: random.Random, *, count: int, size: int, new_share: float
) -> list[list[dict]]:
    """`count` realistic batches: new deals with their first events and attributes, and stored
    deals moving on a stage or closing (each stored deal in one batch at most)."""
    now = timezone.now()
    existing = list(levels)
    rng.shuffle(existing)
    batches: list[list[dict]] = []
    new_n = 0
    for b in range(count):
        events: list[dict] = []
        while len(events) < size:
            if rng.random() < new_share:
                new_n += 1
                ext = f"NEW-{new_n:07d}"
                opened = now - dt.timedelta(days=rng.randint(1, 20), minutes=rng.randint(0, 999))
                events.append(
                    {
                        "id": f"{ext}-0",
                        "deal": {
                            "id": ext,
                            "owner": rng.choice(owners).email,
                            "account": f"New account {new_n}",
                            "department": rng.choice(DEPARTMENTS),
                            "source": rng.choice(SOURCES),
                            "amount": str(rng.randint(1_000, 90_000)),
                        },
                        "stage": stages[0][0],
                        "occurred_at": opened.isoformat(),
                    }
                )
                if rng.random() < 0.5 and len(events) < size:
                    events.append(
                        {
                            "id": f"{ext}-1",
                            "deal": {"id": ext},
                            "stage": stages[1][0],
                            "occurred_at": (opened + dt.timedelta(hours=20)).isoformat(),
                        }
                    )
            else:
                ext = existing.pop()
                level = levels[ext]
                at = (now - dt.timedelta(hours=rng.randint(1, 500))).isoformat()
                event = {"id": f"{ext}-{b}-{level}", "deal": {"id": ext}, "occurred_at": at}
                roll = rng.random()
                if roll < 0.1:
                    event["outcome"] = "won"
                elif roll < 0.25:
                    event |= {"outcome": "lost", "lost_reason": "No budget"}
                else:
                    event["stage"] = stages[min(level, len(stages) - 1)][0]
                if rng.random() < 0.2:
                    event["deal"]["amount"] = str(rng.randint(1_000, 90_000))
                events.append(event)
        batches.append(events)
    return batches


def team_delete(team: Team) -> None:
    """Remove the benchmark team: its deals and what refers to them set-based (then vacuumed and
    analyzed), the team, and the users only it had."""
    users = list(team.memberships.values_list("user_id", flat=True))
    deals_delete("team_id = %s", [team.id], analyze=True)
    with transaction.atomic(), event_log_deletes():
        team.delete()
        get_user_model().objects.filter(id__in=users, memberships__isnull=True).delete()
