import pytest


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    # The fixture users get passwords; the default hasher costs seconds per test on a busy box
    # and is not what these tests are about.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
