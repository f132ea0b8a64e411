"""Tandems and agreements without HTTP: forming, saving sections, signing, coming into force,
the series, ending, the end of the term, invitations, groups and capacity.

Every state machine has a test for each illegal transition; times are passed as `now`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from peerhub.accounts.models import User
from peerhub.errors import Conflict, Invalid, NotFound
from peerhub.extensions import db
from peerhub.matching import service as matching
from peerhub.matching.models import MatchingRound, Proposal, ProposalMember
from peerhub.meetings.models import Series
from peerhub.meetings.occurrences import occurrences
from peerhub.profiles.models import Block, Profile
from peerhub.tandems import agreement as texts
from peerhub.tandems import service
from peerhub.tandems.models import (
    Agreement,
    AgreementVersion,
    Signature,
    Tandem,
    TandemInvitation,
    TandemMember,
)
from tests.conftest import make_user
from tests.intro_factories import ready
from tests.records import kinds as _kinds
from tests.records import mails as _mails

# A Monday in winter: the first draft's term runs from the next Monday for three months,
# and Alice (Berlin) and Bob (New York) are both free on Tuesdays at 18:00 in Berlin.
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
TERM_START, TERM_END = date(2026, 12, 14), date(2027, 3, 13)
LAST_TWO_WEEKS = datetime(2027, 3, 5, 9, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")

# A valid change of every section, as the section's form sends it.
CHANGES = {
    "goals": {"goal_title_0": "Speak up in meetings", "goal_measure_0": "Twice a week"},
    "milestones": {"milestone_title_0": "A first talk", "milestone_target_0": "2027-01-20"},
    "rhythm": {
        "frequency": "biweekly",
        "weekday": "3",
        "start": "19:30",
        "zone": "Europe/Berlin",
        "length": "90",
    },
    "term": {"start": "2026-12-21", "end": "2027-04-30"},
    "place": {"mode": "in_person", "detail": "Café Kranzler"},
    "structure": {"plan": "Check-in, one topic, next steps.", "methods": ""},
    "rules": {"text": "We let each other finish."},
    "confidentiality": {"text": "Nothing leaves the room."},
    "feedback": {"text": "Specific, kind, and asked for."},
    "cancellation": {
        "notice_hours": "12",
        "no_show": "Ten minutes without a word is a no-show.",
        "no_show_limit": "3",
        "repeated": "We talk about it.",
    },
    "review": {"every_weeks": "6"},
}


def user(persona) -> User:
    return db.session.get(User, persona.id)


def _tandem(tandem_id: int) -> Tandem:
    return db.session.get(Tandem, tandem_id, populate_existing=True)


def _agreement(tandem_id: int) -> Agreement:
    return service.agreement_of(_tandem(tandem_id))


def _status(tandem_id: int) -> service.AgreementStatus:
    tandem = _tandem(tandem_id)
    return service.status_of(tandem, service.agreement_of(tandem))


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def save(persona, tandem_id: int, section: str, data=None, base=None, now=NOW) -> Agreement:
    """`persona` saves a section, by default on the latest version."""
    base = _agreement(tandem_id).version if base is None else base
    data = CHANGES[section] if data is None else data
    return service.save_section(user(persona), tandem_id, section, data, base, now=now)


def sign(persona, tandem_id: int, version=None, now=NOW) -> Signature:
    """`persona` signs (by default the latest version) with their name, confirmed."""
    version = _agreement(tandem_id).version if version is None else version
    return service.sign(user(persona), tandem_id, version, persona.name, True, now=now)


def start(*personas, now=NOW) -> int:
    tandem = service.start_tandem([p.id for p in personas], now=now)
    db.session.commit()
    return tandem.id


def _ready(app, *personas) -> None:
    db.session.rollback()  # end the test's read, so this write need not wait for it
    ready(app, *personas)


def member(app, email: str, name: str, **profile):
    """A further member with a complete open profile."""
    db.session.rollback()
    persona = make_user(app, email, name)
    ready(app, persona, **profile)
    return persona


def full(app, persona, *others) -> int:
    """`persona` is at capacity 1 and in an active tandem with `others`."""
    db.session.get(Profile, persona.id).capacity = 1
    tandem = Tandem(state="active")
    tandem.members = [TandemMember(user_id=p.id) for p in (persona, *others)]
    db.session.add(tandem)
    db.session.commit()
    return tandem.id


@pytest.fixture
def pair(app, alice, bob):
    ready(app, alice, bob)
    return alice, bob


@pytest.fixture
def tandem_id(ctx, pair) -> int:
    """A forming tandem of Alice and Bob with PeerHub's first draft (version 1)."""
    return start(*pair)


@pytest.fixture
def active_id(ctx, pair, tandem_id) -> int:
    """The same tandem, active: both signed version 1 on NOW."""
    for persona in pair:
        sign(persona, tandem_id)
    return tandem_id


# --- forming -------------------------------------------------------------------------------


def test_a_new_tandem_is_forming_with_a_first_draft_as_version_1(ctx, pair, tandem_id):
    alice, bob = pair
    tandem = _tandem(tandem_id)
    agreement = service.agreement_of(tandem)
    assert tandem.state == "forming" and tandem.member_ids() == [alice.id, bob.id]
    assert agreement.version == 1 and agreement.in_force_version is None
    content = agreement.content
    assert content["goals"][0] == {
        "key": "g1",
        "title": "Lead meetings that end on time",
        "measure": "",
    }
    # the first Tuesday hour both are free, in the first member's zone
    assert content["rhythm"] == {
        "frequency": "weekly",
        "weekday": 1,
        "start": "18:00",
        "zone": "Europe/Berlin",
        "length": 60,
    }
    assert content["term"] == {"start": TERM_START.isoformat(), "end": TERM_END.isoformat()}
    assert set(content) == set(texts.SECTIONS) == set(CHANGES)
    [version] = service.versions_of(agreement)
    assert version.number == 1 and version.changed_section is None
    assert json.loads(version.canonical) == content
    status = _status(tandem_id)
    assert status.signed == [] and status.missing == [alice.id, bob.id]
    assert service.next_sessions(tandem, now=NOW) == []
    assert service.binding_count(alice.id) == service.binding_count(bob.id) == 1


