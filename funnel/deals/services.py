"""Writes from the rep's screens. Stage changes go through funnel.ingest.deal_record_stage (the
same service as the API and the CSV import); observations are recorded here."""

from __future__ import annotations

import datetime as dt
import math

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from funnel.models import Characteristic, CharacteristicKind, Deal, Observation, Origin
from funnel.pipeline.request import team_recompute_on_commit

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
    return observation
