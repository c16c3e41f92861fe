"""The ApiToken admin: adding generates a token shown once; the revoke action."""

import pytest
from django.contrib.messages import get_messages

from funnel.models import ApiToken

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return client


def test_adding_a_token_shows_it_once(admin_client, team):
    response = admin_client.post(
        "/admin/funnel/apitoken/add/", {"team": team.id, "name": "Pipedrive"}, follow=True
    )
    assert response.status_code == 200
    row = ApiToken.objects.get()
    text = " ".join(str(m) for m in get_messages(response.wsgi_request))
    token = next(word for word in text.split() if word.startswith("kz_"))
    assert ApiToken.hash_token(token) == row.token_hash
    assert row.created_by.username == "root"
    listing = admin_client.get("/admin/funnel/apitoken/")
    assert row.prefix.encode() in listing.content
    assert token.encode() not in listing.content


def test_revoke_action(admin_client, token, client):
    row = ApiToken.objects.get()
    admin_client.post(
        "/admin/funnel/apitoken/",
        {"action": "revoke", "_selected_action": [row.id]},
        follow=True,
    )
    assert ApiToken.objects.get().revoked_at is not None
    client.logout()
    response = client.get("/api/v1/stages", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
