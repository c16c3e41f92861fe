"""The column-wise conversion gives what the row-by-row one gives, event for event and observation
for observation, or nothing (and the row-by-row path reports the problems)."""

import csv
import datetime as dt
import io
import random

import pytest

from funnel.imports.columnar import columnar_plan, columnar_read
from funnel.imports.facts import stage_values_fill, team_facts
from funnel.imports.mapping import mapping_complete
from funnel.imports.parsing import csv_parse
from funnel.imports.rows import PlanBuilder
from funnel.imports.service import import_mapping_propose
from funnel.models import Characteristic, CharacteristicKind
from tests.funnel.imports.test_service import EXCEL_MAPPING

RICH_MAPPING = {
    "shape": "deals",
    "date_format": "mdy",
    "create_missing_owners": True,
    "default_date": "2024-12-31",
    "columns": {
        "id": "deal_id",
        "owner": "owner",
        "account": "account",
        "source": "source",
        "amount": "amount",
        "stage": "stage",
        "status": "outcome",
        "created": "created_at",
        "qualified": "entered:qualified",
        "inquiry": "entered:inquiry",
        "closed": "closed_at",
        "won": "won_at",
        "reason": "lost_reason",
        "budget": "characteristic:budget",
        "seats": "characteristic:seats",
        "product": "new_characteristic",
    },
    "stage_values": {"Qualified": "qualified", "Inquiry": "inquiry", "Done": "won"},
}


def rich_export(rows: int, seed: int) -> bytes:
    """Deal rows with every kind of cell the conversion reads, blanks and repeats included."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(RICH_MAPPING["columns"])
    start = dt.datetime(2023, 1, 1, 9, 30)

    def when(days: int, hours: bool) -> str:
        moment = start + dt.timedelta(days=days, hours=rng.randrange(9) if hours else 0)
        return moment.strftime("%m/%d/%Y %H:%M" if hours else "%m/%d/%Y")

    for i in range(rows):
        created = rng.randrange(300)
        qualified = created + rng.randrange(0, 40)
        closed = qualified + rng.randrange(0, 40)
        status = rng.choice(["", "", "won", "lost", "Lost"])
        stage = rng.choice(["Qualified", "Inquiry", "Done"]) if not status else ""
        writer.writerow(
            [
                f" D-{i:05d} ",
                rng.choice(["Rita Rep", "max.manager@example.com", "New Person", ""]),
                rng.choice(["Acme", " Globex ", "", "Initech"]),
                rng.choice(["web", "", "referral"]),
                rng.choice(["", "1200", "$1,250.505", "0", "99.994", "17"]),
                stage,
                status,
                when(created, rng.random() < 0.3) if rng.random() < 0.8 else "",
                when(qualified, False) if rng.random() < 0.6 else "",
                when(created, False) if rng.random() < 0.3 else "",
                when(closed, True) if rng.random() < 0.7 else "",
                when(closed + 1, False) if status == "won" and rng.random() < 0.5 else "",
                rng.choice(["Price", ""]) if status else rng.choice(["", "ignored"]),
                rng.choice(["yes", "No", "", "TRUE", "0"]),
                rng.choice(["3", "1.5", "", "12"]),
                rng.choice(["Pro", "Basic", "", "Pro "]),
            ]
        )
    return out.getvalue().encode()


def _both(team, content: bytes, mapping: dict):
    table = csv_parse(content)
    facts = team_facts(team=team)
    mapping = stage_values_fill(mapping_complete(mapping, table.header), table, facts.stages)
    rows = PlanBuilder(table, mapping, facts)
    rows.add(table.rows)
    plan = rows.finish()
    raw = columnar_read(content)
    columns = raw is not None and columnar_plan(
        raw, PlanBuilder(table, mapping, facts), rows=len(table.rows)
    )
    return plan, rows, columns


def _assert_same(plan, rows, columns):
    events = [
        (e.deal_external_id, e.event_id, e.stage, e.outcome or "", e.lost_reason, e.occurred_at)
        for _, row_events, _ in plan.rows
        for e in row_events
    ]
    got = [
        (d, i, s, o, r, at)
        for d, i, s, o, r, at in columns.events.select(
            "deal", "event_id", "stage", "outcome", "lost_reason", "occurred_at"
        ).iter_rows()
    ]
    assert got == events
    observations = [
        (o.deal_external_id, o.characteristic, o.value, o.value_number, o.observed_at)
        for _, _, row_obs in plan.rows
        for o in row_obs
    ]
    assert (
        list(
            columns.observations.select(
                "deal", "characteristic", "value", "value_number", "observed_at"
            ).iter_rows()
        )
        == observations
    )
    deals = {}
    for _, row_events, _ in plan.rows:
        e = row_events[0]
        amount = None if e.amount is None else str(e.amount.quantize(e.amount.__class__("0.01")))
        deals[e.deal_external_id] = (e.owner_email, amount, e.account, e.department, e.source)
    assert {
        d: rest
        for d, *rest in columns.deals.select(
            "deal", "owner_email", "amount", "account", "department", "source"
        ).iter_rows()
    } == {d: list(v) for d, v in deals.items()}
    assert columns.builder.plan.owners_to_create == plan.owners_to_create
    assert columns.builder.new_characteristics() == plan.new_characteristics
    assert columns.rows == len(plan.rows)


@pytest.fixture
def characteristics(team):
    Characteristic.objects.create(
        team=team, slug="budget", name="Budget", kind=CharacteristicKind.YES_NO, position=10
    )
    Characteristic.objects.create(
        team=team, slug="seats", name="Seats", kind=CharacteristicKind.NUMBER, position=11
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_rich_export_converts_alike(team, manager, named_rep, characteristics, seed):
    plan, rows, columns = _both(team, rich_export(400, seed), RICH_MAPPING)
    assert plan.errors == [], plan.errors[:5]
    assert columns is not None
    _assert_same(plan, rows, columns)


@pytest.mark.parametrize(
    "name", ["deals_excel_semicolon.csv", "hubspot_deals.csv", "pipedrive_deals.csv"]
)
def test_fixture_exports_convert_alike(team, manager, named_rep, csv_bytes, name):
    content = csv_bytes(name)
    if name == "deals_excel_semicolon.csv":
        mapping = EXCEL_MAPPING
    else:
        mapping = {
            **import_mapping_propose(team=team, content=content),
            "create_missing_owners": True,
        }
    plan, rows, columns = _both(team, content, mapping)
    assert plan.errors == [] and plan.rows
    assert columns is not None
    _assert_same(plan, rows, columns)


@pytest.mark.parametrize(
    "change",
    [
        lambda text: text.replace("D-00007", "D-00003", 1),  # a deal twice
        lambda text: text.replace("Acme", "Ac\x01me", 1),  # a control character
        lambda text: text.replace(",Qualified,", ",Nowhere,", 1),  # a stage with no mapping
        lambda text: text.replace(",yes,", ",maybe,", 1),  # not yes or no
    ],
)
def test_a_file_with_a_problem_is_left_to_the_row_path(
    team, manager, named_rep, characteristics, change
):
    content = change(rich_export(60, 4).decode()).encode()
    assert content != rich_export(60, 4)
    plan, _, columns = _both(team, content, RICH_MAPPING)
    assert not columns
    assert plan.errors or plan.skipped_rows
