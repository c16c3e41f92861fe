"""Reading CSV exports as CRMs and spreadsheets write them: pure functions, no ORM.

Real exports carry a byte-order mark, CRLF line ends, `;` (continental Excel) or `,`, day-first
or ISO dates, and empty cells. The literal text `None` is kept as a value: in some exports it is
a real category (e.g. "Competitor Type: None"), not a missing one.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

DATE_FORMATS = ("iso", "dmy", "mdy")
FIRST_DATA_ROW = 2  # as a spreadsheet numbers them: the header is row 1


class CsvUnreadable(ValueError):
    """The file is not a CSV table we can read (no header, not text, ...)."""


@dataclass(frozen=True, slots=True)
class CsvTable:
    header: list[str]
    # (spreadsheet row number, cells padded to the header's width)
    rows: list[tuple[int, list[str]]]
    delimiter: str
    # Rows with more non-empty cells than the header has columns: (row number, cell count).
    overlong: list[tuple[int, int]]


UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def csv_decode(content: bytes) -> str:
    """Text of the file: UTF-16 when it starts with its byte-order mark (Excel's "Unicode
    text"), else UTF-8 (with or without a byte-order mark), else Windows-1252 (Excel's "CSV" on
    a Western Windows), which reads any byte."""
    if content.startswith(UTF16_BOMS):
        try:
            return content.decode("utf-16")
        except UnicodeDecodeError as error:
            raise CsvUnreadable(
                f"This UTF-16 file is damaged at byte {error.start:,}; save it again as CSV "
                "(UTF-8) and upload that."
            ) from error
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("cp1252", errors="replace")


def csv_delimiter(first_line: str) -> str:
    """The header's most frequent separator: `,`, `;` (continental Excel) or a tab (Excel's
    "Unicode text"); `,` on a tie."""
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: (counts[d], d == ","))


def csv_parse(content: bytes, *, max_rows: int | None = None) -> CsvTable:
    text = csv_decode(content)
    first_line = text.split("\n", 1)[0]
    delimiter = csv_delimiter(first_line)
    # newline="" semantics: the csv module handles CRLF and quoted line breaks itself.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    overlong: list[tuple[int, int]] = []
    width = 0
    try:
        for number, cells in enumerate(reader, start=1):
            if header is None:
                header = [c.strip() for c in cells]
                width = len(header)
                if not any(header):
                    raise CsvUnreadable("The first row must name the columns.")
                continue
            if not "".join(cells).strip():
                continue  # a blank line keeps its number but is not a row
            if len(cells) < width:
                cells = cells + [""] * (width - len(cells))  # exports often trim empty tails
            elif len(cells) > width:
                if any(c.strip() for c in cells[width:]):
                    overlong.append((number, len(cells)))
                cells = cells[:width]
            rows.append((number, cells))
            if max_rows is not None and len(rows) >= max_rows:
                break
    except csv.Error as error:
        raise CsvUnreadable(f"Not a readable CSV file: {error}.") from error
    if header is None:
        raise CsvUnreadable("The file is empty.")
    return CsvTable(header=header, rows=rows, delimiter=delimiter, overlong=overlong)


def header_signature(header: list[str]) -> str:
    """SHA-256 of the normalised header row: the key a saved mapping is found by."""
    normalised = "\x1f".join(h.strip().lower() for h in header)
    return hashlib.sha256(normalised.encode()).hexdigest()


_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
# Times as reports write them too: "3/14/2022 16:11", "3/14/2022, 4:11 PM".
_PARTS = re.compile(
    r"^(\d{1,4})[/.\-](\d{1,2})[/.\-](\d{1,4})"
    r"(?:,?[ T](\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([AaPp])\.?[Mm]\.?)?)?$"
)


class DateParser:
    """Parses the dates of one file in its declared format; remembers each distinct text, since
    an export repeats the same few hundred dates many thousands of times."""

    def __init__(self, date_format: str, tz: dt.tzinfo):
        if date_format not in DATE_FORMATS:
            raise ValueError(f"Unknown date format {date_format!r}.")
        self.date_format = date_format
        self.tz = tz
        self._cache: dict[str, dt.datetime | None] = {}

    def __call__(self, text: str) -> dt.datetime | None:
        """The aware time the text names (in UTC), or None when it is not a date in the format.

        In UTC with the fixed datetime.UTC: a time with a ZoneInfo zone costs about a microsecond
        more at every later step (comparing, hashing, writing it to the database), and a file's
        dates go through several such steps each."""
        try:
            return self._cache[text]
        except KeyError:
            value = self._parse(text.strip())
            if value is not None:
                try:
                    value = value.astimezone(dt.UTC)
                except OverflowError:  # 0001-01-01 east of UTC lies in year 0
                    value = None
            self._cache[text] = value
            return value

    def _parse(self, text: str) -> dt.datetime | None:
        if self.date_format == "iso":
            if match := _ISO_DATE.match(text):
                y, m, d = (int(g) for g in match.groups())
                return _aware(y, m, d, 0, 0, 0, self.tz)
            try:
                value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                return None
            return value if value.tzinfo else value.replace(tzinfo=self.tz)
        match = _PARTS.match(text)
        if not match:
            return None
        a, b, c, hh, mm, ss, half = match.groups()
        if half and hh:
            hh = str(int(hh) % 12 + (12 if half in "Pp" else 0))
        if len(a) == 4:  # an ISO date in a day-first file is still unambiguous
            y, m, d = int(a), int(b), int(c)
        elif self.date_format == "dmy":
            d, m, y = int(a), int(b), int(c)
        else:
            m, d, y = int(a), int(b), int(c)
        if y < 100:
            y += 2000
        return _aware(y, m, d, int(hh or 0), int(mm or 0), int(ss or 0), self.tz)


def _aware(y, m, d, hh, mm, ss, tz) -> dt.datetime | None:
    try:
        return dt.datetime(y, m, d, hh, mm, ss, tzinfo=tz)
    except ValueError:
        return None


def date_format_guess(values: list[str]) -> str:
    """iso, dmy or mdy, from sample date texts; a first part over 12 means day-first."""
    slashed = [v.strip() for v in values if _PARTS.match(v.strip()) and not _ISO_DATE.match(v)]
    slashed = [v for v in slashed if len(re.split(r"[/.\-]", v)[0]) <= 2]
    if not slashed:
        return "iso"
    for v in slashed:
        a, b = (int(x) for x in re.split(r"[/.\-]", v.split(" ")[0])[:2])
        if a > 12:
            return "dmy"
        if b > 12:
            return "mdy"
    # Ambiguous throughout; day-first is what most of the world writes with dots and slashes.
    return "dmy" if any("." in v for v in slashed) else "mdy"


_CURRENCY = re.compile(r"[\s$€£¥]|USD|EUR|GBP")


def amount_parse(text: str, *, decimal_comma: bool = False) -> Decimal | None:
    """A money amount: currency signs and thousands separators dropped. None if not a number."""
    cleaned = _CURRENCY.sub("", text)
    if decimal_comma:
        cleaned = cleaned.replace(".", "").replace(",", ".")
    else:
        cleaned = cleaned.replace(",", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def default_tz(name: str) -> dt.tzinfo:
    return dt.UTC if name == "UTC" else ZoneInfo(name)
