"""No input can break a team (issue 17, item 1): dates before 1970 or outside the calendar, text
PostgreSQL cannot store, unbounded offsets and ids repeated within a batch are refused with the
place they are in, and nothing is written."""

import datetime as dt
import json

import pytest

from funnel.bounds import storable, text_problem, too_early
from funnel.imports.parsing import DateParser
from funnel.imports.service import ImportRefused, import_job_create, import_job_validate
from funnel.models import Deal, StageEvent
from tests.funnel.api.conftest import ApiClient


def event(event_id="e-1", *, deal="D-1", when="2026-03-02T09:00:00+00:00", **deal_fields):
    return {
        "id": event_id,
        "deal": {"id": deal, **deal_fields},
        "stage": "inquiry",
        "occurred_at": when,
    }


def post_raw(client, token, text: str):
    """A body written by hand, so it can hold JSON escapes like \\ud800 exactly as sent."""
    return client.post(
        "/api/v1/events",
        text,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )


def errors_of(response) -> list[tuple[int | None, str]]:
    return [(e["index"], e["field"]) for e in response.json()["errors"]]


@pytest.mark.parametrize(
    "when",
    [
        "0001-01-01T00:00:00+14:00",  # year 0 once in UTC: the date that froze a team
        "0001-01-01T00:00:00+00:00",
        "1969-12-31T23:59:59+00:00",
    ],
)
def test_an_event_before_1970_is_refused_and_nothing_is_stored(api, team, when):
    response = api.post("/events", {"events": [event(when=when)]})
    assert response.status_code == 422, response.content
    assert errors_of(response) == [(0, "occurred_at")]
    assert not StageEvent.objects.filter(team=team).exists()
    assert not Deal.objects.filter(team=team).exists()


def test_the_first_second_of_1970_is_accepted(api, team):
    response = api.post("/events", {"events": [event(when="1970-01-01T00:00:00+00:00")]})
    assert response.status_code == 200, response.content
    assert StageEvent.objects.filter(team=team).count() == 1


@pytest.mark.parametrize(
    ("escaped", "field", "what"),
    [
        ('"deal": {"id": "D-1", "account": "Acme\\u0000Corp"}', "deal.account", "NUL"),
        ('"deal": {"id": "D-\\ud800"}', "deal.id", "unpaired surrogate"),
        ('"deal": {"id": "D-1", "source": "web\\u0007"}', "deal.source", "control character"),
        # Looked up among the team's members before validation once: a 500 on PostgreSQL.
        ('"deal": {"id": "D-1", "owner": "rep\\u0000@x.com"}', "deal.owner", "NUL"),
    ],
)
def test_text_the_database_cannot_store_is_refused_by_field(
    client, token, team, escaped, field, what
):
    body = (
        '{"events": [{"id": "ok", "deal": {"id": "D-0"}, "stage": "inquiry", '
        '"occurred_at": "2026-03-02T09:00:00+00:00"}, '
        '{"id": "bad", ' + escaped + ', "stage": "inquiry", '
        '"occurred_at": "2026-03-02T09:00:00+00:00"}]}'
    )
    response = post_raw(client, token, body)
    assert response.status_code == 422, response.content
    errors = response.json()["errors"]
    assert {(e["index"], e["field"]) for e in errors} == {(1, field)}
    assert any(what in e["message"] for e in errors)
    assert not StageEvent.objects.filter(team=team).exists()


def test_an_id_repeated_within_a_batch_is_refused_with_its_index(api, team):
    response = api.post(
        "/events",
        {"events": [event("e-1", deal="D-1"), event("e-2", deal="D-2"), event("e-1", deal="D-3")]},
    )
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (error["index"], error["field"]) == (2, "id")
    assert "event 0" in error["message"]
    assert not Deal.objects.filter(team=team).exists()


