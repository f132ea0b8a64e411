"""The rules of reports, the review queue, moderator actions and appeals, without HTTP:
snapshots, one case per target, one report per reporter, every action and its refusals,
what members learn (and never: who reported), the audit log, the door for suspended
members, and the races, on SQLite and (with TEST_DATABASE_URL) on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from peerhub.accounts import service as accounts
from peerhub.accounts.models import User
from peerhub.calendar import service as feeds
from peerhub.calendar.models import CalendarFeed
from peerhub.errors import Conflict, DomainError, Invalid, NotAllowed, NotFound
from peerhub.extensions import db
from peerhub.intros import service as intros
from peerhub.intros.models import IntroMessage
from peerhub.matching import candidates
from peerhub.moderation import audit, cases
from peerhub.moderation.models import Appeal, AuditEntry, ModerationAction, Report, ReportCase
from peerhub.profiles import service as profiles
from peerhub.profiles.models import Block, Profile
from peerhub.profiles.search import DirectoryQuery, search_members
from tests.conftest import PASSWORD, make_user
from tests.intro_factories import NOW, ask, ready
from tests.records import kinds, mails, race

INSULT = "You are useless. Nobody wants to be your tandem."


# --- builders -----------------------------------------------------------------------------------


def user(persona) -> User:
    return db.session.get(User, persona.id)


def message_from(app, author, reader, body: str = INSULT) -> int:
    """A message `author` wrote to `reader` in their intro thread; returns its id."""
    request_id = ask(app, reader, author)
    db.session.rollback()
    return intros.post_message(user(author), request_id, body, now=NOW).id


def file(reporter, kind: str, target_id: int, category: str = "harassment", details: str = ""):
    return cases.report(user(reporter), kind, target_id, category, details, now=NOW)


def case_of(kind: str, target_id: int) -> ReportCase:
    return db.session.scalar(
        select(ReportCase)
        .where(ReportCase.target_kind == kind, ReportCase.target_id == target_id)
        .order_by(ReportCase.id.desc())
    )


def fresh(model, id_):
    db.session.expire_all()
    return db.session.get(model, id_)


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def act(moderator, case: ReportCase, kind: str, reason: str = "Keep it kind.", **options):
    options.setdefault("now", NOW)
    return cases.act(user(moderator), case.id, kind, reason, case.version, **options)


@pytest.fixture
def members(ctx, app, alice, bob, carol):
    ready(app, alice, bob, carol)
    return alice, bob, carol


@pytest.fixture
def reported(members, app):
    """Bob wrote Alice an insult; Alice reported it."""
    alice, bob, _carol = members
    message_id = message_from(app, bob, alice)
    file(alice, "message", message_id, details="He wrote this after I asked about times.")
    return message_id


@pytest.fixture
def second_mod(app):
    return make_user(app, "mona@example.org", "Mona", role="moderator")


@pytest.fixture
def admin(app):
    return make_user(app, "ada@example.org", "Ada", role="admin")


# --- reporting ----------------------------------------------------------------------------------


def test_a_report_opens_a_case_with_a_snapshot_of_the_message(members, reported):
    alice, bob, _carol = members
    case = case_of("message", reported)
    assert case.state == "open" and case.report_count == 1 and case.subject_id == bob.id
    assert case.subject_name == "Bob"
    [report] = case.reports
    assert report.reporter_id == alice.id and report.category == "harassment"
    assert report.snapshot["body"] == INSULT and report.snapshot["author"] == "Bob"
    assert report.snapshot["created_at"] == NOW.isoformat()
    # the snapshot outlives a change of the message
    db.session.get(IntroMessage, reported).body = "Edited"
    db.session.commit()
    assert fresh(Report, report.id).snapshot["body"] == INSULT


def test_a_second_reporter_joins_the_open_case(app, members, reported, mallory):
    _alice, bob, carol = members
    profile_case = file(carol, "profile", bob.id, "spam").report.case_id
    file(carol, "member", bob.id, "other", "He messages everyone with ads.")
    assert count(ReportCase) == 3  # one per target: the message, the profile, the member
    assert profile_case != case_of("message", reported).id
    # Carol cannot see Alice's thread: she cannot report its message
    with pytest.raises(NotFound):
        file(carol, "message", reported)
    other = make_user(app, "dora@example.org", "Dora")
    ready(app, other)
    file(other, "profile", bob.id, "inappropriate")
    case = case_of("profile", bob.id)
    assert case.id == profile_case and case.report_count == 2 and len(case.reports) == 2


def test_reporting_the_same_again_adds_to_the_first_report(members, reported):
    alice, _bob, _carol = members
    version = case_of("message", reported).version
    again = file(alice, "message", reported, "safety", "And he said he knows where I live.")
    case = case_of("message", reported)
    assert again.again and case.report_count == 1 and len(case.reports) == 1
    [report] = case.reports
    assert report.category == "safety"
    assert "after I asked" in report.details and "where I live" in report.details
    assert case.version == version + 1  # a moderator's open form of it is stale now


def test_what_cannot_be_reported(app, members, reported, mallory):
    alice, bob, carol = members
    with pytest.raises(NotFound):  # one's own message
        file(bob, "message", reported)
    with pytest.raises(NotFound):  # oneself
        file(alice, "member", alice.id)
    with pytest.raises(NotFound):  # a kind that does not exist (journals are never reportable)
        file(alice, "journal", 1)
    with pytest.raises(NotFound):
        file(alice, "message", 10**9)
    db.session.add(Block(blocker_id=bob.id, blocked_id=carol.id))
    db.session.commit()
    with pytest.raises(NotFound):  # blocked either way: not visible
        file(carol, "profile", bob.id)
    suspended = make_user(app, "sus@example.org", "Sus", status="suspended")
    with pytest.raises(NotFound):
        file(alice, "member", suspended.id)


@pytest.mark.parametrize(
    ("category", "details", "field"),
    [
        ("rude", "", "category"),
        ("", "", "category"),
        ("other", "   ", "details"),
        ("spam", "x" * 2001, "details"),
    ],
)
def test_reports_refuse_bad_input(members, category, details, field):
    alice, bob, _carol = members
    with pytest.raises(Invalid) as refused:
        file(alice, "profile", bob.id, category, details)
    assert refused.value.field == field and count(ReportCase) == 0 and count(Report) == 0


def test_profile_and_member_snapshots(members):
    alice, bob, _carol = members
    profile_report = file(alice, "profile", bob.id, "spam").report
    member_report = file(alice, "member", bob.id, "harassment").report
    snapshot = profile_report.snapshot
    assert snapshot["name"] == "Bob" and snapshot["headline"].startswith("Product owner")
    assert snapshot["offers"] == ["Agiles Projektmanagement"]
    assert snapshot["goals"] == ["Lead meetings that end on time"]
    assert member_report.snapshot == {"name": "Bob"}


def test_a_report_after_the_case_was_resolved_opens_a_new_case(members, reported, mod):
    alice, _bob, _carol = members
    first = case_of("message", reported)
    act(mod, first, "dismiss", "Not against the rules.")
    file(alice, "message", reported, "harassment", "He did it again in the same words.")
    second = case_of("message", reported)
    assert second.id != first.id and second.state == "open" and second.report_count == 1


# --- what reporters see -----------------------------------------------------------------------


def test_reporters_see_their_reports_in_general_words(members, reported, mod):
    alice, bob, _carol = members
    file(alice, "profile", bob.id, "spam")
    [profile_report, _message_report] = cases.reports_by(user(alice))
    assert profile_report.outcome_label == "Being reviewed"
    act(mod, case_of("message", reported), "hide", "An insult.")
    act(mod, case_of("profile", bob.id), "dismiss", "Ads are allowed in a headline.")
    outcomes = {r.case.target_kind: r.outcome_label for r in cases.reports_by(user(alice))}
    assert outcomes == {
        "message": "Reviewed: we took action",
        "profile": "Reviewed: no action needed",
    }
    assert kinds(alice.id).count("report_actioned") == 1
    assert kinds(alice.id).count("report_dismissed") == 1
    assert cases.reports_by(user(bob)) == []


def test_the_reported_member_never_learns_who_reported(app, members, reported, mod):
    _alice, bob, _carol = members
    before = {n.id for n in bob_notifications(bob)}, {m.id for m in mails(bob.email)}
    act(mod, case_of("message", reported), "warn", "Please keep your messages kind.")
    file(_alice, "profile", bob.id, "spam", "Ads again.")
    act(mod, case_of("profile", bob.id), "suspend", "Again.", until=NOW + timedelta(days=2))
    views = cases.actions_about(user(bob), now=NOW)
    assert [v.action.kind for v in views] == ["suspend", "warn"]
    texts = [v.action.reason + v.hidden_text for v in views]
    texts += [n.kind + str(n.params) for n in bob_notifications(bob) if n.id not in before[0]]
    texts += [m.text_body + m.html_body for m in mails(bob.email) if m.id not in before[1]]
    assert len(texts) >= 4
    assert not any("Alice" in text or "alice@" in text for text in texts)


def bob_notifications(bob):
    from peerhub.notifications.models import Notification

    return list(db.session.scalars(select(Notification).where(Notification.user_id == bob.id)))


# --- the queue ------------------------------------------------------------------------------------


def test_the_queue_orders_by_age_or_by_reports(app, members, reported, mod):
    alice, bob, carol = members
    later = NOW + timedelta(hours=1)
    cases.report(user(alice), "profile", bob.id, "spam", "", now=later)
    cases.report(user(carol), "profile", bob.id, "spam", "", now=later)
    oldest, total = cases.queue(user(mod))
    assert total == 2 and [v.case.target_kind for v in oldest] == ["message", "profile"]
    most, _total = cases.queue(user(mod), "most")
    assert [v.case.target_kind for v in most] == ["profile", "message"]
    view = oldest[0]
    assert view.reporters == {alice.id: "Alice"} and view.categories == ["harassment"]
    assert view.may_act_on_member and view.subject.id == bob.id


def test_the_queue_shows_the_members_history(members, reported, mod):
    alice, bob, carol = members
    file(carol, "member", bob.id, "harassment")
    act(mod, case_of("member", bob.id), "dismiss", "Not enough to go on.")
    file(alice, "profile", bob.id, "spam")
    [message_view, profile_view] = cases.queue(user(mod))[0]
    assert message_view.past_cases == 1
    assert [h.kind for h in message_view.history] == ["dismiss"]
    assert [c.id for c in message_view.other_open] == [profile_view.case.id]
    assert message_view.moderators == {mod.id: "Mo"}


def test_moderators_never_see_cases_about_themselves_nor_admins(app, members, mod, admin):
    alice, _bob, _carol = members
    ready(app, mod, admin)
    file(alice, "profile", mod.id, "spam")
    file(alice, "profile", admin.id, "spam")
    about_mod, about_admin = case_of("profile", mod.id), case_of("profile", admin.id)
    assert cases.queue(user(mod)) == ([], 0)
    with pytest.raises(NotFound):
        cases.case_for(user(mod), about_mod.id)
    with pytest.raises(NotFound):
        cases.case_for(user(mod), about_admin.id)
    with pytest.raises(NotFound):
        act(mod, about_mod, "dismiss")
    with pytest.raises(NotFound):
        act(mod, about_admin, "dismiss")
    # an admin sees both, may dismiss the one about an admin, but not act on the admin
    views, total = cases.queue(user(admin))
    assert total == 1 and views[0].case.id == about_mod.id  # never their own case
    with pytest.raises(NotFound):
        act(admin, about_admin, "warn")
    assert count(ModerationAction) == 0


def test_an_admin_may_not_act_on_another_admin(app, members, admin):
    alice, _bob, _carol = members
    other = make_user(app, "root@example.org", "Root", role="admin")
    ready(app, other)
    file(alice, "profile", other.id, "spam")
    case = case_of("profile", other.id)
    view = cases.case_for(user(admin), case.id)
    assert not view.may_act_on_member and view.refusal == "Moderators cannot act on admins."
    for kind in ("warn", "hide", "suspend", "ban"):
        with pytest.raises(NotAllowed):
            act(admin, case, kind, until=NOW + timedelta(days=3))
    act(admin, case, "dismiss", "A misunderstanding.")
    assert fresh(ReportCase, case.id).state == "resolved"


def test_members_have_no_queue(members, reported):
    alice, _bob, _carol = members
    with pytest.raises(NotFound):
        cases.queue(user(alice))
    with pytest.raises(NotFound):
        cases.case_for(user(alice), case_of("message", reported).id)
    with pytest.raises(NotFound):
        act(alice, case_of("message", reported), "dismiss")
    with pytest.raises(NotFound):
        cases.appeals(user(alice))


# --- acting --------------------------------------------------------------------------------------


def test_dismissing_resolves_only_the_case(members, reported, mod):
    alice, bob, carol = members
    file(carol, "profile", bob.id, "spam")
    action = act(mod, case_of("message", reported), "dismiss", "Rude, but within the rules.")
    case = case_of("message", reported)
    assert case.state == "resolved" and case.action_id == action.id
    assert case.resolved_by_id == mod.id and case.resolved_at == NOW
    assert case_of("profile", bob.id).state == "open"
    assert audit_actions() == ["report_dismissed"]
    entry = db.session.scalar(select(AuditEntry))
    assert (entry.actor_id, entry.target_kind, entry.target_id) == (mod.id, "case", case.id)
    assert entry.target_name == "Bob" and entry.reason == "Rude, but within the rules."
    assert kinds(alice.id)[-1] == "report_dismissed"
    assert "moderation_warned" not in kinds(bob.id)
    assert cases.actions_about(user(bob)) == []  # a dismissal is not theirs to know


def test_warning_resolves_all_of_the_members_cases_and_shows_once(members, reported, mod):
    alice, bob, carol = members
    file(carol, "profile", bob.id, "spam")
    action = act(mod, case_of("message", reported), "warn", "Insults are not OK here.")
    assert [c.state for c in db.session.scalars(select(ReportCase))] == ["resolved"] * 2
    assert count(ReportCase, ReportCase.action_id == action.id) == 2
    entry = db.session.scalar(select(AuditEntry))
    assert entry.action == "member_warned" and entry.target_id == bob.id
    assert sorted(entry.details["cases"]) == sorted(
        c.id for c in db.session.scalars(select(ReportCase))
    )
    assert "report_actioned" in kinds(alice.id) and "report_actioned" in kinds(carol.id)
    assert kinds(bob.id)[-1] == "moderation_warned"
    assert cases.warnings_to_show(user(bob), NOW) == ["Insults are not OK here."]
    assert cases.warnings_to_show(user(bob), NOW) == []
    assert fresh(ModerationAction, action.id).seen_at == NOW


def test_hiding_a_message(app, members, reported, mod):
    alice, bob, _carol = members
    file(alice, "profile", bob.id, "spam")
    action = act(mod, case_of("message", reported), "hide", "An insult.")
    assert fresh(IntroMessage, reported).hidden_at == NOW
    assert (action.target_kind, action.target_id) == ("message", reported)
    assert case_of("profile", bob.id).state == "open"  # content, not the member: this case only
    assert audit_actions() == ["content_hidden"]
    entry = db.session.scalar(select(AuditEntry))
    assert (entry.target_kind, entry.target_id) == ("message", reported)
    assert kinds(bob.id)[-1] == "moderation_hid_message"
    with pytest.raises(NotFound):  # a hidden message cannot be reported again
        file(alice, "message", reported)
    [view] = cases.actions_about(user(bob))
    assert view.hidden_text == INSULT and view.appealable


def test_hiding_a_profile_takes_it_out_of_pages_search_and_suggestions(app, members, mod):
    alice, bob, carol = members
    assert bob.id in [h.user_id for h in search_members(alice.id, DirectoryQuery()).items]
    file(alice, "profile", bob.id, "inappropriate", "Offensive words in the about text.")
    act(mod, case_of("profile", bob.id), "hide", "Offensive words.")
    assert db.session.get(Profile, bob.id).hidden_by_moderator_at == NOW
    with pytest.raises(NotFound):
        profiles.member_for(alice.id, bob.id)
    assert bob.id not in [h.user_id for h in search_members(alice.id, DirectoryQuery()).items]
    assert bob.id not in [h.user_id for h in search_members(carol.id, DirectoryQuery()).items]
    found = candidates.load_candidates([bob.id])[bob.id]
    assert not found.available and found.unavailable_reason == "hidden"
    me = candidates.load_candidates([alice.id])[alice.id]
    assert bob.id not in candidates.candidate_ids(me)
    with pytest.raises(NotFound):
        intros.check_can_request(user(alice), bob.id, now=NOW)
    assert kinds(bob.id)[-1] == "moderation_hid_profile"


def test_a_member_case_hides_the_profile(members, mod):
    alice, bob, _carol = members
    file(alice, "member", bob.id, "spam")
    action = act(mod, case_of("member", bob.id), "hide", "Advertising.")
    assert (action.target_kind, action.target_id) == ("profile", bob.id)
    assert db.session.get(Profile, bob.id).hidden_by_moderator_at is not None


def test_suspending_ends_sessions_and_the_feed_and_refuses_the_login(app, members, reported, mod):
    _alice, bob, _carol = members
    token = user(bob).session_token
    feeds.new_token(user(bob))
    until = NOW + timedelta(days=7)
    action = act(mod, case_of("message", reported), "suspend", "Repeated insults.", until=until)
    bob_row = fresh(User, bob.id)
    assert bob_row.status == "suspended" and bob_row.suspended_until == until
    assert bob_row.status_reason == "Repeated insults." and bob_row.session_token != token
    assert db.session.get(CalendarFeed, bob.id) is None
    entry = db.session.scalar(select(AuditEntry))
    assert entry.action == "member_suspended" and entry.details["until"] == until.isoformat()
    [mail] = [m for m in mails(bob.email) if m.template == "moderation_suspended"]
    assert "Repeated insults." in mail.text_body and "/appeal/" in mail.text_body
    assert "Alice" not in mail.text_body
    db.session.rollback()
    with pytest.raises(cases.AccountRestricted) as refused:
        accounts.authenticate(bob.email, PASSWORD)
    message = refused.value.message
    assert "suspended until" in message and "Repeated insults." in message
    assert "Dec" in message and "Europe/Berlin" not in message  # Bob's zone is New York
    assert "America/New_York" in message
    assert refused.value.appeal_url.startswith("/appeal/")
    assert refused.value.status == 403
    user_, view = cases.action_for_link(refused.value.appeal_url.removeprefix("/appeal/"), NOW)
    assert user_.id == bob.id and view.action.id == action.id and view.appealable


@pytest.mark.parametrize(
    ("until", "field"),
    [(None, "until"), (NOW - timedelta(hours=1), "until"), (NOW + timedelta(days=400), "until")],
)
def test_a_suspension_needs_an_end_in_the_coming_year(members, reported, mod, until, field):
    with pytest.raises(Invalid) as refused:
        act(mod, case_of("message", reported), "suspend", "Insults.", until=until)
    assert refused.value.field == field and count(ModerationAction) == 0


@pytest.mark.parametrize("reason", ["", "   ", "x" * 1001])
def test_every_action_needs_a_reason(members, reported, mod, reason):
    for kind in cases.CASE_ACTIONS:
        with pytest.raises(Invalid) as refused:
            act(mod, case_of("message", reported), kind, reason, until=NOW + timedelta(days=2))
        assert refused.value.field == "reason"
    assert count(ModerationAction) == 0 and count(AuditEntry) == 0


def test_an_unknown_action_is_refused(members, reported, mod):
    with pytest.raises(Invalid) as refused:
        act(mod, case_of("message", reported), "delete")
    assert refused.value.field == "action"
    with pytest.raises(Invalid):
        act(mod, case_of("message", reported), "lift")


def test_a_suspension_past_its_end_lifts_itself_at_the_next_login(members, reported, mod):
    _alice, bob, _carol = members
    act(mod, case_of("message", reported), "suspend", "Insults.", until=NOW + timedelta(days=1))
    db.session.rollback()
    # the login after the end (the real clock is used: move the end into the past)
    db.session.get(User, bob.id).suspended_until = NOW - timedelta(days=400)
    db.session.commit()
    assert accounts.authenticate(bob.email, PASSWORD).id == bob.id
    bob_row = fresh(User, bob.id)
    assert bob_row.status == "active" and bob_row.suspended_until is None
    assert bob_row.status_reason is None
    assert audit_actions() == ["member_suspended", "suspension_ended"]
    ended = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()[-1]
    assert ended.actor_id is None and ended.actor_name == "PeerHub"
    assert mails(bob.email)[-1].template == "moderation_lifted"


def test_tick_ends_suspensions_that_are_over(app, members, reported, mod):
    _alice, bob, _carol = members
    act(mod, case_of("message", reported), "suspend", "Insults.", until=NOW + timedelta(days=1))
    assert cases.tick(NOW) == 0
    assert cases.tick(NOW + timedelta(days=1)) == 1
    assert cases.tick(NOW + timedelta(days=1)) == 0  # idempotent
    assert fresh(User, bob.id).status == "active"
    result = app.test_cli_runner().invoke(args=["tick"])
    assert result.exit_code == 0 and "suspensions: 0 ended" in result.output


def test_banning(members, reported, mod):
    _alice, bob, _carol = members
    action = act(mod, case_of("message", reported), "ban", "Threats.")
    bob_row = fresh(User, bob.id)
    assert bob_row.status == "banned" and bob_row.suspended_until is None
    assert audit_actions() == ["member_banned"]
    assert mails(bob.email)[-1].template == "moderation_banned"
    db.session.rollback()
    with pytest.raises(cases.AccountRestricted) as refused:
        accounts.authenticate(bob.email, PASSWORD)
    assert "banned" in refused.value.message and "Threats." in refused.value.message
    assert refused.value.appeal_url is None
    with pytest.raises(Invalid):
        cases.appeal(user(bob), action.id, "Please.", now=NOW)


def test_a_banned_member_is_not_suspended_on_top(members, reported, mod):
    _alice, bob, _carol = members
    db.session.get(User, bob.id).status = "banned"  # banned meanwhile, from another case
    db.session.commit()
    with pytest.raises(Conflict):
        act(mod, case_of("message", reported), "suspend", "x", until=NOW + timedelta(days=2))
    assert count(ModerationAction) == 0


def test_a_stale_form_is_refused_and_says_what_happened(members, reported, mod, second_mod):
    alice, _bob, _carol = members
    case = case_of("message", reported)
    read_version = case.version
    second = second_mod
    act(second, case, "warn", "First warning.")
    with pytest.raises(cases.StaleCase) as stale:
        cases.act(user(mod), case.id, "suspend", "x", read_version, NOW + timedelta(days=3), NOW)
    assert stale.value.status == 409 and stale.value.case_id == case.id
    assert "Mona has handled this case already: Warning" in stale.value.message
    assert "First warning." in stale.value.message
    assert count(ModerationAction) == 1 and audit_actions() == ["member_warned"]
    # a new report makes a form stale too
    file(alice, "message", reported, "harassment", "Again.")
    new_case = case_of("message", reported)
    with pytest.raises(cases.StaleCase) as stale:
        cases.act(user(mod), new_case.id, "dismiss", "x", new_case.version - 1, now=NOW)
    assert "changed while you were reading it" in stale.value.message


def test_nobody_acts_on_themselves(app, members, mod):
    alice, _bob, _carol = members
    with pytest.raises(NotAllowed):
        cases.lift(user(mod), mod.id, "Me.", NOW)
    admin = make_user(app, "ada@example.org", "Ada", role="admin")
    db.session.get(User, admin.id).status = "suspended"
    db.session.commit()
    with pytest.raises(NotAllowed):
        cases.lift(user(mod), admin.id, "An admin.", NOW)
    with pytest.raises(NotFound):
        cases.lift(user(alice), mod.id, "Members cannot.", NOW)
    with pytest.raises(NotFound):
        cases.lift(user(mod), 10**9, "Nobody.", NOW)


def test_lifting_a_suspension(members, reported, mod, second_mod):
    _alice, bob, _carol = members
    suspension = act(
        mod, case_of("message", reported), "suspend", "Insults.", until=NOW + timedelta(days=9)
    )
    second = second_mod
    lifted = cases.lift(user(second), bob.id, "He apologised to Alice.", NOW)
    assert lifted.kind == "lift" and fresh(User, bob.id).status == "active"
    assert fresh(ModerationAction, suspension.id).lifted_at == NOW
    assert audit_actions() == ["member_suspended", "suspension_lifted"]
    assert mails(bob.email)[-1].template == "moderation_lifted"
    with pytest.raises(Conflict):
        cases.lift(user(second), bob.id, "Again.", NOW)
    with pytest.raises(Invalid):
        cases.lift(user(second), bob.id, "", NOW)


def test_an_error_after_the_first_write_leaves_nothing(members, reported, mod, monkeypatch):
    _alice, bob, _carol = members

    def broken(*args, **kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(audit, "record", broken)
    with pytest.raises(RuntimeError):
        act(mod, case_of("message", reported), "suspend", "x", until=NOW + timedelta(days=2))
    db.session.rollback()
    assert case_of("message", reported).state == "open"
    assert fresh(User, bob.id).status == "active" and count(ModerationAction) == 0


# --- appeals -------------------------------------------------------------------------------------


def test_appealing_once_within_twenty_days(members, reported, mod):
    alice, bob, _carol = members
    action = act(mod, case_of("message", reported), "warn", "Insults.")
    with pytest.raises(NotFound):  # not Alice's
        cases.appeal(user(alice), action.id, "Please.", now=NOW)
    with pytest.raises(Invalid) as refused:
        cases.appeal(user(bob), action.id, "  ", now=NOW)
    assert refused.value.field == "text"
    with pytest.raises(Invalid):
        cases.appeal(user(bob), action.id, "x" * 1001, now=NOW)
    with pytest.raises(Invalid):
        cases.appeal(user(bob), action.id, "Late.", now=NOW + timedelta(days=20, minutes=1))
    made = cases.appeal(user(bob), action.id, "It was a joke between us.", now=NOW)
    assert made.state == "pending" and made.user_id == bob.id
    with pytest.raises(Conflict):
        cases.appeal(user(bob), action.id, "Again.", now=NOW)
    assert count(Appeal) == 1
    [view] = cases.actions_about(user(bob), NOW)
    assert view.appeal.id == made.id and not view.appealable


def test_dismissals_and_lifts_are_not_appealable(members, reported, mod, second_mod):
    _alice, bob, _carol = members
    dismissal = act(mod, case_of("message", reported), "dismiss", "Fine.")
    with pytest.raises(NotFound):
        cases.appeal(user(bob), dismissal.id, "Why?", now=NOW)
    db.session.get(User, bob.id).status = "suspended"
    db.session.commit()
    lifted = cases.lift(user(mod), bob.id, "Back.", NOW)
    with pytest.raises(Invalid):
        cases.appeal(user(bob), lifted.id, "Why?", now=NOW)


def test_another_moderator_decides_the_appeal(members, reported, mod, second_mod):
    _alice, bob, _carol = members
    action = act(mod, case_of("message", reported), "warn", "Insults.")
    made = cases.appeal(user(bob), action.id, "I apologised.", now=NOW)
    with pytest.raises(NotAllowed):
        cases.decide_appeal(user(mod), made.id, True, "", NOW)
    with pytest.raises(NotFound):
        cases.decide_appeal(user(bob), made.id, True, "", NOW)
    pending, decided = cases.appeals(user(second_mod))
    assert [p.id for p in pending] == [made.id] and decided == []
    assert cases.appeals(user(mod))[0][0].mine
    decided_appeal = cases.decide_appeal(user(second_mod), made.id, True, "", NOW)
    assert decided_appeal.state == "approved" and decided_appeal.decided_by_id == second_mod.id
    assert fresh(ModerationAction, action.id).lifted_at == NOW
    assert cases.warnings_to_show(user(bob), NOW) == []  # a withdrawn warning never shows
    assert audit_actions() == ["member_warned", "appeal_approved"]
    assert kinds(bob.id)[-1] == "appeal_approved"
    assert mails(bob.email)[-1].template == "appeal_approved"
    with pytest.raises(Conflict) as twice:
        cases.decide_appeal(user(second_mod), made.id, False, "No.", NOW)
    assert "Mona has decided on this appeal already: approved" in twice.value.message


def test_an_approved_appeal_shows_hidden_content_again(members, reported, mod, second_mod):
    alice, bob, _carol = members
    file(alice, "profile", bob.id, "spam")
    hide_message = act(mod, case_of("message", reported), "hide", "An insult.")
    hide_profile = act(mod, case_of("profile", bob.id), "hide", "Ads.")
    for action in (hide_message, hide_profile):
        made = cases.appeal(user(bob), action.id, "It was not meant so.", now=NOW)
        cases.decide_appeal(user(second_mod), made.id, True, "Fair enough.", NOW)
    assert fresh(IntroMessage, reported).hidden_at is None
    assert db.session.get(Profile, bob.id).hidden_by_moderator_at is None
    assert profiles.member_for(alice.id, bob.id)[0].id == bob.id


def test_an_approved_appeal_ends_the_suspension(members, reported, mod, second_mod):
    _alice, bob, _carol = members
    action = act(
        mod, case_of("message", reported), "suspend", "Insults.", until=NOW + timedelta(days=9)
    )
    db.session.rollback()
    token = cases.appeal_token(fresh(ModerationAction, action.id))
    made = cases.appeal_by_link(token, "I was hacked.", now=NOW)
    assert made.user_id == bob.id
    with pytest.raises(Conflict):
        cases.appeal_by_link(token, "Again.", now=NOW)
    cases.decide_appeal(user(second_mod), made.id, True, "The login came from elsewhere.", NOW)
    bob_row = fresh(User, bob.id)
    assert bob_row.status == "active" and bob_row.suspended_until is None
    assert accounts.authenticate(bob.email, PASSWORD).id == bob.id


def test_a_rejected_appeal_needs_a_reason_and_the_decision_stands(
    members, reported, mod, second_mod
):
    _alice, bob, _carol = members
    action = act(
        mod, case_of("message", reported), "suspend", "Insults.", until=NOW + timedelta(days=9)
    )
    made = cases.appeal(user(bob), action.id, "Unfair.", now=NOW)
    with pytest.raises(Invalid) as refused:
        cases.decide_appeal(user(second_mod), made.id, False, " ", NOW)
    assert refused.value.field == "reason"
    cases.decide_appeal(user(second_mod), made.id, False, "The messages speak for themselves.", NOW)
    assert fresh(User, bob.id).status == "suspended"
    assert fresh(ModerationAction, action.id).lifted_at is None
    assert audit_actions() == ["member_suspended", "appeal_rejected"]
    rejected = mails(bob.email)[-1]
    assert rejected.template == "appeal_rejected"
    assert "The messages speak for themselves." in rejected.text_body


def test_forged_or_foreign_appeal_links_are_refused(members, reported, mod):
    with pytest.raises(Invalid):
        cases.action_for_link("not-a-token", NOW)
    from peerhub.accounts import tokens

    forged = tokens.make_token(cases.APPEAL_TOKEN, {"a": 10**9, "u": 1})
    with pytest.raises(Invalid):
        cases.action_for_link(forged, NOW)
    with pytest.raises(Invalid):
        cases.appeal_by_link(forged, "Let me in.", NOW)
    wrong_kind = tokens.make_token(tokens.RESET_PASSWORD, {"a": 1, "u": 1})
    with pytest.raises(Invalid):
        cases.action_for_link(wrong_kind, NOW)


# --- races ---------------------------------------------------------------------------------------


def _quiet() -> None:
    """End the test's own read, so the racing writers need not wait for it (SQLite)."""
    db.session.rollback()