# --- saving a section ----------------------------------------------------------------------


@pytest.mark.parametrize("section", texts.SECTIONS)
def test_every_content_change_invalidates_the_signatures(ctx, pair, tandem_id, section):
    alice, bob = pair
    sign(alice, tandem_id)
    assert [s.user_id for s in _status(tandem_id).signed] == [alice.id]
    saved = save(bob, tandem_id, section)
    assert saved.version == 2
    agreement = _agreement(tandem_id)
    assert agreement.content[section] != service.version_content(agreement, 1)[section]
    assert agreement.updated_by_id == bob.id
    status = _status(tandem_id)
    assert status.version == 2 and status.signed == [] and status.missing == [alice.id, bob.id]
    assert agreement.in_force_version is None and _tandem(tandem_id).state == "forming"
    # Alice's signature stays on the version she signed, and counts for nothing newer
    [old] = service.signatures_of(agreement)
    assert old.version == 1 and old.user_id == alice.id
    versions = service.versions_of(agreement)
    assert [(v.number, v.changed_section, v.created_by_id) for v in versions] == [
        (1, None, None),
        (2, section, bob.id),
    ]
    assert _kinds(alice.id)[-1] == "agreement_changed"
    assert "agreement_changed" not in _kinds(bob.id)


def test_a_stale_save_of_the_same_section_keeps_both_texts_and_saves_nothing(ctx, pair, tandem_id):
    alice, bob = pair
    save(bob, tandem_id, "rules", {"text": "Bob's rules."}, base=1)
    with pytest.raises(service.StaleSave) as raised:
        save(alice, tandem_id, "rules", {"text": "Alice's rules."}, base=1)
    stale = raised.value
    assert stale.status == 409 and stale.section == "rules"
    assert stale.theirs == {"text": "Bob's rules."} and stale.yours == {"text": "Alice's rules."}
    assert stale.version == 2 and stale.by == "Bob"
    assert "Bob changed this section while you were editing" in stale.message
    agreement = _agreement(tandem_id)
    assert agreement.version == 2 and agreement.content["rules"] == {"text": "Bob's rules."}
    assert _count(AgreementVersion) == 2
    # saving her words again, now based on what she has seen, replaces his
    assert save(alice, tandem_id, "rules", {"text": "Alice's rules."}, base=2).version == 3


def test_a_stale_save_names_who_changed_that_section(ctx, pair, tandem_id):
    alice, bob = pair
    save(bob, tandem_id, "rules", {"text": "Bob's rules."}, base=1)
    save(alice, tandem_id, "feedback", {"text": "Alice's feedback."}, base=2)
    # Alice's other tab still shows version 1: Bob changed the rules, not she
    with pytest.raises(service.StaleSave) as raised:
        save(alice, tandem_id, "rules", {"text": "Alice's rules."}, base=1)
    assert raised.value.by == "Bob" and raised.value.version == 3
    assert raised.value.message.startswith("Bob changed this section")


def test_a_change_of_another_section_meanwhile_is_kept(ctx, pair, tandem_id):
    alice, bob = pair
    save(bob, tandem_id, "rules", {"text": "Bob's rules."}, base=1)
    saved = save(alice, tandem_id, "feedback", {"text": "Alice's feedback."}, base=1)
    assert saved.version == 3
    content = _agreement(tandem_id).content
    assert content["rules"] == {"text": "Bob's rules."}
    assert content["feedback"] == {"text": "Alice's feedback."}


def test_saving_the_same_words_makes_no_new_version(ctx, pair, tandem_id):
    alice, bob = pair
    current = _agreement(tandem_id).content["rules"]["text"]
    sign(bob, tandem_id)
    assert save(alice, tandem_id, "rules", {"text": f"  {current}\r\n"}).version == 1
    assert _count(AgreementVersion) == 1 and _kinds(bob.id) == []
    assert [s.user_id for s in _status(tandem_id).signed] == [bob.id]
    # the same words the other member saved meanwhile are no conflict either
    save(bob, tandem_id, "rules", {"text": "Same words."}, base=1)
    assert save(alice, tandem_id, "rules", {"text": "Same words."}, base=1).version == 2
    assert _count(AgreementVersion) == 2


def test_a_save_on_a_version_that_does_not_exist_is_stale(ctx, pair, tandem_id):
    alice, _bob = pair
    with pytest.raises(service.StaleSave):
        save(alice, tandem_id, "rules", base=99)
    with pytest.raises(service.StaleSave):
        save(alice, tandem_id, "rules", base=0)
    assert _agreement(tandem_id).version == 1


def test_goals_keep_their_keys_and_new_goals_get_new_ones(ctx, pair, tandem_id):
    alice, _bob = pair
    save(
        alice,
        tandem_id,
        "goals",
        {
            "goal_key_0": "g1",
            "goal_title_0": "Lead meetings that end on time",
            "goal_key_1": "<script>",
            "goal_title_1": "Say no more often",
        },
    )
    goals = _agreement(tandem_id).content["goals"]
    # the draft had g1 (both profiles name the same goal: it is there once); a forged key
    # is replaced by a new random one
    assert [g["title"] for g in goals] == ["Lead meetings that end on time", "Say no more often"]
    kept, new = goals[0]["key"], goals[1]["key"]
    assert kept == "g1" and new.startswith("g-") and len(new) == 10
    # the new goal keeps its key; a removed key never comes back for another goal
    save(
        alice,
        tandem_id,
        "goals",
        {"goal_key_0": new, "goal_title_0": "Say no more often", "goal_title_1": "Rest"},
        base=2,
    )
    save(
        alice,
        tandem_id,
        "goals",
        {
            "goal_key_0": new,
            "goal_title_0": "Say no more often",
            "goal_key_1": "g1",
            "goal_title_1": "Rest more",
        },
        base=3,
    )
    keys = [g["key"] for g in _agreement(tandem_id).content["goals"]]
    assert keys[0] == new and keys[1] not in ("g1", new)


