"""An administrator (a superuser on no team) beside the fixture users of tests/conftest.py."""

import pytest
from django.contrib.auth import get_user_model

from tests.conftest import PASSWORD


@pytest.fixture
def administrator(db):
    return get_user_model().objects.create_superuser(
        username="ada.admin@example.com", email="ada.admin@example.com", password=PASSWORD
    )
