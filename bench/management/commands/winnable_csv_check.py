"""Check the winnable analysis against an independent count on a won/lost CSV file.

    manage.py winnable_csv_check FILE --team SLUG --mapping MAPPING.json [--load]
    manage.py winnable_csv_check --generate-flat OUT.csv [--rows 20000] [--seed 1]

The mapping is the CSV import's (docs/mappings/): the `deal_id` column, the outcome column
(`stage`, with `stage_values` naming the won and lost values), the characteristic columns
(`new_characteristic`) and `on_repeated_deal`. The independent count reads the file with the csv
module and counts closed and won deals per column value (the first row of a repeated deal id,
as the import keeps); the app's figures come from the analysis selector, which reads the
aggregates the recompute wrote. Every value must agree exactly, or the command fails.

`--load` writes the file into the team first with a minimal loader (deals closed on the
mapping's default date, one observation per characteristic cell at the close), for when the
file is not imported through `import_csv`. `--generate-flat` writes a file whose
characteristics are drawn independently of the outcome: the analysis must find nothing there.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.text import slugify

from funnel.metrics.winnable import Winnability
from funnel.models import (
    Characteristic,
    CharacteristicKind,
    Deal,
    DealStatus,
    Observation,
    Origin,
    Team,
)
from funnel.services import team_create
from funnel.winnable.selectors import winnable_analysis
from funnel.winnable.services import team_winnable_recompute

FLAT_COLUMNS = {
    "Region": ["North", "South", "East", "West"],
    "Channel": ["Direct", "Partner", "Web"],
    "Company size": ["Small", "Medium", "Large"],
    "Industry": ["Retail", "Health", "Finance", "Public", "Energy"],
    "Competitor": ["None", "Known", "Unknown"],
}


def _read(path: str):
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = next(reader)
        yield header
        yield from reader


def independent_counts(path: str, mapping: dict) -> dict[tuple[str, str], tuple[int, int]]:
    """(column, value) -> (closed, won), straight from the file."""
    rows = _read(path)
    header = next(rows)
    role = mapping["columns"]
    id_col = header.index(next(c for c, r in role.items() if r == "deal_id"))
    outcome_col = header.index(next(c for c, r in role.items() if r == "stage"))
    chars = [(header.index(c), c) for c, r in role.items() if r == "new_characteristic"]
    outcome = mapping["stage_values"]
    seen: set[str] = set()
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for cells in rows:
        deal = cells[id_col].strip()
        if deal in seen and mapping.get("on_repeated_deal", "first") == "first":
            continue
        seen.add(deal)
        result = outcome.get(cells[outcome_col].strip())
        if result not in ("won", "lost"):
            continue
        for i, name in chars:
            value = cells[i].strip()
            if value:
                counts[name, value][0] += 1
                counts[name, value][1] += result == "won"
    return {key: (n, k) for key, (n, k) in counts.items()}


class Command(BaseCommand):
    help = "Compare the winnable analysis with an independent count on a won/lost CSV file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?")
        parser.add_argument("--team")
        parser.add_argument("--mapping")
        parser.add_argument("--load", action="store_true", help="Load the file into the team.")
        parser.add_argument("--generate-flat", metavar="OUT")
        parser.add_argument("--rows", type=int, default=20000)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, **options) -> None:
        if options["generate_flat"]:
            self._flat(options["generate_flat"], options["rows"], options["seed"])
            return
        if not (options["path"] and options["team"] and options["mapping"]):
            raise CommandError("Give FILE, --team and --mapping.")
        mapping = json.loads(Path(options["mapping"]).read_text())
        if options["load"]:
            self._load(options["path"], options["team"], mapping)
        team = Team.objects.filter(slug=options["team"]).first()
        if team is None:
            raise CommandError(f"No team {options['team']!r}.")
        team_winnable_recompute(team=team)
        self._compare(team, independent_counts(options["path"], mapping))

    def _compare(self, team: Team, expected: dict) -> None:
        analysis = winnable_analysis(team_ids=[team.id], since=None)
        app = {(r.name, r.finding.value): r.finding for r in analysis.rows}
        mismatches = 0
        self.stdout.write(
            f"{'characteristic':<34}{'value':<28}{'file n/k':>16}{'app n/k':>16}"
            f"{'win rate':>10}  {'95 % interval':<15}{'adj. p':>9}  verdict"
        )
        for key in sorted(expected, key=lambda k: (k[0], -expected[k][0])):
            n, k = expected[key]
            f = app.get(key)
            got = (f.win_rate.n, f.win_rate.successes) if f else (0, 0)
            same = got == (n, k)
            mismatches += not same
            interval = f"{f.win_rate.low:.3f}–{f.win_rate.high:.3f}" if f else "-"
            q = "-" if not f or f.adjusted_p is None else f"{f.adjusted_p:.2g}"
            self.stdout.write(
                f"{key[0][:33]:<34}{key[1][:27]:<28}{f'{n}/{k}':>16}{f'{got[0]}/{got[1]}':>16}"
                f"{k / n:>10.4f}  {interval:<15}{q:>9}  {f.verdict if f else '-'}"
                + ("" if same else "   MISMATCH")
            )
        extra = set(app) - set(expected)
        verdicts = defaultdict(int)
        for f in app.values():
            verdicts[f.verdict] += 1
        self.stdout.write(
            f"\n{len(expected)} values in the file, {len(app)} in the app, "
            f"{mismatches} mismatches, {len(extra)} values only in the app. Overall "
            f"{analysis.overall.successes}/{analysis.overall.n}. Verdicts: "
            + ", ".join(f"{v}: {verdicts[v]}" for v in Winnability)
        )
        if mismatches or extra:
            raise CommandError("The app's win rates differ from the independent count.")
        self.stdout.write(self.style.SUCCESS("Every win rate equals the independent count."))

    @transaction.atomic
    def _load(self, path: str, slug: str, mapping: dict) -> None:
        team = Team.objects.filter(slug=slug).first() or team_create(slug=slug, name=slug)
        if Deal.objects.filter(team=team).exists():
            raise CommandError(f"Team {slug!r} already has deals; --load needs an empty team.")
        rows = _read(path)
        header = next(rows)
        role = mapping["columns"]
        col = {r: header.index(c) for c, r in role.items() if r in ("deal_id", "stage", "amount")}
        names = [(header.index(c), c) for c, r in role.items() if r == "new_characteristic"]
        closed_at = dt.datetime.combine(
            dt.date.fromisoformat(mapping.get("default_date") or "2020-01-01"),
            dt.time(12),
            tzinfo=dt.UTC,
        )
        deals, cells_of = [], []
        seen: set[str] = set()
        for cells in rows:
            deal = cells[col["deal_id"]].strip()
            result = mapping["stage_values"].get(cells[col["stage"]].strip())
            if deal in seen or result not in ("won", "lost"):
                continue
            seen.add(deal)
            amount = None
            if "amount" in col:
                try:
                    amount = Decimal(cells[col["amount"]].strip() or "x")
                except InvalidOperation:
                    amount = None
            deals.append(
                Deal(
                    team=team,
                    external_id=deal,
                    status=DealStatus.WON if result == "won" else DealStatus.LOST,
                    amount=amount,
                    opened_at=closed_at,
                    closed_at=closed_at,
                )
            )
            cells_of.append(cells)
        values: dict[str, set[str]] = defaultdict(set)
        for cells in cells_of:
            for i, name in names:
                if cells[i].strip():
                    values[name].add(cells[i].strip())
        characteristics = {}
        for position, (_, name) in enumerate(names, start=100):
            characteristics[name] = Characteristic.objects.create(
                team=team,
                slug=slugify(name)[:60],
                name=name,
                kind=CharacteristicKind.CHOICE,
                choices=sorted(values[name]),
                position=position,
            )
        Deal.objects.bulk_create(deals, batch_size=5000)
        Observation.objects.bulk_create(
            (
                Observation(
                    deal=deal,
                    characteristic=characteristics[name],
                    value=cells[i].strip(),
                    observed_at=closed_at,
                    origin=Origin.CSV,
                )
                for deal, cells in zip(deals, cells_of, strict=True)
                for i, name in names
                if cells[i].strip()
            ),
            batch_size=10000,
        )
        self.stdout.write(f"Loaded {len(deals)} closed deals into {slug}.")

    def _flat(self, out: str, rows: int, seed: int) -> None:
        rng = random.Random(seed)
        with open(out, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["Deal Id", "Result", "Amount", *FLAT_COLUMNS])
            for i in range(rows):
                result = "Won" if rng.random() < 0.3 else "Loss"
                values = [rng.choice(v) for v in FLAT_COLUMNS.values()]
                writer.writerow([f"F-{i}", result, rng.randrange(1000, 90000), *values])
        mapping = {
            "shape": "deals",
            "date_format": "iso",
            "columns": {
                "Deal Id": "deal_id",
                "Result": "stage",
                "Amount": "amount",
                **{c: "new_characteristic" for c in FLAT_COLUMNS},
            },
            "stage_values": {"Won": "won", "Loss": "lost"},
            "create_missing_owners": False,
            "default_date": "2026-01-15",
            "on_repeated_deal": "first",
            "decimal_comma": False,
        }
        Path(out).with_suffix(".mapping.json").write_text(json.dumps(mapping, indent=2))
        self.stdout.write(f"Wrote {rows} rows to {out} and its mapping beside it.")
