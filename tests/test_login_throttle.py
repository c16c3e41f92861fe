"""Login throttling (issue 17, item 2): wrong passwords lock the account, and separately the
address, for a cool-off, on the app's login and the admin's; the page says why and for how long."""

import pytest
from django.contrib.auth import get_user_model

from tests.conftest import PASSWORD


@pytest.fixture
def limit(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 5
    return 3


def wrong(client, email, url="/login/", address="10.0.0.1"):
    return client.post(
        url, {"username": email, "password": "not-it"}, REMOTE_ADDR=address, follow=False
    )


def test_an_account_is_locked_after_the_limit_even_from_new_addresses(client, rep, limit):
    for i in range(limit - 1):
        assert wrong(client, rep.email, address=f"10.0.0.{i}").status_code == 200
    locked = wrong(client, rep.email, address="10.0.0.99")
    assert locked.status_code == 429
    assert locked["Retry-After"] == "900"
    page = locked.content.decode()
    assert "Too many wrong passwords" in page
    assert "Try again in 15 minutes" in page
    # The right password does not get in during the cool-off.
    right = client.post(
        "/login/", {"username": rep.email, "password": PASSWORD}, REMOTE_ADDR="10.0.0.100"
    )
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session


def test_an_address_is_locked_after_its_own_higher_limit_across_accounts(
    client, rep, manager, limit
):
    emails = [f"{name}@example.com" for name in "abcdef"]
    responses = [wrong(client, email, address="10.9.9.9").status_code for email in emails]
    # Three people of one office mistyping once each do not lock it out; five failures do.
    assert responses == [200, 200, 200, 200, 429, 429]
    assert (
        "for an address after 5"
        in wrong(client, "g@example.com", address="10.9.9.9").content.decode()
    )
    # Another address still logs in.
    ok = client.post(
        "/login/", {"username": manager.email, "password": PASSWORD}, REMOTE_ADDR="10.1.1.1"
    )
    assert ok.status_code == 302


def test_a_success_resets_the_account_count(client, rep, limit):
    wrong(client, rep.email)
    wrong(client, rep.email)
    ok = client.post(
        "/login/", {"username": rep.email, "password": PASSWORD}, REMOTE_ADDR="10.0.0.1"
    )
    assert ok.status_code == 302
    client.logout()
    assert wrong(client, rep.email).status_code == 200


def test_the_admin_login_is_throttled_too(client, db, limit):
    get_user_model().objects.create_superuser("root@example.com", "root@example.com", PASSWORD)
    url = "/admin/login/?next=/admin/"
    codes = [wrong(client, "root@example.com", url=url).status_code for _ in range(limit)]
    assert codes == [200, 200, 429]
