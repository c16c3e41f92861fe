"""Files that are not what they say, through the real upload view as a manager: none answers
500; each is refused in plain words, or read in its own encoding. A NUL deep in a big file is
found at validation with its row and column, and nothing is written."""

import gzip
import io
import random
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from funnel.imports.parsing import csv_parse
from funnel.models import Deal, ImportJob, ImportStatus, StageEvent

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(random.Random(1).randbytes(4000))
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + b"x" * 2000


def zipped() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("deals.csv", "deal,stage\n1,Won\n" * 100)
    return out.getvalue()


def post_file(client, team, content: bytes, name: str = "deals.csv"):
    return client.post(
        reverse("import_list", args=[team.slug]),
        {"file": SimpleUploadedFile(name, content, content_type="text/csv")},
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (random.Random(17).randbytes(20_000), "This is a binary file, not a text CSV file."),
        # Random bytes without a NUL still do not read as text.
        (bytes(b or 1 for b in random.Random(18).randbytes(20_000)),
         "This file does not read as text"),
        (PNG, "This is a PNG image, not a CSV file."),
        (PDF, "This is a PDF file; export the report from your CRM as CSV instead."),
        (zipped(), "This is a zip file; unzip it and upload the .csv inside."),
        (gzip.compress(b"deal,stage\n1,Won\n" * 100),
         "This is a gzip file; unzip it and upload the .csv inside."),
        ("deal,stage\n1,Won\n".encode("utf-16-le") * 20,
         "This file is written in UTF-16 without a byte-order mark"),
        (b"deal,sta\x00ge,when\nD-1,Inquiry,2024-01-05\n",
         "The header row&#x27;s column 2 (&#x27;sta\\x00ge&#x27;): Contains a NUL character"),
        (b"\xff\xfe" + "deal,stage\n".encode("utf-16-le") + b"\x00\xd8",
         "This UTF-16 file is damaged"),
    ],
    ids=["random", "random-no-nul", "png", "pdf", "zip", "gzip", "utf16-no-bom", "nul-header",
         "utf16-damaged"],
)  # fmt: skip
def test_a_file_that_is_not_a_csv_is_refused_in_plain_words(login, team, manager, content, message):
    response = post_file(login(manager), team, content)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ImportJob.objects.exists()


def upload_and_open(client, team, content: bytes) -> tuple[ImportJob, str]:
    response = post_file(client, team, content)
    assert response.status_code == 302, response.content.decode()[-2000:]
    job = ImportJob.objects.get()
    page = client.get(response["Location"])
    assert page.status_code == 200
    return job, page.content.decode()


EVENTS = (
    "event_id,deal_id,stage,occurred_at,owner,account\n"
    "e1,A-1,inquiry,2024-03-01T09:00:00+00:00,max.manager@example.com,Müller Straße GmbH\n"
    "e2,A-1,engaged,2024-03-04T10:00:00+00:00,,\n"
    "e3,A-2,inquiry,2024-03-02T09:00:00+00:00,max.manager@example.com,Société Générale\n"
)


@pytest.mark.parametrize(
    "content",
    [
        EVENTS.encode("cp1252"),
        EVENTS.encode("latin-1"),
        b"\xff\xfe" + EVENTS.encode("utf-16-le"),  # Excel's "Unicode text" (with commas)
        b"\xfe\xff" + EVENTS.encode("utf-16-be"),
        b"\xff\xfe" + EVENTS.replace(",", "\t").encode("utf-16-le"),  # ... and with tabs
        b"\xef\xbb\xbf" + EVENTS.encode(),
    ],
    ids=["cp1252", "latin-1", "utf-16-le", "utf-16-be", "utf-16-tabs", "utf-8-bom"],
)
def test_a_text_file_in_another_encoding_imports_its_accents_intact(
    login, team, manager, content, django_capture_on_commit_callbacks
):
    client = login(manager)
    job, page = upload_and_open(client, team, content)
    assert "Müller Straße GmbH" in page  # the preview reads the file's own encoding
    assert job.total_rows == 3
    assert job.mapping["columns"]["account"] == "account"
    validate = reverse("import_validate", args=[team.slug, job.id])
    assert client.post(validate, _mapping_post(job)).status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.VALID, job.errors
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("import_start", args=[team.slug, job.id]))
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE
    assert sorted(Deal.objects.values_list("external_id", "account")) == [
        ("A-1", "Müller Straße GmbH"),
        ("A-2", "Société Générale"),
    ]
    assert StageEvent.objects.count() == 3


def _mapping_post(job, **overrides) -> dict:
    data = {"shape": job.mapping["shape"], "date_format": "iso", "on_repeated_deal": "error"}
    for i, name in enumerate(csv_parse(bytes(job.content), max_rows=1).header):
        data[f"col_{i}"] = job.mapping["columns"][name]
    for j, label in enumerate(job.mapping["stage_values"]):
        data[f"sv_{j}"] = job.mapping["stage_values"][label] or "inquiry"
    data.update(overrides)
    return data


def test_a_nul_in_row_11000_is_found_at_validation_and_nothing_is_written(
    login, team, manager, django_capture_on_commit_callbacks
):
    lines = ["event_id,deal_id,stage,occurred_at,owner,account"]
    for n in range(2, 12_002):  # spreadsheet rows 2..12,001
        account = "Ac\x00me" if n == 11_000 else f"Account {n}"
        lines.append(f"e{n},D-{n},inquiry,2024-03-01T09:00:00+00:00,{manager.email},{account}")
    content = ("\n".join(lines) + "\n").encode()
    client = login(manager)
    job, _ = upload_and_open(client, team, content)
    validate = reverse("import_validate", args=[team.slug, job.id])
    assert client.post(validate, _mapping_post(job)).status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.INVALID
    assert job.errors == [
        {
            "row": 11_000,
            "column": "account",
            "message": "Contains a NUL character (\\x00) at character 3; remove it.",
        }
    ]
    page = client.get(reverse("import_detail", args=[team.slug, job.id])).content.decode()
    assert "1 problem found in 1 row — nothing was written" in page
    assert not Deal.objects.exists() and not StageEvent.objects.exists()

    start = reverse("import_start", args=[team.slug, job.id])
    assert client.post(start).status_code == 400  # bad rows: skipping them is said explicitly
    assert not Deal.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(start, {"skip_bad_rows": "on"}).status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE, job.summary
    assert job.summary["skipped_bad"]["rows"] == 1
    assert Deal.objects.count() == StageEvent.objects.count() == 11_999
    assert not Deal.objects.filter(external_id="D-11000").exists()
