"""Login, logout, sessions, remember-me, suspension."""

from __future__ import annotations

from sqlalchemy import update

from peerhub.accounts.models import User
from peerhub.extensions import db
from tests.conftest import make_user, user_row


def test_login_and_logout(client, alice, auth):
    response = auth.login(alice)
    # a member without a profile starts with the guided onboarding
    assert response.headers["Location"] == "/onboarding"
    home = client.get("/")
    assert "Hello, Alice" in home.text
    assert client.get("/settings").status_code == 200
    out = auth.logout()
    assert out.status_code == 303
    assert client.get("/settings").status_code == 302


def test_wrong_password_and_unknown_address_answer_the_same(client, alice):
    wrong = client.post("/login", data={"email": alice.email, "password": "wrong password!"})
    unknown = client.post("/login", data={"email": "nobody@example.org", "password": "whatever12"})
    malformed = client.post("/login", data={"email": "nobody", "password": "whatever12"})
    assert wrong.status_code == unknown.status_code == malformed.status_code == 422
    for response in (wrong, unknown, malformed):
        assert "E-mail address or password is wrong." in response.text


def test_login_follows_a_local_next_only(client, alice):
    local = client.post(
        "/login", data={"email": alice.email, "password": alice.password, "next": "/settings"}
    )
    assert local.headers["Location"] == "/settings"
    client.post("/logout")
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        response = client.post(
            "/login", data={"email": alice.email, "password": alice.password, "next": evil}
        )
        assert response.headers["Location"] == "/onboarding"
        client.post("/logout")


def test_login_page_keeps_next_from_the_query(client):
    assert 'value="/notifications/"' in client.get("/login?next=/notifications/").text


def test_unverified_member_gets_a_new_link_instead_of_a_session(app, client, outbox):
    carl = make_user(app, "carl@example.org", "Carl", verified=False)
    response = client.post("/login", data={"email": carl.email, "password": carl.password})
    assert response.status_code == 403
    assert "confirm your e-mail address first" in response.text
    assert [m.template for m in outbox(carl.email)] == ["verify_email"]
    assert client.get("/settings").status_code == 302


def test_suspended_member_cannot_log_in(app, client):
    sam = make_user(app, "sam@example.org", "Sam", status="suspended")
    response = client.post("/login", data={"email": sam.email, "password": sam.password})
    assert response.status_code == 403
    assert "suspended" in response.text


def test_suspension_ends_an_existing_session(app, client, alice, auth):
    auth.login(alice)
    with app.app_context():
        db.session.execute(update(User).where(User.id == alice.id).values(status="suspended"))
        db.session.commit()
    assert client.get("/settings").status_code == 302


def test_login_clears_the_previous_session(client, alice):
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    client.post("/login", data={"email": alice.email, "password": alice.password})
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"]


def test_remember_me_sets_a_lasting_cookie_only_when_asked(client, alice, auth):
    auth.login(alice)
    assert client.get_cookie("remember_token") is None
    auth.logout()
    auth.login(alice, remember=True)
    cookie = client.get_cookie("remember_token")
    assert cookie is not None and cookie.http_only
    assert cookie.expires is not None


def test_logout_ends_every_session_and_remember_cookie(app, alice, auth):
    laptop, phone = app.test_client(), app.test_client()
    auth.login(alice, client=laptop)
    auth.login(alice, remember=True, client=phone)
    remember = phone.get_cookie("remember_token").value
    assert phone.get("/settings").status_code == 200
    auth.logout(client=laptop)
    assert phone.get("/settings").status_code == 302
    # a stolen remember cookie from before the logout no longer logs anybody in
    thief = app.test_client()
    thief.set_cookie("remember_token", remember)
    assert thief.get("/settings").status_code == 302


def test_logout_needs_post(client, alice, auth):
    auth.login(alice)
    assert client.get("/logout").status_code == 405
    assert client.get("/settings").status_code == 200


def test_login_records_the_time(app, client, alice, auth):
    auth.login(alice)
    assert user_row(app, alice.id).last_login_at is not None


def test_login_in_german_explains_in_german(client, alice):
    response = client.post(
        "/login",
        data={"email": alice.email, "password": "wrong password!"},
        headers={"Accept-Language": "de"},
    )
    assert response.status_code == 422
    assert "Passwort" in response.text and "falsch" in response.text


def test_htmx_request_for_a_members_page_gets_a_client_redirect(client):
    response = client.get(
        "/notifications/", headers={"HX-Request": "true", "HX-Request-Type": "partial"}
    )
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login?next=")
