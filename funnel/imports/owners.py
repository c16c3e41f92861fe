"""Owners that an export names only by their CRM id (Salesforce's OwnerId "0058d000002C3D2AAK"):
named from an owner export when one is given, else "Owner 0058d000002C3D2AAK", the id kept."""

from __future__ import annotations

from funnel.imports.parsing import CsvTable, CsvUnreadable, csv_parse
from funnel.imports.values import looks_like_id


def owner_label(owner: str, names: dict[str, str]) -> str:
    """The owner's name for a cell: the named id, 'Owner <id>' for an unnamed id, else as is."""
    if owner in names:
        return names[owner]
    if " " not in owner and "@" not in owner and looks_like_id(owner):
        return f"Owner {owner}"
    return owner


def owner_names_read(content: bytes) -> dict[str, str]:
    """{id: full name} from a user export: the first id-like column and a name column (or first
    and last name columns). CsvUnreadable with the reason when there is none."""
    table: CsvTable = csv_parse(content)
    keys = [h.strip().lower() for h in table.header]
    id_col = next(
        (i for i, k in enumerate(keys) if k in ("id", "user id", "owner id", "userid")), None
    )
    if id_col is None:
        id_col = next(
            (
                i
                for i in range(len(keys))
                if table.rows and all(looks_like_id(c[i]) for _, c in table.rows[:20] if c[i])
            ),
            None,
        )
    full = next(
        (i for i, k in enumerate(keys) if k in ("name", "full name", "user", "owner")), None
    )
    first = next((i for i, k in enumerate(keys) if k in ("first name", "firstname")), None)
    last = next((i for i, k in enumerate(keys) if k in ("last name", "lastname")), None)
    if id_col is None or (full is None and (first is None or last is None)):
        raise CsvUnreadable(
            "The owner file needs an id column (Id, User ID) and a Name column "
            "(or First Name and Last Name)."
        )
    names: dict[str, str] = {}
    for _, cells in table.rows:
        name = cells[full] if full is not None else f"{cells[first]} {cells[last]}"
        if cells[id_col].strip() and name.strip():
            names[cells[id_col].strip()] = " ".join(name.split())
    return names
