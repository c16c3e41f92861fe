"""Import a CRM export: `import_csv PATH --team SLUG --mapping MAPPING.json`.

`import_csv PATH --team SLUG --guess` prints the mapping the browser's wizard would propose, as
JSON in the `--mapping` format, and writes nothing: save it, correct it, pass it as --mapping.

The same service as the browser import: the file is checked whole first (every bad row is
printed, nothing is written), then imported in chunks with progress. Re-running it with the same
file adds nothing. With --skip-bad-rows the valid rows are imported and the bad ones written to
--skipped-rows PATH (default `<name>.skipped.csv` in the current directory, never beside the
input, which may be a read-only export folder), each with its row number and reasons (as the
browser's "Download the skipped rows").
"""

import json
import os
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from funnel.imports.problems import problem_text, skipped_rows_csv
from funnel.imports.run import import_job_run
from funnel.imports.service import (
    ImportRefused,
    import_job_create,
    import_job_decide,
    import_job_validate,
    import_mapping_propose,
    import_size_check,
    import_table,
)
from funnel.models import ImportJob, ImportStatus, ReopenChoice, Team


class Command(BaseCommand):
    help = "Import deals and stage events from a CSV file through the import service."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="The CSV file.")
        parser.add_argument("--team", required=True, help="The team's slug.")
        parser.add_argument(
            "--mapping",
            help="A mapping JSON file (see docs/mappings/). Without it the mapping is the one "
            "saved for this header, or a guess, which is printed.",
        )
        parser.add_argument(
            "--guess",
            action="store_true",
            help="Print the mapping the wizard would propose (JSON, the --mapping format); "
            "write nothing.",
        )
        parser.add_argument("--by", help="Email of the user the import is recorded as by.")
        parser.add_argument(
            "--validate-only", action="store_true", help="Check the file; write nothing."
        )
        parser.add_argument(
            "--skip-bad-rows",
            action="store_true",
            help="Import the valid rows and skip the rows with a problem; the skipped rows are "
            "written to --skipped-rows with the reason per row. Not when the mapping itself is "
            "wrong.",
        )
        parser.add_argument(
            "--skipped-rows",
            metavar="PATH",
            help="Where --skip-bad-rows writes the skipped rows (CSV). Default: "
            "<name>.skipped.csv in the current directory.",
        )
        parser.add_argument(
            "--on-reopen",
            choices=[ReopenChoice.REOPEN.value, ReopenChoice.KEEP_CLOSED.value],
            default="",
            help="For deals the file reopens after their close: reopen them (apply the later "
            "rows) or keep_closed (skip the rows after the close). Required when there are any.",
        )

    def handle(self, *args, path: str, team: str, mapping: str | None, **options) -> None:
        team_obj = Team.objects.filter(slug=team).first()
        if team_obj is None:
            raise CommandError(f"No team with slug {team!r}.")
        if options["guess"]:
            try:
                content = Path(path).read_bytes()
                proposed = import_mapping_propose(team=team_obj, content=content)
            except (OSError, ImportRefused) as error:
                raise CommandError(str(error)) from error
            self.stdout.write(json.dumps(proposed, indent=2, ensure_ascii=False))
            return
        skipped_path = self._skipped_path(path, options)
        by = None
        if options.get("by"):
            by = get_user_model().objects.filter(email__iexact=options["by"]).first()
            if by is None:
                raise CommandError(f"No user with email {options['by']!r}.")
        try:
            import_size_check(os.path.getsize(path))
            job = import_job_create(
                team=team_obj,
                uploaded_by=by,
                filename=Path(path).name,
                content=Path(path).read_bytes(),
            )
        except (OSError, ImportRefused) as error:
            raise CommandError(str(error)) from error
        chosen = job.mapping
        if mapping:
            try:
                chosen = json.loads(Path(mapping).read_text())
            except (OSError, ValueError) as error:
                raise CommandError(f"Cannot read the mapping {mapping}: {error}") from error
        else:
            self.stdout.write("Mapping (saved or guessed):\n" + json.dumps(chosen, indent=2))
        plan = import_job_validate(job=job, mapping=chosen)
        skip = options["skip_bad_rows"] and bool(job.summary.get("skippable"))
        if plan.errors and skip:
            for group in job.summary["problems"]:
                self.stderr.write(problem_text(group))
            self.stdout.write(
                f"Skipping {job.summary['bad_rows']:,} row(s) with a problem; importing the others."
            )
            job.skip_bad_rows = True
            job.save(update_fields=["skip_bad_rows"])
        elif plan.errors:
            for e in plan.errors:
                self.stderr.write(f"row {e.row}, column {e.column or '-'}: {e.message}")
            why = (
                " The mapping itself is wrong (row 1), so no row can be skipped."
                if options["skip_bad_rows"]
                else " Run again with --skip-bad-rows to import the valid rows."
                if job.summary.get("skippable")
                else ""
            )
            raise CommandError(
                f"{len(plan.errors)} problem(s) in {job.filename}; nothing was written.{why}"
            )
        self.stdout.write(
            f"Valid: {len(plan.rows)} rows, {plan.event_count} events, "
            f"{plan.observation_count} observations."
        )
        self._reopenings(job)
        if options["validate_only"]:
            return
        try:
            import_job_decide(job=job, on_reopen=options["on_reopen"])
        except ImportRefused as error:
            raise CommandError(
                f"{error} Run again with --on-reopen reopen or --on-reopen keep_closed; "
                "nothing was written."
            ) from error
        job = import_job_run(job=job, on_progress=self._progress)
        self._report(job)
        if skipped := job.summary.get("skipped_bad"):
            body = skipped_rows_csv(import_table(job=job), skipped["groups"])
            try:
                skipped_path.write_text(body, "utf-8")
            except OSError as error:
                raise CommandError(
                    f"Imported, but the skipped rows could not be written to {skipped_path}: "
                    f"{error}. Download them from the import's page (job {job.id})."
                ) from error
            self.stdout.write(
                f"  Skipped {skipped['rows']:,} row(s) with a problem: see {skipped_path}"
            )

    def _skipped_path(self, path: str, options: dict) -> Path:
        """Checked before anything is written: a typo must not surface after the import."""
        out = Path(options.get("skipped_rows") or f"{Path(path).stem}.skipped.csv")
        if out.resolve() == Path(path).resolve():
            raise CommandError("--skipped-rows must not be the file being imported.")
        if options["skip_bad_rows"] and not out.resolve().parent.is_dir():
            raise CommandError(f"--skipped-rows: no directory {out.parent}.")
        return out

    def _reopenings(self, job: ImportJob) -> None:
        reopened = job.summary.get("reopened")
        if not reopened:
            return
        self.stdout.write(
            f"{reopened['deals']:,} deal(s) would reopen after being closed "
            f"({reopened['rows']:,} row(s) after the close):"
        )
        for d in reopened["shown"]:
            where = f"row {d['closed_row']}" if d["closed_row"] else "in the database"
            rows = ", ".join(str(r) for r in d["rows"])
            more = f" and {d['more_rows']:,} more" if d["more_rows"] else ""
            self.stdout.write(
                f"  {d['deal']}: {d['outcome']} {d['closed_at'][:10]} ({where}); "
                f"rows after the close: {rows}{more}"
            )
        if reopened["deals"] > len(reopened["shown"]):
            self.stdout.write(f"  and {reopened['deals'] - len(reopened['shown']):,} more deals")

    def _progress(self, job: ImportJob) -> None:
        self.stdout.write(
            f"  {job.processed_rows:>8,} / {job.total_rows:,} rows ({job.progress_percent} %)"
        )

    def _report(self, job: ImportJob) -> None:
        if job.status != ImportStatus.DONE:
            for e in job.errors:
                self.stderr.write(f"row {e['row']}, column {e['column'] or '-'}: {e['message']}")
            raise CommandError(f"The import {job.get_status_display().lower()}: {job.summary}")
        s = job.summary
        self.stdout.write(self.style.SUCCESS(f"Imported {job.filename} (job {job.id})."))
        for label, key in (
            ("Rows", "rows"),
            ("Rows skipped (repeated deals)", "skipped_rows"),
            ("Events accepted", "events_accepted"),
            ("Events already stored", "duplicates"),
            ("Deals created", "deals_created"),
            ("Deals updated", "deals_updated"),
            ("Observations recorded", "observations"),
        ):
            self.stdout.write(f"  {label + ':':<32}{s[key]:>10,}")
        if reopened := s.get("reopened"):
            if reopened["choice"] == ReopenChoice.KEEP_CLOSED:
                self.stdout.write(
                    f"  Kept {reopened['deals']:,} reopened deal(s) closed: "
                    f"{reopened['rows_skipped']:,} row(s) skipped, "
                    f"{reopened['events_skipped']:,} event(s) not written"
                )
            else:
                self.stdout.write(f"  Reopened {reopened['deals']:,} closed deal(s)")
        if s["owners_created"]:
            self.stdout.write(f"  Owners added as reps: {', '.join(s['owners_created'])}")
        if s["characteristics_created"]:
            self.stdout.write(f"  Characteristics: {', '.join(s['characteristics_created'])}")
