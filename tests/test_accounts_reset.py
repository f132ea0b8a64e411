"""Password reset by e-mail."""

from __future__ import annotations

import time

from tests.conftest import user_row

NEW_PASSWORD = "a brand new sentence here"


def test_reset_answers_the_same_whether_or_not_the_address_exists(client, alice, outbox):
    known = client.post("/password/forgot", data={"email": alice.email})
    unknown = client.post("/password/forgot", data={"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 303
    assert known.headers["Location"] == unknown.headers["Location"]
    assert [m.template for m in outbox()] == ["password_reset"]


def test_reset_link_uses_the_base_url_not_the_host_header(client, alice, outbox):
    client.post("/password/forgot", data={"email": alice.email}, headers={"Host": "evil.example"})
    assert outbox.link(alice.email).startswith("https://peerhub.test/password/reset/")


def test_reset_works_once_does_not_log_in_and_ends_sessions(app, client, alice, auth, outbox):
    other_device = app.test_client()
    auth.login(alice, client=other_device)
    client.post("/password/forgot", data={"email": alice.email})
    path = outbox.path(alice.email)
    assert client.get(path).status_code == 200
    response = client.post(path, data={"password": NEW_PASSWORD})
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert client.get("/settings").status_code == 302  # not logged in by the reset
    assert other_device.get("/settings").status_code == 302  # other sessions ended
    again = client.post(path, data={"password": "yet another sentence"})
    assert again.status_code == 400 and "already used" in again.text
    assert (
        client.post("/login", data={"email": alice.email, "password": NEW_PASSWORD}).status_code
        == 303
    )
    assert [m.template for m in outbox(alice.email)] == ["password_reset", "password_changed"]


def test_reset_link_expires_after_an_hour(client, alice, outbox, monkeypatch):
    client.post("/password/forgot", data={"email": alice.email})
    path = outbox.path(alice.email)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 3601)
    response = client.get(path)
    assert response.status_code == 400 and "expired" in response.text


def test_reset_refuses_a_weak_password_and_keeps_the_old_one(app, client, alice, outbox):
    client.post("/password/forgot", data={"email": alice.email})
    path = outbox.path(alice.email)
    before = user_row(app, alice.id).password_hash
    response = client.post(path, data={"password": "password1234"})
    assert response.status_code == 422 and "too common" in response.text
    assert user_row(app, alice.id).password_hash == before


def test_suspended_member_gets_no_reset_mail(app, client, outbox):
    from tests.conftest import make_user

    sam = make_user(app, "sam@example.org", "Sam", status="suspended")
    client.post("/password/forgot", data={"email": sam.email})
    assert outbox() == []


def test_forged_reset_link_is_refused(client):
    response = client.get("/password/reset/forged")
    assert response.status_code == 400