@pytest.mark.parametrize(
    "section, data, field",
    [
        ("goals", {}, "goal_title_0"),
        ("goals", {"goal_measure_1": "but no title"}, "goal_title_1"),
        (
            "milestones",
            {"milestone_title_0": "x", "milestone_target_0": "soon"},
            "milestone_target_0",
        ),
        ("rhythm", {**CHANGES["rhythm"], "zone": "Mars/Olympus"}, "zone"),
        ("rhythm", {**CHANGES["rhythm"], "start": "25:00"}, "start"),
        ("rhythm", {**CHANGES["rhythm"], "length": "75"}, "length"),
        ("term", {"start": "2027-01-10", "end": "2027-01-01"}, "end"),
        ("term", {"start": "2027-01-10", "end": "2027-01-20"}, "end"),
        ("term", {"start": "2026-12-01", "end": "2027-03-01"}, "start"),
        ("place", {"mode": "in_person", "detail": ""}, "detail"),
        ("place", {"mode": "video", "detail": "javascript:alert(1)"}, "detail"),
        ("structure", {"plan": " "}, "plan"),
        ("rules", {"text": "   "}, "text"),
        ("feedback", {"text": "x" * 2001}, "text"),
        ("cancellation", {**CHANGES["cancellation"], "notice_hours": "0"}, "notice_hours"),
        ("review", {"every_weeks": "1"}, "every_weeks"),
        ("signatures", {"text": "x"}, "section"),
    ],
)
def test_bad_input_is_invalid_and_saves_nothing(ctx, pair, tandem_id, section, data, field):
    alice, _bob = pair
    with pytest.raises(Invalid) as raised:
        save(alice, tandem_id, section, data)
    assert raised.value.field == field and raised.value.status == 422
    assert _agreement(tandem_id).version == 1 and _count(AgreementVersion) == 1


def test_a_term_that_began_may_keep_its_start_but_not_move_it_into_the_past(ctx, pair, active_id):
    alice, _bob = pair
    later = datetime(2027, 1, 7, 9, 0, tzinfo=UTC)
    kept = {"start": TERM_START.isoformat(), "end": "2027-04-30"}
    assert save(alice, active_id, "term", kept, now=later).version == 2
    with pytest.raises(Invalid, match="past"):
        save(alice, active_id, "term", {"start": "2026-12-20", "end": "2027-04-30"}, now=later)


def test_an_error_after_the_first_write_leaves_nothing_behind(ctx, pair, tandem_id, monkeypatch):
    alice, bob = pair
    sign(alice, tandem_id)

    def broken(*args, **kwargs):
        raise RuntimeError("mail template broke")

    monkeypatch.setattr(service, "_tell", broken)
    with pytest.raises(RuntimeError):
        save(alice, tandem_id, "rules")
    assert _agreement(tandem_id).version == 1 and _count(AgreementVersion) == 1
    with pytest.raises(RuntimeError):  # the signature that would bring it into force
        sign(bob, tandem_id)
    assert _count(Signature) == 1 and _count(Series) == 0
    assert _tandem(tandem_id).state == "forming"


# --- signing ----------------------------------------------------------------------------------


def test_signing_an_old_version_is_a_conflict(ctx, pair, tandem_id):
    alice, bob = pair
    save(alice, tandem_id, "rules")
    with pytest.raises(Conflict, match="changed since you read it"):
        sign(bob, tandem_id, version=1)
    with pytest.raises(Conflict):
        sign(bob, tandem_id, version=3)
    assert _count(Signature) == 0


@pytest.mark.parametrize(
    "typed, confirmed, field",
    [("Alicia", True, "full_name"), ("", True, "full_name"), ("Alice", False, "confirm")],
)
def test_signing_needs_the_name_as_shown_and_a_confirmation(
    ctx, pair, tandem_id, typed, confirmed, field
):
    alice, _bob = pair
    with pytest.raises(Invalid) as raised:
        service.sign(user(alice), tandem_id, 1, typed, confirmed, now=NOW)
    assert raised.value.field == field
    assert _count(Signature) == 0


def test_the_name_is_compared_without_case_and_extra_spaces(ctx, pair, tandem_id):
    alice, bob = pair
    service.sign(user(alice), tandem_id, 1, "  aLiCe ", True, now=NOW)
    [signature] = service.signatures_of(_agreement(tandem_id))
    assert signature.typed_name == "aLiCe" and signature.signed_at == NOW
    assert _kinds(bob.id) == ["agreement_signed"] and _mails(bob.email) == []


def test_signing_twice_is_harmless(ctx, pair, tandem_id):
    alice, bob = pair
    first = sign(alice, tandem_id)
    assert sign(alice, tandem_id).id == first.id
    assert _count(Signature) == 1 and _kinds(bob.id) == ["agreement_signed"]


