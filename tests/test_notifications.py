"""The bell, the list, marking read; other members' notifications answer 404."""

from __future__ import annotations

import pytest

from peerhub.errors import NotFound
from peerhub.extensions import db
from peerhub.notifications import service
from peerhub.notifications.models import Notification
from tests.conftest import HX_PARTIAL


def add(app, persona, kind="email_changed", **params) -> int:
    with app.app_context():
        notification = service.notify(persona.id, kind, **(params or {"email": "x@example.org"}))
        db.session.commit()
        return notification.id


def test_empty_list_tells_what_comes_here(client, alice, auth):
    auth.login(alice)
    page = client.get("/notifications/").text
    assert "No notifications yet" in page


def test_bell_counts_unread(app, client, alice, auth):
    auth.login(alice)
    add(app, alice)
    add(app, alice)
    bell = client.get("/notifications/bell", headers=HX_PARTIAL)
    assert bell.status_code == 200 and "<html" not in bell.text
    assert 'data-unread="2"' in bell.text and "2 unread" in bell.text
    assert 'hx-trigger="every 60s"' in bell.text
    assert 'data-unread="2"' in client.get("/").text


def test_list_and_mark_read_without_javascript(app, client, alice, auth):
    auth.login(alice)
    first = add(app, alice, email="new@example.org")
    page = client.get("/notifications/")
    assert "Your e-mail address is now new@example.org." in page.text
    response = client.post(f"/notifications/{first}/read")
    assert response.status_code == 303
    assert "0 unread notifications" in client.get("/notifications/").text


def test_mark_read_with_htmx_returns_the_list_and_the_bell(app, client, alice, auth):
    auth.login(alice)
    first = add(app, alice)
    add(app, alice)
    response = client.post(f"/notifications/{first}/read", headers=HX_PARTIAL)
    assert response.status_code == 200 and "<html" not in response.text
    assert response.text.lstrip().startswith('<section id="notification-list">')
    assert 'hx-swap-oob="true"' in response.text and 'data-unread="1"' in response.text


def test_mark_read_twice_is_harmless(app, client, alice, auth):
    auth.login(alice)
    first = add(app, alice)
    assert client.post(f"/notifications/{first}/read").status_code == 303
    assert client.post(f"/notifications/{first}/read").status_code == 303


def test_mark_all_read(app, client, alice, bob, auth):
    auth.login(alice)
    for _ in range(3):
        add(app, alice)
    add(app, bob)
    client.post("/notifications/read-all")
    with app.app_context():
        assert service.unread_count(alice.id) == 0
        assert service.unread_count(bob.id) == 1
    partial = client.post("/notifications/read-all", headers=HX_PARTIAL)
    assert partial.status_code == 200 and "<html" not in partial.text


def test_another_members_notification_is_404(app, client, alice, mallory, auth):
    theirs = add(app, alice)
    auth.login(mallory)
    assert client.post(f"/notifications/{theirs}/read").status_code == 404
    assert client.post(f"/notifications/{theirs}/read", headers=HX_PARTIAL).status_code == 404
    assert client.post("/notifications/999999/read").status_code == 404
    with app.app_context():
        assert db.session.get(Notification, theirs).read_at is None


def test_mark_read_service_refuses_others(ctx, alice, mallory):
    notification = service.notify(alice.id, "password_changed")
    db.session.commit()
    with pytest.raises(NotFound):
        service.mark_read(mallory.id, notification.id)


def test_list_paginates(app, client, alice, auth):
    auth.login(alice)
    for _ in range(25):
        add(app, alice)
    first = client.get("/notifications/").text
    assert "Page 1 of 2" in first and first.count('class="notification unread"') == 20
    second = client.get("/notifications/?page=2").text
    assert second.count('class="notification unread"') == 5
    assert client.get("/notifications/?page=99").status_code == 200


def test_notification_text_follows_the_viewers_language(app, client, carol, auth):
    add(app, carol, "password_changed")
    auth.login(carol)
    client.post("/language", data={"language": "de"})
    assert "Passwort" in client.get("/notifications/").text


def test_unknown_kind_is_refused(ctx, alice):
    with pytest.raises(ValueError):
        service.notify(alice.id, "nonsense")
