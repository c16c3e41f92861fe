from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "csv"


@pytest.fixture
def csv_bytes():
    def _read(name: str) -> bytes:
        return (FIXTURES / name).read_bytes()

    return _read


@pytest.fixture
def named_rep(rep):
    """The fixture rep with a full name, as CRM exports name owners."""
    rep.first_name, rep.last_name = "Rita", "Rep"
    rep.save()
    return rep
