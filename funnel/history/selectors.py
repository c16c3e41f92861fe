"""Reads of the audit history: each write of a tracked row as who, when, and field: old -> new.

The history tables (funnel.models.audit) hold a snapshot of the row per insert, update and
delete; a change is the difference from the row's previous snapshot. Each page reads the rows of
its own objects; the team export reads every table's rows of one team.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import pghistory.models
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connection, models
from django.db.models import Q

from funnel.history.values import field_label, value_text
from funnel.models import Team

HISTORY_PAGE_SIZE = 50
CHUNK = 2000

# What each kind of row is called on the pages and in the export.
KINDS = {
    "funnel.Team": "Team settings",
    "funnel.Membership": "Member",
    "funnel.ApiToken": "API token",
    "funnel.OperationalDefinition": "Definition",
    "funnel.DefinitionVersion": "Definition version",
    "funnel.StaleRule": "Stale rule",
    "kaizen.Cycle": "PDCA cycle",
    "funnel.Tactic": "Tactic",
    "funnel.Touch": "Touch",
}
ACTIONS = {"insert": "Created", "update": "Changed", "delete": "Deleted"}
# Never shown as a change: the row's own id, and the team every row of a page belongs to.
HIDDEN = {"id", "team"}
BEFORE_HISTORY = object()  # an update of a row written before its history began


def history_available() -> bool:
    """History is written by PostgreSQL triggers; SQLite has none."""
    return connection.vendor == "postgresql"


def history_models() -> list[type[models.Model]]:
    return [m for m in apps.get_models() if issubclass(m, pghistory.models.Event)]


def history_model_for(tracked: type[models.Model]) -> type[models.Model]:
    return next(m for m in history_models() if m.pgh_tracked_model is tracked)


@dataclass(frozen=True)
class Change:
    field: str
    old: str
    new: str


@dataclass
class HistoryEntry:
    at: dt.datetime  # the writing transaction's start: one transaction's writes share it
    seq: int  # the history row's id, which orders the writes of one table within a transaction
    kind: str
    object_id: int
    label: str
    action: str
    who: str
    via: str
    changes: list[Change] = field(default_factory=list)


class NameBook:
    """Names of the rows history rows point at, looked up in bulk: users by email."""

    def __init__(self) -> None:
        self.names: dict[tuple[str, object], str] = {}
        self.wanted: dict[type[models.Model], set] = {}

    def want(self, model: type[models.Model], pk) -> None:
        if pk is not None and (model._meta.label, pk) not in self.names:
            self.wanted.setdefault(model, set()).add(pk)

    def fill(self) -> None:
        user_model = get_user_model()
        for model, pks in self.wanted.items():
            for row in model._default_manager.filter(pk__in=pks):
                name = (row.email or row.get_username()) if model is user_model else str(row)
                self.names[(model._meta.label, row.pk)] = name
        self.wanted = {}

    def user(self, pk) -> str:
        return self.names.get((get_user_model()._meta.label, pk), f"user #{pk}")


def _fields(event_model) -> list[models.Field]:
    tracked = {f.name for f in event_model.pgh_tracked_model._meta.concrete_fields}
    return [f for f in event_model._meta.concrete_fields if f.name in tracked]


def _who(context: dict, names: NameBook) -> tuple[str, str]:
    """Who wrote, and through what, from the write's recorded context."""
    via, user = context.get("via"), context.get("user")
    by = f" by {names.user(user)}" if user else ""
    if via == "api" or context.get("api_token_name"):
        return f"API token {context.get('api_token_name', '')}".strip(), "API"
    if via == "import":
        name = f"Import {context.get('import_filename', '')} (#{context.get('import_job')})"
        return name + by, "CSV import"
    if via == "task":
        task = context.get("task", "")
        return ("Recompute job" if "pipeline" in task else "Scheduled job"), "Background job"
    if user:
        admin = str(context.get("url", "")).startswith("/admin/")
        return names.user(user), "Admin" if admin else "Browser"
    return "Not recorded", "Command or shell"


def _label(tracked_label: str, snap: dict, fields: dict, names: NameBook) -> str:
    def named(name):
        f = fields.get(name)
        return value_text(f, snap.get(name), currency="", names=names.names) if f else ""

    if tracked_label == "funnel.Membership":
        return named("user")
    if tracked_label in ("funnel.DefinitionVersion", "funnel.StaleRule"):
        return f"Version {snap.get('number')}" if "definition" in fields else "Stale rule"
    if tracked_label == "funnel.Observation":
        return f"{named('characteristic')} on deal {named('deal')}"
    for name in ("name", "term", "title", "external_id"):
        if snap.get(name):
            return str(snap[name])
    return f"#{snap.get('id', '')}"


