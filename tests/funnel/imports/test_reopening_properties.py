"""Properties of the reopening check (funnel.imports.reopening), a pure computation: it agrees
with reading each deal's log in order, file order never matters, and keeping the deals closed
leaves nothing that reopens."""

import datetime as dt
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from funnel.imports.reopening import StoredClose, plan_reopenings, rows_kept_closed
from funnel.ingest import EventIn

STAGES = ("inquiry", "engaged", "qualified", "proposal")
ORDER = {slug: k for k, slug in enumerate(STAGES, start=1)}
RANK = {**ORDER, "lost": 1_000_000, "won": 1_000_001}
T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)

# One row per event: (deal, stage or outcome, day). Few days, so instants are often shared.
rows_strategy = st.lists(
    st.tuples(
        st.sampled_from(["A", "B", "C"]),
        st.sampled_from([*STAGES, "won", "lost"]),
        st.integers(0, 4),
    ),
    max_size=14,
)
stored_strategy = st.dictionaries(
    st.sampled_from(["A", "B", "C"]),
    st.tuples(st.sampled_from(["won", "lost"]), st.integers(0, 4)),
    max_size=2,
)


def plan_rows(rows):
    out = []
    for number, (deal, what, day) in enumerate(rows, start=2):
        outcome = what if what in ("won", "lost") else None
        stage = None if outcome else what
        at = T0 + dt.timedelta(days=day)
        event = EventIn(f"{deal}{number}", deal, at, stage=stage, outcome=outcome)
        out.append((number, [event], []))
    return out


def closes(stored):
    return {d: StoredClose(o, T0 + dt.timedelta(days=day)) for d, (o, day) in stored.items()}


def reopened_by_reading_the_log(rows, stored) -> set[str]:
    """The definition, read off each deal's sorted log: an outcome, then (from the file) a
    stage or the other outcome."""
    out = set()
    for deal in {r[0] for r in rows}:
        log = [(day, RANK[what], 1, what) for d, what, day in rows if d == deal]
        if deal in stored:
            outcome, day = stored[deal]
            log.append((day, RANK[outcome], 0, outcome))
        log.sort(key=lambda item: item[:3])
        closed = None
        for _, _, from_file, what in log:
            if closed and from_file and what != closed:
                out.add(deal)
                break
            if what in ("won", "lost"):
                closed = what
    return out


@settings(max_examples=300, deadline=None)
@given(rows=rows_strategy, stored=stored_strategy, seed=st.integers(0, 10_000))
def test_agrees_with_the_log_and_ignores_file_order(rows, stored, seed):
    stored = {d: v for d, v in stored.items() if d in {r[0] for r in rows}}
    found = plan_reopenings(plan_rows(rows), stage_order=ORDER, stored=closes(stored))
    assert {d.deal for d in found.deals} == reopened_by_reading_the_log(rows, stored)

    # The same rows in another order: the same deals, and the same rows (by content) after
    # their close.
    shuffled = list(enumerate(rows, start=2))
    random.Random(seed).shuffle(shuffled)
    again = plan_reopenings(
        plan_rows([r for _, r in shuffled]), stage_order=ORDER, stored=closes(stored)
    )
    assert {d.deal for d in again.deals} == {d.deal for d in found.deals}

    def contents(result, numbered):
        by_number = dict(numbered)
        return sorted(by_number[n] for n in result.after_close)

    renumbered = {n: r for n, (_, r) in enumerate(shuffled, start=2)}
    assert contents(found, enumerate(rows, start=2)) == contents(again, renumbered.items())


@settings(max_examples=300, deadline=None)
@given(rows=rows_strategy, stored=stored_strategy)
def test_kept_closed_nothing_reopens(rows, stored):
    stored = closes({d: v for d, v in stored.items() if d in {r[0] for r in rows}})
    planned = plan_rows(rows)
    found = plan_reopenings(planned, stage_order=ORDER, stored=stored)
    kept, left_out = rows_kept_closed(planned, found.after_close)
    assert left_out == len(found.after_close)  # one event a row: each such row goes whole
    assert plan_reopenings(kept, stage_order=ORDER, stored=stored).deals == []
