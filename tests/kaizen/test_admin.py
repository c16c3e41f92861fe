"""The admin shows a cycle's history (CycleEvent) read-only: the cycle services write it."""

import pytest
from django.urls import reverse

from kaizen.models import CycleEvent
from kaizen.services.cycles import cycle_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(team, manager):
    cycle = cycle_create(team=team, by=manager, title="Faster proposals", metric="conversion")
    return CycleEvent.objects.get(cycle=cycle)


def test_history_list_and_detail_render_read_only(admin_client, event):
    listing = admin_client.get(reverse("admin:kaizen_cycleevent_changelist"))
    assert listing.status_code == 200
    assert b"created" in listing.content
    assert reverse("admin:kaizen_cycleevent_add").encode() not in listing.content
    detail = admin_client.get(reverse("admin:kaizen_cycleevent_change", args=[event.pk]))
    assert detail.status_code == 200
    assert b'name="_save"' not in detail.content


def test_history_refuses_add_change_and_delete(admin_client, event):
    assert admin_client.get(reverse("admin:kaizen_cycleevent_add")).status_code == 403
    change = reverse("admin:kaizen_cycleevent_change", args=[event.pk])
    assert admin_client.post(change, {"action": "edited"}).status_code == 403
    delete = reverse("admin:kaizen_cycleevent_delete", args=[event.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    event.refresh_from_db()
    assert event.action == "created"


def test_the_cycle_page_shows_its_history_without_a_form_for_it(admin_client, event):
    response = admin_client.get(reverse("admin:kaizen_cycle_change", args=[event.cycle_id]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "created" in body
    assert 'name="events-0-DELETE"' not in body  # no delete box on the history row


def test_a_cycle_cannot_be_changed_or_deleted_in_the_admin(admin_client, event):
    change = reverse("admin:kaizen_cycle_change", args=[event.cycle_id])
    assert admin_client.post(change, {"title": "Renamed", "phase": "closed"}).status_code == 403
    delete = reverse("admin:kaizen_cycle_delete", args=[event.cycle_id])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    event.cycle.refresh_from_db()
    assert (event.cycle.title, event.cycle.phase) == ("Faster proposals", "plan")
