"""Touches and answers from marketing exports: how each file maps, and the import itself.

Two shapes, both public data sets a team's own exports resemble:

bank-marketing (UCI "Bank Marketing", bank-additional-full.csv; `;`-separated)
    Each row is one prospect of a phone campaign ("bank-<line>").
    `contact` (cellular, telephone) is the tactic: "Call to mobile" / "Call to landline",
    channel phone. `campaign` is how many times the prospect was called in this campaign
    (the last call included): that many touches, "bank-<line>-1" ... "-<campaign>".
    `y` is the answer: "yes" (subscribed) marks the last call answered and the earlier ones not;
    "no" marks every call not answered. The file gives only the month and weekday of the last
    call, in date order from May 2008: the year starts at 2008 and steps on whenever the month
    goes back; the last call is dated the 1st of its month and the earlier ones a day apart
    before it (so dates are approximate; counts and answers are exact).

olist (Olist marketing funnel: the qualified-leads file, and the closed-deals file)
    Each marketing-qualified lead is one prospect ("olist-<mql_id>") with one touch on its
    `first_contact_date`. `origin` is the tactic (organic_search, paid_search, social ...; an
    empty origin is "unknown"). A lead that appears in the closed-deals file answered (a closed
    deal is the answer); every other lead did not. The won date is not used as the answer's
    time: a deal closes weeks after the prospect first answered.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction

from funnel.ingest import EventError
from funnel.models import Channel, Origin, Tactic, Team
from funnel.touches.ingest import TouchesRejected, TouchIn, touches_ingest
from funnel.touches.services import tactic_create

logger = logging.getLogger(__name__)

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
BANK_TACTICS = {
    "cellular": ("Call to mobile", Channel.PHONE),
    "telephone": ("Call to landline", Channel.PHONE),
}
OLIST_CHANNELS = {
    "organic_search": Channel.WEB,
    "paid_search": Channel.WEB,
    "direct_traffic": Channel.WEB,
    "display": Channel.WEB,
    "social": Channel.SOCIAL,
    "email": Channel.EMAIL,
}
FORMATS = ("bank-marketing", "olist")


@dataclass(frozen=True)
class RowProblem:
    line: int  # line in the file, the header being line 1
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, {self.field}: {self.message}"


class TouchImportError(Exception):
    def __init__(self, problems: list[RowProblem]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s); nothing was imported.")


@dataclass
class Parsed:
    touches: list[TouchIn]
    lines: list[int]  # the file line of each touch
    tactics: dict[str, tuple[str, str]]  # slug -> (name, channel)
    problems: list[RowProblem]


def _rows(path: Path, delimiter: str) -> Iterable[tuple[int, dict]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        yield from enumerate(csv.DictReader(f, delimiter=delimiter), start=2)


def _require(path: Path, delimiter: str, columns: set[str]) -> None:
    with path.open(newline="", encoding="utf-8-sig") as f:
        header = set(next(csv.reader(f, delimiter=delimiter), []))
    if missing := columns - header:
        raise TouchImportError(
            [RowProblem(1, name, f"Column missing in {path.name}.") for name in sorted(missing)]
        )


def bank_marketing_parse(path: Path) -> Parsed:
    _require(path, ";", {"contact", "campaign", "y", "month"})
    parsed = Parsed([], [], {}, [])
    year, last_month = 2008, None
    for line, row in _rows(path, ";"):
        contact, month, answer = row["contact"], row["month"].lower(), row["y"]
        problems_before = len(parsed.problems)
        if contact not in BANK_TACTICS:
            parsed.problems.append(RowProblem(line, "contact", f"Unknown contact {contact!r}."))
        if month not in MONTHS:
            parsed.problems.append(RowProblem(line, "month", f"Unknown month {month!r}."))
        if answer not in ("yes", "no"):
            parsed.problems.append(RowProblem(line, "y", "Must be yes or no."))
        try:
            calls = int(row["campaign"])
            if calls < 1:
                raise ValueError
        except ValueError:
            parsed.problems.append(RowProblem(line, "campaign", "Must be a whole number ≥ 1."))
        if len(parsed.problems) > problems_before:
            continue
        index = MONTHS.index(month)
        if last_month is not None and index < last_month:
            year += 1
        last_month = index
        last_call = dt.datetime(year, index + 1, 1, 9, 0, tzinfo=dt.UTC)
        parsed.tactics[contact] = BANK_TACTICS[contact]
        for k in range(1, calls + 1):
            parsed.touches.append(
                TouchIn(
                    touch_id=f"bank-{line}-{k}",
                    tactic=contact,
                    occurred_at=last_call - dt.timedelta(days=calls - k),
                    prospect=f"bank-{line}",
                    campaign="bank-marketing",
                    responded=answer == "yes" and k == calls,
                )
            )
            parsed.lines.append(line)
    return parsed


def olist_parse(leads: Path, closed: Path) -> Parsed:
    _require(leads, ",", {"mql_id", "first_contact_date", "origin"})
    _require(closed, ",", {"mql_id"})
    won = {row["mql_id"] for _, row in _rows(closed, ",")}
    parsed = Parsed([], [], {}, [])
    for line, row in _rows(leads, ","):
        origin = (row["origin"] or "").strip() or "unknown"
        slug = origin.replace("_", "-")
        try:
            day = dt.date.fromisoformat(row["first_contact_date"])
        except ValueError:
            parsed.problems.append(
                RowProblem(line, "first_contact_date", "Must be a date like 2018-02-01.")
            )
            continue
        if not row["mql_id"]:
            parsed.problems.append(RowProblem(line, "mql_id", "The lead's id is missing."))
            continue
        name = origin.replace("_", " ").capitalize()
        parsed.tactics[slug] = (name, OLIST_CHANNELS.get(origin, Channel.OTHER))
        parsed.touches.append(
            TouchIn(
                touch_id=f"olist-{row['mql_id']}",
                tactic=slug,
                occurred_at=dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC),
                prospect=f"olist-{row['mql_id']}",
                campaign="olist-mql",
                responded=row["mql_id"] in won,
            )
        )
        parsed.lines.append(line)
    return parsed


def touches_import(
    *, team: Team, parsed: Parsed, by: AbstractBaseUser | None = None, dry_run: bool = False
):
    """Create the tactics the file names (only recorded answers count for them), then write
    every touch in one transaction: a file with any bad row writes nothing."""
    if parsed.problems:
        raise TouchImportError(parsed.problems)
    started = time.perf_counter()
    with transaction.atomic():
        known = set(Tactic.objects.filter(team=team).values_list("slug", flat=True))
        for slug, (name, channel) in parsed.tactics.items():
            if slug not in known:
                tactic_create(team=team, slug=slug, name=name, channel=channel, by=by)
        try:
            result = touches_ingest(
                team=team,
                touches=parsed.touches,
                origin=Origin.CSV,
                by=by,
                max_batch=max(len(parsed.touches), 1),
            )
        except TouchesRejected as rejected:
            raise TouchImportError(_by_line(rejected.errors, parsed.lines)) from None
        if dry_run:
            transaction.set_rollback(True)
    logger.info(
        "touches imported team=%s touches=%d accepted=%d in %.1fs",
        team.slug,
        len(parsed.touches),
        result.accepted,
        time.perf_counter() - started,
    )
    return result


def _by_line(errors: list[EventError], lines: list[int]) -> list[RowProblem]:
    return [
        RowProblem(lines[e.index] if e.index is not None else 1, e.field, e.message) for e in errors
    ]
