"""Is an upload a text CSV at all? Told from its first bytes, before a single row is parsed,
so that a gzip file is not read as 19,183 rows of garbage. Pure functions, no ORM."""

from __future__ import annotations

SNIFF_BYTES = 64 * 1024
# A NUL or two in a text file is a damaged cell or header, refused later with its row and
# column; a binary file has many.
STRAY_NULS = 4
# Share of a Windows-1252 reading's characters that may be control characters: a real export
# has none but tabs and line ends; a binary file has many.
MAX_CONTROL_SHARE = 0.01

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "This is a gzip file; unzip it and upload the .csv inside."),
    (b"BZh", "This is a bzip2 file; unpack it and upload the .csv inside."),
    (b"\xfd7zXZ\x00", "This is an xz file; unpack it and upload the .csv inside."),
    (b"7z\xbc\xaf\x27\x1c", "This is a 7-Zip file; unpack it and upload the .csv inside."),
    (b"Rar!", "This is a RAR file; unpack it and upload the .csv inside."),
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "This is an old Excel (.xls) file; open it and save it as CSV (UTF-8), then upload that.",
    ),
    (b"%PDF", "This is a PDF file; export the report from your CRM as CSV instead."),
    (b"\x89PNG", "This is a PNG image, not a CSV file."),
    (b"\xff\xd8\xff", "This is a JPEG image, not a CSV file."),
    (b"SQLite format 3\x00", "This is an SQLite database, not a CSV file."),
)
_ZIP = b"PK\x03\x04"
_XLSX = "This is an Excel workbook (.xlsx); open it and save it as CSV (UTF-8), then upload that."
_ODS = "This is a spreadsheet (.ods); save it as CSV (UTF-8), then upload that."
_ZIPPED = "This is a zip file; unzip it and upload the .csv inside."


def file_refusal(content: bytes) -> str | None:
    """Why the bytes are not a text CSV file, in words for the person who uploaded it; None
    when they may well be one."""
    head = content[:SNIFF_BYTES]
    if not head.strip():
        return "The file is empty."
    if head.startswith(_ZIP):
        if b"xl/" in head or b"[Content_Types].xml" in head:
            return _XLSX
        if b"opendocument.spreadsheet" in head:
            return _ODS
        return _ZIPPED
    for magic, message in _MAGIC:
        if head.startswith(magic):
            return message
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Excel's "Unicode text": read as UTF-16 (a character cut by the window is dropped).
        text = head[: len(head) // 2 * 2].decode("utf-16", errors="replace").rstrip("\ufffd")
    elif b"\x00" in head and _utf16_without_bom(head):
        return (
            "This file is written in UTF-16 without a byte-order mark; save it as CSV "
            "(UTF-8) and upload that."
        )
    else:
        try:
            text = head.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            if error.start >= len(head) - 3:  # a character cut by the sniffing window
                text = head[: error.start].decode("utf-8-sig")
            else:
                text = head.decode("cp1252", errors="replace")
    controls = sum(1 for ch in text if (ord(ch) < 32 and ch not in "\t\r\n") or ch == "\ufffd")
    if controls > MAX_CONTROL_SHARE * len(text):
        nuls = head.count(0)
        if nuls > STRAY_NULS:
            return "This is a binary file, not a text CSV file."
        if controls - nuls <= MAX_CONTROL_SHARE * len(text):
            return None
        return (
            "This file does not read as text (it is binary, or in an encoding other than UTF-8 "
            "or Windows-1252); export it from your CRM as CSV and upload that."
        )
    return None


def _utf16_without_bom(head: bytes) -> bool:
    """Western text in UTF-16: every other byte is NUL (the high byte of each character)."""
    sample = head[:4096]
    for start in (0, 1):
        zeros = sample[start::2].count(0)
        if zeros > 0.9 * len(sample[start::2]) and not sample[1 - start :: 2].count(0):
            return True
    return False