def test_the_signature_records_the_sha256_of_the_versions_canonical_text(ctx, pair, tandem_id):
    alice, bob = pair
    save(alice, tandem_id, "place", {"mode": "in_person", "detail": "Café Kranzler – Ecke"})
    sign(bob, tandem_id)
    agreement = _agreement(tandem_id)
    [signature] = service.signatures_of(agreement)
    version = service.versions_of(agreement)[-1]
    digest = hashlib.sha256(version.canonical.encode("utf-8")).hexdigest()
    assert signature.content_hash == version.content_hash == digest
    assert version.canonical == json.dumps(
        agreement.content, sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    assert "Café Kranzler – Ecke" in version.canonical  # UTF-8 as it is
    assert signature.content_hash != service.versions_of(agreement)[0].content_hash


def test_the_database_refuses_to_update_a_version(ctx, tandem_id):
    before = db.session.scalar(select(AgreementVersion.canonical))
    with pytest.raises(DBAPIError, match="agreement versions never change"):
        db.session.execute(text("UPDATE agreement_version SET canonical = '{}'"))
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(select(AgreementVersion.canonical)) == before


# --- coming into force --------------------------------------------------------------------------


def test_when_both_sign_the_agreement_comes_into_force_with_its_series(ctx, app, pair, tandem_id):
    alice, bob = pair
    sign(alice, tandem_id)
    assert _tandem(tandem_id).state == "forming" and _count(Series) == 0
    sign(bob, tandem_id, now=NOW + timedelta(hours=1))
    tandem = _tandem(tandem_id)
    agreement = service.agreement_of(tandem)
    assert tandem.state == "active" and tandem.activated_at == NOW + timedelta(hours=1)
    assert agreement.in_force_version == 1 and _status(tandem_id).complete
    [series] = service.series_of(tandem)
    assert (series.weekday, series.start_minute, series.zone) == (1, 18 * 60, "Europe/Berlin")
    assert (series.interval_weeks, series.length_minutes, series.state) == (1, 60, "active")
    assert (series.starts_on, series.ends_on, series.agreement_version) == (
        TERM_START,
        TERM_END,
        1,
    )
    assert tandem.next_check_in_on == TERM_START + timedelta(weeks=4)
    sessions = service.next_sessions(tandem, now=NOW)
    assert [s.occurrence.start for s in sessions] == [
        datetime(2026, 12, day, 17, 0, tzinfo=UTC) for day in (15, 22, 29)
    ] + [datetime(2027, 1, 5, 17, 0, tzinfo=UTC)]
    assert all(s.case_giver_id is None and s.moderator_id is None for s in sessions)
    for persona in pair:
        assert _kinds(persona.id)[-1] == "tandem_active"
        assert _mails(persona.email)[-1].template == "tandem_active"
    # a tandem takes a place of each member's capacity while it is forming or active
    assert service.binding_count(alice.id) == 1 and service.has_room(alice.id)


def test_the_series_keeps_its_local_time_across_daylight_saving(ctx, pair, tandem_id):
    alice, bob = pair
    save(alice, tandem_id, "term", {"start": "2027-03-01", "end": "2027-05-31"})
    sign(alice, tandem_id)
    sign(bob, tandem_id)
    [series] = service.series_of(_tandem(tandem_id))
    starts = [o.start for o in occurrences(series)]
    assert starts[0] == datetime(2027, 3, 2, 17, 0, tzinfo=UTC)
    assert all(s.astimezone(BERLIN).hour == 18 and s.weekday() == 1 for s in starts)
    # Europe changes to summer time on 28 March 2027: 18:00 in Berlin is 16:00 UTC then
    assert {s.hour for s in starts if s < datetime(2027, 3, 28, tzinfo=UTC)} == {17}
    assert {s.hour for s in starts if s > datetime(2027, 3, 28, tzinfo=UTC)} == {16}
    assert starts[-1] == datetime(2027, 5, 25, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "zone, clock",
    # Tokyo's Tuesday 07:00 is Monday 22:00 UTC: the series' dates are local ones
    [("Europe/Berlin", "18:00"), ("Asia/Tokyo", "07:00")],
)
def test_a_new_rhythm_ends_the_old_series_before_its_next_session_and_keeps_the_past(
    ctx, pair, tandem_id, zone, clock
):
    alice, bob = pair
    rhythm = {"frequency": "weekly", "weekday": "1", "start": clock, "zone": zone, "length": "60"}
    save(alice, tandem_id, "rhythm", rhythm)
    for persona in pair:
        sign(persona, tandem_id)
    [old] = service.series_of(_tandem(tandem_id))
    later = datetime(2027, 1, 7, 9, 0, tzinfo=UTC)  # a Thursday; four Tuesdays were held
    held = [o for o in occurrences(old) if o.start <= later]
    assert len(held) == 4

    thursday = {**rhythm, "weekday": "3", "start": "19:00", "zone": "Europe/Berlin"}
    save(bob, tandem_id, "rhythm", thursday, now=later)
    # until everyone signs, the version in force keeps the sessions as they were
    tandem = _tandem(tandem_id)
    assert [s.series.id for s in service.next_sessions(tandem, now=later)] == [old.id] * 4
    for persona in pair:
        sign(persona, tandem_id, now=later)

    tandem = _tandem(tandem_id)
    old_series, new = service.series_of(tandem)
    assert old_series.id == old.id and old_series.state == "ended"
    assert old_series.sequence == 1
    assert [o.start for o in occurrences(old_series)] == [o.start for o in held]
    assert new.state == "active" and new.agreement_version == _agreement(tandem_id).version
    assert (new.weekday, new.start_minute, new.zone) == (3, 19 * 60, "Europe/Berlin")
    assert (new.starts_on, new.ends_on) == (later.date(), TERM_END)
    sessions = service.next_sessions(tandem, now=later)
    assert {s.series.id for s in sessions} == {new.id}
    assert sessions[0].occurrence.start == datetime(2027, 1, 7, 18, 0, tzinfo=UTC)
    assert _kinds(alice.id)[-1] == _kinds(bob.id)[-1] == "agreement_in_force"


def test_a_change_that_keeps_rhythm_and_term_keeps_the_series(ctx, pair, active_id):
    alice, _bob = pair
    [before] = service.series_of(_tandem(active_id))
    later = datetime(2027, 1, 7, 9, 0, tzinfo=UTC)
    save(alice, active_id, "rules", now=later)
    # the change needs everyone's signature again; version 1 stays in force until then
    status = _status(active_id)
    assert status.version == 2 and status.in_force == 1 and len(status.missing) == 2
    assert _tandem(active_id).state == "active"
    for persona in pair:
        sign(persona, active_id, now=later)
    assert _agreement(active_id).in_force_version == 2
    [after] = service.series_of(_tandem(active_id))
    assert after.id == before.id and after.state == "active" and after.sequence == 0
    assert (after.starts_on, after.ends_on, after.agreement_version) == (TERM_START, TERM_END, 2)


# --- ending early -------------------------------------------------------------------------------


def test_ending_early_cancels_the_future_and_keeps_the_past(ctx, app, pair, active_id):
    alice, bob = pair
    carol = member(app, "carol2@example.org", "Carla")
    invitation = service.invite(user(alice), active_id, carol.id, now=NOW)
    later = datetime(2027, 1, 7, 9, 0, tzinfo=UTC)
    [series] = service.series_of(_tandem(active_id))
    held = [o.start for o in occurrences(series) if o.start <= later]

    service.end_early(user(bob), active_id, "no_time", "  Thank you, Alice!  ", now=later)

    tandem = _tandem(active_id)
    assert tandem.state == "ended" and tandem.ended_at == later
    assert tandem.ended_by_id == bob.id and tandem.end_reason == "no_time"
    assert next(m for m in tandem.members if m.user_id == bob.id).note == "Thank you, Alice!"
    [series] = service.series_of(tandem)
    assert series.state == "ended" and series.ends_on == date(2027, 1, 5)
    assert [o.start for o in occurrences(series)] == held
    assert service.next_sessions(tandem, now=later) == []
    assert db.session.get(TandemInvitation, invitation.id).state == "withdrawn"
    assert _kinds(alice.id)[-1] == "tandem_ended" and "tandem_ended" not in _kinds(bob.id)
    mail = _mails(alice.email)[-1]
    assert mail.template == "tandem_ended" and "> Thank you, Alice!" in mail.text_body
    assert service.binding_count(alice.id) == 0  # the place is free again
    # ending again is harmless and tells nobody twice
    service.end_early(user(alice), active_id, "other", now=later)
    assert _tandem(active_id).ended_by_id == bob.id
    assert _kinds(bob.id).count("tandem_ended") == 0


def test_ending_before_the_first_session_drops_the_series(ctx, pair, active_id):
    alice, _bob = pair
    service.end_early(user(alice), active_id, "circumstances", now=NOW + timedelta(days=1))
    [series] = service.series_of(_tandem(active_id))
    # never met: the whole series is called off, and it has no sessions at all
    assert series.state == "cancelled"
    assert list(occurrences(series)) == []


def test_a_forming_tandem_can_end_too(ctx, pair, tandem_id):
    alice, _bob = pair
    service.end_early(user(alice), tandem_id, "not_working", now=NOW)
    assert _tandem(tandem_id).state == "ended" and _count(Series) == 0


def test_ending_needs_a_reason_and_a_short_note(ctx, pair, tandem_id):
    alice, _bob = pair
    with pytest.raises(Invalid, match="reason"):
        service.end_early(user(alice), tandem_id, "bored", now=NOW)
    with pytest.raises(Invalid, match="1000"):
        service.end_early(user(alice), tandem_id, "other", "x" * 1001, now=NOW)
    assert _tandem(tandem_id).state == "forming"


def test_nothing_changes_after_the_end(ctx, app, pair, active_id):
    alice, bob = pair
    carol = member(app, "carol2@example.org", "Carla")
    service.end_early(user(alice), active_id, "other", now=NOW)
    with pytest.raises(Conflict, match="ended"):
        save(bob, active_id, "rules")
    with pytest.raises(Conflict, match="ended"):
        sign(bob, active_id)
    with pytest.raises(Conflict, match="ended"):
        service.invite(user(bob), active_id, carol.id, now=NOW)
    with pytest.raises(Conflict, match="last two weeks"):
        service.choose_at_term_end(user(bob), active_id, "continue", now=LAST_TWO_WEEKS)
    assert _agreement(active_id).version == 1 and _count(TandemInvitation) == 0


# --- the end of the term --------------------------------------------------------------------


def test_the_term_choice_waits_for_the_last_two_weeks(ctx, pair, tandem_id):
    alice, _bob = pair
    with pytest.raises(Conflict, match="last two weeks"):  # still forming
        service.choose_at_term_end(user(alice), tandem_id, "complete", now=LAST_TWO_WEEKS)
    for persona in pair:
        sign(persona, tandem_id)
    too_soon = datetime(2027, 2, 26, 9, 0, tzinfo=UTC)  # 15 days before the end
    with pytest.raises(Conflict, match="last two weeks"):
        service.choose_at_term_end(user(alice), tandem_id, "complete", now=too_soon)
    with pytest.raises(Invalid):
        service.choose_at_term_end(user(alice), tandem_id, "pause", now=LAST_TWO_WEEKS)
    with pytest.raises(Invalid, match="1000"):
        service.choose_at_term_end(user(alice), tandem_id, "complete", "x" * 1001, LAST_TWO_WEEKS)
    assert all(m.term_choice is None for m in _tandem(tandem_id).members)
    service.choose_at_term_end(user(alice), tandem_id, "complete", now=too_soon + timedelta(days=1))


def test_completing_needs_everyones_complete(ctx, pair, active_id):
    alice, bob = pair
    service.choose_at_term_end(user(alice), active_id, "complete", "Thank you!", LAST_TWO_WEEKS)
    tandem = _tandem(active_id)
    assert tandem.state == "active"
    assert _kinds(bob.id)[-1] == "term_complete"
    assert "> Thank you!" in _mails(bob.email)[-1].text_body
    service.choose_at_term_end(user(bob), active_id, "continue", now=LAST_TWO_WEEKS)
    assert _tandem(active_id).state == "active"
    service.choose_at_term_end(user(bob), active_id, "complete", now=LAST_TWO_WEEKS)
    tandem = _tandem(active_id)
    assert tandem.state == "completed" and tandem.ended_at == LAST_TWO_WEEKS
    # the sessions left in the term still take place: the series ends with the term in force
    [series] = service.series_of(tandem)
    agreement = _agreement(active_id)
    in_force = service.version_content(agreement, agreement.in_force_version)
    assert series.state == "active" and series.ends_on == texts.term_dates(in_force)[1]
    left = service.next_sessions(tandem, now=LAST_TWO_WEEKS)
    assert left and all(s.occurrence.start.date() <= series.ends_on for s in left)
    for persona in pair:
        assert _kinds(persona.id)[-1] == "tandem_completed"
    with pytest.raises(Conflict):
        service.choose_at_term_end(user(alice), active_id, "continue", now=LAST_TWO_WEEKS)
    with pytest.raises(Conflict, match="completed"):
        service.end_early(user(alice), active_id, "other", now=LAST_TWO_WEEKS)
    with pytest.raises(Conflict):
        save(alice, active_id, "rules", now=LAST_TWO_WEEKS)


def test_continuing_drafts_the_next_term_and_everyone_can_still_choose(ctx, pair, active_id):
    alice, bob = pair
    service.choose_at_term_end(user(alice), active_id, "continue", now=LAST_TWO_WEEKS)
    agreement = _agreement(active_id)
    assert agreement.version == 2 and agreement.in_force_version == 1
    assert agreement.content["term"] == {"start": "2027-03-14", "end": "2027-06-11"}
    assert service.versions_of(agreement)[-1].changed_section == "term"
    assert _kinds(bob.id)[-1] == "term_continue"
    # Bob decides about the term in force too; the next term is drafted once
    assert service.term_ending(_tandem(active_id), agreement, LAST_TWO_WEEKS.date())
    service.choose_at_term_end(user(bob), active_id, "continue", now=LAST_TWO_WEEKS)
    assert _agreement(active_id).version == 2
    for persona in pair:
        sign(persona, active_id, now=LAST_TWO_WEEKS)
    tandem = _tandem(active_id)
    assert tandem.state == "active" and _agreement(active_id).in_force_version == 2
    [series] = service.series_of(tandem)  # the same rhythm goes on into the next term
    assert series.state == "active" and series.ends_on == date(2027, 6, 11)
    assert all(m.term_choice is None for m in tandem.members)  # the next term is decided anew
    assert not service.term_ending(tandem, _agreement(active_id), LAST_TWO_WEEKS.date())


def test_tick_asks_once_two_weeks_before_the_end_of_each_term(ctx, pair, active_id):
    alice, bob = pair
    assert service.tick(now=datetime(2027, 2, 26, 9, 0, tzinfo=UTC)) == 0
    assert service.tick(now=datetime(2027, 2, 27, 9, 0, tzinfo=UTC)) == 1
    assert service.tick(now=LAST_TWO_WEEKS) == 0
    assert _kinds(alice.id).count("term_ending") == _kinds(bob.id).count("term_ending") == 1
    assert _mails(bob.email)[-1].template == "term_ending"
    # choosing to continue does not ask again about the term that is ending
    service.choose_at_term_end(user(alice), active_id, "continue", now=LAST_TWO_WEEKS)
    assert service.tick(now=LAST_TWO_WEEKS) == 0
    for persona in pair:
        sign(persona, active_id, now=LAST_TWO_WEEKS)
    # the next term (to 11 June) is asked about in its own last two weeks
    assert service.tick(now=datetime(2027, 5, 27, 9, 0, tzinfo=UTC)) == 0
    assert service.tick(now=datetime(2027, 5, 28, 9, 0, tzinfo=UTC)) == 1
    assert _kinds(alice.id).count("term_ending") == 2


# --- who may see a tandem -----------------------------------------------------------------------


@pytest.mark.parametrize("outsider", ["mallory", "mod"])
def test_a_tandem_is_not_found_for_anyone_outside_it(ctx, request, pair, active_id, outsider):
    alice, _bob = pair
    other = request.getfixturevalue(outsider)
    stranger = user(other)
    calls = [
        lambda: service.tandem_for(stranger, active_id),
        lambda: service.save_section(stranger, active_id, "rules", CHANGES["rules"], 1, now=NOW),
        lambda: service.sign(stranger, active_id, 1, other.name, True, now=NOW),
        lambda: service.end_early(stranger, active_id, "other", now=NOW),
        lambda: service.choose_at_term_end(stranger, active_id, "complete", now=LAST_TWO_WEEKS),
        lambda: service.invite(stranger, active_id, alice.id, now=NOW),
        lambda: service.tandem_for(stranger, 999_999),
    ]
    for call in calls:
        with pytest.raises(NotFound):
            call()
    assert _agreement(active_id).version == 1 and _tandem(active_id).state == "active"
    assert _count(Signature) == 2


# --- invitations and groups ------------------------------------------------------------------


def test_an_invitation_reaches_the_member_in_their_language(ctx, pair, carol, active_id):
    alice, bob = pair
    _ready(ctx, carol)
    invitation = service.invite(user(alice), active_id, carol.id, "  Join us, Carol!  ", now=NOW)
    assert invitation.state == "pending" and invitation.message == "Join us, Carol!"
    assert _kinds(carol.id) == ["tandem_invited"]
    mail = _mails(carol.email)[-1]
    assert mail.template == "tandem_invited" and 'lang="de"' in mail.html_body
    assert mail.text_body.startswith("Hallo Carol,")
    assert "Du bekommst diese Mail" in mail.text_body
    assert f"/invitations/{invitation.id}" in mail.text_body
    assert "> Join us, Carol!" in mail.text_body
    # inviting again is the same invitation
    again = service.invite(user(bob), active_id, carol.id, now=NOW)
    assert again.id == invitation.id and _count(TandemInvitation) == 1
    assert service.invitations_for(carol.id)[0].id == invitation.id


def test_a_change_tells_the_others_in_their_language(ctx, pair, carol, tandem_id):
    alice, bob = pair
    _ready(ctx, carol)
    invitation = service.invite(user(alice), tandem_id, carol.id, now=NOW)
    service.answer_invitation(user(carol), invitation.id, accept=True, now=NOW)
    save(bob, tandem_id, "rules")
    for persona, greeting in ((alice, "Hello Alice,"), (carol, "Hallo Carol,")):
        assert _kinds(persona.id)[-1] == "agreement_changed"
        mail = _mails(persona.email)[-1]
        assert mail.template == "agreement_changed" and mail.text_body.startswith(greeting)
        assert f"https://peerhub.test/tandems/{tandem_id}" in mail.text_body
    assert 'lang="de"' in _mails(carol.email)[-1].html_body
    assert "agreement_changed" not in _kinds(bob.id)


def test_illegal_invitations(ctx, app, pair, carol, active_id):
    alice, bob = pair
    _ready(ctx, carol)
    with pytest.raises(Invalid, match="already"):
        service.invite(user(alice), active_id, bob.id, now=NOW)
    with pytest.raises(Invalid, match="1000"):
        service.invite(user(alice), active_id, carol.id, "x" * 1001, now=NOW)
    with pytest.raises(NotFound):
        service.invite(user(alice), active_id, 999_999, now=NOW)
    # a member blocked by anyone in the tandem, either way, is not found
    db.session.add(Block(blocker_id=bob.id, blocked_id=carol.id))
    db.session.commit()
    with pytest.raises(NotFound):
        service.invite(user(alice), active_id, carol.id, now=NOW)
    db.session.execute(Block.__table__.delete())
    db.session.add(Block(blocker_id=carol.id, blocked_id=alice.id))
    db.session.commit()
    with pytest.raises(NotFound):
        service.invite(user(bob), active_id, carol.id, now=NOW)
    assert _count(TandemInvitation) == 0 and _kinds(carol.id) == []


def test_a_fifth_member_is_a_conflict(ctx, app, pair, carol):
    alice, bob = pair
    _ready(ctx, carol)
    dave = member(app, "dave@example.org", "Dave")
    eve = member(app, "eve@example.org", "Eve")
    group_id = start(alice, bob, carol, dave)
    assert not service.invitable_tandems(user(alice), eve.id)
    with pytest.raises(Conflict, match="four"):
        service.invite(user(alice), group_id, eve.id, now=NOW)
    # pending invitations count too
    pair_id = start(alice, bob)
    service.invite(user(alice), pair_id, carol.id, now=NOW)
    service.invite(user(alice), pair_id, dave.id, now=NOW)
    with pytest.raises(Conflict, match="four"):
        service.invite(user(bob), pair_id, eve.id, now=NOW)
    # and a group that filled up meanwhile takes nobody else
    triple_id = start(bob, carol, dave)
    invitation = service.invite(user(bob), triple_id, eve.id, now=NOW)
    triple = _tandem(triple_id)
    triple.members.append(TandemMember(user_id=alice.id, position=3))
    db.session.commit()
    with pytest.raises(Conflict, match="four"):
        service.answer_invitation(user(eve), invitation.id, accept=True, now=NOW)
    assert len(_tandem(triple_id).members) == 4


def test_joining_an_active_tandem_asks_the_new_member_to_sign(ctx, pair, carol, active_id):
    alice, bob = pair
    _ready(ctx, carol)
    invitation = service.invite(user(alice), active_id, carol.id, now=NOW)
    service.answer_invitation(user(carol), invitation.id, accept=True, now=NOW)
    service.answer_invitation(user(carol), invitation.id, accept=True, now=NOW)  # harmless
    tandem = _tandem(active_id)
    assert tandem.member_ids() == [alice.id, bob.id, carol.id] and tandem.is_group
    assert db.session.get(TandemInvitation, invitation.id).state == "accepted"
    assert _kinds(alice.id)[-1] == _kinds(bob.id)[-1] == "tandem_joined"
    status = _status(active_id)
    assert status.missing == [carol.id] and status.in_force == 1
    assert tandem.state == "active" and service.next_sessions(tandem, now=NOW)
    with pytest.raises(Conflict):  # the answer can no longer change
        service.answer_invitation(user(carol), invitation.id, accept=False, now=NOW)
    sign(carol, active_id)
    assert _status(active_id).complete and _agreement(active_id).version == 1
    assert len(service.series_of(_tandem(active_id))) == 1


def test_answers_belong_to_the_invited_member(ctx, app, pair, carol, mallory, active_id):
    alice, bob = pair
    _ready(ctx, carol)
    invitation = service.invite(user(alice), active_id, carol.id, now=NOW)
    for outsider in (mallory, alice, bob):
        with pytest.raises(NotFound):
            service.answer_invitation(user(outsider), invitation.id, accept=True, now=NOW)
    with pytest.raises(NotFound):
        service.invitation_for(user(mallory), invitation.id)
    with pytest.raises(NotFound):  # the invited member answers; withdrawing is the tandem's
        service.withdraw_invitation(user(carol), invitation.id, now=NOW)
    with pytest.raises(NotFound):
        service.withdraw_invitation(user(mallory), invitation.id, now=NOW)
    with pytest.raises(NotFound):
        service.answer_invitation(user(carol), 999_999, accept=True, now=NOW)
    assert db.session.get(TandemInvitation, invitation.id).state == "pending"
    assert len(_tandem(active_id).members) == 2


def test_declining_and_withdrawing(ctx, app, pair, carol, active_id):
    alice, bob = pair
    _ready(ctx, carol)
    dave = member(app, "dave@example.org", "Dave")
    invitation = service.invite(user(alice), active_id, carol.id, now=NOW)
    service.answer_invitation(user(carol), invitation.id, accept=False, now=NOW)
    service.answer_invitation(user(carol), invitation.id, accept=False, now=NOW)
    assert db.session.get(TandemInvitation, invitation.id).state == "declined"
    assert _kinds(alice.id)[-1] == _kinds(bob.id)[-1] == "tandem_invitation_declined"
    with pytest.raises(Conflict):
        service.answer_invitation(user(carol), invitation.id, accept=True, now=NOW)
    other = service.invite(user(alice), active_id, dave.id, now=NOW)
    service.withdraw_invitation(user(bob), other.id, now=NOW)
    service.withdraw_invitation(user(bob), other.id, now=NOW)
    assert db.session.get(TandemInvitation, other.id).state == "withdrawn"
    with pytest.raises(Conflict):
        service.answer_invitation(user(dave), other.id, accept=True, now=NOW)
    assert _tandem(active_id).member_ids() == [alice.id, bob.id]


def test_an_invitation_ends_with_its_tandem(ctx, pair, carol, active_id):
    alice, _bob = pair
    _ready(ctx, carol)
    invitation = service.invite(user(alice), active_id, carol.id, now=NOW)
    service.end_early(user(alice), active_id, "other", now=NOW)
    with pytest.raises(Conflict):
        service.answer_invitation(user(carol), invitation.id, accept=True, now=NOW)
    assert carol.id not in _tandem(active_id).member_ids()


# --- capacity --------------------------------------------------------------------------------


def test_capacity_limits_invitations_and_joining(ctx, app, pair, carol, active_id):
    alice, _bob = pair
    _ready(ctx, carol)
    dave = member(app, "dave@example.org", "Dave")
    other_id = full(app, carol, dave)
    assert not service.has_room(carol.id)
    with pytest.raises(Invalid, match="no room"):
        service.invite(user(alice), active_id, carol.id, now=NOW)
    # room at the invitation, none left at the answer
    db.session.get(Profile, carol.id).capacity = 2
    db.session.commit()
    invitation = service.invite(user(alice), active_id, carol.id, now=NOW)
    db.session.get(Profile, carol.id).capacity = 1
    db.session.commit()
    with pytest.raises(Conflict, match="partnerships"):
        service.answer_invitation(user(carol), invitation.id, accept=True, now=NOW)
    assert carol.id not in _tandem(active_id).member_ids()
    # a tandem that ended frees its place
    service.end_early(user(carol), other_id, "no_time", now=NOW)
    service.answer_invitation(user(carol), invitation.id, accept=True, now=NOW)
    assert carol.id in _tandem(active_id).member_ids()
    assert service.binding_count(carol.id) == 1 and not service.has_room(carol.id)


def _proposal(*personas) -> int:
    round_ = MatchingRound(status="published")
    db.session.add(round_)
    db.session.flush()
    proposal = Proposal(round_id=round_.id, score=80, status="proposed")
    proposal.members = [ProposalMember(user_id=p.id, round_id=round_.id) for p in personas]
    db.session.add(proposal)
    db.session.commit()
    return proposal.id


def _group_of(proposal_id: int) -> Tandem | None:
    return db.session.scalar(select(Tandem).where(Tandem.proposal_id == proposal_id))


@pytest.fixture
def trio(ctx, pair, carol):
    _ready(ctx, carol)
    return (*pair, carol)


def test_a_group_forms_from_an_accepted_proposal_and_is_active_only_with_three_signatures(
    ctx, trio
):
    proposal_id = _proposal(*trio)
    matching.answer_proposal(user(trio[0]), proposal_id, accept=True)
    matching.answer_proposal(user(trio[1]), proposal_id, accept=True)
    assert _group_of(proposal_id) is None
    matching.answer_proposal(user(trio[2]), proposal_id, accept=True)
    group = _group_of(proposal_id)
    assert group.state == "forming" and group.is_group
    assert group.member_ids() == [p.id for p in trio]
    assert db.session.get(Proposal, proposal_id).status == "accepted"
    for persona in trio:
        assert _kinds(persona.id)[-1] == "tandem_group_formed"
        assert _mails(persona.email)[-1].template == "tandem_group_formed"
    # once: the same proposal gives the same group
    assert service.group_from_proposal(db.session.get(Proposal, proposal_id)).id == group.id
    assert _count(Tandem) == 1
    for persona in trio[:2]:
        sign(persona, group.id, now=None)
    assert _tandem(group.id).state == "forming" and _count(Series) == 0
    assert _status(group.id).missing == [trio[2].id]
    sign(trio[2], group.id, now=None)
    assert _tandem(group.id).state == "active" and _count(Series) == 1


def test_a_group_leaves_out_members_without_room(ctx, app, trio):
    dave = member(app, "dave@example.org", "Dave")
    eve = member(app, "eve@example.org", "Eve")
    full(app, dave, eve)
    proposal_id = _proposal(*trio, dave)
    for persona in (*trio, dave):
        matching.answer_proposal(user(persona), proposal_id, accept=True)
    assert _group_of(proposal_id).member_ids() == [p.id for p in trio]
    assert "tandem_group_formed" not in _kinds(dave.id)
    # fewer than three with room: no group
    frank = member(app, "frank@example.org", "Frank")
    gina = member(app, "gina@example.org", "Gina")
    full(app, gina, eve)
    proposal_id = _proposal(dave, frank, gina)
    db.session.get(Profile, dave.id).capacity = 3
    db.session.commit()
    for persona in (dave, frank, gina):
        matching.answer_proposal(user(persona), proposal_id, accept=True)
    assert _group_of(proposal_id) is None
    assert _kinds(frank.id)[-1] == "proposal_accepted"


def test_roles_rotate_through_the_group_one_step_per_session(ctx, trio):
    group_id = start(*trio)
    for persona in trio:
        sign(persona, group_id)
    tandem = _tandem(group_id)
    ids = tandem.member_ids()
    sessions = service.next_sessions(tandem, now=NOW, limit=6)
    assert len(sessions) == 6
    first = ids.index(sessions[0].case_giver_id)
    assert [s.case_giver_id for s in sessions] == [ids[(first + n) % 3] for n in range(6)]
    for session, following in pairwise(sessions):
        assert session.moderator_id == following.case_giver_id != session.case_giver_id
    # later sessions go on where the rotation stands
    later = service.next_sessions(tandem, now=sessions[0].occurrence.end, limit=2)
    assert later[0].case_giver_id == sessions[1].case_giver_id


def test_a_member_leaves_a_group_and_the_others_go_on(ctx, trio):
    alice, bob, carol = trio
    group_id = start(*trio)
    for persona in trio:
        sign(persona, group_id)
    assert service.binding_count(carol.id) == 1
    with pytest.raises(Invalid):
        service.leave_group(user(carol), group_id, "x" * 1001, now=NOW)
    service.leave_group(user(carol), group_id, "Danke euch beiden!", now=NOW)
    tandem = _tandem(group_id)
    assert tandem.member_ids() == [alice.id, bob.id] and tandem.state == "active"
    assert service.binding_count(carol.id) == 0  # her place is free again
    assert service.status_of(tandem, _agreement(group_id)).complete  # still signed by all
    assert _kinds(alice.id)[-1] == _kinds(bob.id)[-1] == "tandem_left"
    assert "Danke euch beiden!" in _mails(bob.email)[-1].text_body
    sessions = service.next_sessions(tandem, now=NOW, limit=4)
    assert all(s.case_giver_id is None for s in sessions)  # a pair has no rotating roles
    with pytest.raises(NotFound):  # she no longer sees the group, nor leaves it twice
        service.leave_group(user(carol), group_id, now=NOW)
    with pytest.raises(Conflict, match="end it instead"):  # a pair ends together
        service.leave_group(user(alice), group_id, now=NOW)
