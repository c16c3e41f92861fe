import datetime as dt
from decimal import Decimal

import pytest

from funnel.imports.parsing import (
    CsvUnreadable,
    DateParser,
    amount_parse,
    csv_parse,
    date_format_guess,
    header_signature,
)


def test_bom_crlf_semicolon_and_empty_cells(csv_bytes):
    content = csv_bytes("deals_excel_semicolon.csv")
    assert content.startswith(b"\xef\xbb\xbf") and b"\r\n" in content
    table = csv_parse(content)
    assert table.delimiter == ";"
    assert table.header[0] == "Opportunity ID"  # no BOM glued to the first name
    assert [number for number, _ in table.rows] == [2, 3, 4, 5]
    d3 = table.rows[2][1]
    assert d3[2] == "" and d3[3] == "" and d3[-2] == ""
    assert all(not cell.endswith("\r") for _, cells in table.rows for cell in cells)


def test_none_is_a_value_not_an_empty_cell(csv_bytes):
    table = csv_parse(csv_bytes("deals_excel_semicolon.csv"))
    competitor = table.header.index("Competitor Type")
    assert [cells[competitor] for _, cells in table.rows] == ["None", "Known", "", "Unknown"]


def test_comma_file_short_rows_padded_blank_lines_keep_numbers():
    table = csv_parse(b"a,b,c\n1,2\n\n4,5,6\n")
    assert table.delimiter == ","
    assert table.rows == [(2, ["1", "2", ""]), (4, ["4", "5", "6"])]


def test_quoted_delimiters_and_line_breaks():
    table = csv_parse(b'id;note\r\n1;"a;b\r\nc"\r\n2;x\r\n')
    assert table.rows == [(2, ["1", "a;b\r\nc"]), (3, ["2", "x"])]


def test_overlong_rows_reported_and_latin1_fallback():
    table = csv_parse("id,name\n1,Müller,extra\n".encode("cp1252"))
    assert table.rows[0][1] == ["1", "Müller"]
    assert table.overlong == [(2, 3)]


def test_empty_file_is_unreadable():
    with pytest.raises(CsvUnreadable):
        csv_parse(b"")


@pytest.mark.parametrize(
    ("date_format", "text", "expected"),
    [
        ("iso", "2024-01-31", dt.datetime(2024, 1, 31, tzinfo=dt.UTC)),
        ("iso", "2024-01-31T10:30:00+02:00", dt.datetime(2024, 1, 31, 8, 30, tzinfo=dt.UTC)),
        ("dmy", "31/01/2024", dt.datetime(2024, 1, 31, tzinfo=dt.UTC)),
        ("dmy", "31.01.2024 14:05", dt.datetime(2024, 1, 31, 14, 5, tzinfo=dt.UTC)),
        ("dmy", "2024-01-31", dt.datetime(2024, 1, 31, tzinfo=dt.UTC)),
        ("mdy", "01/31/2024", dt.datetime(2024, 1, 31, tzinfo=dt.UTC)),
        ("dmy", "01/02/24", dt.datetime(2024, 2, 1, tzinfo=dt.UTC)),
        ("mdy", "01/02/24", dt.datetime(2024, 1, 2, tzinfo=dt.UTC)),
    ],
)
def test_dates_in_the_declared_format(date_format, text, expected):
    assert DateParser(date_format, dt.UTC)(text) == expected


@pytest.mark.parametrize(
    ("date_format", "text"),
    [("dmy", "31/02/2024"), ("iso", "31/01/2024"), ("mdy", "31/01/2024"), ("iso", "soon")],
)
def test_impossible_or_foreign_dates_are_none(date_format, text):
    assert DateParser(date_format, dt.UTC)(text) is None


def test_date_format_guess():
    assert date_format_guess(["2024-01-31", "2024-02-01"]) == "iso"
    assert date_format_guess(["01/02/2024", "31/01/2024"]) == "dmy"
    assert date_format_guess(["01/02/2024", "01/31/2024"]) == "mdy"
    assert date_format_guess(["01.02.2024"]) == "dmy"


def test_amounts():
    assert amount_parse("1,234.50") == Decimal("1234.50")
    assert amount_parse("$ 99") == Decimal("99")
    assert amount_parse("1.234,50", decimal_comma=True) == Decimal("1234.50")
    assert amount_parse("n/a") is None


def test_header_signature_ignores_case_and_padding():
    assert header_signature(["Deal ID", "Stage"]) == header_signature([" deal id", "STAGE "])
    assert header_signature(["Deal ID", "Stage"]) != header_signature(["Stage", "Deal ID"])
