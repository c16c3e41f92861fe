"""How a history row's fields read: plain labels, and values in the words the pages use."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from django.db import models
from django.utils import timezone

from funnel.templatetags.money import format_money

# Where a model field's own name would not say it plainly.
FIELD_LABELS = {
    "external_id": "CRM id",
    "owner": "Owner",
    "amount": "Amount",
    "target_conversion": "Target conversion",
    "target_days": "Target days in stage",
    "winnable_min_difference": "Smallest win-rate difference that counts",
    "can_manage": "May change the set-up",
    "revoked_at": "Revoked",
    "retired_at": "Retired",
    "merged_into": "Merged into",
    "merged_at": "Merged",
    "is_active": "In use",
    "prefix": "Token starts with",
    "value_number": "Value (number)",
    "how_measured": "How it is measured",
    "non_examples": "Non-examples",
    "effective_from": "In effect from",
    "proposed": "Proposed, not yet in effect",
}
PERCENT_FIELDS = {"target_conversion"}
POINTS_FIELDS = {"winnable_min_difference"}
MONEY_FIELDS = {"amount"}


def field_label(field: models.Field) -> str:
    if field.name in FIELD_LABELS:
        return FIELD_LABELS[field.name]
    words = str(field.verbose_name)
    return words[:1].upper() + words[1:]


def value_text(field: models.Field, value, *, currency: str, names: dict) -> str:
    """One value as a person reads it; "" for none. `names` maps (model label, id) to a name."""
    if value is None or value == "":
        return ""
    if field.is_relation:
        key = (field.related_model._meta.label, value)
        return names.get(key, f"#{value} (deleted)")
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if field.name in MONEY_FIELDS:
        return format_money(value, currency)
    if field.name in PERCENT_FIELDS:
        return f"{Decimal(str(value)) * 100:.1f}%".replace(".0%", "%")
    if field.name in POINTS_FIELDS:
        return f"{Decimal(str(value)) * 100:.0f} points"
    if isinstance(field, models.BooleanField):
        return "Yes" if value else "No"
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%-d %b %Y %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%-d %b %Y")
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return "; ".join(value)
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)
