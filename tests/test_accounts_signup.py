"""Sign-up, e-mail verification and consent."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from peerhub.accounts import service, tokens
from peerhub.accounts.models import Consent, User
from peerhub.errors import Invalid
from peerhub.extensions import db
from tests.conftest import PASSWORD, user_row

GOOD = {
    "email": "Newbie@Example.org",
    "display_name": "Newbie",
    "password": PASSWORD,
    "language": "en",
    "timezone": "Europe/Vienna",
    "consent": "y",
}


def count_users(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def test_signup_creates_unverified_member_with_consent_and_mail(app, client, outbox):
    response = client.post("/signup", data=GOOD)
    assert response.status_code == 303
    assert response.headers["Location"] == "/signup/check-inbox"
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "newbie@example.org"))
        assert user is not None and not user.is_verified
        assert user.role == "member" and user.timezone == "Europe/Vienna"
        assert user.password_hash.startswith("$argon2id$")
        consent = db.session.scalar(select(Consent).where(Consent.user_id == user.id))
        assert consent.purpose == "privacy"
        assert consent.policy_version == app.config["PRIVACY_POLICY_VERSION"]
        assert consent.withdrawn_at is None
    mails = outbox("newbie@example.org")
    assert [m.template for m in mails] == ["verify_email"]
    assert outbox.link("newbie@example.org").startswith("https://peerhub.test/verify/")


def test_signup_page_shows_the_form_in_both_languages(client):
    assert "Create my account" in client.get("/signup", headers={"Accept-Language": "en"}).text
    german = client.get("/signup", headers={"Accept-Language": "de"}).text
    assert "Konto erstellen" in german or "Konto anlegen" in german


def test_verification_link_works_once(app, client, outbox):
    client.post("/signup", data=GOOD)
    path = outbox.path("newbie@example.org")
    first = client.get(path)
    assert first.status_code == 302 and first.headers["Location"] == "/login"
    second = client.get(path)
    assert second.status_code == 400
    assert "already used" in second.text


def test_verification_link_expires_after_48_hours(app, client, outbox, monkeypatch):
    client.post("/signup", data=GOOD)
    path = outbox.path("newbie@example.org")
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 48 * 3600 + 5)
    response = client.get(path)
    assert response.status_code == 400
    assert "expired" in response.text


def test_forged_verification_link_is_refused(client):
    response = client.get("/verify/not-a-token")
    assert response.status_code == 400
    assert "not valid" in response.text


def test_verification_notifies_with_a_welcome(app, client, outbox, auth):
    client.post("/signup", data=GOOD)
    client.get(outbox.path("newbie@example.org"))
    client.post("/login", data={"email": GOOD["email"], "password": PASSWORD})
    page = client.get("/notifications/").text
    assert "Welcome to PeerHub, Newbie!" in page


def test_taken_address_gets_the_same_answer_and_a_notice(app, client, alice, outbox):
    response = client.post("/signup", data={**GOOD, "email": "ALICE@example.org"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/signup/check-inbox"
    assert count_users(app) == 1
    assert [m.template for m in outbox(alice.email)] == ["signup_existing"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "not-an-address", "valid e-mail address"),
        ("email", "a@" + "b" * 260 + ".org", "at most 254 characters"),
        ("password", "short", "at least 10 characters"),
        ("password", "1234567890", "too common"),
        ("password", "qwertyuiop", "too common"),
        ("password", "newbie@example.org", "name or e-mail"),
        ("display_name", "   ", "Please fill in this field"),
        ("language", "fr", "German or English"),
        ("timezone", "Mars/Olympus", "time zone from the list"),
        ("consent", "", "privacy notice"),
    ],
)
def test_bad_signup_input_is_422_with_a_message_and_writes_nothing(
    app, client, outbox, field, value, message
):
    data = {**GOOD, field: value}
    if field == "consent":
        data.pop("consent")
    response = client.post("/signup", data=data)
    assert response.status_code == 422
    assert message in response.text
    assert count_users(app) == 0
    assert outbox() == []


def test_bad_signup_input_is_explained_in_german(client):
    response = client.post(
        "/signup", data={**GOOD, "password": "short"}, headers={"Accept-Language": "de"}
    )
    assert response.status_code == 422
    assert "mindestens 10 Zeichen" in response.text


def test_signup_cannot_set_role_status_or_verification(app, client, outbox):
    client.post(
        "/signup",
        data={**GOOD, "role": "admin", "status": "active", "email_verified_at": "2020-01-01"},
    )
    with app.app_context():
        user = db.session.scalar(select(User))
        assert user.role == "member" and user.email_verified_at is None


def test_password_of_64_and_more_characters_is_accepted(ctx):
    long_password = "ein langer satz ohne regeln " * 4
    user = service.sign_up(
        service.SignUp("long@example.org", "Long", long_password, "de", "UTC", True)
    )
    assert len(long_password) > 64 and user.password_hash.startswith("$argon2id$")


def test_sign_up_service_rolls_back_when_the_mail_cannot_be_queued(ctx, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("outbox down")

    monkeypatch.setattr(service, "_queue_verification", broken)
    with pytest.raises(RuntimeError):
        service.sign_up(service.SignUp("x@example.org", "X", PASSWORD, "de", "UTC", True))
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
    assert db.session.scalar(select(func.count()).select_from(Consent)) == 0


def test_verify_service_refuses_a_token_for_a_changed_address(ctx):
    user = service.sign_up(service.SignUp("y@example.org", "Y", PASSWORD, "de", "UTC", True))
    token = tokens.make_token(tokens.VERIFY_EMAIL, {"u": user.id, "e": "other@example.org"})
    with pytest.raises(Invalid):
        service.verify_email(token)


def test_signed_in_member_is_sent_home_from_signup(client, alice, auth):
    auth.login(alice)
    assert client.get("/signup").status_code == 302


def test_user_row_helper_reads_back(app, alice):
    assert user_row(app, alice.id).email == alice.email


def test_double_submit_sends_a_fresh_link_not_a_warning(app, client, outbox):
    client.post("/signup", data=GOOD)
    again = client.post("/signup", data=GOOD)
    assert again.status_code == 303
    assert count_users(app) == 1
    assert [m.template for m in outbox("newbie@example.org")] == ["verify_email", "verify_email"]


def test_racing_sign_ups_make_one_account_and_no_error(ctx, monkeypatch):
    data = service.SignUp("race@example.org", "Race", PASSWORD, "de", "UTC", True)
    assert service.sign_up(data) is not None
    # the second request looked before the first one committed
    real = service.user_by_email
    calls = iter([None])
    monkeypatch.setattr(service, "user_by_email", lambda email: next(calls, real(email)))
    assert service.sign_up(data) is None
    assert db.session.scalar(select(func.count()).select_from(User)) == 1
