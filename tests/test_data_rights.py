"""Data rights: the export of everything a member created (a ZIP with JSON, a calendar and a
README), and the deletion of an account — after which no personal data of the member is
left in any table, except what is kept on purpose (the audit log's copied names, content
under an unresolved report), partners are told without a name and signatures read
"former member" with their hashes unchanged. Runs on SQLite and PostgreSQL alike."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import icalendar
import pytest
from sqlalchemy import JSON, String, Text, select

from peerhub.accounts import data
from peerhub.accounts.models import Consent, User
from peerhub.calendar import service as calendars
from peerhub.errors import Invalid
from peerhub.extensions import db
from peerhub.intros import service as intros
from peerhub.intros.models import IntroRequest
from peerhub.journal import service as journal
from peerhub.matching.models import PairPause, pair_key
from peerhub.meetings import series as timeline
from peerhub.meetings import service as meetings
from peerhub.moderation.models import (
    Appeal,
    AuditEntry,
    ModerationAction,
    Report,
    ReportCase,
)
from peerhub.notifications.models import Notification, OutboxMail
from peerhub.profiles import service as profiles
from peerhub.profiles.models import Tag
from peerhub.tandems import progress
from peerhub.tandems.models import Signature, SuccessStory, Tandem
from tests.conftest import HX_PARTIAL, PASSWORD, make_user
from tests.intro_factories import NOW as INTRO_NOW
from tests.intro_factories import WINDOWS, ask, ready
from tests.profile_factories import fill_profile
from tests.records import kinds, mails
from tests.session_factories import FIRST, active_tandem

NAME = "Zephyrine Quillfeather"
EMAIL = "zephyrine@example.org"
WORD = "Xylophonique"  # in her profile, journal, messages, check-in and appeal only
TAG = "Quillcraftery"  # a tag nobody else uses
WHEN = FIRST + timedelta(hours=2)  # the first session is over
LATER = FIRST + timedelta(days=8)
GOALS = {
    "goal_title_0": "Lead meetings that end on time",
    "goal_key_0": "g1",
    "goal_title_1": "Say no kindly",
}
KINDS = (
    "account",
    "consents",
    "profile",
    "tags",
    "languages",
    "availability",
    "blocks",
    "matching",
    "intro_requests",
    "tandems",
    "agreements",
    "sessions",
    "session_feedback",
    "check_ins",
    "achievements",
    "success_stories",
    "journal",
    "calendar_feed",
    "notifications",
    "mails",
    "reports_filed",
    "moderation",
)


def user(persona) -> User:
    return db.session.get(User, persona.id)


@pytest.fixture
def zephyrine(app):
    return make_user(app, EMAIL, NAME, timezone="Europe/Berlin")


@pytest.fixture
def world(ctx, zephyrine, bob, carol, mallory, mod):
    """Zephyrine with one of everything: profile with a tag of her own, a consent, a tandem
    with Bob (signed; notes, attendance, feedback both ways, a check-in, a goal reached
    and Bob's story she agreed to), an intro request to Carol with messages both ways, a
    journal entry, a calendar feed, a block, a dismissed suggestion, a report she filed,
    an open report about her, a resolved one with a warning she appealed, and the audit
    entry of the warning. Bob has a journal entry of his own."""
    z = zephyrine
    fill_profile(
        ctx,
        z,
        headline=f"Curious about {WORD} and teams",
        about=f"I practise {WORD} every morning.",
        offers=(TAG,),
        windows=WINDOWS["Europe/Berlin"],
    )
    ready(ctx, bob, carol, mallory)
    db.session.add(Consent(user_id=z.id, purpose="privacy", policy_version="2026-11"))
    db.session.commit()
    tandem_id = active_tandem(ctx, z, bob, goals=GOALS)
    request_id = ask(ctx, z, carol, message=f"Hello Carol, shall we talk about {WORD}?")
    intros.post_message(user(z), request_id, f"My own words on {WORD}.")
    intros.post_message(user(carol), request_id, "Carol's answer: gladly, Carolsecretword.")
    slot = intros.request_for(user(carol), request_id).open_slots[0]
    intros.accept_time(user(carol), request_id, slot.id, now=INTRO_NOW)

    series_id = timeline.series_of(tandem_id)[0].id
    meetings.record_attendance(user(z), series_id, 0, [], now=WHEN)
    meetings.save_notes(user(z), series_id, 0, {"topic": "Shared topic of the day"}, 0, now=WHEN)
    meetings.give_feedback(user(z), series_id, 0, f"Bob's questions on {WORD}", "", now=WHEN)
    meetings.give_feedback(user(bob), series_id, 0, "Great questions", "More time", now=WHEN)
    check_in = progress.start_check_in(user(z), tandem_id, now=WHEN)
    ratings = {goal["key"]: 40 for goal in check_in.goals}
    progress.answer(user(z), check_in.id, ratings, f"{WORD} helped", "Less talk", now=WHEN)
    reached = progress.mark_reached(user(z), tandem_id, "goal", "g1", now=WHEN)
    story = progress.write_story(user(bob), reached.id, "We did it together.", True, now=WHEN)
    progress.consent(user(z), story.id, story.version, True, now=WHEN)
    journal.write(
        user(z), journal.new_token(), f"My {WORD} day", f"Dear journal, {WORD} again.", now=WHEN
    )
    journal.write(
        user(bob), journal.new_token(), "Bob's own", "Bobsecretword stays mine.", now=WHEN
    )
    calendars.new_token(user(z))
    profiles.block(user(z), mallory.id)
    low, high = pair_key(z.id, mod.id)
    db.session.add(
        PairPause(
            low_id=low,
            high_id=high,
            reason="dismissed",
            by_id=z.id,
            until=LATER + timedelta(days=90),
        )
    )

    filed = ReportCase(target_kind="profile", target_id=mallory.id, subject_id=mallory.id)
    filed.subject_name, filed.report_count = "Mallory", 1
    filed.reports.append(
        Report(reporter_id=z.id, category="spam", details="Sells things", snapshot={"h": "x"})
    )
    about_her = ReportCase(target_kind="member", target_id=z.id, subject_id=z.id)
    about_her.subject_name, about_her.report_count = NAME, 1
    about_her.reports.append(
        Report(
            reporter_id=mallory.id,
            category="harassment",
            details="Mallory's words",
            snapshot={"name": NAME, "headline": f"Curious about {WORD}"},
        )
    )
    resolved = ReportCase(target_kind="profile", target_id=z.id, subject_id=z.id)
    resolved.subject_name, resolved.state, resolved.report_count = NAME, "resolved", 1
    resolved.reports.append(
        Report(reporter_id=carol.id, category="other", snapshot={"headline": WORD})
    )
    db.session.add_all([filed, about_her, resolved])
    db.session.flush()
    warning = ModerationAction(
        kind="warn", subject_id=z.id, subject_name=NAME, moderator_id=mod.id, reason="Be kind"
    )
    db.session.add(warning)
    db.session.flush()
    resolved.action_id = warning.id
    db.session.add(Appeal(action_id=warning.id, user_id=z.id, text=f"I appeal: {WORD}"))
    db.session.add(
        AuditEntry(
            actor_id=mod.id,
            actor_name="Mo",
            action="warn",
            target_kind="member",
            target_id=z.id,
            target_name=NAME,
            reason="Be kind",
        )
    )
    db.session.commit()
    return {"tandem": tandem_id, "request": request_id, "story": story.id}


def _exported(persona, now=LATER) -> tuple[zipfile.ZipFile, dict]:
    archive = zipfile.ZipFile(io.BytesIO(data.export(user(persona), now)))
    return archive, json.loads(archive.read("peerhub-data.json"))


# --- export ------------------------------------------------------------------------------


def test_the_export_holds_every_kind_of_data_she_created(world, zephyrine):
    archive, exported = _exported(zephyrine)
    assert sorted(archive.namelist()) == ["README.txt", "peerhub-calendar.ics", "peerhub-data.json"]
    assert exported["format_version"] == data.FORMAT_VERSION
    assert exported["exported_at"].startswith("2026-12-23")
    for kind in KINDS:
        assert exported[kind], kind
    assert exported["account"]["email"] == EMAIL and exported["account"]["display_name"] == NAME
    assert WORD in exported["profile"]["headline"]
    assert exported["tags"]["offer"] == [TAG]
    assert exported["languages"] == ["de", "en"]
    assert exported["availability"][0]["start"] == "18:00"
    assert exported["blocks"] == [{"member": "Mallory", "since": exported["blocks"][0]["since"]}]
    assert exported["matching"]["suggestions_dismissed"][0]["member"] == "Mo"
    [intro] = exported["intro_requests"]
    assert intro["direction"] == "sent" and intro["other_member"] == "Carol"
    assert WORD in intro["message"] and intro["proposed_times"]
    assert [m["text"] for m in intro["messages"]["mine"]] == [f"My own words on {WORD}."]
    assert intro["messages"]["from_the_other_member"] == 1
    [tandem] = exported["tandems"]
    assert tandem["state"] == "active" and tandem["members"] == ["Bob"]
    [agreement] = exported["agreements"]
    assert agreement["versions"] and agreement["versions"][-1]["content"]["goals"]
    signed = agreement["my_signatures"][-1]
    assert signed["typed_name"] == NAME and len(signed["content_hash"]) == 64
    assert exported["sessions"]["notes_saved"][0]["notes"]["topic"] == "Shared topic of the day"
    assert exported["sessions"]["attendance_recorded"][0]["absent"] == []
    feedback = exported["session_feedback"]
    assert WORD in feedback["given"][0]["helped"]
    assert feedback["received"] == [feedback["received"][0]]
    assert feedback["received"][0]["from"] == "Bob" and feedback["received"][0]["wish"]
    assert exported["check_ins"][0]["helped"] == f"{WORD} helped"
    assert set(exported["check_ins"][0]["progress"].values()) == {40}
    assert exported["achievements"][0]["marked_by_me"] is True
    [story] = exported["success_stories"]
    assert story["written_by_me"] is False and story["my_consent"]["show_name"] is True
    assert story["published_at"]
    assert [e["title"] for e in exported["journal"]] == [f"My {WORD} day"]
    assert exported["calendar_feed"]["on"] is True and "token" not in str(exported)
    assert all(n["text"] for n in exported["notifications"])
    assert exported["reports_filed"] == [
        {
            "about": "profile",
            "category": "spam",
            "details": "Sells things",
            "created_at": exported["reports_filed"][0]["created_at"],
            "status": "open",
        }
    ]
    assert exported["moderation"]["actions"][0]["kind"] == "warn"
    assert WORD in exported["moderation"]["appeals"][0]["text"]
    assert exported["consents"][0]["policy_version"] == "2026-11"
    readme = archive.read("README.txt").decode("utf-8")
    assert "peerhub-data.json" in readme and "peerhub-calendar.ics" in readme


def test_the_export_keeps_others_private_data_out(world, zephyrine, bob, carol, mallory):
    archive, _exported_data = _exported(zephyrine)
    text = archive.read("peerhub-data.json").decode("utf-8")
    for secret in ("Bobsecretword", "Carolsecretword", bob.email, carol.email, "Mallory's words"):
        assert secret not in text
    # who else reported, and anything about the open report about her, stay out too
    assert "harassment" not in text and mallory.email not in text


def test_the_exported_calendar_parses_and_holds_sessions_and_the_call(world, zephyrine):
    archive, _exported_data = _exported(zephyrine)
    parsed = icalendar.Calendar.from_ical(archive.read("peerhub-calendar.ics"))
    events = [c for c in parsed.walk("VEVENT")]
    assert any("RRULE" in e for e in events)  # the tandem's series
    assert any("series" not in str(e["UID"]) for e in events)  # the intro call


def test_the_calendar_needs_no_feed_address(world, zephyrine):
    calendars.turn_off(user(zephyrine))
    archive, exported = _exported(zephyrine)
    assert exported["calendar_feed"] == {"on": False, "since": None}
    assert icalendar.Calendar.from_ical(archive.read("peerhub-calendar.ics")).walk("VEVENT")


def test_a_new_member_exports_almost_nothing_without_error(ctx, alice):
    _archive, exported = _exported(alice)
    assert exported["account"]["email"] == alice.email
    assert exported["profile"] == {} and exported["journal"] == [] and exported["tandems"] == []


def test_export_over_http_is_a_zip_answered_at_once(client, auth, world, zephyrine):
    auth.login(zephyrine)
    response = client.post("/settings/data/export")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert response.headers["Cache-Control"] == "no-store"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert archive.testzip() is None
    assert json.loads(archive.read("peerhub-data.json"))["account"]["email"] == EMAIL


def _stale_login(client) -> None:
    with client.session_transaction() as session:
        session["auth_at"] = 0


@pytest.mark.parametrize("headers", [{}, HX_PARTIAL])
def test_export_asks_for_the_password_after_a_while(client, auth, zephyrine, headers):
    auth.login(zephyrine)
    _stale_login(client)
    page = client.get("/settings").text
    assert 'id="settings-export"' in page and 'name="export_password"' in page
    wrong = client.post("/settings/data/export", data={"export_password": "nope"}, headers=headers)
    assert wrong.status_code == 422
    assert "Your current password is not correct." in wrong.text
    if headers:
        assert wrong.text.lstrip().startswith('<article id="settings-export">')
        assert "<html" not in wrong.text
    else:
        assert "<html" in wrong.text
    missing = client.post("/settings/data/export", headers=headers)
    assert missing.status_code == 422
    right = client.post("/settings/data/export", data={"export_password": PASSWORD})
    assert right.status_code == 200 and right.mimetype == "application/zip"
    # the password counts as a fresh login for the next minutes
    assert client.post("/settings/data/export").status_code == 200


def test_export_needs_a_login(client):
    response = client.post("/settings/data/export")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_settings_show_export_and_deletion(client, auth, zephyrine):
    auth.login(zephyrine)
    page = client.get("/settings").text
    assert 'id="settings-export"' in page and 'hx-boost="false"' in page
    assert 'id="settings-delete"' in page and 'name="delete_password"' in page


def test_the_privacy_notice_tells_how_to_export_and_delete(client):
    page = client.get("/privacy").text
    assert "Export and delete your data yourself" in page
    assert "How long we keep it" in page and "former member" in page


# --- deletion ----------------------------------------------------------------------------


def _needles(persona) -> list[str]:
    return [persona.email, NAME, WORD, TAG]


def _user_columns():
    """Every column that names a member: foreign keys to user_account, and the user_id
    half of composite keys (goal_rating)."""
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            to_user = any(fk.column.table.name == "user_account" for fk in column.foreign_keys)
            if to_user or (column.name == "user_id" and table.name != "user_account"):
                yield table, column


def _leftovers(persona) -> set[tuple[str, str, str]]:
    """(table, column, what) for every trace of the member in the whole database."""
    db.session.expire_all()
    found = set()
    needles = [n.casefold() for n in _needles(persona)]
    for table in db.metadata.sorted_tables:
        text_columns = [
            c for c in table.columns if isinstance(c.type, String | Text | JSON) or c.name == "id"
        ]
        for row in db.session.execute(select(*table.columns)).mappings():
            for column in text_columns:
                value = row[column.name]
                if value is None or isinstance(value, int):
                    continue
                flat = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                for needle in needles:
                    if needle in flat.casefold():
                        found.add((table.name, column.name, needle))
    for table, column in _user_columns():
        if db.session.scalar(select(column).where(column == persona.id).limit(1)) is not None:
            found.add((table.name, column.name, "id"))
    return found


# Kept on purpose (SECURITY.md 24, 27): the audit log copies names; what others reported
# about her stays while that report is unresolved.
EXCEPTIONS = {
    ("audit_entry", "target_name", NAME.casefold()),
    ("report_case", "subject_name", NAME.casefold()),
    ("report", "snapshot", NAME.casefold()),
    ("report", "snapshot", WORD.casefold()),
}


def test_after_deletion_no_personal_data_is_left_in_any_table(world, zephyrine):
    before = _leftovers(zephyrine)
    assert ("journal_entry", "body", WORD.casefold()) in before  # the walk finds her
    assert ("tag", "name", TAG.casefold()) in before
    data.delete_account(user(zephyrine), PASSWORD, True, LATER)
    db.session.remove()
    assert _leftovers(zephyrine) == EXCEPTIONS
    # the exceptions, one by one
    entry = db.session.scalar(select(AuditEntry))
    assert entry.target_name == NAME and entry.target_id == zephyrine.id
    open_case = db.session.scalar(
        select(ReportCase).where(ReportCase.state == "open", ReportCase.subject_name == NAME)
    )
    assert open_case.subject_id is None and open_case.reports[0].snapshot["name"] == NAME
    resolved = db.session.scalar(select(ReportCase).where(ReportCase.state == "resolved"))
    assert resolved.subject_name == data.FORMER_MEMBER and resolved.reports[0].snapshot == {}
    assert db.session.scalar(select(ModerationAction)).subject_name == data.FORMER_MEMBER
    assert db.session.scalar(select(Appeal)) is None  # pending: nobody left to answer


def test_deletion_ends_the_tandem_and_tells_bob_without_a_name(world, zephyrine, bob):
    data.delete_account(user(zephyrine), PASSWORD, True, LATER)
    db.session.remove()
    tandem = db.session.get(Tandem, world["tandem"])
    assert tandem.state == "ended" and tandem.end_reason == "circumstances"
    assert tandem.member_ids() == [bob.id] and tandem.ended_by_id is None
    assert kinds(bob.id)[-1] == "tandem_partner_gone"
    [mail] = [m for m in mails(bob.email) if m.template == "tandem_partner_gone"]
    assert "left PeerHub" in mail.text_body and NAME not in mail.text_body
    # Bob's older notifications that named her now say "a former member"
    texts = [n.params.get("name", "") for n in db.session.scalars(select(Notification))]
    assert NAME not in texts and "A former member" in texts
    # the story she agreed to (Bob's words) leaves the successes page; Bob's feedback stays
    story = db.session.get(SuccessStory, world["story"])
    assert story.published_at is None and story.consents and story.consents[0].user_id == bob.id


def test_her_signatures_read_former_member_and_keep_their_hash(world, zephyrine, bob):
    before = {
        s.id: (s.content_hash, s.version)
        for s in db.session.scalars(select(Signature).where(Signature.user_id == zephyrine.id))
    }
    data.delete_account(user(zephyrine), PASSWORD, True, LATER)
    db.session.remove()
    for signature_id, (digest, version) in before.items():
        signature = db.session.get(Signature, signature_id)
        assert signature.typed_name == data.FORMER_MEMBER and signature.user_id is None
        assert (signature.content_hash, signature.version) == (digest, version)
    assert {s.typed_name for s in db.session.scalars(select(Signature))} == {
        "Bob",
        data.FORMER_MEMBER,
    }


def test_carols_request_closes_and_she_is_told(world, zephyrine, carol):
    data.delete_account(user(zephyrine), PASSWORD, True, LATER)
    db.session.remove()
    assert db.session.get(IntroRequest, world["request"]) is None
    assert kinds(carol.id)[-1] == "intro_partner_gone"
    assert not [m for m in mails(carol.email) if NAME in m.text_body]


def test_the_partners_pages_show_a_former_member(app, world, zephyrine, bob):
    data.delete_account(user(zephyrine), PASSWORD, True, LATER)
    db.session.remove()
    client = app.test_client()
    client.post("/login", data={"email": bob.email, "password": PASSWORD})
    tandem_id = world["tandem"]
    pages = ("", "/agreement", "/agreement/history", "/agreement/print", "/sessions", "/check-ins")
    for path in (*pages, "/review"):
        response = client.get(f"/tandems/{tandem_id}{path}")
        assert response.status_code == 200, path
        assert NAME not in response.text, path
    history = client.get(f"/tandems/{tandem_id}/agreement/history").text
    assert "Former member" in history
    session = client.get(f"/sessions/{timeline.series_of(tandem_id)[0].id}/0")
    assert session.status_code == 200 and "Shared topic of the day" in session.text
    assert WORD not in session.text  # her feedback went
    notifications = client.get("/notifications/")
    assert notifications.status_code == 200
    assert NAME not in notifications.text and "A former member" in notifications.text
    assert client.get("/successes").status_code == 200


def test_a_group_goes_on_without_her(ctx, zephyrine, bob, carol):
    ready(ctx, zephyrine, bob, carol)
    group_id = active_tandem(ctx, zephyrine, bob, carol)
    data.delete_account(user(zephyrine), PASSWORD, True, LATER)
    db.session.remove()
    group = db.session.get(Tandem, group_id)
    assert group.state == "active" and sorted(group.member_ids()) == sorted([bob.id, carol.id])
    assert kinds(bob.id)[-1] == kinds(carol.id)[-1] == "tandem_member_gone"


def test_deletion_needs_the_password_and_the_tick(world, zephyrine):
    with pytest.raises(Invalid, match="password is not correct"):
        data.delete_account(user(zephyrine), "not my password", True, LATER)
    with pytest.raises(Invalid, match="Please confirm"):
        data.delete_account(user(zephyrine), PASSWORD, False, LATER)
    assert user(zephyrine) is not None


def test_a_failing_deletion_changes_nothing(world, zephyrine, monkeypatch):
    def broken(me):
        raise RuntimeError("injected")

    monkeypatch.setattr(data, "_delete_unused_tags", broken)
    with pytest.raises(RuntimeError):
        data.delete_account(user(zephyrine), PASSWORD, True, LATER)
    db.session.remove()
    assert user(zephyrine) is not None
    assert db.session.get(Tandem, world["tandem"]).state == "active"
    assert db.session.scalar(select(Signature.typed_name).where(Signature.user_id == zephyrine.id))
    assert db.session.scalar(select(Tag).where(Tag.name == TAG)) is not None


@pytest.mark.parametrize("headers", [{}, HX_PARTIAL])
def test_delete_over_http_refuses_without_password_or_tick(app, client, auth, zephyrine, headers):
    auth.login(zephyrine)
    wrong = client.post(
        "/settings/delete", data={"delete_password": "nope", "confirm": "y"}, headers=headers
    )
    assert wrong.status_code == 422 and "Your current password is not correct." in wrong.text
    unticked = client.post("/settings/delete", data={"delete_password": PASSWORD}, headers=headers)
    assert unticked.status_code == 422 and "Please confirm" in unticked.text
    if headers:
        assert unticked.text.lstrip().startswith('<article id="settings-delete"')
        assert "<html" not in unticked.text
    with app.app_context():
        assert db.session.get(User, zephyrine.id) is not None


@pytest.mark.parametrize("headers", [{}, HX_PARTIAL])
def test_delete_over_http_logs_out_everywhere(app, client, auth, zephyrine, outbox, headers):
    phone = app.test_client()
    auth.login(zephyrine, remember=True, client=phone)
    auth.login(zephyrine)
    response = client.post(
        "/settings/delete", data={"delete_password": PASSWORD, "confirm": "y"}, headers=headers
    )
    if headers:
        assert response.status_code == 200 and response.headers["HX-Redirect"] == "/"
    else:
        assert response.status_code == 303 and response.headers["Location"] == "/"
    assert "Your account and your data are deleted" in client.get("/").text
    assert client.get("/settings").status_code == 302
    assert phone.get("/settings").status_code == 302
    login = client.post("/login", data={"email": EMAIL, "password": PASSWORD})
    assert login.status_code == 422
    with app.app_context():
        assert db.session.get(User, zephyrine.id) is None
        assert not db.session.scalars(select(OutboxMail).where(OutboxMail.recipient == EMAIL)).all()


def test_delete_needs_a_login(client):
    response = client.post("/settings/delete", data={"delete_password": PASSWORD, "confirm": "y"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