def test_sending_the_same_batch_again_still_counts_as_duplicates(api, team):
    batch = {"events": [event("e-1"), event("e-2", deal="D-2")]}
    assert api.post("/events", batch).json()["accepted"] == 2
    again = api.post("/events", batch)
    assert again.status_code == 200
    assert again.json()["duplicates"] == 2


@pytest.mark.parametrize("offset", [2**63, 2**31 * 10**3, -1])
def test_deal_page_offsets_out_of_range_are_422_not_500(api, offset):
    response = api.get("/deals", {"offset": offset})
    assert response.status_code == 422
    assert errors_of(response) == [(None, "offset")]


def test_the_largest_offset_answers_an_empty_page(api):
    response = api.get("/deals", {"offset": 1_000_000_000})
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_deal_filters_refuse_unreadable_times_and_text(api):
    assert api.get("/deals", {"updated_since": "0001-01-01T00:00:00+14:00"}).status_code == 422
    assert api.get("/deals", {"owner": "a\x00b"}).status_code == 422


def test_an_as_of_before_1970_is_refused_by_the_api(client, team, token):
    api = ApiClient(client, token)
    response = api.get("/bottleneck", {"team": team.slug, "as_of": "0001-01-01"})
    assert response.status_code == 422
    assert "1 Jan 1970" in json.dumps(response.json())


def test_a_page_given_an_as_of_before_1970_says_so(client, manager, team):
    client.force_login(manager)
    response = client.get(f"/teams/{team.slug}/dashboard/", {"as_of": "0001-01-01"})
    assert response.status_code == 200
    assert "Must be on or after 1 Jan 1970." in response.content.decode()


# The CSV side: the same limits, reported by row and column.

MAPPING = {
    "shape": "events",
    "date_format": "iso",
    "columns": {"deal": "deal_id", "stage": "stage", "when": "occurred_at", "account": "account"},
    "stage_values": {"Inquiry": "inquiry"},
}


def validate(team, manager, text: str):
    job = import_job_create(
        team=team, uploaded_by=manager, filename="f.csv", content=text.encode("utf-8")
    )
    return sorted(
        (e.row, e.column, e.message) for e in import_job_validate(job=job, mapping=MAPPING).errors
    )


def test_csv_dates_outside_the_calendar_name_their_row_and_column(team, manager):
    found = validate(
        team,
        manager,
        "deal,stage,when,account\n"
        "D-1,Inquiry,2024-01-05T09:00:00+00:00,Acme\n"
        "D-2,Inquiry,0001-01-01T00:00:00+14:00,Acme\n"
        "D-3,Inquiry,1969-07-20T20:17:00+00:00,Acme\n",
    )
    assert [(row, column) for row, column, _ in found] == [(3, "when"), (4, "when")]
    assert "is not a date" in found[0][2]
    assert found[1][2] == "1969-07-20T20:17:00+00:00 is before 1 Jan 1970."


def test_a_nul_in_a_cell_is_found_at_validation_with_row_and_column(team, manager):
    # Far past the first bytes the upload sniffs, as in row 11,000 of a real file.
    rows = "".join(f"D-{i},Inquiry,2024-01-05T09:00:00+00:00,Acme {i}\n" for i in range(2, 11000))
    found = validate(
        team,
        manager,
        "deal,stage,when,account\n" + rows + "D-x,Inquiry,2024-01-05T09:00:00+00:00,Ac\x00me\n",
    )
    assert found == [
        (11000, "account", "Contains a NUL character (\\x00) at character 3; remove it.")
    ]
    assert not StageEvent.objects.filter(team=team).exists()


def test_a_nul_in_the_header_is_refused_at_upload(team, manager):
    # A stray NUL is named where it is, not taken for a binary file.
    with pytest.raises(ImportRefused, match=r"column 2 \('sta\\x00ge'\): Contains a NUL"):
        import_job_create(
            team=team,
            uploaded_by=manager,
            filename="f.csv",
            content=b"deal,sta\x00ge,when\nD-1,Inquiry,2024-01-05\n" + b"x,y,z\n" * 200,
        )