def _errors(results: list[object]) -> list[BaseException]:
    errors = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(e, DomainError) for e in errors), errors
    return errors


def test_two_reports_of_a_new_target_at_once_share_one_case(ctx, members, app):
    alice, bob, carol = members
    _quiet()
    results = race(
        ctx,
        lambda: cases.report(user(alice), "profile", bob.id, "spam", "Ads", now=NOW),
        lambda: cases.report(user(carol), "profile", bob.id, "spam", "Ads!", now=NOW),
    )
    assert _errors(results) == []
    [case] = db.session.scalars(select(ReportCase)).all()
    assert case.report_count == 2 and len(case.reports) == 2


def test_a_double_click_on_report_files_one_report(ctx, members):
    alice, bob, _carol = members
    _quiet()
    results = race(
        ctx,
        lambda: cases.report(user(alice), "member", bob.id, "harassment", "Rude", now=NOW),
        lambda: cases.report(user(alice), "member", bob.id, "harassment", "Rude", now=NOW),
    )
    assert _errors(results) == []
    assert count(ReportCase) == 1 and count(Report) == 1
    assert case_of("member", bob.id).report_count == 1


def test_two_moderators_acting_on_one_case_at_once_cannot_both_succeed(
    ctx, members, reported, mod, second_mod
):
    case = case_of("message", reported)
    case_id, version = case.id, case.version
    _quiet()
    results = race(
        ctx,
        lambda: cases.act(user(mod), case_id, "warn", "Be kind.", version, now=NOW),
        lambda: cases.act(
            user(second_mod), case_id, "suspend", "Out.", version, NOW + timedelta(days=3), NOW
        ),
    )
    errors = _errors(results)
    assert len(errors) == 1 and isinstance(errors[0], cases.StaleCase)
    assert count(ModerationAction) == 1 and count(AuditEntry) == 1
    assert case_of("message", reported).state == "resolved"


