"""Member administration and the audit log: finding members, their moderation record,
resending the confirmation mail, forcing a password reset, admins granting the moderator
role; every action audited with copied names, in an append-only log the database guards."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from peerhub.accounts import service as accounts
from peerhub.accounts.models import User
from peerhub.calendar import service as calendar
from peerhub.calendar.models import CalendarFeed
from peerhub.errors import Conflict, Invalid, NotAllowed, NotFound
from peerhub.extensions import db
from peerhub.moderation import audit, members
from peerhub.moderation.models import AuditEntry, ModerationAction, Report, ReportCase
from peerhub.notifications.models import OutboxMail
from tests.conftest import HX_BOOSTED, HX_PARTIAL, PASSWORD, make_user

NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
NEW_PASSWORD = "a brand new sentence to remember"


@pytest.fixture
def admin(app):
    return make_user(app, "root@example.org", "Root", role="admin")


@pytest.fixture
def dora(app):
    """A member who has not confirmed her address yet."""
    return make_user(app, "dora@example.org", "Dora", verified=False)


def get(user_id: int) -> User:
    return db.session.get(User, user_id)


def entries() -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def mails(to: str, template: str | None = None) -> list[OutboxMail]:
    query = select(OutboxMail).where(OutboxMail.recipient == to)
    if template:
        query = query.where(OutboxMail.template == template)
    return list(db.session.scalars(query.order_by(OutboxMail.id)))


def browser(app, auth, persona):
    other = app.test_client()
    auth.login(persona, client=other)
    return other


def html(response) -> str:
    return response.get_data(as_text=True)


def report_about(subject, reporter, kind="profile", target_id=None, state="open") -> ReportCase:
    """A case about `subject` with one report by `reporter` (rows, not the queue's service)."""
    case = ReportCase(
        target_kind=kind,
        target_id=target_id or subject.id,
        subject_id=subject.id,
        subject_name=subject.name,
        state=state,
        report_count=1,
    )
    case.reports.append(
        Report(reporter_id=reporter.id, category="spam", details="", snapshot={"text": "x"})
    )
    db.session.add(case)
    db.session.commit()
    return case


# --- finding members ------------------------------------------------------------------------


def test_search_by_name_or_address_with_folded_case(ctx, alice, bob, mod):
    make_user(ctx, "anne@example.org", "Änne Öztürk")
    actor = get(mod.id)
    assert [u.display_name for u in members.search(actor, "ALI").items] == ["Alice"]
    assert [u.display_name for u in members.search(actor, "bob@exa").items] == ["Bob"]
    assert [u.display_name for u in members.search(actor, "änne ö").items] == ["Änne Öztürk"]
    assert [u.display_name for u in members.search(actor, "ÄNNE").items] == ["Änne Öztürk"]
    assert members.search(actor, "").total == 4


def test_search_escapes_like_wildcards(ctx, mod):
    make_user(ctx, "percent@example.org", "100% Sure")
    make_user(ctx, "under_score@example.org", "Plain")
    actor = get(mod.id)
    assert [u.display_name for u in members.search(actor, "%").items] == ["100% Sure"]
    assert [u.display_name for u in members.search(actor, "r_s").items] == ["Plain"]
    assert members.search(actor, "\\").total == 0


def test_search_pages_are_capped(ctx, mod):
    for number in range(members.PER_PAGE + 3):
        make_user(ctx, f"m{number}@example.org", f"Member {number}")
    actor = get(mod.id)
    first = members.search(actor, "member")
    assert first.total == members.PER_PAGE + 3 and first.pages == 2 and first.has_next
    last = members.search(actor, "member", page=10**12)
    assert last.page == 2 and len(last.items) == 3 and not last.has_next


def test_only_moderators_search_and_read_records(ctx, alice, mallory, mod):
    with pytest.raises(NotFound):
        members.search(get(mallory.id), "a")
    with pytest.raises(NotFound):
        members.record_for(get(mallory.id), alice.id)
    with pytest.raises(NotFound):
        members.record_for(get(mod.id), 10**9)


def test_record_counts_reports_by_and_about_a_member_and_actions_on_them(
    ctx, alice, bob, carol, mod
):
    about = report_about(alice, bob)
    report_about(alice, carol, kind="message", target_id=77)
    report_about(bob, alice)
    second = Report(reporter_id=carol.id, category="other", details="", snapshot={})
    about.reports.append(second)
    db.session.add(
        ModerationAction(
            kind="warn", subject_id=alice.id, subject_name="Alice", moderator_id=mod.id,
            reason="Be kind",
        )
    )  # fmt: skip
    db.session.commit()
    record = members.record_for(get(mod.id), alice.id)
    assert record.reports_received == 3 and record.reports_filed == 1
    assert {c.target_kind for c in record.cases} == {"profile", "message"}
    assert [r.case.subject_name for r in record.filed] == ["Bob"]
    assert [a.kind for a in record.actions] == ["warn"]


# --- resending the confirmation mail ----------------------------------------------------------


def test_resend_verification_mails_once_and_audits_with_names(ctx, dora, mod):
    assert members.resend_verification(get(mod.id), dora.id, "Lost the mail", now=NOW)
    assert len(mails(dora.email, "verify_email")) == 1
    [entry] = entries()
    assert (entry.actor_id, entry.actor_name, entry.action) == (mod.id, "Mo", "verification_resent")
    assert (entry.target_kind, entry.target_id, entry.target_name) == ("member", dora.id, "Dora")
    assert entry.reason == "Lost the mail" and entry.created_at == NOW
    # a second click moments later: harmless, nothing more sent or logged
    assert not members.resend_verification(get(mod.id), dora.id, "Lost the mail", now=NOW)
    assert len(mails(dora.email, "verify_email")) == 1 and len(entries()) == 1
    later = NOW + members.REPEAT_WINDOW + timedelta(seconds=1)
    assert members.resend_verification(get(mod.id), dora.id, "Still lost", now=later)
    assert len(mails(dora.email, "verify_email")) == 2 and len(entries()) == 2


def test_resend_verification_link_confirms_the_address(app, client, dora, mod, outbox):
    with app.app_context():
        members.resend_verification(get(mod.id), dora.id, "Lost the mail")
    assert client.get(outbox.path(dora.email)).status_code in (200, 302, 303)
    with app.app_context():
        assert get(dora.id).is_verified


def test_resend_verification_refusals(ctx, alice, dora, mod, admin, mallory):
    with pytest.raises(Conflict):
        members.resend_verification(get(mod.id), alice.id, "Why not")
    with pytest.raises(Invalid) as blank:
        members.resend_verification(get(mod.id), dora.id, "   ")
    assert blank.value.field == "reason"
    with pytest.raises(Invalid):
        members.resend_verification(get(mod.id), dora.id, "x" * 1001)
    with pytest.raises(NotFound):
        members.resend_verification(get(mallory.id), dora.id, "Helping")
    with pytest.raises(NotFound):
        members.resend_verification(get(mod.id), 10**9, "Nobody")
    unverified_admin = make_user(ctx, "admin2@example.org", "Admin Two", "admin", verified=False)
    with pytest.raises(NotAllowed):
        members.resend_verification(get(mod.id), unverified_admin.id, "Admins too?")
    with pytest.raises(NotAllowed):
        members.resend_verification(get(admin.id), unverified_admin.id, "Another admin")
    assert entries() == [] and mails(dora.email) == []


# --- forcing a password reset -----------------------------------------------------------------


def test_forced_reset_ends_password_sessions_and_feed_and_mails_a_link(ctx, alice, mod):
    calendar.new_token(get(alice.id))
    before = get(alice.id).session_token
    assert members.force_password_reset(get(mod.id), alice.id, "Account taken over", now=NOW)
    db.session.expire_all()
    member = get(alice.id)
    assert member.session_token != before and member.password_changed_at == NOW
    assert db.session.get(CalendarFeed, alice.id) is None
    with pytest.raises(Invalid):
        accounts.authenticate(alice.email, PASSWORD)
    [mail] = mails(alice.email, "password_reset")
    assert "moderator has ended your password" in mail.text_body
    assert "you asked" not in mail.text_body and "moderator" in mail.html_body
    [entry] = entries()
    assert (entry.action, entry.target_name, entry.details) == (
        "password_reset_forced",
        "Alice",
        {"mailed": True},
    )
    # a double click changes nothing more: the first link keeps working
    assert not members.force_password_reset(get(mod.id), alice.id, "Account taken over", now=NOW)
    assert len(mails(alice.email, "password_reset")) == 1 and len(entries()) == 1


def test_forced_reset_link_sets_a_new_password(app, client, alice, mod, auth, outbox):
    other_device = browser(app, auth, alice)
    assert other_device.get("/settings").status_code == 200
    with app.app_context():
        members.force_password_reset(get(mod.id), alice.id, "Leaked password")
    assert other_device.get("/settings").status_code == 302  # logged out everywhere
    old = client.post("/login", data={"email": alice.email, "password": PASSWORD})
    assert old.status_code == 422
    path = outbox.path(alice.email)
    assert client.post(path, data={"password": NEW_PASSWORD}).status_code == 303
    new = client.post("/login", data={"email": alice.email, "password": NEW_PASSWORD})
    assert new.status_code == 303


def test_forced_reset_of_a_suspended_member_sends_no_link(ctx, mod):
    held = make_user(ctx, "held@example.org", "Held", status="suspended")
    assert members.force_password_reset(get(mod.id), held.id, "Compromised", now=NOW)
    assert mails(held.email) == [] and entries()[0].details == {"mailed": False}
    with pytest.raises(Invalid):
        accounts.authenticate(held.email, PASSWORD)


def test_forced_reset_refused_on_admins_self_and_for_members(ctx, alice, mod, admin, mallory):
    for actor, target, error in [
        (mod, admin, NotAllowed),
        (mod, mod, NotAllowed),
        (admin, admin, NotAllowed),
        (mallory, alice, NotFound),
    ]:
        with pytest.raises(error):
            members.force_password_reset(get(actor.id), target.id, "Because")
    assert entries() == []
    accounts.authenticate(admin.email, PASSWORD)  # nothing changed


def test_admin_may_force_a_moderators_reset(ctx, mod, admin):
    assert members.force_password_reset(get(admin.id), mod.id, "Phished")
    assert entries()[0].actor_name == "Root" and entries()[0].target_name == "Mo"


def test_forced_reset_is_one_transaction(ctx, alice, mod, monkeypatch):
    before = get(alice.id).password_hash

    def broken(*args, **kwargs):
        raise RuntimeError("audit failed")

    monkeypatch.setattr(audit, "record", broken)
    with pytest.raises(RuntimeError):
        members.force_password_reset(get(mod.id), alice.id, "Leaked")
    db.session.expire_all()
    assert get(alice.id).password_hash == before and mails(alice.email) == []


# --- roles ------------------------------------------------------------------------------------


def test_admin_grants_and_revokes_the_moderator_role(ctx, alice, admin):
    assert members.set_role(get(admin.id), alice.id, "moderator", "Helps a lot", now=NOW)
    assert get(alice.id).role == "moderator"
    assert not members.set_role(get(admin.id), alice.id, "moderator", "Again")  # double click
    assert members.set_role(get(admin.id), alice.id, "member", "Stepped back", now=NOW)
    assert get(alice.id).role == "member"
    granted, revoked = entries()
    assert (granted.action, granted.details) == (
        "role_granted",
        {"from": "member", "to": "moderator"},
    )
    assert (revoked.action, revoked.details) == (
        "role_revoked",
        {"from": "moderator", "to": "member"},
    )
    assert revoked.reason == "Stepped back" and revoked.actor_name == "Root"


def test_role_changes_refused(ctx, alice, mod, admin):
    other_admin = make_user(ctx, "admin2@example.org", "Admin Two", role="admin")
    for actor, target, role, error in [
        (mod, alice, "moderator", NotFound),  # only admins
        (admin, admin, "member", NotAllowed),  # not their own
        (admin, other_admin, "member", NotAllowed),  # not another admin's
        (admin, alice, "admin", Invalid),  # admins are made on the command line
        (admin, alice, "root", Invalid),
    ]:
        with pytest.raises(error):
            members.set_role(get(actor.id), target.id, role, "Because")
    with pytest.raises(Invalid):
        members.set_role(get(admin.id), alice.id, "moderator", "")
    assert entries() == []
    assert [get(p.id).role for p in (alice, mod, admin, other_admin)] == [
        "member",
        "moderator",
        "admin",
        "admin",
    ]


# --- the audit log ----------------------------------------------------------------------------


def test_audit_entries_keep_names_when_the_rows_are_deleted(ctx, alice, admin):
    members.set_role(get(admin.id), alice.id, "moderator", "Trusted")
    db.session.execute(delete(User).where(User.id.in_([alice.id, admin.id])))
    db.session.commit()
    [entry] = entries()
    assert (entry.actor_name, entry.target_name, entry.reason) == ("Root", "Alice", "Trusted")
    assert (entry.actor_id, entry.target_id) == (admin.id, alice.id)


def test_database_refuses_to_change_or_delete_audit_entries(ctx, alice, admin):
    members.set_role(get(admin.id), alice.id, "moderator", "Trusted")
    entry_id = entries()[0].id
    for statement in (
        update(AuditEntry).where(AuditEntry.id == entry_id).values(reason="nothing happened"),
        update(AuditEntry).values(actor_name="Someone else"),
        delete(AuditEntry).where(AuditEntry.id == entry_id),
        delete(AuditEntry),
    ):
        with pytest.raises(DBAPIError) as refused:
            db.session.execute(statement)
            db.session.commit()
        db.session.rollback()
        assert "never changed or deleted" in str(refused.value)
    db.session.expire_all()
    [entry] = entries()
    assert entry.reason == "Trusted" and entry.actor_name == "Root"
    with pytest.raises(DBAPIError):
        db.session.execute(text("UPDATE audit_entry SET reason = 'x'"))
    db.session.rollback()


def fill_log(alice, bob, dora, mod, admin):
    members.set_role(get(admin.id), alice.id, "moderator", "Trusted", now=NOW)
    members.resend_verification(get(mod.id), dora.id, "Lost", now=NOW + timedelta(minutes=1))
    members.force_password_reset(get(admin.id), bob.id, "Leaked", now=NOW + timedelta(minutes=2))
    audit.record(
        get(mod.id), "content_hidden", "profile", 5, "Bob", "Spam", now=NOW + timedelta(minutes=3)
    )
    db.session.commit()


def test_audit_filters(ctx, alice, bob, dora, mod, admin):
    fill_log(alice, bob, dora, mod, admin)
    actor = get(mod.id)

    def actions(**filters) -> list[str]:
        return [e.action for e in members.audit_page(actor, audit.AuditFilters(**filters)).items]

    assert actions() == [
        "content_hidden",
        "password_reset_forced",
        "verification_resent",
        "role_granted",
    ]
    assert actions(action="role_granted") == ["role_granted"]
    assert actions(actor_id=admin.id) == ["password_reset_forced", "role_granted"]
    assert actions(target_kind="profile") == ["content_hidden"]
    assert actions(text="bo") == ["content_hidden", "password_reset_forced"]
    assert actions(text="ROOT") == ["password_reset_forced", "role_granted"]
    assert actions(text="%") == []
    assert actions(target_kind="member", target_id=dora.id) == ["verification_resent"]
    choices = members.audit_choices(actor)
    assert choices.actions == sorted(choices.actions) and "content_hidden" in choices.actions
    assert set(choices.actors) == {(mod.id, "Mo"), (admin.id, "Root")}
    assert choices.target_kinds == ["member", "profile"]
    with pytest.raises(NotFound):
        members.audit_page(get(bob.id), audit.AuditFilters())


# --- HTTP -------------------------------------------------------------------------------------


def member_paths(user_id: int) -> list[tuple[str, str]]:
    base = f"/moderation/members/{user_id}"
    return [
        ("GET", "/moderation/members"),
        ("GET", "/moderation/members?q=a&page=2"),
        ("GET", base),
        ("POST", f"{base}/verification"),
        ("POST", f"{base}/password-reset"),
        ("POST", f"{base}/role"),
        ("GET", "/moderation/audit"),
        ("GET", "/moderation/audit?action=role_granted&q=x"),
    ]


@pytest.mark.parametrize("headers", [{}, HX_PARTIAL], ids=["page", "htmx"])
def test_members_and_visitors_get_404_everywhere(app, client, auth, alice, dora, mallory, headers):
    for signed_in in (False, True):
        if signed_in:
            auth.login(mallory)
        for method, path in member_paths(dora.id):
            data = {"reason": "Mine now", "role": "moderator"} if method == "POST" else None
            response = client.open(path, method=method, data=data, headers=headers)
            assert response.status_code == 404, (method, path)
    with app.app_context():
        assert entries() == [] and get(mallory.id).role == "member"
        assert mails(dora.email) == []


@pytest.mark.parametrize("headers", [{}, HX_BOOSTED], ids=["page", "boosted"])
def test_member_list_page(app, auth, alice, bob, mod, headers):
    moderator = browser(app, auth, mod)
    page = moderator.get("/moderation/members?q=ALI", headers=headers)
    assert page.status_code == 200 and "<html" in html(page)
    body = html(page)
    assert 'aria-current="page">Members<' in body and "alice@example.org" in body
    assert "bob@example.org" not in body and f"/moderation/members/{alice.id}" in body
    assert page.headers["Cache-Control"] == "no-store"


def test_member_list_fragment_for_htmx(app, auth, alice, bob, mod):
    moderator = browser(app, auth, mod)
    fragment = moderator.get("/moderation/members?q=bob", headers=HX_PARTIAL)
    body = html(fragment)
    assert fragment.status_code == 200 and body.lstrip().startswith('<section id="member-results"')
    assert "<html" not in body and "bob@example.org" in body and "alice@" not in body
    assert "HX-Request" in fragment.headers["Vary"]
    huge = moderator.get("/moderation/members?page=99999999999999999999999", headers=HX_PARTIAL)
    assert huge.status_code == 200


def test_member_page_shows_status_reports_and_actions_not_journals(app, auth, alice, bob, mod):
    from peerhub.journal import service as journal

    with app.app_context():
        member = get(alice.id)
        member.status, member.status_reason = "suspended", "Spamming the directory"
        member.suspended_until = NOW + timedelta(days=7)
        db.session.add(
            ModerationAction(
                kind="suspend", subject_id=alice.id, subject_name="Alice", moderator_id=mod.id,
                reason="Spam, third time", until=NOW + timedelta(days=7),
            )
        )  # fmt: skip
        db.session.commit()
        report_about(alice, bob)
        journal.write(get(bob.id), "t1", "Bob's secret worry", "Very private words")
    moderator = browser(app, auth, mod)
    body = html(moderator.get(f"/moderation/members/{alice.id}"))
    assert "Spamming the directory" in body and "Spam, third time" in body
    assert "suspended" in body and "(Europe/Berlin)" in body
    assert "1 report about them" in body and "0 reports filed by them" in body
    bob_page = html(moderator.get(f"/moderation/members/{bob.id}"))
    assert "1 report filed by them" in bob_page and "about Alice" in bob_page
    assert "secret worry" not in bob_page and "Very private" not in bob_page
    assert moderator.get("/moderation/members/999999").status_code == 404
    assert moderator.get("/moderation/members/99999999999999999999999").status_code == 404


def test_resend_verification_without_js(app, auth, dora, mod, outbox):
    moderator = browser(app, auth, mod)
    page = html(moderator.get(f"/moderation/members/{dora.id}"))
    assert "Send the confirmation link again" in page and "Force a password reset" in page
    assert 'name="role"' not in page  # the role form is for admins only
    url = f"/moderation/members/{dora.id}/verification"
    response = moderator.post(url, data={"reason": "Lost the mail"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/moderation/members/{dora.id}"
    assert "A fresh confirmation link is on its way." in html(moderator.get(response.location))
    again = moderator.post(url, data={"reason": "Lost the mail"}, follow_redirects=True)
    assert "A fresh confirmation link is on its way." in html(again)  # harmless
    assert [m.template for m in outbox(dora.email)] == ["verify_email"]


def test_resend_verification_with_htmx_answers_the_actions_piece(app, auth, dora, mod, outbox):
    moderator = browser(app, auth, mod)
    url = f"/moderation/members/{dora.id}/verification"
    blank = moderator.post(url, data={"reason": ""}, headers=HX_PARTIAL)
    body = html(blank)
    assert blank.status_code == 422 and body.lstrip().startswith('<section id="member-actions"')
    assert "<html" not in body
    assert 'aria-invalid="true"' in body and "Please say why" in body
    plain = moderator.post(url, data={"reason": ""})
    assert plain.status_code == 422 and "<html" in html(plain) and "Please say why" in html(plain)
    done = moderator.post(url, data={"reason": "Lost the mail"}, headers=HX_PARTIAL)
    assert done.status_code == 200 and "A fresh confirmation link is on its way." in html(done)
    assert 'id="member-actions"' in html(done) and "<html" not in html(done)
    assert len(outbox(dora.email)) == 1


def test_forced_reset_over_http(app, auth, alice, mod, outbox):
    moderator = browser(app, auth, mod)
    response = moderator.post(
        f"/moderation/members/{alice.id}/password-reset",
        data={"reason": "Account taken over"},
        headers=HX_PARTIAL,
    )
    assert response.status_code == 200 and "a reset link is on its way" in html(response)
    assert [m.template for m in outbox(alice.email)] == ["password_reset"]


@pytest.mark.parametrize("headers", [{}, HX_PARTIAL], ids=["page", "htmx"])
def test_moderators_are_refused_on_admins_and_themselves(app, auth, mod, admin, headers):
    moderator = browser(app, auth, mod)
    for target in (admin, mod):
        page = html(moderator.get(f"/moderation/members/{target.id}"))
        assert "Force a password reset" not in page
        response = moderator.post(
            f"/moderation/members/{target.id}/password-reset",
            data={"reason": "Because"},
            headers=headers,
        )
        why = "your own account" if target == mod else "Moderators cannot act on admins."
        assert response.status_code == 403 and why in html(response)
    with app.app_context():
        assert entries() == []
        accounts.authenticate(admin.email, PASSWORD)


def test_role_form_is_for_admins_only(app, auth, alice, mod, admin):
    moderator = browser(app, auth, mod)
    refused = moderator.post(
        f"/moderation/members/{alice.id}/role", data={"role": "moderator", "reason": "Me too"}
    )
    assert refused.status_code == 404
    chief = browser(app, auth, admin)
    page = html(chief.get(f"/moderation/members/{alice.id}"))
    assert 'name="role"' in page and 'value="admin"' not in page
    assert 'name="role"' not in html(chief.get(f"/moderation/members/{admin.id}"))
    granted = chief.post(
        f"/moderation/members/{alice.id}/role", data={"role": "moderator", "reason": "Trusted"}
    )
    assert granted.status_code == 303
    assert "Alice is a moderator now." in html(chief.get(granted.location))
    revoked = chief.post(
        f"/moderation/members/{alice.id}/role",
        data={"role": "member", "reason": "Stepped back"},
        headers=HX_PARTIAL,
    )
    assert revoked.status_code == 200 and "Alice is no longer a moderator." in html(revoked)
    own = chief.post(
        f"/moderation/members/{admin.id}/role", data={"role": "member", "reason": "Tired"}
    )
    assert own.status_code == 403 and "your own role" in html(own)
    other = make_user(app, "admin2@example.org", "Admin Two", role="admin")
    demote = chief.post(
        f"/moderation/members/{other.id}/role", data={"role": "member", "reason": "Power"}
    )
    assert demote.status_code == 403
    with app.app_context():
        assert [e.action for e in entries()] == ["role_granted", "role_revoked"]
        assert get(other.id).role == "admin" and get(admin.id).role == "admin"


def test_a_new_moderator_reaches_the_pages_and_loses_them_again(app, auth, alice, admin):
    alices = browser(app, auth, alice)
    assert alices.get("/moderation/members").status_code == 404
    chief = browser(app, auth, admin)
    chief.post(f"/moderation/members/{alice.id}/role", data={"role": "moderator", "reason": "Ok"})
    assert alices.get("/moderation/members").status_code == 200
    chief.post(f"/moderation/members/{alice.id}/role", data={"role": "member", "reason": "Done"})
    assert alices.get("/moderation/members").status_code == 404


def test_audit_page_lists_filters_and_pages(app, auth, alice, bob, dora, mod, admin):
    with app.app_context():
        fill_log(alice, bob, dora, mod, admin)
        db.session.execute(delete(User).where(User.id == dora.id))
        db.session.commit()
    moderator = browser(app, auth, mod)
    page = moderator.get("/moderation/audit")
    body = html(page)
    assert page.status_code == 200 and 'aria-current="page">Audit log<' in body
    # Mo's zone is Berlin: 09:30 UTC on 10 March 2026 is 10:30 there
    assert "10:30" in body and "(Europe/Berlin)" in body
    assert "password reset forced" in body and "Leaked" in body and "Dora" in body
    assert f'href="/moderation/members/{bob.id}"' in body
    assert f'href="/moderation/members/{dora.id}"' not in body  # deleted: the name stays
    fragment = moderator.get(f"/moderation/audit?actor={admin.id}", headers=HX_PARTIAL)
    text_ = html(fragment)
    assert text_.lstrip().startswith('<section id="audit-results"')
    assert "Trusted" in text_ and "Leaked" in text_ and "Lost" not in text_
    kind = html(moderator.get("/moderation/audit?kind=profile", headers=HX_PARTIAL))
    assert "Spam" in kind and "Trusted" not in kind
    named = html(moderator.get("/moderation/audit?q=dor", headers=HX_PARTIAL))
    assert "Lost" in named and "Trusted" not in named
    action = html(moderator.get("/moderation/audit?action=role_granted"))
    assert "Trusted" in action and "Leaked" not in action
    for odd in ("actor=abc", "actor=99999999999999999999999", "page=-3", "page=\u0661", "target=0"):
        assert moderator.get(f"/moderation/audit?{odd}").status_code == 200, odd


def test_audit_page_in_german(app, auth, alice, admin):
    german = make_user(app, "deutsch@example.org", "Deutsch", role="moderator", language="de")
    with app.app_context():
        members.set_role(get(admin.id), alice.id, "moderator", "Vertrauen")
    moderator = browser(app, auth, german)
    page = moderator.get("/moderation/audit")
    assert page.status_code == 200 and 'lang="de"' in html(page) and "Vertrauen" in html(page)


def test_audit_pages_paginate(app, auth, mod, admin):
    with app.app_context():
        actor = get(admin.id)
        for number in range(members.PER_PAGE + 2):
            audit.record(actor, "hide", "profile", number + 1, f"P{number}", "x", now=NOW)
        db.session.commit()
    moderator = browser(app, auth, mod)
    first = html(moderator.get("/moderation/audit"))
    assert "Page 1 of 2" in first and "page=2" in first
    last = html(moderator.get("/moderation/audit?page=7"))
    assert "Page 2 of 2" in last and len(re.findall(r"<tr>", last)) == 2 + 1  # + the header


def _sample(rule, name: str):
    """A value the argument accepts: 1 for ids, else the first of its words."""
    words = getattr(rule._converters[name], "items", None)
    return sorted(words)[0] if words else 1


def test_no_write_route_changes_or_removes_audit_entries(make_app, alice, bob, dora, mod):
    """Every route with a write method, posted by an admin: the log only grows."""
    app = make_app(LOGIN_LIMIT_PER_ACCOUNT="1000 per hour", LOGIN_LIMIT_PER_ADDRESS="1000 per hour")
    admin = make_user(app, "root@example.org", "Root", role="admin")
    with app.app_context():
        fill_log(alice, bob, dora, mod, admin)
        before = {
            e.id: (e.actor_id, e.actor_name, e.action, e.target_id, e.target_name, e.reason)
            for e in entries()
        }
    client = app.test_client()
    from tests.conftest import Auth

    auth = Auth(client)
    auth.login(admin)
    checked, crashed = 0, []
    rules = sorted(app.url_map.iter_rules(), key=lambda r: r.endpoint == "accounts.logout")
    for rule in rules:
        methods = rule.methods & {"POST", "PUT", "PATCH", "DELETE"}
        if not methods or rule.endpoint == "static":
            continue
        path = rule.build({name: _sample(rule, name) for name in rule.arguments})[1]
        for method in sorted(methods):
            try:
                client.open(path, method=method, data={"reason": "walk", "role": "member"})
            except Exception as error:  # a crash elsewhere is not this test's subject
                crashed.append((method, path, repr(error)))
            checked += 1
            if client.get("/moderation/audit").status_code != 200:
                auth.login(admin)
    assert checked >= 20
    with app.app_context():
        after = {
            e.id: (e.actor_id, e.actor_name, e.action, e.target_id, e.target_name, e.reason)
            for e in entries()
        }
        assert db.session.scalar(select(func.count(AuditEntry.id))) >= len(before)
    assert {key: after.get(key) for key in before} == before, crashed


@pytest.mark.parametrize("headers", [{}, HX_PARTIAL])
def test_role_changes_and_forced_resets_ask_for_the_password_after_a_while(
    app, auth, client, alice, admin, headers
):
    auth.login(admin)
    with client.session_transaction() as session:
        session["auth_at"] = 0
    page = client.get(f"/moderation/members/{alice.id}").text
    assert page.count('name="password"') == 2  # the reset and the role forms
    for path, data in (
        ("password-reset", {"reason": "Stolen account"}),
        ("role", {"role": "moderator", "reason": "Trusted"}),
    ):
        url = f"/moderation/members/{alice.id}/{path}"
        asked = client.post(url, data=data, headers=headers)
        assert asked.status_code == 422 and "Please enter your password" in asked.text
        wrong = client.post(url, data={**data, "password": "wrong-password-1"}, headers=headers)
        assert wrong.status_code == 422 and "not correct" in wrong.text
    with app.app_context():
        member = db.session.get(User, alice.id)
        assert member.role == "member" and member.password_hash is not None
        assert not db.session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.target_id == alice.id)
        )
    done = client.post(
        f"/moderation/members/{alice.id}/role",
        data={"role": "moderator", "reason": "Trusted", "password": PASSWORD},
        headers=headers,
    )
    assert done.status_code == (200 if headers else 303)
    with app.app_context():
        assert db.session.get(User, alice.id).role == "moderator"
