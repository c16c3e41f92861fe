"""Imports that finish: files that are not text CSV refused before parsing, identical problems
grouped, the valid rows imported without the bad ones (and those downloadable with their
reasons), the finished page's links at the data's horizon, and `import_csv --guess`."""

import csv
import gzip
import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from funnel.imports.parsing import csv_parse
from funnel.imports.service import ImportRefused, import_job_create
from funnel.models import Deal, ImportJob, ImportMapping, ImportStatus, StageEvent

BAD = "event_log_bad_rows.csv"


def urls(job):
    args = [job.team.slug, job.id]
    return {
        "detail": reverse("import_detail", args=args),
        "validate": reverse("import_validate", args=args),
        "run": reverse("import_start", args=args),
        "skipped": reverse("import_skipped_csv", args=args),
    }


def mapping_post(job, **overrides):
    """The wizard's form as proposed, unchanged. The labels in the order the page lists them:
    as stored (PostgreSQL's jsonb keeps its own key order, not the order they were written)."""
    job.refresh_from_db()
    data = {
        "shape": job.mapping["shape"],
        "date_format": job.mapping["date_format"],
        "on_repeated_deal": "error",
        "default_date": "",
    }
    # The file's column order: PostgreSQL's jsonb does not keep the mapping's key order.
    header = csv_parse(bytes(job.content), max_rows=1).header
    data |= {f"col_{i}": job.mapping["columns"][name] for i, name in enumerate(header)}
    labels = list(job.mapping["stage_values"])
    data |= {f"sv_{j}": job.mapping["stage_values"][v] for j, v in enumerate(labels)}
    return data | overrides


def xlsx_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
    return out.getvalue()


def zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("deals.csv", "deal id,stage\n1,Won\n")
    return out.getvalue()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (gzip.compress(b"deal id,stage\n1,Won\n" * 50),
         "This is a gzip file; unzip it and upload the .csv inside."),
        (zip_bytes(), "This is a zip file; unzip it and upload the .csv inside."),
        (xlsx_bytes(), "This is an Excel workbook (.xlsx); open it and save it as CSV (UTF-8), "
                       "then upload that."),
        (bytes(range(256)) * 20, "This is a binary file, not a text CSV file."),
    ],
)  # fmt: skip
def test_non_csv_refused_before_parsing(login, team, manager, content, message):
    with pytest.raises(ImportRefused, match=message.replace("(", r"\(").replace(")", r"\)")):
        import_job_create(team=team, uploaded_by=manager, filename="deals.csv", content=content)
    response = login(manager).post(
        reverse("import_list", args=[team.slug]),
        {"file": SimpleUploadedFile("deals.csv", content, content_type="text/csv")},
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ImportJob.objects.exists()


def test_latin1_csv_is_not_refused(team, manager):
    content = "deal id,stage,account\n1,Won,Müller GmbH\n".encode("cp1252")
    job = import_job_create(team=team, uploaded_by=manager, filename="d.csv", content=content)
    assert job.total_rows == 1


@pytest.fixture
def bad_job(team, manager, csv_bytes):
    return import_job_create(team=team, uploaded_by=manager, filename=BAD, content=csv_bytes(BAD))


def test_identical_problems_grouped(login, bad_job, manager):
    client = login(manager)
    assert client.post(urls(bad_job)["validate"], mapping_post(bad_job)).status_code == 302
    bad_job.refresh_from_db()
    assert bad_job.status == ImportStatus.INVALID
    # By hand: O_CANCELLED is on rows 3, 5 and 8; row 10 has 30 February.
    assert bad_job.error_count == 4
    assert bad_job.summary["bad_rows"] == 4
    assert bad_job.summary["rows"] == 5  # rows 2, 4, 6, 7 and 9
    assert bad_job.summary["skippable"] is True
    page = client.get(urls(bad_job)["detail"]).content.decode()
    assert "&#x27;O_CANCELLED&#x27; has no stage: 3 rows, first rows 3, 5, 8" in page
    assert "is not a date written YYYY-MM-DD: row 10" in page
    assert "Import 5 valid rows, skip 4" in page
    assert not StageEvent.objects.exists()


def test_skip_bad_rows_needs_the_box_ticked(login, bad_job, manager):
    client = login(manager)
    client.post(urls(bad_job)["validate"], mapping_post(bad_job))
    response = client.post(urls(bad_job)["run"])
    assert response.status_code == 400
    assert "Tick the box" in response.content.decode()
    bad_job.refresh_from_db()
    assert bad_job.status == ImportStatus.INVALID
    assert not StageEvent.objects.exists()


def test_skip_bad_rows_imports_the_rest(
    login, bad_job, manager, rep, outsider, django_capture_on_commit_callbacks
):
    client = login(manager)
    client.post(urls(bad_job)["validate"], mapping_post(bad_job))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(urls(bad_job)["run"], {"skip_bad_rows": "on"})
    assert response.status_code == 302
    bad_job.refresh_from_db()
    assert bad_job.status == ImportStatus.DONE, bad_job.summary
    # By hand: rows 2, 4, 6, 7, 9 -> one event each, for deals A1, A2, A3 and A4.
    assert StageEvent.objects.count() == 5
    assert sorted(Deal.objects.values_list("external_id", flat=True)) == ["A1", "A2", "A3", "A4"]
    assert Deal.objects.get(external_id="A4").status == "won"
    assert bad_job.summary["skipped_bad"]["rows"] == 4
    assert bad_job.summary["newest_event"] == "2023-04-12"

    page = client.get(urls(bad_job)["detail"]).content.decode()
    assert "4 rows with a problem were skipped" in page
    assert urls(bad_job)["skipped"] in page
    dashboard = reverse("team_dashboard", args=[bad_job.team.slug])
    winnable = reverse("winnable_team", args=[bad_job.team.slug])
    assert f'href="{dashboard}?as_of=2023-04-12"' in page
    assert f'href="{dashboard}?as_of=2023-04-12#vsm-title"' in page
    assert f'href="{winnable}?as_of=2023-04-12"' in page
    assert "as of 12 Apr 2023" in page

    response = client.get(urls(bad_job)["skipped"])
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["Row", "Problem", "case_id", "activity", "timestamp"]
    assert [r[0] for r in rows[1:]] == ["3", "5", "8", "10"]
    assert rows[1][1] == "activity: 'O_CANCELLED' has no stage"
    assert rows[1][2:] == ["A1", "O_CANCELLED", "2023-03-04T10:00:00+00:00"]
    assert rows[4][1].startswith("timestamp: '2023-02-30T09:00:00+00:00' is not a date")

    assert login(rep).get(urls(bad_job)["skipped"]).status_code == 403
    assert login(outsider).get(urls(bad_job)["skipped"]).status_code == 404
    assert login(manager).post(urls(bad_job)["skipped"]).status_code == 405


def test_skipped_csv_404_when_nothing_skipped(login, bad_job, manager):
    assert login(manager).get(urls(bad_job)["skipped"]).status_code == 404


def test_mapping_errors_cannot_be_skipped(login, bad_job, manager):
    client = login(manager)
    client.post(urls(bad_job)["validate"], mapping_post(bad_job, col_0="ignore"))  # no deal id
    bad_job.refresh_from_db()
    assert bad_job.status == ImportStatus.INVALID
    assert bad_job.summary["skippable"] is False
    client.post(urls(bad_job)["run"], {"skip_bad_rows": "on"})
    bad_job.refresh_from_db()
    assert bad_job.status == ImportStatus.INVALID
    assert not StageEvent.objects.exists()


def test_guess_prints_the_mapping_and_writes_nothing(team, tmp_path, csv_bytes):
    path = tmp_path / "hubspot.csv"
    path.write_bytes(csv_bytes("hubspot_deals.csv"))
    out = io.StringIO()
    call_command("import_csv", str(path), "--team", team.slug, "--guess", stdout=out)
    mapping = json.loads(out.getvalue())
    assert mapping["preset"] == "hubspot-deals"
    assert mapping["columns"]["Record ID"] == "deal_id"
    assert mapping["stage_values"]["Closed Won"] == "won"
    assert not ImportJob.objects.exists()
    assert not ImportMapping.objects.exists()
    assert not Deal.objects.exists() and not StageEvent.objects.exists()
    # The printed mapping is the --mapping format: it imports the file as it is.
    mapping_path = tmp_path / "m.json"
    mapping_path.write_text(out.getvalue())
    call_command(
        "import_csv", str(path), "--team", team.slug, "--mapping", str(mapping_path),
        stdout=io.StringIO(),
    )  # fmt: skip
    assert Deal.objects.filter(team=team).count() == 10