def test_two_moderators_on_two_cases_of_one_member_take_turns(
    ctx, members, reported, mod, second_mod
):
    alice, bob, _carol = members
    file(alice, "profile", bob.id, "spam")
    first, second = case_of("message", reported), case_of("profile", bob.id)
    ids = (first.id, first.version, second.id, second.version)
    _quiet()
    results = race(
        ctx,
        lambda: cases.act(user(mod), ids[0], "warn", "Be kind.", ids[1], now=NOW),
        lambda: cases.act(user(second_mod), ids[2], "ban", "Out.", ids[3], now=NOW),
    )
    errors = _errors(results)
    # never a deadlock: the member's row is locked first; the first to get it wins both cases
    assert len(errors) == 1 and isinstance(errors[0], cases.StaleCase)
    assert count(ModerationAction) == 1
    assert count(ReportCase, ReportCase.state == "open") == 0


def test_two_moderators_deciding_one_appeal_at_once(ctx, members, reported, mod, second_mod, app):
    _alice, bob, _carol = members
    third = make_user(app, "max@example.org", "Max", role="moderator")
    action = act(mod, case_of("message", reported), "warn", "Insults.")
    made = cases.appeal(user(bob), action.id, "Sorry.", now=NOW)
    appeal_id = made.id
    _quiet()
    results = race(
        ctx,
        lambda: cases.decide_appeal(user(second_mod), appeal_id, True, "", NOW),
        lambda: cases.decide_appeal(user(third), appeal_id, False, "No.", NOW),
    )
    errors = _errors(results)
    assert len(errors) == 1 and isinstance(errors[0], Conflict)
    assert count(AuditEntry, AuditEntry.action.like("appeal_%")) == 1


def test_a_report_racing_the_resolution_of_its_case_is_never_lost(ctx, members, reported, mod):
    alice, _bob, _carol = members
    case = case_of("message", reported)
    case_id, version = case.id, case.version
    _quiet()
    acted, filed = race(
        ctx,
        lambda: cases.act(user(mod), case_id, "dismiss", "Fine.", version, now=NOW),
        lambda: cases.report(user(alice), "message", reported, "safety", "He goes on.", now=NOW),
    )
    assert isinstance(filed, int), filed
    if isinstance(acted, BaseException):
        # the report came first: the moderator's form is stale, the case still open
        assert isinstance(acted, cases.StaleCase)
        assert case_of("message", reported).id == case_id
        assert "He goes on." in case_of("message", reported).reports[0].details
    else:
        # the dismissal came first: the report opened a new case
        assert fresh(ReportCase, case_id).state == "resolved"
        assert case_of("message", reported).state == "open"
        assert case_of("message", reported).id != case_id