def test_a_control_character_in_the_header_is_refused_at_upload(team, manager):
    with pytest.raises(ImportRefused, match=r"column 2 \('sta\\x07ge'\): Contains a control"):
        import_job_create(
            team=team,
            uploaded_by=manager,
            filename="f.csv",
            content=b"deal,sta\x07ge,when\nD-1,Inquiry,2024-01-05\n" + b"x,y,z\n" * 200,
        )


def test_the_date_parser_never_lets_an_overflow_through():
    parse = DateParser("iso", dt.UTC)
    assert parse("0001-01-01T00:00:00+14:00") is None
    assert parse("9999-12-31T23:59:59-14:00") is None
    assert parse("2024-01-05T09:00:00+01:00") == dt.datetime(2024, 1, 5, 8, 0, tzinfo=dt.UTC)


def test_text_problem_names_the_first_bad_character():
    assert text_problem("Acme") is None
    assert text_problem("tab\tand\nnewline") is None
    assert text_problem("ab\x00c") == "Contains a NUL character (\\x00) at character 3; remove it."
    assert "unpaired surrogate (\\udc80)" in text_problem("x\udc80")
    assert storable("plain") and not storable("a\x1bb")
    assert too_early(dt.date(1969, 12, 31)) and not too_early(dt.date(1970, 1, 1))


def test_updated_since_must_be_iso_text_not_a_number(api):
    # pydantic alone reads "0.5" as a Unix time (found by schema fuzzing).
    response = api.get("/deals", {"updated_since": "0.5"})
    assert response.status_code == 422
    assert errors_of(response) == [(None, "updated_since")]
    ok = api.get("/deals", {"updated_since": "2026-03-02T09:00:00+00:00"})
    assert ok.status_code == 200


def test_a_body_that_is_not_json_is_a_documented_400(client, token):
    response = client.post(
        "/api/v1/events",
        b"\x05}\xffTN",
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400
    schema = client.get("/api/v1/openapi.json").json()
    assert "400" in schema["paths"]["/api/v1/events"]["post"]["responses"]
    assert "400" in schema["paths"]["/api/v1/stages"]["put"]["responses"]


@pytest.mark.parametrize(
    "path", ["/deals?stauts=open", "/deals/D-1?x=1", "/stages?page=2", "/funnel?weekz=4"]
)
def test_a_query_parameter_the_operation_does_not_take_is_named(api, path):
    response = api.get(path)

    assert response.status_code == 422
    name = path.split("?")[1].split("=")[0]
    [error] = response.json()["errors"]
    assert error["field"] == name
    assert "Unknown query parameter" in error["message"]


def test_a_batch_with_a_query_parameter_writes_nothing(api):
    response = api.post("/events?dry_run=1", {"events": [event("E-1")]})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "dry_run"
    assert not StageEvent.objects.exists()


@pytest.mark.parametrize("stamp", ["2026-03-02T09:00:00-21:23", "2026-03-02T09:00:00+15:00"])
def test_an_event_with_an_offset_no_zone_has_is_refused(api, stamp):
    response = api.post("/events", {"events": [event("E-1", when=stamp)]})

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (error["index"], error["field"]) == (0, "occurred_at")
    assert "between -14:00 and +14:00" in error["message"]
    assert not StageEvent.objects.exists()


def test_updated_since_with_an_offset_no_zone_has_is_refused(api):
    response = api.get("/deals?updated_since=2026-03-02T09:00:00-21:23")

    assert response.status_code == 422
    assert "between -14:00 and +14:00" in response.json()["errors"][0]["message"]


def test_the_furthest_real_offsets_are_taken(api):
    response = api.post(
        "/events",
        {
            "events": [
                event("E-1", when="2026-03-02T09:00:00+14:00"),
                event("E-2", deal="D-2", when="2026-03-02T09:00:00-12:00"),
            ]
        },
    )

    assert response.status_code == 200, response.json()
    assert StageEvent.objects.count() == 2
