"""Check the tactics page's figures against an independent count of the public data sets.

    manage.py touches_csv_check --team SLUG --format bank-marketing FILE
    manage.py touches_csv_check --team SLUG --format olist LEADS --closed-deals CLOSED

The team must hold the file, imported with `import_touches` (as a user would). The independent
side reads the file with the csv module and counts by the documented mapping (touches per
tactic, answers, prospects by number of touches), then computes each rate's Wilson interval with
scipy's binomtest, Fisher's exact test with scipy.stats.fisher_exact and Benjamini-Hochberg by
hand. The app's side is the tactics page's own analysis, over the counts the recompute keeps.
Every count must agree exactly and every interval and p-value to 1e-9 (relative 1e-6 for
p-values), or the command fails.
"""

from __future__ import annotations

import csv
import math
from collections import Counter, defaultdict

from django.core.management.base import BaseCommand, CommandError, CommandParser
from scipy.stats import binomtest, fisher_exact

from funnel.models import Team
from funnel.pipeline.tactics import team_tactics_rebuild
from funnel.touches.analysis import tactics_analysis
from funnel.touches.selectors import tactic_counts_for_team

MIN_TOUCHES, MIN_DIFFERENCE, ALPHA = 30, 0.05, 0.05
MIN_RATIO, MIN_GAP = 1.5, 0.01  # or one rate 1.5 times the other, a point apart


def bank_counts(path: str):
    touches, answers, prospects = Counter(), Counter(), []
    with open(path, newline="") as f:
        for row in csv.DictReader(f, delimiter=";"):
            calls, yes = int(row["campaign"]), row["y"] == "yes"
            touches[row["contact"]] += calls
            answers[row["contact"]] += yes
            prospects.append((calls, yes))
    return touches, answers, prospects


def olist_counts(leads: str, closed: str):
    with open(closed, newline="") as f:
        won = {row["mql_id"] for row in csv.DictReader(f)}
    touches, answers, prospects = Counter(), Counter(), []
    with open(leads, newline="") as f:
        for row in csv.DictReader(f):
            origin = (row["origin"] or "unknown").replace("_", "-")
            touches[origin] += 1
            answers[origin] += row["mql_id"] in won
            prospects.append((1, row["mql_id"] in won))
    return touches, answers, prospects


def independent(touches: Counter, answers: Counter, prospects: list) -> dict:
    total_n, total_k = sum(touches.values()), sum(answers.values())
    out = {}
    for tactic, n in touches.items():
        k = answers[tactic]
        ci = binomtest(k, n).proportion_ci(method="wilson")
        rest_n, rest_k = total_n - n, total_k - k
        p = None
        if min(n, rest_n) >= MIN_TOUCHES:
            p = fisher_exact([[k, n - k], [rest_k, rest_n - rest_k]]).pvalue
        out[tactic] = {
            "n": n,
            "k": k,
            "low": ci.low,
            "high": ci.high,
            "p": p,
            "diff": k / n - rest_k / rest_n if rest_n else None,
            "rate": k / n,
        }
    tested = sorted((t for t in out if out[t]["p"] is not None), key=lambda t: out[t]["p"])
    running = 1.0
    for rank in range(len(tested), 0, -1):  # Benjamini-Hochberg, by hand
        t = tested[rank - 1]
        running = min(running, out[t]["p"] * len(tested) / rank)
        out[t]["q"] = running
    for row in out.values():
        q = row.get("q")
        diff = row["diff"]
        rates = sorted((row["rate"], row["rate"] - diff)) if diff is not None else None
        big = diff is not None and (
            abs(diff) >= MIN_DIFFERENCE
            or (abs(diff) >= MIN_GAP and (rates[0] == 0 or rates[1] / rates[0] >= MIN_RATIO))
        )
        row["verdict"] = (
            ("value" if row["diff"] > 0 else "waste")
            if q is not None and q < ALPHA and big
            else "not enough evidence"
        )
    buckets = defaultdict(lambda: [0, 0])
    for calls, yes in prospects:
        cell = buckets[str(calls) if calls < 5 else "5+"]
        cell[0] += 1
        cell[1] += yes
    return {"tactics": out, "buckets": dict(buckets)}


def close(a: float, b: float, rel: bool = False) -> bool:
    return math.isclose(a, b, rel_tol=1e-6) if rel else math.isclose(a, b, abs_tol=1e-9)


class Command(BaseCommand):
    help = "Compare the tactics page with an independent count of a public data set."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path")
        parser.add_argument("--team", required=True)
        parser.add_argument("--format", required=True, choices=["bank-marketing", "olist"])
        parser.add_argument("--closed-deals")

    def handle(self, *args, path: str, team: str, **options) -> None:
        if options["format"] == "olist":
            expected = independent(*olist_counts(path, options["closed_deals"]))
        else:
            expected = independent(*bank_counts(path))
        # The page's own path: the counts the recompute keeps, rebuilt now, then read.
        team_obj = Team.objects.get(slug=team)
        team_tactics_rebuild(team=team_obj)
        analysis = tactics_analysis(tactic_counts_for_team(team=team_obj))
        mismatches = []
        self.stdout.write(
            f"{'tactic':<20}{'touches':>9}{'answers':>9}{'rate':>8}  "
            f"{'95 % range':<16}{'adj. p':>10}  verdict"
        )
        for row in analysis.rows:
            f, want = row.finding, expected["tactics"].get(row.tactic.slug)
            if want is None:
                mismatches.append(f"{row.tactic.slug}: not in the file")
                continue
            same = (
                (f.rate.n, f.rate.successes) == (want["n"], want["k"])
                and close(f.rate.low, want["low"])
                and close(f.rate.high, want["high"])
                and (f.adjusted_p is None) == (want.get("q") is None)
                and (f.adjusted_p is None or close(f.adjusted_p, want["q"], rel=True))
                and str(f.verdict) == want["verdict"]
            )
            if not same:
                mismatches.append(f"{row.tactic.slug}: app {f} vs independent {want}")
            q = "–" if f.adjusted_p is None else f"{f.adjusted_p:.2e}"
            self.stdout.write(
                f"{row.tactic.slug:<20}{f.rate.n:>9,}{f.rate.successes:>9,}"
                f"{f.rate.rate * 100:>7.2f}%  {f.rate.low * 100:5.2f}–{f.rate.high * 100:5.2f} %"
                f"{q:>12}  {f.verdict}"
            )
        self.stdout.write("prospects by touches: bucket, prospects, answered, rate")
        for b in analysis.buckets:
            n, k = expected["buckets"].get(b.label, [0, 0])
            if (b.rate.n, b.rate.successes) != (n, k):
                mismatches.append(f"bucket {b.label}: app {b.rate} vs independent {(n, k)}")
            rate = "–" if b.rate.rate is None else f"{b.rate.rate * 100:.2f} %"
            self.stdout.write(f"  {b.label:<4}{b.rate.n:>8,}{b.rate.successes:>8,}  {rate}")
        if mismatches:
            raise CommandError("Mismatches:\n" + "\n".join(mismatches))
        self.stdout.write(self.style.SUCCESS("Every figure equals the independent computation."))
