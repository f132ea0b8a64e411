"""Changing password, e-mail address, language and time zone."""

from __future__ import annotations

import pytest

from peerhub.accounts import service
from peerhub.errors import Invalid
from peerhub.extensions import db
from tests.conftest import HX_BOOSTED, HX_PARTIAL, PASSWORD, user_row

NEW_PASSWORD = "another long sentence"


def test_settings_page_shows_three_forms(client, alice, auth):
    auth.login(alice)
    page = client.get("/settings").text
    assert 'id="settings-preferences"' in page
    assert 'id="settings-password"' in page
    assert 'id="settings-email"' in page
    assert alice.email in page


def test_change_password_asks_for_the_current_one(app, client, alice, auth):
    auth.login(alice)
    before = user_row(app, alice.id).password_hash
    response = client.post(
        "/settings/password",
        data={"current_password": "not it at all", "new_password": NEW_PASSWORD},
    )
    assert response.status_code == 422
    assert "current password is not correct" in response.text
    assert user_row(app, alice.id).password_hash == before


def test_change_password_ends_other_sessions_but_keeps_this_one(app, client, alice, auth, outbox):
    phone = app.test_client()
    auth.login(alice, client=phone)
    auth.login(alice)
    response = client.post(
        "/settings/password", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 200
    assert "Your password is changed" in response.text
    assert client.get("/settings").status_code == 200
    assert phone.get("/settings").status_code == 302
    assert [m.template for m in outbox(alice.email)] == ["password_changed"]


def test_change_password_with_htmx_answers_the_form_fragment(client, alice, auth):
    auth.login(alice)
    bad = client.post(
        "/settings/password",
        data={"current_password": PASSWORD, "new_password": "short"},
        headers=HX_PARTIAL,
    )
    assert bad.status_code == 422
    assert bad.text.lstrip().startswith('<article id="settings-password">')
    assert "<html" not in bad.text
    assert "at least 10 characters" in bad.text
    good = client.post(
        "/settings/password",
        data={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=HX_PARTIAL,
    )
    assert good.status_code == 200 and "<html" not in good.text
    assert "Your password is changed" in good.text
    assert "HX-Request" in good.headers["Vary"] and "HX-Request-Type" in good.headers["Vary"]


def test_boosted_requests_get_the_whole_page(client, alice, auth):
    auth.login(alice)
    response = client.post(
        "/settings/password",
        data={"current_password": PASSWORD, "new_password": "short"},
        headers=HX_BOOSTED,
    )
    assert response.status_code == 422 and "<html" in response.text


def test_email_change_is_confirmed_by_the_new_address(app, client, alice, auth, outbox):
    auth.login(alice)
    response = client.post(
        "/settings/email", data={"new_email": "alice.new@example.org", "email_password": PASSWORD}
    )
    assert response.status_code == 200
    assert "confirmation link" in response.text
    assert user_row(app, alice.id).email == alice.email  # not yet
    path = outbox.path("alice.new@example.org")
    assert client.get(path).status_code == 302
    user = user_row(app, alice.id)
    assert user.email == "alice.new@example.org" and user.is_verified
    assert [m.template for m in outbox(alice.email)] == ["email_changed"]
    again = client.get(path)
    assert again.status_code == 400


def test_email_change_to_a_taken_address_answers_the_same(app, client, alice, bob, auth, outbox):
    auth.login(alice)
    response = client.post(
        "/settings/email", data={"new_email": bob.email, "email_password": PASSWORD}
    )
    assert response.status_code == 200
    assert "confirmation link" in response.text
    assert [m.template for m in outbox(bob.email)] == ["email_change_existing"]
    assert user_row(app, alice.id).email == alice.email


def test_email_change_needs_the_password(app, client, alice, auth, outbox):
    auth.login(alice)
    response = client.post(
        "/settings/email", data={"new_email": "x@example.org", "email_password": "wrong one!"}
    )
    assert response.status_code == 422 and outbox() == []


def test_email_change_conflict_when_taken_meanwhile(ctx, alice, bob):
    from peerhub.accounts import tokens

    token = tokens.make_token(
        tokens.CHANGE_EMAIL, {"u": alice.id, "old": alice.email, "new": bob.email}
    )
    from peerhub.errors import Conflict

    with pytest.raises(Conflict):
        service.confirm_email_change(token)
    assert db.session.get(service.User, alice.id).email == alice.email


def test_preferences_change_language_and_zone(app, client, alice, auth):
    auth.login(alice)
    response = client.post(
        "/settings/preferences", data={"language": "de", "timezone": "Asia/Tokyo"}
    )
    assert response.status_code == 303
    user = user_row(app, alice.id)
    assert (user.language, user.timezone) == ("de", "Asia/Tokyo")
    assert 'lang="de"' in client.get("/settings").text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"language": "xx", "timezone": "UTC"}, "German or English"),
        ({"language": "en", "timezone": "Nowhere/Town"}, "time zone from the list"),
    ],
)
def test_bad_preferences_are_refused(app, client, alice, auth, data, message):
    auth.login(alice)
    response = client.post("/settings/preferences", data=data)
    assert response.status_code == 422 and message in response.text
    assert user_row(app, alice.id).timezone == "Europe/Berlin"


def test_update_preferences_service_refuses_unknown_zone(ctx, alice):
    user = db.session.get(service.User, alice.id)
    with pytest.raises(Invalid):
        service.update_preferences(user, "en", "Europe/Atlantis")
