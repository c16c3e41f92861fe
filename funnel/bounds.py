"""What the database can store and the app can read back: one place for the limits every
boundary (API, CSV import, forms) applies.

- Dates: from 1 Jan 1970 (UTC). Nothing a CRM records is older, and an earlier time such as
  0001-01-01T00:00:00+14:00 lies in year 0 once in UTC, which no Python date can hold: it would be
  stored, then break every page and recompute that reads it.
- Text: no NUL character (PostgreSQL's text cannot hold it) and no lone surrogate (it has no UTF-8
  encoding); other control characters but tab and newline are refused too, since no CRM value
  means them.
"""

from __future__ import annotations

import datetime as dt
import re

EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
EARLIEST_DATE = EARLIEST.date()
# Offsets run to ±14:00 (Kiribati), so a date one day inside the end of the calendar stays
# readable in every zone.
LATEST_DATE = dt.date(9999, 12, 30)
# Dates typed into forms (definitions' effective dates, a cycle's Do window, an import's default
# date) run from the first date the figures can hold to a horizon far past any plan.
LATEST_PLANNED = dt.date(2100, 12, 31)
# What a stored time may be, in the database: a row outside was written around the boundaries.
STORED_EARLIEST = EARLIEST
STORED_LATEST = dt.datetime.combine(LATEST_DATE, dt.time.max, tzinfo=dt.UTC)
# Pagination offsets and limits beyond this are refused: bigger ones overflow PostgreSQL's bigint.
MAX_OFFSET = 1_000_000_000

_UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def storable(value: str) -> bool:
    """Fast check, for whole rows joined with newlines."""
    return _UNSTORABLE.search(value) is None


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored, or None. Names the first bad character and where it is."""
    match = _UNSTORABLE.search(value)
    if match is None:
        return None
    char = match.group(0)
    position = match.start() + 1
    if char == "\x00":
        what = "a NUL character (\\x00)"
    elif "\ud800" <= char <= "\udfff":
        what = f"an unpaired surrogate (\\u{ord(char):04x})"
    else:
        what = f"a control character (\\x{ord(char):02x})"
    return f"Contains {what} at character {position}; remove it."


def too_early(value: dt.datetime | dt.date) -> bool:
    """Whether a time (aware) or a date lies before 1 Jan 1970."""
    if isinstance(value, dt.datetime):
        return value < EARLIEST
    return value < EARLIEST_DATE


TOO_EARLY = "Must be on or after 1 Jan 1970."

# Real UTC offsets run from -12:00 to +14:00; PostgreSQL refuses anything past ±15:59, which
# a date parser would otherwise let through as a 500.
MAX_OFFSET_HOURS = 14
BAD_OFFSET = "The UTC offset must lie between -14:00 and +14:00."


def offset_out_of_range(value: dt.datetime) -> bool:
    offset = value.utcoffset()
    return offset is not None and abs(offset) > dt.timedelta(hours=MAX_OFFSET_HOURS)
