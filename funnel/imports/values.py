"""What a column's values look like: ids, dates, amounts, numbers, yes/no flags, a few labels
or free text. Pure functions over sample texts; the guess of a column's role reads them when its
header says nothing."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from funnel.imports.parsing import DateParser, amount_parse

ID = "id"
DATE = "date"
AMOUNT = "amount"
NUMBER = "number"
FLAG = "flag"
LABEL = "label"  # a few distinct values: a category
TEXT = "text"
EMPTY = "empty"

_FLAGS = {"true", "false", "yes", "no", "y", "n", "0", "1"}
# Salesforce ids (15 or 18 characters, 3-character key prefix), hashes, UUIDs, codes like
# 1C1I7A6R: one token mixing digits and letters, or long digit strings.
_ID = re.compile(r"^(?=.*\d)[A-Za-z0-9_\-]{6,64}$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_CURRENCY_HINT = re.compile(r"[$€£¥]|\b(?:USD|EUR|GBP)\b|\d,\d{3}|\.\d{2}$")
_SF_ID = re.compile(r"^[a-zA-Z0-9]{3}[a-zA-Z0-9]{12}(?:[A-Z0-5]{3})?$")
_DATE_SHAPE = re.compile(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}")


def _is_date(text: str) -> bool:
    if not _DATE_SHAPE.search(text):
        return False
    return any(DateParser(f, dt.UTC)(text) is not None for f in ("iso", "dmy", "mdy"))


def looks_like_id(text: str) -> bool:
    text = text.strip()
    return bool(_UUID.match(text) or (_ID.match(text) and not _is_date(text)))


def salesforce_id(text: str) -> bool:
    """A 15- or 18-character Salesforce record id, e.g. 0058d000002C3D2AAK."""
    text = text.strip()
    return len(text) in (15, 18) and bool(_SF_ID.match(text)) and any(c.isdigit() for c in text)


def value_kind(values: Sequence[str]) -> str:
    """The kind most of a column's non-empty sample values are (90 % or more), else text."""
    present = [v.strip() for v in values if v.strip()]
    if not present:
        return EMPTY
    distinct = set(present)
    n = len(present)

    def share(test) -> float:
        return sum(1 for v in present if test(v)) / n

    flags = {v.lower() for v in distinct} <= _FLAGS and len(distinct) <= 2
    if flags and (not all(v.isdigit() for v in distinct) or distinct == {"0", "1"}):
        return FLAG
    if share(_is_date) >= 0.8:  # a few bad dates do not make a date column text
        return DATE
    numeric = share(lambda v: amount_parse(v) is not None)
    if numeric >= 0.9:
        integers = all(re.fullmatch(r"-?\d+", v) for v in distinct)
        if integers and len(distinct) == n and n >= 5 and all(len(v) >= 5 for v in distinct):
            return ID  # every row its own long number: a record number
        if (
            any(_CURRENCY_HINT.search(v) for v in distinct)
            or max((amount_parse(v) or 0) for v in distinct) >= 1000
        ):
            return AMOUNT
        return NUMBER
    if share(looks_like_id) >= 0.9:
        return ID
    if len(distinct) <= 20 and (len(distinct) <= n / 2 or n <= 5) and max(map(len, distinct)) <= 60:
        return LABEL
    return TEXT


# Headers (as header_key words) of a CRM's own bookkeeping: never a characteristic by default.
_SYSTEM_WORDS = (
    "last modified",
    "modified by",
    "created by",
    "creator",
    "edited by",
    "system modstamp",
    "last viewed",
    "last referenced",
    "last activity",
    "last stage change",
    "is deleted",
    "is private",
    "is closed",
    "is won",
    "push count",
    "fiscal",
    "sort order",
    "probability",
    "expected",
    "forecast category",
    "pricebook",
    "has open activity",
    "has overdue task",
    "has opportunity line item",
    "history id",
    "date exited",
    "cumulative time",
    "latest time",
    "time in",
    "update time",
    "next step",
    "currency",
    "pipeline",
    "record id",
    "tracking number",
    "order number",
    "quantity",
    "weighted",
    "days to close",
    "stage duration",
    "age",
)


def system_field(key: str) -> bool:
    """'last modified date', 'created by id', 'owner id', 'fiscal quarter' -> True."""
    words = f" {key} "
    return (
        key in {"id", "name", "description", "title", "deal name", "opportunity name"}
        or key.endswith(" id")
        or any(f" {w} " in words for w in _SYSTEM_WORDS)
    )
