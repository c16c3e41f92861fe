"""The mapping step's helps: "Create these stages" for labels that match none of the team's
stages, and owner names from a second file; and `import_csv --skip-bad-rows`."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from funnel.imports.parsing import csv_parse
from funnel.imports.service import import_job_create
from funnel.imports.stage_labels import labels_in_funnel_order, station_guess
from funnel.models import Deal, ImportJob, ImportStatus, Stage, StageEvent

# A loan funnel: none of its labels is one of the default stages. L2's rows are out of time
# order in the file; L3 skips Document Check.
LOANS = """deal id,stage,date
L1,Application,2024-01-02
L1,Underwriting,2024-01-05
L1,Closed Won,2024-01-09
L2,Underwriting,2024-01-06
L2,Application,2024-01-03
L2,Document Check,2024-01-04
L2,Closed Lost,2024-01-08
L3,Application,2024-01-04
L3,Underwriting,2024-01-07
"""


def url(name, job):
    return reverse(name, args=[job.team.slug, job.id])


@pytest.fixture
def loans(team, manager):
    return import_job_create(
        team=team, uploaded_by=manager, filename="loans.csv", content=LOANS.encode()
    )


def test_labels_ordered_by_the_deals_paths(loans):
    # By hand: L1 Application < Underwriting; L2 by date Application (3rd) < Document Check
    # (4th) < Underwriting (6th); L3 Application < Underwriting. Application comes before both
    # others, Document Check before one; the file's first-seen order would be A, U, D.
    table = csv_parse(LOANS.encode())
    labels = ["Underwriting", "Document Check", "Application"]
    assert labels_in_funnel_order(table, loans.mapping, labels) == [
        "Application",
        "Document Check",
        "Underwriting",
    ]


def test_station_guessed_else_after_the_previous():
    assert station_guess("Needs Analysis", "market") == "qualifying"
    assert station_guess("Proposal/Price Quote", None) == "selling"
    assert station_guess("Application", None) == "market"
    assert station_guess("Application", "market") == "marketing"
    assert station_guess("Underwriting", "servicing") == "selling"  # never past Selling


def test_create_these_stages(login, loans, manager, team):
    assert loans.mapping["shape"] == "events"
    assert loans.mapping["stage_values"] == {
        "Application": "",
        "Underwriting": "",
        "Closed Won": "won",
        "Document Check": "",
        "Closed Lost": "lost",
    }
    client = login(manager)
    page = client.get(url("import_detail", loans)).content.decode()
    assert "Create these stages: Application, Document Check, Underwriting" in page
    before = list(Stage.objects.filter(team=team).order_by("position").values_list("slug"))

    response = client.post(url("import_stages_create", loans))
    assert response.status_code == 302
    stages = list(Stage.objects.filter(team=team).order_by("position"))
    assert [(s.slug,) for s in stages[: len(before)]] == before
    added = stages[len(before) :]
    assert [(s.slug, s.name) for s in added] == [
        ("application", "Application"),
        ("document-check", "Document Check"),
        ("underwriting", "Underwriting"),
    ]
    # The default list ends at Handover (servicing): unknown words go to Selling, never past.
    assert [s.station for s in added] == ["selling", "selling", "selling"]
    assert not Stage.objects.filter(team=team, slug__in=["won", "lost", "closed-won"]).exists()
    assert all(s.definition_id for s in added)

    loans.refresh_from_db()
    assert loans.mapping["stage_values"] == {
        "Application": "application",
        "Underwriting": "underwriting",
        "Closed Won": "won",
        "Document Check": "document-check",
        "Closed Lost": "lost",
    }
    page = client.get(url("import_detail", loans)).content.decode()
    assert "Created 3 stages: Application, Document Check, Underwriting" in page
    assert reverse("stage_editor", args=[team.slug]) in page
    assert "Create these stages" not in page
    # The re-proposed mapping validates: 9 rows, 9 events (L1 3, L2 4, L3 2).
    client.post(url("import_validate", loans), _form(loans))
    loans.refresh_from_db()
    assert loans.status == ImportStatus.VALID, loans.errors
    assert loans.summary["events"] == 9

    # Again: nothing left to create, nothing created.
    client.post(url("import_stages_create", loans))
    assert Stage.objects.filter(team=team).count() == len(stages)


def _form(job, **overrides):
    job.refresh_from_db()  # the labels in the order the view reads them (jsonb's)
    # The file's column order: PostgreSQL's jsonb does not keep the mapping's key order.
    header = csv_parse(bytes(job.content), max_rows=1).header
    labels = list(job.mapping["stage_values"])
    data = {
        "shape": job.mapping["shape"],
        "date_format": job.mapping["date_format"],
        "on_repeated_deal": "error",
        "default_date": "",
    }
    data |= {f"col_{i}": job.mapping["columns"][n] for i, n in enumerate(header)}
    data |= {f"sv_{j}": job.mapping["stage_values"][v] for j, v in enumerate(labels)}
    return data | overrides


def test_create_stages_keeps_the_forms_choices(login, loans, manager, team):
    # The manager mapped Application to Inquiry in the form, then pressed "Create": only the
    # other two are created, and the form's choice is kept.
    client = login(manager)
    loans.refresh_from_db()
    application = list(loans.mapping["stage_values"]).index("Application")
    client.post(
        url("import_stages_create", loans), _form(loans, **{f"sv_{application}": "inquiry"})
    )
    loans.refresh_from_db()
    assert loans.mapping["stage_values"]["Application"] == "inquiry"
    assert not Stage.objects.filter(team=team, slug="application").exists()
    assert Stage.objects.filter(team=team, slug__in=["document-check", "underwriting"]).count() == 2


def test_create_stages_roles_and_method(login, loans, manager, rep, outsider, team):
    count = Stage.objects.filter(team=team).count()
    assert login(rep).post(url("import_stages_create", loans)).status_code == 403
    assert login(outsider).post(url("import_stages_create", loans)).status_code == 404
    assert login(manager).get(url("import_stages_create", loans)).status_code == 405
    assert Stage.objects.filter(team=team).count() == count


def test_create_stages_slug_taken_by_a_retired_stage(login, loans, manager, team):
    # A stage slug 'application' exists already (named otherwise): the new one gets -2.
    stage = Stage.objects.filter(team=team).order_by("position").first()
    Stage.objects.filter(id=stage.id).update(slug="application")
    login(manager).post(url("import_stages_create", loans))
    assert Stage.objects.get(team=team, name="Application").slug == "application-2"


# Owner names -----------------------------------------------------------------------------

SF_OPPS = """Opportunity ID,Stage,Owner ID,Created Date
0068d000002Or00AAK,Prospecting,0058d000002C3D2AAK,2024-01-02
0068d000002Or01AAK,Qualification,0058d000002C3CyAAK,2024-01-03
0068d000002Or02AAK,Prospecting,0058d000002C3D2AAK,2024-01-04
"""
USERS = '"Id","Name","Email"\n"0058d000002C3D2AAK","Dana  Scully","dana@example.com"\n'


@pytest.fixture
def opps(team, manager):
    job = import_job_create(
        team=team, uploaded_by=manager, filename="opps.csv", content=SF_OPPS.encode()
    )
    assert job.mapping["columns"]["Owner ID"] == "owner"
    return job


def _upload(content: bytes, name="users.csv"):
    return {"owners": SimpleUploadedFile(name, content, content_type="text/csv")}


def test_owner_names_from_a_user_export(login, opps, manager):
    client = login(manager)
    page = client.get(url("import_detail", opps)).content.decode()
    assert "Owner names" in page and 'enctype="multipart/form-data"' in page
    response = client.post(url("import_owner_names", opps), _upload(USERS.encode()))
    assert response.status_code == 302
    opps.refresh_from_db()
    assert opps.mapping["owner_names"] == {"0058d000002C3D2AAK": "Dana Scully"}
    page = client.get(url("import_detail", opps)).content.decode()
    # By hand: the file has two owner ids, one of them in the user export.
    assert "Owner names from users.csv: 1 of the 2 owner ids in this file named" in page
    assert "1 owner name from an owner file applies" in page

    # Validating with the form keeps the names; the unknown id stays "Owner <id>".
    client.post(url("import_validate", opps), _form(opps, create_missing_owners="on"))
    opps.refresh_from_db()
    assert opps.mapping["owner_names"] == {"0058d000002C3D2AAK": "Dana Scully"}
    assert opps.status == ImportStatus.VALID, opps.errors
    assert opps.summary["owners_to_create"] == ["Dana Scully", "Owner 0058d000002C3CyAAK"]


def test_owner_names_full_name_header_and_revalidation(login, opps, manager):
    client = login(manager)
    client.post(url("import_validate", opps), _form(opps, create_missing_owners="on"))
    opps.refresh_from_db()
    assert opps.summary["owners_to_create"] == [
        "Owner 0058d000002C3CyAAK",
        "Owner 0058d000002C3D2AAK",
    ]
    users = "User ID,Full Name\n0058d000002C3CyAAK,Fox Mulder\n0058d000002C3D2AAK,Dana Scully\n"
    client.post(url("import_owner_names", opps), _upload(users.encode()))
    opps.refresh_from_db()  # a checked job is checked again with the names
    assert opps.status == ImportStatus.VALID
    assert opps.summary["owners_to_create"] == ["Dana Scully", "Fox Mulder"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"Email,Phone\na@example.com,123\n", "needs an id column (Id, User ID) and a Name column"),
        (b"Id,Name\n", "has no row with both an id and a name"),
        (b"\x1f\x8b\x08\x00" + bytes(range(256)) * 4, "The owner file: This is a gzip file"),
    ],
)
def test_bad_owner_file_changes_nothing(login, opps, manager, content, message):
    before = dict(opps.mapping)
    response = login(manager).post(url("import_owner_names", opps), _upload(content, "bad.csv"))
    assert response.status_code == 400
    page = response.content.decode()
    assert "bad.csv: " in page and message in page
    opps.refresh_from_db()
    assert opps.mapping == before
    assert opps.status == ImportStatus.UPLOADED


def test_owner_names_roles_and_method(login, opps, manager, rep, outsider):
    assert (
        login(rep).post(url("import_owner_names", opps), _upload(USERS.encode())).status_code == 403
    )
    assert (
        login(outsider).post(url("import_owner_names", opps), _upload(USERS.encode())).status_code
        == 404
    )
    assert login(manager).get(url("import_owner_names", opps)).status_code == 405
    opps.refresh_from_db()
    assert "owner_names" not in opps.mapping


# import_csv --skip-bad-rows ----------------------------------------------------------------


def test_command_skip_bad_rows(team, tmp_path, csv_bytes, monkeypatch):
    (tmp_path / "exports").mkdir()
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    path = tmp_path / "exports" / "events.csv"
    path.write_bytes(csv_bytes("event_log_bad_rows.csv"))
    mapping = tmp_path / "m.json"
    out = io.StringIO()
    call_command("import_csv", str(path), "--team", team.slug, "--guess", stdout=out)
    mapping.write_text(out.getvalue())

    with pytest.raises(CommandError, match="Run again with --skip-bad-rows"):
        call_command(
            "import_csv", str(path), "--team", team.slug, "--mapping", str(mapping),
            stdout=io.StringIO(), stderr=io.StringIO(),
        )  # fmt: skip
    assert not StageEvent.objects.exists()

    out, err = io.StringIO(), io.StringIO()
    call_command(
        "import_csv", str(path), "--team", team.slug, "--mapping", str(mapping),
        "--skip-bad-rows", stdout=out, stderr=err,
    )  # fmt: skip
    # By hand: O_CANCELLED on rows 3, 5, 8 and 30 February on row 10 are skipped; rows 2, 4,
    # 6, 7, 9 give one event each for deals A1-A4.
    assert StageEvent.objects.count() == 5
    assert sorted(Deal.objects.values_list("external_id", flat=True)) == ["A1", "A2", "A3", "A4"]
    assert "'O_CANCELLED' has no stage: 3 rows, first rows 3, 5, 8" in err.getvalue()
    # In the current directory, never beside the input.
    assert "Skipped 4 row(s) with a problem: see events.skipped.csv" in out.getvalue()
    assert list((tmp_path / "exports").iterdir()) == [path]
    rows = list(csv.reader(io.StringIO((tmp_path / "work" / "events.skipped.csv").read_text())))
    assert rows[0] == ["Row", "Problem", "case_id", "activity", "timestamp"]
    assert [r[0] for r in rows[1:]] == ["3", "5", "8", "10"]
    assert ImportJob.objects.filter(status=ImportStatus.DONE).count() == 1


def test_command_skipped_rows_go_where_asked(team, tmp_path, csv_bytes):
    path = tmp_path / "events.csv"
    path.write_bytes(csv_bytes("event_log_bad_rows.csv"))
    mapping = tmp_path / "m.json"
    out = io.StringIO()
    call_command("import_csv", str(path), "--team", team.slug, "--guess", stdout=out)
    mapping.write_text(out.getvalue())
    args = ["import_csv", str(path), "--team", team.slug, "--mapping", str(mapping)]
    quiet = {"stdout": io.StringIO(), "stderr": io.StringIO()}
    with pytest.raises(CommandError, match="no directory"):
        call_command(*args, "--skip-bad-rows", "--skipped-rows", str(tmp_path / "no" / "x.csv"))
    with pytest.raises(CommandError, match="must not be the file being imported"):
        call_command(*args, "--skip-bad-rows", "--skipped-rows", str(path), **quiet)
    assert not StageEvent.objects.exists()  # refused before anything was written
    target = tmp_path / "report.csv"
    call_command(*args, "--skip-bad-rows", "--skipped-rows", str(target), **quiet)
    assert [r[0] for r in csv.reader(io.StringIO(target.read_text()))] == [
        "Row", "3", "5", "8", "10"
    ]  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.csv", "m.json", "report.csv"]


def test_command_skip_bad_rows_not_for_a_wrong_mapping(team, tmp_path, csv_bytes):
    path = tmp_path / "events.csv"
    path.write_bytes(csv_bytes("event_log_bad_rows.csv"))
    mapping = tmp_path / "m.json"
    mapping.write_text('{"shape": "events", "columns": {"activity": "stage"}}')  # no deal id
    with pytest.raises(CommandError, match="mapping itself is wrong"):
        call_command(
            "import_csv", str(path), "--team", team.slug, "--mapping", str(mapping),
            "--skip-bad-rows", stdout=io.StringIO(), stderr=io.StringIO(),
        )  # fmt: skip
    assert not StageEvent.objects.exists()
    assert not (tmp_path / "events.skipped.csv").exists()
