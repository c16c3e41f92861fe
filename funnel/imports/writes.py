"""What an import writes besides stage events: owners it may create, characteristics it
creates for new columns, and the observations of mapped columns (deduplicated, so a re-import adds
nothing)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection
from django.db.models import Max
from django.utils import timezone

from funnel.bulk import JSON_ROWS, copy_usable, rows_copy
from funnel.imports.plan import ObservationIn
from funnel.models import (
    Characteristic,
    CharacteristicKind,
    Deal,
    Observation,
    Origin,
    Role,
    Team,
)
from funnel.services import membership_add


def import_owners_create(*, team: Team, owners: dict[str, str]) -> list[str]:
    """Add owners the file names but the team lacks, as reps: ["Full Name <email>", ...]."""
    created = []
    for name, email in sorted(owners.items()):
        display = "" if "@" in name else name
        membership_add(team=team, email=email, role=Role.REP, name=display)
        created.append(f"{display} <{email}>" if display else email)
    return created


def import_characteristics_prepare(
    *, team: Team, new: dict[str, tuple[str, list[str]]]
) -> tuple[dict[str, int], set[str]]:
    """Characteristic ids by slug, and the slugs created now. A column new to the team becomes a
    choice characteristic with the file's values; an existing choice one gains values it lacks."""
    existing = {c.slug: c for c in Characteristic.objects.filter(team=team)}
    position = Characteristic.objects.filter(team=team).aggregate(p=Max("position"))["p"] or 0
    created = set()
    for slug, (name, values) in new.items():
        current = existing.get(slug)
        if current is None:
            position += 1
            existing[slug] = Characteristic.objects.create(
                team=team,
                slug=slug,
                name=name[:120],
                kind=CharacteristicKind.CHOICE,
                choices=values,
                position=position,
            )
            created.add(slug)
        elif current.kind == CharacteristicKind.CHOICE and current.choices:
            missing = [v for v in values if v not in current.choices]
            if missing:
                current.choices = [*current.choices, *missing]
                current.save(update_fields=["choices"])
    return {slug: c.id for slug, c in existing.items()}, created


def import_characteristic_choices_set(
    *, team: Team, new: dict[str, tuple[str, list[str]]], slugs: set[str]
) -> None:
    """The choices of characteristics an import created: every value of the file, sorted."""
    for characteristic in Characteristic.objects.filter(team=team, slug__in=slugs):
        values = new[characteristic.slug][1]
        if characteristic.choices != values:
            characteristic.choices = values
            characteristic.save(update_fields=["choices"])


def observations_record(
    *,
    team: Team,
    observations: Sequence[ObservationIn],
    characteristic_ids: dict[str, int],
    by: AbstractBaseUser | None,
    new_deals: dict[str, int] | None = None,
) -> int:
    """Append the observations not already stored (same deal, characteristic, value, time).

    `new_deals` (external id -> id) are deals created in this transaction: none of their
    observations can be stored, so they go in without the lookup.
    """
    unique: dict[tuple, ObservationIn] = {}
    for o in observations:
        key = (o.deal_external_id, characteristic_ids[o.characteristic], o.value, o.observed_at)
        unique.setdefault(key, o)
    if not unique:
        return 0
    by_id = by.pk if by is not None else None
    added = 0
    if new_deals:
        fresh = [key for key in unique if key[0] in new_deals]
        if copy_usable(len(fresh)):
            now = timezone.now()
            rows_copy(
                Observation,
                OBSERVATION_FIELDS,
                [
                    (new_deals[ext], kind, value, unique[key].value_number, by_id, at, now)
                    + ("", Origin.CSV.value)
                    for key in fresh
                    for ext, kind, value, at in (key,)
                ],
            )
            added = len(fresh)
            for key in fresh:
                del unique[key]
            if not unique:
                return added
    if connection.vendor == "postgresql":
        return added + _observations_insert_set_based(team=team, unique=unique, by_id=by_id)
    return added + _observations_insert_orm(team=team, unique=unique, by_id=by_id)


OBSERVATION_FIELDS = (
    "deal_id",
    "characteristic_id",
    "value",
    "value_number",
    "observed_by_id",
    "observed_at",
    "recorded_at",
    "evidence",
    "origin",
)


def _observations_insert_orm(*, team: Team, unique: dict, by_id: int | None) -> int:
    """Look up the deals and what is stored of their observations, insert the rest."""
    deal_ids = dict(
        Deal.objects.filter(team=team, external_id__in={k[0] for k in unique}).values_list(
            "external_id", "id"
        )
    )
    stored = set(
        Observation.objects.filter(
            deal_id__in=list(deal_ids.values()),
            characteristic_id__in={k[1] for k in unique},
        ).values_list("deal_id", "characteristic_id", "value", "observed_at")
    )
    rows = [  # recorded_at: now, as the field's auto_now_add sets it
        Observation(
            deal_id=deal_ids[external_id],
            characteristic_id=characteristic_id,
            value=value,
            value_number=o.value_number,
            observed_by_id=by_id,
            observed_at=observed_at,
            evidence="",
            origin=Origin.CSV,
        )
        for (external_id, characteristic_id, value, observed_at), o in unique.items()
        if (deal_ids[external_id], characteristic_id, value, observed_at) not in stored
    ]
    Observation.objects.bulk_create(rows)
    return len(rows)


def _observations_insert_set_based(*, team: Team, unique: dict, by_id: int | None) -> int:
    """One statement: find each deal by its external id, skip what is stored, insert the rest.

    The rows travel as one JSON document (json.dumps is C; arrays are quoted in Python). Each
    row finds its deal and a stored twin through LATERAL ... LIMIT 1, index probes the planner
    cannot turn into hash joins over every deal of the team and every stored observation (which
    it chose from stale statistics: 130 ms for 5,000 rows at 200,000 deals, growing with the
    team; the probes take about 25 ms whatever its size)."""
    iso: dict[dt.datetime, str] = {}
    rows = []
    for external_id, characteristic_id, value, observed_at in unique:
        at = iso.get(observed_at)
        if at is None:
            at = iso[observed_at] = observed_at.isoformat()
        number = unique[(external_id, characteristic_id, value, observed_at)].value_number
        rows.append((external_id, characteristic_id, value, number, at))
    observation, deal = Observation._meta.db_table, Deal._meta.db_table
    sql = f"""
        INSERT INTO {observation} ({", ".join(OBSERVATION_FIELDS)})
        SELECT d.id, v.characteristic_id, v.value, v.value_number, %s, v.observed_at, now(),
               '', %s
        FROM (
            SELECT (r.v->>0)::varchar AS external_id, (r.v->>1)::bigint AS characteristic_id,
                   (r.v->>2)::varchar AS value, (r.v->>3)::float8 AS value_number,
                   (r.v->>4)::timestamptz AS observed_at
            FROM {JSON_ROWS}
        ) v
        CROSS JOIN LATERAL (
            SELECT id FROM {deal} WHERE team_id = %s AND external_id = v.external_id LIMIT 1
        ) d
        LEFT JOIN LATERAL (
            SELECT 1 AS stored FROM {observation} o
            WHERE o.deal_id = d.id AND o.characteristic_id = v.characteristic_id
              AND o.observed_at = v.observed_at AND o.value = v.value
            LIMIT 1
        ) o ON true
        WHERE o.stored IS NULL
    """
    document = json.dumps(rows, allow_nan=False)
    with connection.cursor() as cursor:
        cursor.execute(sql, [by_id, Origin.CSV.value, document, team.id])
        return cursor.rowcount
