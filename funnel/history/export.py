"""A team's audit history as CSV rows: one row per changed field of each write."""

from __future__ import annotations

from collections.abc import Iterator

from funnel.history.selectors import history_for_team
from funnel.models import Team

HEADER = ["time (UTC)", "what", "id", "name", "action", "field", "old", "new", "who", "via"]


def history_csv_rows(*, team: Team) -> Iterator[list[str]]:
    yield HEADER
    for entry in history_for_team(team=team):
        head = [entry.at.isoformat(timespec="seconds"), entry.kind, str(entry.object_id)]
        head += [entry.label, entry.action]
        for change in entry.changes or [None]:
            cells = [change.field, change.old, change.new] if change else ["", "", ""]
            yield [*head, *cells, entry.who, entry.via]
