import json
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from funnel.models import Deal, StageEvent
from tests.funnel.imports.conftest import FIXTURES

MAPPING = {
    "shape": "deals",
    "columns": {
        "opportunity_id": "deal_id",
        "sales_agent": "owner",
        "account": "account",
        "deal_stage": "stage",
        "engage_date": "entered:engaged",
        "close_date": "closed_at",
        "close_value": "amount",
    },
    "stage_values": {"Won": "won", "Lost": "lost", "Engaging": "engaged"},
}


@pytest.fixture
def mapping_file(tmp_path):
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps(MAPPING))
    return path


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("import_csv", *[str(a) for a in args], stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_imports_and_prints_progress_and_summary(team, named_rep, mapping_file):
    out, _ = run(FIXTURES / "deals_good.csv", "--team", "north", "--mapping", mapping_file)
    assert "4 / 4 rows (100 %)" in out
    assert "Events accepted:" in out and "Deals created:" in out
    assert Deal.objects.filter(team=team).count() == 4
    events = StageEvent.objects.filter(team=team).count()
    assert events == 7  # 4 engaged + 3 decided
    out, _ = run(FIXTURES / "deals_good.csv", "--team", "north", "--mapping", mapping_file)
    assert StageEvent.objects.filter(team=team).count() == events
    assert re.search(r"Events already stored: +7\n", out)


def test_invalid_file_exits_non_zero_with_row_errors(team, named_rep, mapping_file):
    err = StringIO()
    with pytest.raises(CommandError, match="1 problem"):
        call_command(
            "import_csv",
            str(FIXTURES / "deals_one_bad_row.csv"),
            "--team",
            "north",
            "--mapping",
            str(mapping_file),
            stdout=StringIO(),
            stderr=err,
        )
    assert (
        "row 3, column close_date: '2024-02-31' is not a date written YYYY-MM-DD." in err.getvalue()
    )
    assert not Deal.objects.exists()


def test_validate_only_writes_no_deals(team, named_rep, mapping_file):
    out, _ = run(
        FIXTURES / "deals_good.csv", "--team", "north", "--mapping", mapping_file, "--validate-only"
    )
    assert "Valid: 4 rows, 7 events" in out
    assert not Deal.objects.exists()


def test_unknown_team_and_size_limit(team, mapping_file):
    with pytest.raises(CommandError, match="No team"):
        run(FIXTURES / "deals_good.csv", "--team", "nowhere", "--mapping", mapping_file)
    with override_settings(CSV_IMPORT_MAX_BYTES=10), pytest.raises(CommandError, match="limit"):
        run(FIXTURES / "deals_good.csv", "--team", "north", "--mapping", mapping_file)


def test_reopenings_need_a_choice_from_the_command(team, tmp_path):
    from_file = tmp_path / "reopen.csv"
    from_file.write_text(
        "deal,stage,at\n"
        "R-1,won,2024-03-10T09:00:00+00:00\n"
        "R-1,proposal,2024-03-12T09:00:00+00:00\n"
        "R-1,negotiation,2024-03-14T09:00:00+00:00\n"
    )
    mapping = tmp_path / "events.json"
    mapping.write_text(
        json.dumps(
            {
                "shape": "events",
                "date_format": "iso",
                "columns": {"deal": "deal_id", "stage": "stage", "at": "occurred_at"},
                "stage_values": {
                    "won": "won",
                    "proposal": "proposal",
                    "negotiation": "negotiation",
                },
            }
        )
    )
    with pytest.raises(CommandError, match="--on-reopen reopen or --on-reopen keep_closed"):
        run(from_file, "--team", "north", "--mapping", mapping)
    assert not Deal.objects.exists()
    out, _ = run(from_file, "--team", "north", "--mapping", mapping, "--on-reopen", "keep_closed")
    assert "R-1: won 2024-03-10 (row 2); rows after the close: 3, 4" in out
    assert "Kept 1 reopened deal(s) closed: 2 row(s) skipped, 2 event(s) not written" in out
    assert list(Deal.objects.values_list("status", flat=True)) == ["won"]
    assert StageEvent.objects.count() == 1
