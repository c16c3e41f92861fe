"""Writes from the rep's screens and the admin. Stage changes go through
funnel.ingest.deal_record_stage (the same service as the API and the CSV import); observations
and a deal's details (owner, account, amount...) are recorded here."""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import pgtrigger
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from funnel.bulk import among
from funnel.deals.selectors import deal_dates_out_of_range
from funnel.ingest import MAX_AMOUNT
from funnel.models import (
    Characteristic,
    CharacteristicKind,
    Deal,
    Membership,
    Observation,
    Origin,
    Role,
    StageEvent,
    Team,
)
from funnel.pipeline.request import team_rebuild_on_commit, team_recompute_on_commit

logger = logging.getLogger(__name__)

# Clocks differ; an observation may be stamped a little ahead of ours, not days ahead.
FUTURE_TOLERANCE = dt.timedelta(hours=24)
MAX_EVIDENCE = 2000
YES_NO_VALUES = ("yes", "no")


def observation_value_clean(
    *, characteristic: Characteristic, value: str
) -> tuple[str, float | None]:
    """The stored form of a value (text, and the number for the number kind), or
    ValidationError with a message that says what is allowed."""
    text = (value or "").strip()
    if not text:
        raise ValidationError({"value": "Choose or enter a value."})
    if characteristic.kind == CharacteristicKind.YES_NO:
        if text.lower() not in YES_NO_VALUES:
            raise ValidationError({"value": f"{characteristic.name} is yes or no, not {text!r}."})
        return text.lower(), None
    if characteristic.kind == CharacteristicKind.CHOICE:
        # Case-insensitive match, stored as the team wrote the choice, so that the analysis
        # never counts "finance" and "Finance" as two departments.
        canonical = {str(c).casefold(): str(c) for c in characteristic.choices}
        if text.casefold() not in canonical:
            allowed = ", ".join(str(c) for c in characteristic.choices) or "none defined"
            raise ValidationError(
                {
                    "value": f"{text!r} is not a choice of {characteristic.name}; choose one of: "
                    f"{allowed}."
                }
            )
        return canonical[text.casefold()], None
    try:
        number = float(text.replace(",", "."))
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise ValidationError({"value": f"{characteristic.name} is a number, not {text!r}."})
    # Integers stay integers ("12", not "12.0"); other numbers keep every digit.
    text = str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)
    return text, number


@transaction.atomic
def observation_record(
    *,
    deal: Deal,
    characteristic: Characteristic,
    value: str,
    by: AbstractBaseUser,
    evidence: str = "",
    observed_at: dt.datetime | None = None,
) -> Observation:
    """Append what someone observed on a deal; the latest observation is the current value.

    Raises ValidationError (nothing written) for a value the characteristic does not allow, a
    characteristic of another team or no longer in use, or a time far in the future.
    """
    started = time.perf_counter()
    if characteristic.team_id != deal.team_id or not characteristic.is_active:
        raise ValidationError({"characteristic": "This characteristic is not in use on this team."})
    text, number = observation_value_clean(characteristic=characteristic, value=value)
    evidence = (evidence or "").strip()
    if len(evidence) > MAX_EVIDENCE:
        raise ValidationError(
            {"evidence": f"Keep the evidence note under {MAX_EVIDENCE} characters."}
        )
    now = timezone.now()
    observed_at = observed_at or now
    if observed_at > now + FUTURE_TOLERANCE:
        raise ValidationError({"observed_at": "An observation cannot be dated in the future."})
    observation = Observation.objects.create(
        deal=deal,
        characteristic=characteristic,
        value=text,
        value_number=number,
        observed_by=by,
        observed_at=observed_at,
        evidence=evidence,
        origin=Origin.UI,
    )
    team_recompute_on_commit(team_id=deal.team_id)
    logger.info(
        "observation team=%s deal=%s characteristic=%s by=%s in %.0f ms",
        deal.team.slug,
        deal.id,
        characteristic.slug,
        by.pk,
        (time.perf_counter() - started) * 1000,
    )
    return observation


@dataclass(frozen=True, slots=True)
class ObservationNew:
    """One observation for observations_record_bulk: a deal and a characteristic of the team."""

    deal_id: int
    characteristic_id: int
    value: str
    observed_at: dt.datetime
    observed_by_id: int | None = None
    evidence: str = ""


