"""Community settings: sign-up modes (open, invite links, e-mail domains), the privacy notice
and imprint texts admins publish as versions, and asking members to accept a new notice."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError

from peerhub.accounts import service as accounts
from peerhub.accounts import tokens
from peerhub.accounts.models import Consent, User
from peerhub.community import service
from peerhub.community.models import CommunitySettings, InviteLink, PolicyText
from peerhub.errors import Invalid, NotAllowed, NotFound
from peerhub.extensions import db, utcnow
from peerhub.moderation.models import AuditEntry
from tests.conftest import HX_BOOSTED, HX_PARTIAL, PASSWORD, make_user, user_row
from tests.records import race


def signup_form(email: str, name: str = "Newbie") -> dict[str, str]:
    return {
        "email": email,
        "display_name": name,
        "password": PASSWORD,
        "language": "en",
        "timezone": "Europe/Berlin",
        "consent": "y",
    }


def signup_data(email: str, token: str | None = None) -> accounts.SignUp:
    return accounts.SignUp(email, "Newbie", PASSWORD, "en", "Europe/Berlin", True, token)


@pytest.fixture
def ada(app):
    """An admin."""
    return make_user(app, "ada@example.org", "Ada", role="admin")


def member(persona) -> User:
    return db.session.get(User, persona.id)


def set_mode(app, admin, mode: str, domains: str = "") -> None:
    with app.app_context():
        service.save_settings(member(admin), mode, domains)


def new_invite(app, admin, label="Cohort", days=14, max_uses=1, now=None) -> tuple[int, str]:
    with app.app_context():
        invite, token = service.create_invite(member(admin), label, days, max_uses, now=now)
        return invite.id, token


def audit_actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def users_named(email: str) -> int:
    return db.session.scalar(select(func.count()).select_from(User).where(User.email == email))


def publish(app, admin, kind="privacy", de="Neue Fassung.", en="New version.", now=None) -> str:
    with app.app_context():
        return service.publish_text(member(admin), kind, {"de": de, "en": en}, now=now)


# --- sign-up modes, in the service ---------------------------------------------------------


def test_open_sign_up_is_the_default(ctx, ada):
    assert service.community_settings().signup_mode == "open"
    assert accounts.sign_up(signup_data("anyone@example.org")) is not None


def test_invitation_mode_needs_a_usable_link(ctx, ada):
    service.save_settings(member(ada), "invitation", "")
    with pytest.raises(NotAllowed, match="by invitation only"):
        accounts.sign_up(signup_data("new@example.org"))
    with pytest.raises(NotFound, match="not valid"):
        accounts.sign_up(signup_data("new@example.org", "no-such-token"))
    invite, token = service.create_invite(member(ada), "Spring", 14, 2)
    assert accounts.sign_up(signup_data("first@example.org", token)) is not None
    db.session.refresh(invite)
    assert invite.uses == 1 and invite.uses_left == 1
    assert users_named("new@example.org") == 0


def test_a_used_up_link_admits_nobody_more(ctx, ada):
    service.save_settings(member(ada), "invitation", "")
    _, token = service.create_invite(member(ada), "", 14, 1)
    accounts.sign_up(signup_data("first@example.org", token))
    with pytest.raises(service.InviteUnusable, match="used as often as it may"):
        accounts.sign_up(signup_data("second@example.org", token))
    assert users_named("second@example.org") == 0


def test_an_expired_link_admits_nobody(ctx, ada):
    service.save_settings(member(ada), "invitation", "")
    _, token = service.create_invite(member(ada), "", 1, 5, now=utcnow() - timedelta(days=2))
    with pytest.raises(service.InviteUnusable, match="expired"):
        accounts.sign_up(signup_data("late@example.org", token))


def test_a_revoked_link_admits_nobody(ctx, ada):
    service.save_settings(member(ada), "invitation", "")
    invite, token = service.create_invite(member(ada), "", 14, 5)
    assert service.revoke_invite(member(ada), invite.id) is True
    with pytest.raises(service.InviteUnusable, match="withdrawn"):
        accounts.sign_up(signup_data("late@example.org", token))


def test_a_taken_address_uses_no_invite(ctx, ada, alice):
    service.save_settings(member(ada), "invitation", "")
    invite, token = service.create_invite(member(ada), "", 14, 1)
    assert accounts.sign_up(signup_data(alice.email, token)) is None  # the same answer
    db.session.refresh(invite)
    assert invite.uses == 0


def test_two_sign_ups_racing_for_a_one_use_link_make_one_account(app, ada):
    set_mode(app, ada, "invitation")
    invite_id, token = new_invite(app, ada, max_uses=1)
    results = race(
        app,
        lambda: accounts.sign_up(signup_data("one@example.org", token)),
        lambda: accounts.sign_up(signup_data("two@example.org", token)),
    )
    assert sum(isinstance(r, int) for r in results) == 1, results
    assert sum(isinstance(r, service.InviteUnusable) for r in results) == 1, results
    with app.app_context():
        assert db.session.get(InviteLink, invite_id).uses == 1
        count = (
            select(func.count())
            .select_from(User)
            .where(User.email.in_(["one@example.org", "two@example.org"]))
        )
        assert db.session.scalar(count) == 1


def test_the_database_refuses_more_uses_than_allowed(ctx, ada):
    invite, _ = service.create_invite(member(ada), "", 14, 1)
    with pytest.raises(DBAPIError):
        db.session.execute(update(InviteLink).where(InviteLink.id == invite.id).values(uses=2))
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize(
    ("email", "allowed"),
    [
        ("ann@firma.de", True),
        ("Ann@FIRMA.de", True),
        ("ann@mail.firma.de", True),
        ("ann@example-university.edu", True),
        ("ann@cs.example-university.edu", True),
        ("ann@evil-firma.de", False),
        ("ann@firma.de.evil.com", False),
        ("ann@firma.dev", False),
        ("ann@example.org", False),
    ],
)
def test_domains_match_exactly_or_as_subdomains(ctx, email, allowed):
    domains = service.parse_domains("example-university.edu, @Firma.DE\n")
    assert domains == ["example-university.edu", "firma.de"]
    assert service.domain_allowed(email, domains) is allowed


def test_domain_lists_are_normalised_and_checked(ctx):
    assert service.parse_domains("*.firma.de firma.de; bücher.de") == [
        "firma.de",
        "xn--bcher-kva.de",
    ]
    assert service.domain_allowed("leser@bücher.de", ["xn--bcher-kva.de"])
    for bad in ("localhost", "not a domain!", "-bad-.de"):
        with pytest.raises(Invalid) as error:
            service.parse_domains(bad)
        assert error.value.field == "domains"


def test_domains_mode_refuses_other_addresses_in_the_service(ctx, ada):
    service.save_settings(member(ada), "domains", "firma.de")
    with pytest.raises(Invalid, match=r"firma\.de only") as error:
        accounts.sign_up(signup_data("eve@evil-firma.de"))
    assert error.value.field == "email"
    assert accounts.sign_up(signup_data("eva@team.firma.de")) is not None


def test_domains_mode_needs_a_domain_and_modes_are_checked(ctx, ada, alice):
    with pytest.raises(Invalid, match="at least one domain"):
        service.save_settings(member(ada), "domains", "  ")
    with pytest.raises(Invalid):
        service.save_settings(member(ada), "closed", "")
    with pytest.raises(NotAllowed):
        service.save_settings(member(alice), "open", "")
    assert db.session.get(CommunitySettings, 1) is None


def test_an_address_change_keeps_to_the_domains(ctx, ada, outbox):
    dana = make_user(ctx, "dana@firma.de", "Dana")
    service.save_settings(member(ada), "domains", "firma.de")
    with pytest.raises(Invalid, match=r"firma\.de only") as error:
        accounts.request_email_change(member(dana), PASSWORD, "dana@gmail.com")
    assert error.value.field == "email"
    accounts.request_email_change(member(dana), PASSWORD, "dana@lab.firma.de")
    assert [m.template for m in outbox("dana@lab.firma.de")] == ["email_change"]


def test_a_confirmation_link_sent_before_the_restriction_is_refused(ctx, ada):
    dana = make_user(ctx, "dana@firma.de", "Dana")
    token = tokens.make_token(
        tokens.CHANGE_EMAIL, {"u": dana.id, "old": dana.email, "new": "dana@gmail.com"}
    )
    service.save_settings(member(ada), "domains", "firma.de")
    with pytest.raises(Invalid, match=r"firma\.de only"):
        accounts.confirm_email_change(token)
    db.session.expire_all()
    assert member(dana).email == "dana@firma.de"


def test_saving_settings_is_audited(ctx, ada):
    service.save_settings(member(ada), "domains", "firma.de")
    service.save_settings(member(ada), "open", "")
    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.action, e.target_kind, e.actor_id) for e in entries] == [
        ("signup_settings_changed", "settings", ada.id)
    ] * 2
    assert entries[0].details["signup_mode"] == "domains"
    assert entries[1].details["before"] == {"signup_mode": "domains", "domains": ["firma.de"]}
    assert service.community_settings().signup_mode == "open"


# --- invite links ----------------------------------------------------------------------------


def test_an_invite_keeps_only_the_hash_of_its_token(ctx, ada):
    invite, token = service.create_invite(member(ada), "Spring cohort", None, None)
    assert len(token) >= 32
    assert invite.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert invite.max_uses == 1
    assert invite.expires_at - invite.created_at == timedelta(days=14)
    row = db.session.execute(text("SELECT * FROM invite_link")).one()
    assert token not in [str(value) for value in row]
    entry = db.session.scalar(select(AuditEntry))
    assert (entry.action, entry.target_kind, entry.target_id, entry.target_name) == (
        "invite_created",
        "invite",
        invite.id,
        "Spring cohort",
    )


@pytest.mark.parametrize(
    ("days", "uses", "field"),
    [(0, 1, "days"), (366, 1, "days"), (14, 0, "max_uses"), (14, 501, "max_uses")],
)
def test_invite_limits(ctx, ada, days, uses, field):
    with pytest.raises(Invalid) as error:
        service.create_invite(member(ada), "", days, uses)
    assert error.value.field == field
    assert service.create_invite(member(ada), "", 365, 500)[0].max_uses == 500


def test_only_admins_make_and_revoke_invites(ctx, ada, mod):
    with pytest.raises(NotAllowed):
        service.create_invite(member(mod), "", 14, 1)
    invite, _ = service.create_invite(member(ada), "", 14, 1)
    with pytest.raises(NotAllowed):
        service.revoke_invite(member(mod), invite.id)
    with pytest.raises(NotFound):
        service.revoke_invite(member(ada), invite.id + 1000)


def test_revoking_twice_changes_nothing_more(ctx, ada):
    invite, _ = service.create_invite(member(ada), "Once", 14, 1)
    assert service.revoke_invite(member(ada), invite.id) is True
    assert service.revoke_invite(member(ada), invite.id) is False
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["invite_created", "invite_revoked"]
    assert db.session.get(InviteLink, invite.id).state(utcnow()) == "revoked"


# --- policy texts ----------------------------------------------------------------------------


def test_each_save_of_the_privacy_notice_is_a_new_version(ctx, ada):
    day = utcnow()
    assert service.current_privacy_version() == ctx.config["PRIVACY_POLICY_VERSION"]
    first = service.publish_text(member(ada), "privacy", {"de": "Eins", "en": "One"}, now=day)
    second = service.publish_text(member(ada), "privacy", {"de": "Zwei", "en": ""}, now=day)
    label = day.date().isoformat()
    assert (first, second) == (f"{label}.1", f"{label}.2")
    assert service.current_privacy_version() == second
    rows = db.session.scalars(select(PolicyText).order_by(PolicyText.id)).all()
    assert [(r.version, r.language, r.text) for r in rows] == [
        (first, "de", "Eins"),
        (first, "en", "One"),
        (second, "de", "Zwei"),
    ]
    assert all(r.created_by_id == ada.id for r in rows)
    # an empty language shows the other one
    assert service.current_text("privacy", "en").text == "Zwei"
    history = service.versions("privacy")
    assert [(v.version, v.texts, v.author) for v in history] == [
        (second, {"de": "Zwei"}, "Ada"),
        (first, {"de": "Eins", "en": "One"}, "Ada"),
    ]
    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.action, e.target_kind, e.target_name) for e in entries] == [
        ("policy_published", "policy", f"privacy {first}"),
        ("policy_published", "policy", f"privacy {second}"),
    ]


def test_a_new_day_starts_a_new_counter_and_imprint_counts_apart(ctx, ada):
    day = utcnow()
    service.publish_text(member(ada), "privacy", {"de": "A"}, now=day)
    imprint = service.publish_text(member(ada), "imprint", {"en": "B"}, now=day)
    later = service.publish_text(member(ada), "privacy", {"de": "C"}, now=day + timedelta(days=1))
    assert imprint == f"{day.date().isoformat()}.1"
    assert later == f"{(day + timedelta(days=1)).date().isoformat()}.1"
    assert service.current_version("imprint") == imprint


def test_published_texts_cannot_be_changed(ctx, ada):
    service.publish_text(member(ada), "privacy", {"de": "Original"})
    with pytest.raises(DBAPIError, match="never changed"):
        db.session.execute(update(PolicyText).values(text="Rewritten"))
    db.session.rollback()
    assert db.session.scalar(select(PolicyText.text)) == "Original"


def test_deleting_the_author_keeps_the_text(ctx, ada):
    service.publish_text(member(ada), "privacy", {"de": "Bleibt"})
    service.save_settings(member(ada), "open", "")
    service.create_invite(member(ada), "", 14, 1)
    db.session.delete(member(ada))
    db.session.commit()
    row = db.session.scalar(select(PolicyText))
    assert (row.text, row.created_by_id) == ("Bleibt", None)
    assert service.versions("privacy")[0].author is None


def test_publishing_needs_an_admin_a_kind_and_a_text(ctx, ada, mod):
    with pytest.raises(NotAllowed):
        service.publish_text(member(mod), "privacy", {"de": "x"})
    with pytest.raises(NotFound):
        service.publish_text(member(ada), "terms", {"de": "x"})
    with pytest.raises(Invalid):
        service.publish_text(member(ada), "privacy", {"de": "  ", "en": ""})
    with pytest.raises(Invalid) as error:
        service.publish_text(member(ada), "privacy", {"en": "x" * 50_001})
    assert error.value.field == "text_en"
    assert db.session.scalar(select(func.count()).select_from(PolicyText)) == 0


def test_sign_up_consents_to_the_current_version(ctx, ada):
    version = service.publish_text(member(ada), "privacy", {"de": "Neu"})
    user = accounts.sign_up(signup_data("new@example.org"))
    assert [(c.purpose, c.policy_version) for c in user.consents] == [("privacy", version)]
    assert not service.needs_consent(user)


# --- consent to a new privacy notice, in the service -----------------------------------------


def test_members_are_asked_only_once_an_admin_published_a_notice(ctx, ada, alice):
    assert not service.needs_consent(member(alice))
    version = service.publish_text(member(ada), "privacy", {"de": "Neu"})
    assert service.needs_consent(member(alice))
    assert service.accept_privacy(member(alice), version) is True
    assert service.accept_privacy(member(alice), version) is False  # a second click
    consents = db.session.scalars(select(Consent).where(Consent.user_id == alice.id)).all()
    assert [(c.purpose, c.policy_version) for c in consents] == [("privacy", version)]
    assert not service.needs_consent(member(alice))
    newer = service.publish_text(member(ada), "privacy", {"de": "Neuer"})
    assert service.needs_consent(member(alice))
    with pytest.raises(service.StaleVersion):
        service.accept_privacy(member(alice), version)
    consents[0].withdrawn_at = utcnow()
    service.accept_privacy(member(alice), newer)
    assert not service.needs_consent(member(alice))


def test_a_withdrawn_consent_asks_again(ctx, ada, alice):
    version = service.publish_text(member(ada), "privacy", {"de": "Neu"})
    service.accept_privacy(member(alice), version)
    consent = db.session.scalar(select(Consent).where(Consent.user_id == alice.id))
    consent.withdrawn_at = utcnow()
    db.session.commit()
    assert service.needs_consent(member(alice))


def test_two_tabs_accepting_at_once_record_one_consent(app, ada, alice):
    version = publish(app, ada)
    results = race(app, *[lambda: service.accept_privacy(member(alice), version)] * 2)
    assert sorted(results) == [False, True], results
    with app.app_context():
        count = select(func.count()).select_from(Consent).where(Consent.user_id == alice.id)
        assert db.session.scalar(count) == 1


# --- admin pages over HTTP -------------------------------------------------------------------


def admin_rules(app):
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("community.admin.")]
    assert {r.endpoint for r in rules} >= {
        "community.admin.settings",
        "community.admin.save_signup_mode",
        "community.admin.create_invite",
        "community.admin.revoke_invite",
        "community.admin.texts",
        "community.admin.publish_text",
    }
    values = {"invite_id": 1, "kind": "privacy"}
    return [(r, r.build({a: values[a] for a in r.arguments})[1]) for r in rules]


def test_admin_pages_are_404_for_visitors_members_and_moderators(
    app, client, ada, mallory, mod, auth
):
    invite_id, _ = new_invite(app, ada)
    paths = [(rule, path.replace("/1/", f"/{invite_id}/")) for rule, path in admin_rules(app)]

    def all_404() -> None:
        for rule, path in paths:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                response = client.open(path, method=method, data={"signup_mode": "open"})
                assert response.status_code == 404, f"{method} {path}"

    all_404()
    for persona in (mallory, mod):
        auth.login(persona)
        all_404()
        assert "/admin/" not in client.get("/").text  # no Admin link in the navigation
        auth.logout()
    with app.app_context():
        assert db.session.get(InviteLink, invite_id).revoked_at is None
        assert service.community_settings().signup_mode == "open"
    auth.login(ada)
    home = client.get("/")
    assert 'href="/admin/community"' in home.text
    assert client.get("/admin/community").status_code == 200
    assert client.get("/admin/texts/imprint").status_code == 200
    assert client.get("/admin/texts/terms").status_code == 404


def test_admin_saves_the_sign_up_mode_with_and_without_htmx(app, client, ada, auth):
    auth.login(ada)
    page = client.get("/admin/community")
    assert page.status_code == 200 and 'id="signup-mode"' in page.text and "<html" in page.text
    assert page.headers["Cache-Control"] == "no-store"
    plain = client.post("/admin/community/signup", data={"signup_mode": "invitation"})
    assert plain.status_code == 303 and plain.headers["Location"] == "/admin/community"
    assert "Sign-up settings are saved." in client.get("/admin/community").text
    partial = client.post(
        "/admin/community/signup",
        data={"signup_mode": "domains", "domains": "firma.de\nuni.edu"},
        headers=HX_PARTIAL,
    )
    assert partial.status_code == 200 and "<html" not in partial.text
    assert partial.text.lstrip().startswith('<section id="signup-mode">')
    assert "Sign-up settings are saved." in partial.text and "uni.edu" in partial.text
    # the invite links' hint on the same page follows the new mode, out of band
    hint = re.search(
        r'<p class="muted" id="invites-hint" hx-swap-oob="true">(.*?)</p>', partial.text, re.S
    )
    assert hint and "must still be at one of the domains" in hint.group(1)
    bad = client.post(
        "/admin/community/signup",
        data={"signup_mode": "domains", "domains": ""},
        headers=HX_PARTIAL,
    )
    assert bad.status_code == 422 and "at least one domain" in bad.text and "<html" not in bad.text
    bad_plain = client.post("/admin/community/signup", data={"signup_mode": "everyone"})
    assert bad_plain.status_code == 422 and "<html" in bad_plain.text
    boosted = client.post(
        "/admin/community/signup", data={"signup_mode": "open"}, headers=HX_BOOSTED
    )
    assert boosted.status_code == 200 and boosted.headers["HX-Location"] == "/admin/community"
    with app.app_context():
        assert service.community_settings().signup_mode == "open"
    assert audit_actions(app) == ["signup_settings_changed"] * 3


def test_admin_creates_and_revokes_invite_links_with_and_without_htmx(app, client, ada, auth):
    auth.login(ada)
    made = client.post(
        "/admin/community/invites",
        data={"label": "Spring", "days": "7", "max_uses": "3"},
        headers=HX_PARTIAL,
    )
    assert made.status_code == 200 and "<html" not in made.text
    assert made.text.lstrip().startswith('<section id="invites">')
    url = re.search(r'value="(https://peerhub\.test/join/[^"]+)"', made.text).group(1)
    assert "Spring" in made.text and "3 of 3" in made.text
    plain = client.post(
        "/admin/community/invites", data={"label": "", "days": "14", "max_uses": "1"}
    )
    assert plain.status_code == 303
    shown = client.get("/admin/community").text
    second_url = re.search(r"(https://peerhub\.test/join/[A-Za-z0-9_-]+)", shown).group(1)
    assert second_url != url
    assert second_url not in client.get("/admin/community").text  # shown only once
    bad = client.post(
        "/admin/community/invites", data={"days": "14", "max_uses": "501"}, headers=HX_PARTIAL
    )
    assert bad.status_code == 422 and "<html" not in bad.text
    with app.app_context():
        invite_id = db.session.scalar(select(InviteLink.id).where(InviteLink.label == "Spring"))
    revoke = f"/admin/community/invites/{invite_id}/revoke"
    revoked = client.post(revoke, headers=HX_PARTIAL)
    assert revoked.status_code == 200 and "The link is withdrawn." in revoked.text
    assert "withdrawn" in revoked.text
    again = client.post(revoke)
    assert again.status_code == 303
    assert "already withdrawn" in client.get("/admin/community").text
    assert client.post("/admin/community/invites/99999/revoke").status_code == 404
    assert audit_actions(app) == ["invite_created", "invite_created", "invite_revoked"]


def test_admin_publishes_the_privacy_notice_and_imprint(app, client, ada, auth):
    auth.login(ada)
    page = client.get("/admin/texts/privacy")
    assert page.status_code == 200 and "No version yet" in page.text
    empty = client.post("/admin/texts/privacy", data={"text_de": " ", "text_en": ""})
    assert empty.status_code == 422
    published = client.post(
        "/admin/texts/privacy",
        data={
            "text_de": "Wir sind **Verein X**.\n\nZweiter Absatz.",
            "text_en": "We are **Club X**.\n\n<script>alert(1)</script>",
        },
    )
    assert published.status_code == 303 and published.headers["Location"] == "/admin/texts/privacy"
    client.post("/consent", data={"version": service_version(app), "next": "/"})
    edit = client.get("/admin/texts/privacy").text
    assert "Wir sind **Verein X**." in edit  # the form holds the current text to edit
    assert "current" in edit and "by Ada" in edit
    client.post("/admin/texts/imprint", data={"text_de": "", "text_en": "Registered in Berlin."})
    assert audit_actions(app) == ["policy_published", "policy_published"]

    english = client.get("/privacy").text
    assert "<strong>Club X</strong>" in english and "<script>" not in english
    assert "&lt;script&gt;" in english
    assert "What we store and why" in english  # the built-in notice stays below
    assert service_version(app) in english
    visitor = app.test_client()
    german = visitor.get("/privacy", headers={"Accept-Language": "de"}).text
    assert "<strong>Verein X</strong>" in german and "<p>Zweiter Absatz.</p>" in german
    imprint = visitor.get("/imprint", headers={"Accept-Language": "de"}).text
    assert "Registered in Berlin." in imprint  # no German text: the English one
    assert app.config["PEERHUB_OPERATOR_NAME"] in imprint


def service_version(app) -> str:
    with app.app_context():
        return service.current_privacy_version()


def test_public_pages_keep_the_built_in_texts_while_no_admin_wrote_one(app, client):
    privacy = client.get("/privacy")
    assert privacy.status_code == 200 and "What we store and why" in privacy.text
    assert app.config["PRIVACY_POLICY_VERSION"] in privacy.text
    assert 'class="policy-text"' not in privacy.text
    assert 'class="policy-text"' not in client.get("/imprint").text


# --- sign-up over HTTP -----------------------------------------------------------------------


def test_open_sign_up_over_http(app, client):
    page = client.get("/signup")
    assert page.status_code == 200 and "Create my account" in page.text
    assert client.post("/signup", data=signup_form("new@example.org")).status_code == 303


def test_invitation_only_sign_up_page_explains_and_refuses(app, client, ada):
    set_mode(app, ada, "invitation")
    page = client.get("/signup")
    assert page.status_code == 200 and "by invitation only" in page.text
    assert "Create my account" not in page.text
    refused = client.post("/signup", data=signup_form("new@example.org"))
    assert refused.status_code == 403
    with app.app_context():
        assert users_named("new@example.org") == 0


def test_an_invite_link_leads_to_the_sign_up_form(app, client, ada, outbox):
    set_mode(app, ada, "invitation")
    invite_id, token = new_invite(app, ada, max_uses=1)
    joined = client.get(f"/join/{token}")
    assert joined.status_code == 302 and joined.headers["Location"] == "/signup"
    assert joined.headers["Referrer-Policy"] == "no-referrer"
    form = client.get("/signup")
    assert "You are joining with an invite link." in form.text
    done = client.post("/signup", data=signup_form("new@example.org"))
    assert done.status_code == 303 and done.headers["Location"] == "/signup/check-inbox"
    assert [m.template for m in outbox("new@example.org")] == ["verify_email"]
    with app.app_context():
        assert db.session.get(InviteLink, invite_id).uses == 1
    # the link is used up now: the next visitor learns so, kindly
    other = app.test_client()
    used = other.get(f"/join/{token}")
    assert used.status_code == 410 and "used as often as it may" in used.text
    assert "invitation only" in client.get("/signup").text  # the link was forgotten


@pytest.mark.parametrize("problem", ["expired", "withdrawn", "unknown"])
def test_links_that_do_not_work_are_explained(app, client, ada, problem):
    set_mode(app, ada, "invitation")
    if problem == "expired":
        _, token = new_invite(app, ada, days=1, now=utcnow() - timedelta(days=1, seconds=1))
    else:
        invite_id, token = new_invite(app, ada)
        if problem == "withdrawn":
            with app.app_context():
                service.revoke_invite(member(ada), invite_id)
        else:
            token = token[::-1]
    response = client.get(f"/join/{token}")
    assert response.status_code == (404 if problem == "unknown" else 410)
    assert "This invite link does not work" in response.text
    assert ("not valid" if problem == "unknown" else problem) in response.text
    assert "by invitation only" in client.get("/signup").text
    german = client.get(f"/join/{token}", headers={"Accept-Language": "de"})
    assert 'lang="de"' in german.text


def test_a_link_that_stops_working_between_form_and_sign_up(app, client, ada):
    set_mode(app, ada, "invitation")
    invite_id, token = new_invite(app, ada, max_uses=1)
    client.get(f"/join/{token}")
    assert client.get("/signup").status_code == 200
    with app.app_context():
        service.revoke_invite(member(ada), invite_id)
    response = client.post("/signup", data=signup_form("new@example.org"))
    assert response.status_code == 403 and "withdrawn" in response.text


def test_members_following_an_invite_link_go_home(app, client, ada, alice, auth):
    _, token = new_invite(app, ada)
    auth.login(alice)
    response = client.get(f"/join/{token}")
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_domain_restricted_sign_up_over_http(app, client, ada):
    set_mode(app, ada, "domains", "firma.de")
    page = client.get("/signup")
    assert "open to e-mail addresses at firma.de" in page.text
    refused = client.post("/signup", data=signup_form("eve@evil-firma.de"))
    assert refused.status_code == 422
    assert "This community is open to addresses at firma.de only." in refused.text
    assert 'aria-invalid="true"' in refused.text
    welcome = client.post("/signup", data=signup_form("eva@dev.firma.de"))
    assert welcome.status_code == 303
    with app.app_context():
        assert users_named("eve@evil-firma.de") == 0 and users_named("eva@dev.firma.de") == 1


def test_address_change_over_http_keeps_to_the_domains(app, client, ada, auth, outbox):
    dana = make_user(app, "dana@firma.de", "Dana")
    set_mode(app, ada, "domains", "firma.de")
    auth.login(dana)
    data = {"new_email": "dana@evil-firma.de", "email_password": PASSWORD}
    partial = client.post("/settings/email", data=data, headers=HX_PARTIAL)
    assert partial.status_code == 422 and "firma.de only" in partial.text
    assert "<html" not in partial.text
    plain = client.post("/settings/email", data=data)
    assert plain.status_code == 422 and "firma.de only" in plain.text
    assert outbox("dana@evil-firma.de") == []
    assert user_row(app, dana.id).email == "dana@firma.de"


# --- asking for consent over HTTP ------------------------------------------------------------


def test_a_new_privacy_version_asks_each_member_once(app, client, ada, alice, auth):
    auth.login(alice)
    assert client.get("/").status_code == 200  # no admin text yet: nobody is asked
    version = publish(app, ada, en="We changed **this**.")
    asked = client.get("/profile?tab=1")
    assert asked.status_code == 302
    assert asked.headers["Location"] == "/consent?next=/profile?tab%3D1"
    page = client.get(asked.headers["Location"])
    assert page.status_code == 200 and "<strong>this</strong>" in page.text
    assert f'value="{version}"' in page.text and "I do not agree" in page.text
    accepted = client.post("/consent", data={"version": version, "next": "/profile?tab=1"})
    assert accepted.status_code == 303 and accepted.headers["Location"] == "/profile?tab=1"
    assert client.get("/").status_code == 200
    assert client.get("/consent").status_code == 302  # nothing to accept any more
    with app.app_context():
        consents = db.session.scalars(
            select(Consent.policy_version).where(Consent.user_id == alice.id)
        ).all()
        assert consents == [version]


def test_pages_that_stay_reachable_before_consenting(app, client, ada, alice, auth):
    publish(app, ada)
    auth.login(alice)
    assert client.get("/").status_code == 302
    for path in ("/privacy", "/imprint", "/consent", "/consent/decline", "/settings"):
        assert client.get(path).status_code == 200, path
    assert client.get("/static/css/peerhub.css").status_code == 200
    assert client.get("/calendar/not-a-token.ics").status_code == 404  # the feed, not /consent
    assert client.get("/healthz").status_code == 200
    assert client.get("/no-such-page").status_code == 404
    logout = client.post("/logout")
    assert logout.status_code == 303


def test_htmx_requests_are_sent_to_the_consent_page(app, client, ada, alice, auth):
    publish(app, ada)
    auth.login(alice)
    partial = client.get(
        "/notifications/", headers={**HX_PARTIAL, "HX-Current-URL": "http://localhost/profile"}
    )
    assert partial.status_code == 200 and partial.text == ""
    assert partial.headers["HX-Redirect"] == "/consent?next=/profile"
    boosted = client.get("/journal", headers=HX_BOOSTED)
    assert boosted.headers["HX-Redirect"] == "/consent?next=/"


def test_declining_explains_how_to_take_ones_data(app, client, ada, alice, auth):
    publish(app, ada)
    auth.login(alice)
    page = client.get("/consent/decline")
    assert page.status_code == 200
    assert 'href="/settings"' in page.text and 'action="/logout"' in page.text
    assert "download all your data and delete your account" in page.text
    assert client.get("/").status_code == 302  # still asked
    with app.app_context():
        assert db.session.scalars(select(Consent).where(Consent.user_id == alice.id)).all() == []


def test_a_notice_changed_while_reading_is_shown_anew(app, client, ada, alice, auth):
    first = publish(app, ada, en="First.")
    auth.login(alice)
    publish(app, ada, en="Second.")
    stale = client.post("/consent", data={"version": first, "next": "/"})
    assert stale.status_code == 409
    assert "changed meanwhile" in stale.text and "Second." in stale.text
    assert client.get("/").status_code == 302


def test_the_consent_page_needs_a_login_and_keeps_next_local(app, client, ada, alice, auth):
    assert client.get("/consent").status_code == 302
    assert client.get("/consent").headers["Location"].startswith("/login")
    version = publish(app, ada)
    auth.login(alice)
    response = client.post("/consent", data={"version": version, "next": "https://evil.test/"})
    assert response.status_code == 303 and response.headers["Location"] == "/"


def test_the_consent_page_in_german(app, client, ada, carol, auth):
    publish(app, ada, de="Neue **Fassung**.")
    auth.login(carol)
    page = client.get("/consent")
    assert 'lang="de"' in page.text and "<strong>Fassung</strong>" in page.text
