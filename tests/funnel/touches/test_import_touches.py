"""import_touches on small samples of the two public data sets (tests/fixtures/touches/, cut
from the real files): touches and answers as documented in funnel/touches/imports.py, figures
equal to an independent count, a re-run adds nothing, a bad row writes nothing."""

import csv
import datetime as dt
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from funnel.models import Tactic, Touch
from funnel.pipeline.tactics import team_tactics_rebuild
from funnel.touches.analysis import tactics_analysis
from funnel.touches.selectors import tactic_counts_for_team

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parents[2] / "fixtures" / "touches"
BANK = FIXTURES / "bank_marketing_sample.csv"
LEADS = FIXTURES / "olist_leads_sample.csv"
CLOSED = FIXTURES / "olist_closed_deals_sample.csv"


def _figures(team):
    team_tactics_rebuild(team=team)
    analysis = tactics_analysis(tactic_counts_for_team(team=team))
    tactics = {r.tactic.slug: (r.finding.rate.n, r.finding.rate.successes) for r in analysis.rows}
    buckets = {b.label: (b.rate.n, b.rate.successes) for b in analysis.buckets}
    return tactics, buckets


def test_bank_marketing_rows_become_calls_and_subscriptions(team, capsys):
    call_command("import_touches", str(BANK), team="north", format="bank-marketing")
    assert "51 touches in the file (11 answered) on 2 tactics" in capsys.readouterr().out
    # Independent count: each row is `campaign` calls on its `contact`, answered when y is yes.
    tactics, buckets = {}, {}
    with BANK.open(newline="") as f:
        for row in csv.DictReader(f, delimiter=";"):
            calls, yes = int(row["campaign"]), row["y"] == "yes"
            n, k = tactics.get(row["contact"], (0, 0))
            tactics[row["contact"]] = (n + calls, k + yes)
            label = str(calls) if calls < 5 else "5+"
            n, k = buckets.get(label, (0, 0))
            buckets[label] = (n + 1, k + yes)
    got_tactics, got_buckets = _figures(team)
    assert got_tactics == tactics
    assert got_tactics["telephone"] == (34, 6) and got_tactics["cellular"] == (17, 5)  # by hand
    assert {label: got_buckets[label] for label in buckets} == buckets
    assert got_buckets["1"] == (17, 5)  # by hand
    # The year steps on when the month goes back: March after December is 2009.
    march = Touch.objects.get(touch_id="bank-25-4")
    assert march.occurred_at == dt.datetime(2009, 3, 1, 9, tzinfo=dt.UTC)
    assert march.responded is True
    assert Touch.objects.get(touch_id="bank-25-3").responded is False
    assert Tactic.objects.get(team=team, slug="cellular").name == "Call to mobile"


def test_olist_leads_by_origin_and_closed_deals_as_answers(team):
    call_command(
        "import_touches", str(LEADS), team="north", format="olist", closed_deals=str(CLOSED)
    )
    with CLOSED.open(newline="") as f:
        won = {row["mql_id"] for row in csv.DictReader(f)}
    expected: dict[str, tuple[int, int]] = {}
    with LEADS.open(newline="") as f:
        for row in csv.DictReader(f):
            origin = (row["origin"] or "unknown").replace("_", "-")
            n, k = expected.get(origin, (0, 0))
            expected[origin] = (n + 1, k + (row["mql_id"] in won))
    tactics, buckets = _figures(team)
    assert (
        tactics
        == expected
        == {
            "social": (5, 2),
            "paid-search": (5, 2),
            "email": (5, 2),
            "unknown": (5, 2),
        }
    )
    assert buckets["1"] == (20, 8)


def test_a_second_run_adds_nothing(team, capsys):
    call_command("import_touches", str(BANK), team="north", format="bank-marketing")
    call_command("import_touches", str(BANK), team="north", format="bank-marketing")
    assert "imported 0, 51 already there" in capsys.readouterr().out
    assert Touch.objects.count() == 51


def test_a_bad_row_is_named_and_nothing_is_written(team, tmp_path, capsys):
    lines = BANK.read_text().splitlines()
    lines[3] = lines[3].replace('"telephone"', '"pigeon"')
    lines[6] = lines[6].replace(";3;999;", ";many;999;")
    bad = tmp_path / "bank.csv"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(CommandError, match="2 problem"):
        call_command("import_touches", str(bad), team="north", format="bank-marketing")
    err = capsys.readouterr().err
    assert "line 4, contact: Unknown contact 'pigeon'." in err
    assert "line 7, campaign: Must be a whole number" in err
    assert Touch.objects.count() == 0 and not Tactic.objects.filter(slug="cellular").exists()


def test_validate_only_writes_nothing(team, capsys):
    call_command(
        "import_touches", str(BANK), team="north", format="bank-marketing", validate_only=True
    )
    assert "would import 51" in capsys.readouterr().out
    assert Touch.objects.count() == 0


def test_olist_needs_the_closed_deals_file(team):
    with pytest.raises(CommandError, match="--closed-deals"):
        call_command("import_touches", str(LEADS), team="north", format="olist")