@transaction.atomic
def observations_record_bulk(
    *,
    team: Team,
    observations: Sequence[ObservationNew],
    origin: str,
    schedule_recompute: bool = True,
) -> int:
    """Append many observations at once (the demo data, loaders), with the checks of
    observation_record, a few statements whatever their number, and one recompute request.

    Raises ValidationError (nothing written) at the first bad observation, by its index.
    """
    started = time.perf_counter()
    if origin not in Origin.values:
        raise ValueError(f"Unknown origin {origin!r}.")
    characteristics = {c.id: c for c in Characteristic.objects.filter(team=team, is_active=True)}
    deal_ids = set(
        Deal.objects.filter(
            team=team, id__in=among(sorted({o.deal_id for o in observations}))
        ).values_list("id", flat=True)
    )
    observers = {o.observed_by_id for o in observations} - {None}
    known_observers = set(
        get_user_model().objects.filter(id__in=observers).values_list("id", flat=True)
    )
    latest_allowed = timezone.now() + FUTURE_TOLERANCE
    rows = []
    for index, o in enumerate(observations):
        characteristic = characteristics.get(o.characteristic_id)
        problem = None
        if o.deal_id not in deal_ids:
            problem = {"deal": "Not a deal of this team."}
        elif characteristic is None:
            problem = {"characteristic": "This characteristic is not in use on this team."}
        elif o.observed_by_id is not None and o.observed_by_id not in known_observers:
            problem = {"observed_by": "No such user."}
        elif o.observed_at > latest_allowed:
            problem = {"observed_at": "An observation cannot be dated in the future."}
        elif len(o.evidence) > MAX_EVIDENCE:
            problem = {"evidence": f"Keep the evidence note under {MAX_EVIDENCE} characters."}
        if problem is None:
            try:
                text, number = observation_value_clean(characteristic=characteristic, value=o.value)
            except ValidationError as error:
                problem = error.message_dict
        if problem is not None:
            raise ValidationError(
                {field: f"Observation {index}: {message}" for field, message in problem.items()}
            )
        rows.append(
            Observation(
                deal_id=o.deal_id,
                characteristic_id=o.characteristic_id,
                value=text,
                value_number=number,
                observed_by_id=o.observed_by_id,
                observed_at=o.observed_at,
                evidence=o.evidence.strip(),
                origin=origin,
            )
        )
    Observation.objects.bulk_create(rows, batch_size=500)
    if rows and schedule_recompute:
        team_recompute_on_commit(team_id=team.id)
    logger.info(
        "observations team=%s added=%d origin=%s in %.0f ms",
        team.slug,
        len(rows),
        origin,
        (time.perf_counter() - started) * 1000,
    )
    return len(rows)


CENT = Decimal("0.01")
DEAL_DETAIL_LIMITS = {"account": 200, "department": 120, "source": 120}


def deal_details_validate(
    *, deal: Deal, owner: AbstractBaseUser | None, amount: Decimal | None, **texts: str
) -> None:
    """ValidationError, by field, for details deal_details_update would refuse: an owner who is
    not a rep or manager of the deal's team (unless already the owner), an amount out of range,
    a text too long."""
    errors = {}
    if owner is not None and owner.pk != deal.owner_id:
        allowed = Membership.objects.filter(
            team_id=deal.team_id, user_id=owner.pk, role__in=[Role.REP, Role.MANAGER]
        ).exists()
        if not allowed:
            errors["owner"] = "The owner must be a rep or manager of the deal's team."
    if amount is not None and not (Decimal(amount).is_finite() and 0 <= amount <= MAX_AMOUNT):
        errors["amount"] = "Amount must be a number from 0 to 999,999,999,999."
    for name, text in texts.items():
        if len(text or "") > DEAL_DETAIL_LIMITS[name]:
            errors[name] = f"Must be at most {DEAL_DETAIL_LIMITS[name]} characters."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def deal_details_update(
    *,
    deal: Deal,
    owner: AbstractBaseUser | None,
    account: str,
    department: str,
    source: str,
    amount: Decimal | None,
    by: AbstractBaseUser,
) -> Deal:
    """Correct what the CRM told about a deal. Its team, id and position (status, stage, dates:
    derived from its events) are not changed here. Department and amount enter the winnable
    counts, so a change schedules the team's recompute.

    Raises ValidationError (nothing written); see deal_details_validate.
    """
    started = time.perf_counter()
    # Locked like every writer of a deal (the ingest): a batch touching it waits, or goes first.
    stored = Deal.objects.select_for_update().get(id=deal.id)
    texts = {"account": account, "department": department, "source": source}
    deal_details_validate(deal=stored, owner=owner, amount=amount, **texts)
    values = {
        "owner_id": owner.pk if owner is not None else None,
        "amount": Decimal(amount).quantize(CENT) if amount is not None else None,
        **{name: (text or "").strip() for name, text in texts.items()},
    }
    changed = [name for name, value in values.items() if getattr(stored, name) != value]
    if not changed:
        return stored
    for name in changed:
        setattr(stored, name, values[name])
    stored.save(update_fields=[*changed, "updated_at"])
    team_recompute_on_commit(team_id=stored.team_id)
    logger.info(
        "deal details team=%s deal=%s changed=%s by=%s in %.0f ms",
        stored.team_id,
        stored.id,
        ",".join(changed),
        by.pk,
        (time.perf_counter() - started) * 1000,
    )
    return stored


@transaction.atomic
def deal_delete_out_of_range(*, deal: Deal, by: AbstractBaseUser) -> None:
    """Delete a deal whose dates no boundary would let in, with its log and observations: the
    way out for rows written around the boundaries. Any other deal leaves only with its team
    (its log is the record). The team is then rebuilt from what is left of its log."""
    if not deal_dates_out_of_range(deal=deal):
        raise ValidationError("Only a deal with dates outside 1970 to 9999 can be deleted.")
    team_id, external_id = deal.team_id, deal.external_id
    # Queryset deletes: the append-only models refuse row by row, not a deliberate purge. The
    # event log's database guard is lifted for this deal's rows only, as for a team's deletion;
    # the audit history records the deal's deletion and who did it.
    Observation.objects.filter(deal=deal).delete()
    with pgtrigger.ignore("funnel.StageEvent:stage_event_no_delete"):
        events, _ = StageEvent.objects.filter(team_id=team_id, deal=deal).delete()
    Deal.objects.filter(id=deal.id).delete()
    team_rebuild_on_commit(team_id=team_id)
    logger.warning(
        "deal with out-of-range dates deleted team=%s deal=%s events=%d by user=%s",
        team_id,
        external_id,
        events,
        by.pk,
    )