def _entries(event_model, events: Iterable, *, currency: str) -> Iterator[HistoryEntry]:
    """Entries of one history table's rows, read in (object, time) order, a chunk at a time."""
    fields = _fields(event_model)
    by_name = {f.name: f for f in fields}
    tracked_label = event_model.pgh_tracked_model._meta.label
    kind = KINDS.get(tracked_label, str(event_model.pgh_tracked_model._meta.verbose_name).title())
    user_model = get_user_model()
    previous: dict = {}
    chunk: list = []

    def flush() -> Iterator[HistoryEntry]:
        names = NameBook()
        for event in chunk:
            for f in fields:
                if f.is_relation:
                    names.want(f.related_model, getattr(event, f.attname))
            context = event.pgh_context or {}
            if context.get("user"):
                names.want(user_model, context["user"])
        names.fill()
        for event in chunk:
            yield _entry(event, fields, by_name, tracked_label, kind, names, previous, currency)
        chunk.clear()

    for event in events:
        chunk.append(event)
        if len(chunk) >= CHUNK:
            yield from flush()
    yield from flush()


def _entry(event, fields, by_name, tracked_label, kind, names, previous, currency):
    snap = {f.name: getattr(event, f.attname) for f in fields}
    before = previous.get(event.pgh_obj_id, BEFORE_HISTORY)
    previous[event.pgh_obj_id] = snap
    changes = []
    for f in fields:
        if f.name in HIDDEN:
            continue
        new = snap[f.name]
        if event.pgh_label == "insert":
            old = None
        elif event.pgh_label == "delete":
            old, new = new, None
        elif before is BEFORE_HISTORY:
            old = BEFORE_HISTORY
        else:
            old = before[f.name]
        if old == new or (old in (None, "") and new in (None, "")):
            continue
        as_text = {"currency": currency, "names": names.names}
        changes.append(
            Change(
                field=field_label(f),
                old="(before history began)"
                if old is BEFORE_HISTORY
                else value_text(f, old, **as_text),
                new=value_text(f, new, **as_text),
            )
        )
    context = event.pgh_context or {}
    who, via = _who(context, names)
    return HistoryEntry(
        at=event.pgh_created_at,
        seq=event.pgh_id,
        kind=kind,
        object_id=event.pgh_obj_id,
        label=_label(tracked_label, snap, by_name, names),
        action=ACTIONS.get(event.pgh_label, event.pgh_label),
        who=who,
        via=via,
        changes=changes,
    )


def _rows(event_model, condition: Q):
    return event_model.objects.filter(condition).order_by("pgh_obj_id", "pgh_id")


def history_for_objects(
    *, sources: list[tuple[type[models.Model], Q]], team: Team
) -> list[HistoryEntry]:
    """Entries of some objects' rows (each source: a tracked model and which of its rows),
    newest first. Empty where history is not recorded (SQLite)."""
    if not history_available():
        return []
    entries: list[HistoryEntry] = []
    for tracked, condition in sources:
        event_model = history_model_for(tracked)
        entries.extend(_entries(event_model, _rows(event_model, condition), currency=team.currency))
    entries.sort(key=lambda e: (e.at, e.seq), reverse=True)
    return entries


def _team_condition(event_model, team: Team) -> Q | None:
    """Which of a history table's rows are the team's: by their team, the team itself, or the
    team's row they belong to (a definition's versions, a deal's observations)."""
    tracked = event_model.pgh_tracked_model
    if tracked is Team:
        return Q(pgh_obj_id=team.id)
    names = {f.name for f in _fields(event_model)}
    if "team" in names:
        return Q(team_id=team.id)
    for f in _fields(event_model):
        if f.is_relation and any(g.name == "team" for g in f.related_model._meta.fields):
            owner_history = history_model_for(f.related_model)
            ids = owner_history.objects.filter(team_id=team.id).values("pgh_obj_id")
            return Q(**{f"{f.attname}__in": ids})
    return None


def history_for_team(*, team: Team) -> Iterator[HistoryEntry]:
    """Every history row of a team's objects, kind by kind, each object's in time order."""
    if not history_available():
        return
    for event_model in history_models():
        condition = _team_condition(event_model, team)
        if condition is None:
            continue
        rows = _rows(event_model, condition).iterator(chunk_size=CHUNK)
        yield from _entries(event_model, rows, currency=team.currency)
