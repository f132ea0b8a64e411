"""Intro calls without HTTP: every transition, every illegal one, the rules and the tick."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from peerhub.accounts.models import User
from peerhub.calendar.lint import lint
from peerhub.errors import Conflict, Invalid, NotAllowed, NotFound
from peerhub.extensions import db
from peerhub.intros import service
from peerhub.intros.models import IntroMessage, IntroRequest
from peerhub.matching.models import PairPause
from peerhub.notifications.models import Notification
from peerhub.profiles.models import Block, Profile
from peerhub.tandems.models import Tandem, TandemMember
from tests.conftest import make_user
from tests.intro_factories import NOW, after_call, ask, ready, scheduled, slot, user
from tests.records import kinds as _kinds
from tests.records import mails as _mails


@pytest.fixture
def pair(app, alice, bob):
    """Alice (Berlin) and Bob (New York), both open, free on Tuesdays at the same hours."""
    ready(app, alice, bob)
    return alice, bob


def _intro(request_id: int) -> IntroRequest:
    return db.session.get(IntroRequest, request_id, populate_existing=True)


def test_offered_times_lie_where_both_are_free(ctx, pair):
    alice, bob = pair
    times = service.offered_times(user(alice), user(bob), 30, now=NOW)
    assert times, "Tuesday 17–20 UTC is free for both"
    for start in times:
        assert (
            start.weekday() == 1
            and start.hour >= 17
            and start + timedelta(minutes=30) <= start.replace(hour=20, minute=0)
        )
        assert NOW + service.LEAD <= start <= NOW + service.HORIZON
    per_day = {}
    for start in times:
        per_day[start.date()] = per_day.get(start.date(), 0) + 1
    assert len(per_day) == 2 and max(per_day.values()) <= service.OFFERED_PER_DAY


def test_offered_times_follow_each_zone_across_daylight_saving(ctx, pair):
    """In March the US is on summer time two weeks before Europe: the overlap shrinks."""
    alice, bob = pair
    now = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)  # after 8 March (US), before 29 March (EU)
    times = service.offered_times(user(alice), user(bob), 30, now=now)
    # Berlin 18–21 is 17–20 UTC; New York 12–15 EDT is 16–19 UTC: both free 17–19 UTC.
    assert times and all(
        t.hour >= 17 and t + timedelta(minutes=30) <= t.replace(hour=19, minute=0) for t in times
    )


def test_no_offered_times_without_windows(ctx, alice, bob):
    ready(ctx, alice)
    assert service.offered_times(user(alice), user(bob), 30, now=NOW) == []


# --- requesting ----------------------------------------------------------------------


def test_a_request_waits_for_the_recipient_and_tells_them_in_their_language(ctx, alice, carol):
    ready(ctx, alice, carol)
    request_id = ask(ctx, alice, carol, message="Hallo Carol; ich bin Alice, <b>hi</b>")
    intro = _intro(request_id)
    assert intro.state == "pending" and intro.turn_id == carol.id and intro.sender_slot == 1
    assert [s.start for s in intro.open_slots] == [slot(NOW, 1), slot(NOW, 2)]
    assert _kinds(carol.id) == ["intro_request"]
    mail = _mails(carol.email)[-1]
    assert mail.subject == "Alice möchte ein Kennenlerngespräch mit dir"
    assert "<b>hi</b>" not in mail.html_body and "&lt;b&gt;hi&lt;/b&gt;" in mail.html_body
    assert "> Hallo Carol; ich bin Alice, <b>hi</b>" in mail.text_body


def test_asking_twice_returns_the_open_request(ctx, pair):
    alice, bob = pair
    first = ask(ctx, alice, bob)
    assert ask(ctx, alice, bob) == first
    assert db.session.scalar(select(func.count()).select_from(IntroRequest)) == 1


def test_the_other_cannot_open_a_second_request_of_the_pair(ctx, pair):
    alice, bob = pair
    ask(ctx, alice, bob)
    with pytest.raises(Conflict):
        ask(ctx, bob, alice)


@pytest.mark.parametrize(
    "setup",
    ["blocked_by_them", "blocked_by_me", "hidden", "suspended", "unconfirmed", "self", "unknown"],
)
def test_requests_to_members_one_may_not_see_are_not_found(ctx, pair, setup):
    alice, bob = pair
    target = bob.id
    if setup == "blocked_by_them":
        db.session.add(Block(blocker_id=bob.id, blocked_id=alice.id))
    elif setup == "blocked_by_me":
        db.session.add(Block(blocker_id=alice.id, blocked_id=bob.id))
    elif setup == "hidden":
        db.session.get(Profile, bob.id).visibility = "hidden"
    elif setup == "suspended":
        db.session.get(User, bob.id).status = "suspended"
    elif setup == "unconfirmed":
        db.session.get(User, bob.id).email_verified_at = None
    elif setup == "self":
        target = alice.id
    else:
        target = 999_999
    db.session.commit()
    with pytest.raises(NotFound):
        service.send_request(user(alice), target, "Hi", [slot()], now=NOW)
    assert db.session.scalar(select(func.count()).select_from(IntroRequest)) == 0


def test_paused_and_full_members_take_no_requests(ctx, app, pair, carol):
    alice, bob = pair
    db.session.get(Profile, bob.id).status = "paused"
    db.session.commit()
    with pytest.raises(Invalid, match="paused"):
        service.send_request(user(alice), bob.id, "Hi", [slot()], now=NOW)
    db.session.get(Profile, bob.id).status = "open"
    db.session.get(Profile, bob.id).capacity = 1
    tandem = Tandem(state="active")
    tandem.members = [TandemMember(user_id=bob.id), TandemMember(user_id=carol.id)]
    db.session.add(tandem)
    db.session.commit()
    with pytest.raises(Invalid, match="no room"):
        service.send_request(user(alice), bob.id, "Hi", [slot()], now=NOW)
    # a tandem that ended frees the place again
    tandem.state = "ended"
    db.session.commit()
    assert service.send_request(user(alice), bob.id, "Hi", [slot()], now=NOW).state == "pending"


def test_a_hidden_requester_is_asked_to_show_their_profile_first(ctx, pair):
    alice, bob = pair
    db.session.get(Profile, alice.id).visibility = "hidden"
    db.session.commit()
    with pytest.raises(Invalid, match="hidden"):
        service.send_request(user(alice), bob.id, "Hi", [slot()], now=NOW)


def test_at_most_five_open_requests_per_member(ctx, app, alice):
    others = [make_user(app, f"o{n}@example.org", f"O{n}") for n in range(6)]
    ready(app, alice, *others)
    for other in others[:5]:
        ask(app, alice, other)
    with pytest.raises(Invalid, match="5 open requests, the most"):
        ask(app, alice, others[5])
    # withdrawing one frees a place
    first = db.session.scalar(select(IntroRequest.id).order_by(IntroRequest.id))
    service.withdraw(user(alice), first, now=NOW)
    assert _intro(ask(app, alice, others[5])).sender_slot == 1


def test_the_schema_refuses_a_sixth_open_request_and_a_second_open_one_per_pair(ctx, pair):
    alice, bob = pair
    request_id = ask(ctx, alice, bob)
    row = {
        c: getattr(_intro(request_id), c)
        for c in ("requester_id", "recipient_id", "low_id", "high_id", "turn_id", "message")
    }
    db.session.add(IntroRequest(**row, sender_slot=2, state="pending"))
    with pytest.raises(IntegrityError):  # one open request per pair
        db.session.commit()
    db.session.rollback()
    db.session.add(IntroRequest(**row, sender_slot=6, state="withdrawn"))
    with pytest.raises(IntegrityError):  # places 1–5 only
        db.session.commit()
    db.session.rollback()


@pytest.mark.parametrize(
    "starts, message",
    [
        ([], "one, two or three"),
        ([slot(NOW, d) for d in (1, 2, 3, 4)], "one, two or three"),
        ([NOW - timedelta(hours=1)], "too soon"),
        ([NOW + timedelta(minutes=30)], "too soon"),
        ([slot(NOW, 15)], "14 days"),
        ([slot(NOW, 1) + timedelta(minutes=7)], "five-minute"),
        ([slot(NOW, 1), slot(NOW, 1) + timedelta(minutes=15)], "overlap"),
    ],
)
def test_bad_times_are_refused(ctx, pair, starts, message):
    alice, bob = pair
    with pytest.raises(Invalid, match=message):
        service.send_request(user(alice), bob.id, "Hi", starts, now=NOW)
    assert db.session.scalar(select(func.count()).select_from(IntroRequest)) == 0


def test_message_place_and_mode_are_checked(ctx, app, pair):
    alice, bob = pair
    with pytest.raises(Invalid, match="few words"):
        service.send_request(user(alice), bob.id, "   ", [slot()], now=NOW)
    with pytest.raises(Invalid, match="1000"):
        service.send_request(user(alice), bob.id, "x" * 1001, [slot()], now=NOW)
    with pytest.raises(Invalid, match="https://"):
        service.send_request(
            user(alice), bob.id, "Hi", [slot()], place="javascript:alert(1)", now=NOW
        )
    with pytest.raises(Invalid, match="video only"):
        service.send_request(
            user(alice), bob.id, "Hi", [slot()], mode="in_person", place="Café", now=NOW
        )
    db.session.rollback()
    ready(app, alice, bob, meeting_mode="either", city="Berlin")
    with pytest.raises(Invalid, match="public place"):
        service.send_request(user(alice), bob.id, "Hi", [slot()], mode="in_person", now=NOW)
    intro = service.send_request(
        user(alice), bob.id, "Hi", [slot()], mode="in_person", place="Café Kranzler", now=NOW
    )
    assert intro.place == "Café Kranzler"


def test_an_error_after_the_first_write_leaves_nothing_behind(ctx, pair, monkeypatch):
    alice, bob = pair

    def broken(*args, **kwargs):
        raise RuntimeError("mail template broke")

    monkeypatch.setattr(service, "queue_mail", broken)
    with pytest.raises(RuntimeError):
        ask(ctx, alice, bob)
    assert db.session.scalar(select(func.count()).select_from(IntroRequest)) == 0
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 0


# --- answering -------------------------------------------------------------------------


def test_accepting_a_time_schedules_the_call_and_sends_both_a_calendar_file(ctx, pair):
    alice, bob = pair
    request_id = ask(ctx, alice, bob)
    intro = _intro(request_id)
    chosen = intro.open_slots[1]
    service.accept_time(user(bob), request_id, chosen.id, now=NOW)
    intro = _intro(request_id)
    assert intro.state == "scheduled" and intro.scheduled_start == chosen.start
    assert intro.turn_id is None and intro.sequence == 1
    for person in (alice, bob):
        assert _kinds(person.id)[-1] == "intro_scheduled"
        mail = _mails(person.email)[-1]
        assert mail.attachment_type.startswith("text/calendar")
        assert lint(mail.attachment_body.encode()) == []
        assert f"UID:intro-{request_id}@" in mail.attachment_body
    # Bob reads New York time, and Alice's Berlin time next to it
    assert "(America/New_York)" in _mails(bob.email)[-1].text_body
    assert "(Europe/Berlin)" in _mails(bob.email)[-1].text_body
    # the same click again changes nothing
    service.accept_time(user(bob), request_id, chosen.id, now=NOW)
    assert _intro(request_id).sequence == 1


def test_illegal_accepts(ctx, app, pair, mallory):
    alice, bob = pair
    request_id = ask(ctx, alice, bob)
    slot_id = _intro(request_id).open_slots[0].id
    with pytest.raises(NotAllowed):  # the requester proposed these times
        service.accept_time(user(alice), request_id, slot_id, now=NOW)
    with pytest.raises(NotFound):  # a third member
        service.accept_time(user(mallory), request_id, slot_id, now=NOW)
    with pytest.raises(NotFound):  # a time of no request of theirs
        service.accept_time(user(bob), request_id, 999_999, now=NOW)
    with pytest.raises(Invalid, match="passed"):
        service.accept_time(user(bob), request_id, slot_id, now=slot(NOW, 1) + timedelta(minutes=1))
    service.withdraw(user(alice), request_id, now=NOW)
    with pytest.raises(Conflict, match="withdrawn"):  # accept after withdraw
        service.accept_time(user(bob), request_id, slot_id, now=NOW)


def test_answering_an_expired_request_is_refused(ctx, pair):
    alice, bob = pair
    request_id = ask(ctx, alice, bob)
    assert service.tick(now=NOW + timedelta(days=7, minutes=1)).expired == 1
    intro = _intro(request_id)
    assert intro.state == "expired"
    with pytest.raises(Conflict):
        service.accept_time(user(bob), request_id, intro.open_slots[0].id, now=NOW)
    with pytest.raises(Conflict):
        service.decline(user(bob), request_id, "", now=NOW)
    with pytest.raises(Conflict):
        service.propose_times(user(bob), request_id, [slot(NOW, 3)], now=NOW)
    with pytest.raises(Conflict):
        service.post_message(user(bob), request_id, "Still there?")


def test_other_times_pass_the_turn_and_the_requester_picks_one(ctx, pair):
    alice, bob = pair
    request_id = ask(ctx, alice, bob)
    old = _intro(request_id).open_slots[0].id
    service.propose_times(user(bob), request_id, [slot(NOW, 3)], note="Thursday suits me", now=NOW)
    intro = _intro(request_id)
    assert intro.state == "pending" and intro.turn_id == alice.id and intro.slot_round == 2
    assert [s.start for s in intro.open_slots] == [slot(NOW, 3)]
    assert _kinds(alice.id)[-1] == "intro_times"
    assert service.messages_of(intro)[-1].body == "Thursday suits me"
    with pytest.raises(NotAllowed):  # Bob proposed; Alice answers next
        service.propose_times(user(bob), request_id, [slot(NOW, 4)], now=NOW)
    with pytest.raises(NotAllowed):
        service.accept_time(user(bob), request_id, intro.open_slots[0].id, now=NOW)
    with pytest.raises(Conflict, match="replaced"):  # the first round's times are gone
        service.accept_time(user(alice), request_id, old, now=NOW)
    service.accept_time(user(alice), request_id, intro.open_slots[0].id, now=NOW)
    assert _intro(request_id).scheduled_start == slot(NOW, 3)


def test_moving_a_scheduled_call_reopens_it_with_a_higher_sequence(ctx, pair):
    alice, bob = pair
    request_id = scheduled(ctx, alice, bob)
    service.propose_times(user(alice), request_id, [slot(NOW, 5)], now=NOW)
    intro = _intro(request_id)
    assert intro.state == "pending" and intro.turn_id == bob.id and intro.sequence == 2
    assert intro.scheduled_start is None
    assert _kinds(bob.id)[-1] == "intro_moved"
    service.accept_time(user(bob), request_id, intro.open_slots[0].id, now=NOW)
    intro = _intro(request_id)
    assert intro.sequence == 3
    ics = service.ics_for(intro, user(bob)).decode()
    assert "SEQUENCE:3" in ics and f"UID:intro-{request_id}@" in ics and lint(ics.encode()) == []
    with pytest.raises(Conflict, match="begun"):
        service.propose_times(user(alice), request_id, [slot(NOW, 7)], now=slot(NOW, 5))


def test_declining_kindly(ctx, pair):
    alice, bob = pair
    request_id = ask(ctx, alice, bob)
    with pytest.raises(NotAllowed):  # the requester withdraws instead
        service.decline(user(alice), request_id, "", now=NOW)
    with pytest.raises(Invalid):
        service.decline(user(bob), request_id, "you are boring", now=NOW)
    service.decline(user(bob), request_id, "no_capacity", now=NOW)
    service.decline(user(bob), request_id, "no_capacity", now=NOW)  # again: harmless
    intro = _intro(request_id)
    assert intro.state == "declined" and intro.decline_reason == "no_capacity"
    assert _kinds(alice.id)[-1] == "intro_declined"
    mail = _mails(alice.email)[-1]
    assert "Bob has no room for a new partnership right now." in mail.text_body
    assert "says nothing about you" in mail.text_body
    # asking again right away is refused kindly; after 90 days it is fine
    with pytest.raises(Invalid, match="90 days"):
        ask(ctx, alice, bob)
    later = NOW + timedelta(days=91)
    assert _intro(ask(ctx, alice, bob, now=later)).state == "pending"


def test_withdrawing(ctx, pair):
    alice, bob = pair
    request_id = ask(ctx, alice, bob)
    with pytest.raises(NotAllowed):
        service.withdraw(user(bob), request_id, now=NOW)
    service.withdraw(user(alice), request_id, now=NOW)
    service.withdraw(user(alice), request_id, now=NOW)
    assert _intro(request_id).state == "withdrawn"
    assert _kinds(bob.id)[-1] == "intro_withdrawn"
    with pytest.raises(Conflict):  # decline after withdraw
        service.decline(user(bob), request_id, "", now=NOW)
    other = scheduled(ctx, bob, alice)
    with pytest.raises(Conflict, match="cancel"):
        service.withdraw(user(bob), other, now=NOW)


def test_cancelling_a_scheduled_call_updates_calendars(ctx, pair):
    alice, bob = pair
    pending = ask(ctx, alice, bob)
    with pytest.raises(Conflict):
        service.cancel_call(user(alice), pending, now=NOW)
    service.withdraw(user(alice), pending, now=NOW)
    request_id = scheduled(ctx, alice, bob)
    with pytest.raises(Conflict, match="begun"):
        service.cancel_call(user(bob), request_id, now=after_call())
    service.cancel_call(user(bob), request_id, note="Sorry, I am ill.", now=NOW)
    service.cancel_call(user(bob), request_id, now=NOW)
    intro = _intro(request_id)
    assert intro.state == "cancelled" and intro.sequence == 2
    mail = _mails(alice.email)[-1]
    assert mail.template == "intro_cancelled"
    assert "STATUS:CANCELLED" in mail.attachment_body and "SEQUENCE:2" in mail.attachment_body


# --- after the call --------------------------------------------------------------------


def test_both_continue_and_a_forming_tandem_is_born_once(ctx, pair):
    alice, bob = pair
    request_id = scheduled(ctx, alice, bob)
    with pytest.raises(Conflict, match="once the call"):
        service.record_outcome(user(alice), request_id, "continue", now=NOW)
    later = after_call()
    service.record_outcome(user(alice), request_id, "continue", "Great listener!", now=later)
    assert _intro(request_id).state == "scheduled"
    assert _kinds(bob.id)[-1] == "intro_decided"
    service.record_outcome(user(alice), request_id, "continue", now=later)  # again: harmless
    with pytest.raises(Conflict, match="already decided"):
        service.record_outcome(user(alice), request_id, "not_a_fit", now=later)
    service.record_outcome(user(bob), request_id, "continue", now=later)
    service.record_outcome(user(bob), request_id, "continue", now=later)
    intro = _intro(request_id)
    assert intro.state == "continued"
    tandems = db.session.scalars(select(Tandem)).all()
    assert len(tandems) == 1 and tandems[0].state == "forming"
    assert {m.user_id for m in tandems[0].members} == {alice.id, bob.id}
    assert tandems[0].intro_request_id == request_id
    assert _kinds(alice.id)[-1] == _kinds(bob.id)[-1] == "intro_continued"
    assert "Great listener!" in _mails(bob.email)[-1].text_body
    assert "Great listener!" not in _mails(alice.email)[-1].text_body


def test_not_a_fit_closes_kindly_and_keeps_the_pair_apart(ctx, pair):
    alice, bob = pair
    request_id = scheduled(ctx, alice, bob)
    with pytest.raises(Invalid):
        service.record_outcome(user(bob), request_id, "maybe", now=after_call())
    service.record_outcome(
        user(bob), request_id, "not_a_fit", "Our rhythms differ.", now=after_call()
    )
    intro = _intro(request_id)
    assert intro.state == "not_a_fit"
    pause = db.session.get(PairPause, (alice.id, bob.id))
    assert pause.reason == "not_a_fit" and pause.until > NOW + timedelta(days=89)
    mail = _mails(alice.email)[-1]
    assert mail.template == "intro_not_a_fit" and "Our rhythms differ." in mail.text_body
    assert "not the right fit" in mail.text_body
    with pytest.raises(Conflict):  # nothing left to decide
        service.record_outcome(user(alice), request_id, "continue", now=after_call())
    assert db.session.scalar(select(func.count()).select_from(Tandem)) == 0


def test_continuing_needs_room(ctx, app, pair, carol):
    alice, bob = pair
    request_id = scheduled(ctx, alice, bob)
    db.session.get(Profile, alice.id).capacity = 1
    tandem = Tandem(state="forming")
    tandem.members = [TandemMember(user_id=alice.id), TandemMember(user_id=carol.id)]
    db.session.add(tandem)
    db.session.commit()
    with pytest.raises(Conflict, match="partnerships"):
        service.record_outcome(user(alice), request_id, "continue", now=after_call())
    assert _intro(request_id).requester_outcome is None


# --- messages ------------------------------------------------------------------------


def test_the_thread_is_for_the_two_only_and_mails_once_per_unread_stretch(ctx, pair, mallory):
    alice, bob = pair
    request_id = ask(ctx, alice, bob)
    service.post_message(user(bob), request_id, "Which video tool do you use?")
    service.post_message(user(bob), request_id, "Jitsi is fine for me.")
    assert [m.body for m in service.messages_of(_intro(request_id))] == [
        "Which video tool do you use?",
        "Jitsi is fine for me.",
    ]
    assert [m.template for m in _mails(alice.email)].count("intro_message") == 1
    db.session.execute(update(Notification).values(read_at=NOW))
    db.session.commit()
    service.post_message(user(bob), request_id, "See you!")
    assert [m.template for m in _mails(alice.email)].count("intro_message") == 2
    with pytest.raises(NotFound):
        service.post_message(user(mallory), request_id, "Hi both")
    with pytest.raises(Invalid):
        service.post_message(user(alice), request_id, "  ")
    with pytest.raises(Invalid):
        service.post_message(user(alice), request_id, "x" * 1001)
    assert db.session.scalar(select(func.count()).select_from(IntroMessage)) == 3


def test_a_block_closes_the_request_and_hides_it_from_both(ctx, pair):
    from peerhub.profiles.service import block

    alice, bob = pair
    request_id = ask(ctx, alice, bob)
    block(user(bob), alice.id)
    for person in (alice, bob):
        with pytest.raises(NotFound):
            service.request_for(user(person), request_id)
    assert _intro(request_id).state == "cancelled"
    assert service.open_outgoing(alice.id) == 0  # her place is free again
    assert "intro_cancelled" not in _kinds(alice.id)  # nobody learns of the block


# --- the tick ------------------------------------------------------------------------


def test_tick_reminds_after_three_days_once_and_expires_after_seven(ctx, pair):
    alice, bob = pair
    request_id = ask(ctx, alice, bob)
    assert service.tick(now=NOW + timedelta(days=2)).reminded == 0
    report = service.tick(now=NOW + timedelta(days=3, minutes=1))
    assert report.reminded == 1 and report.expired == 0
    assert service.tick(now=NOW + timedelta(days=3, minutes=2)).reminded == 0
    assert _kinds(bob.id).count("intro_reminder") == 1
    assert [m.template for m in _mails(bob.email)].count("intro_reminder") == 1
    report = service.tick(now=NOW + timedelta(days=7, minutes=1))
    assert report.expired == 1
    assert service.tick(now=NOW + timedelta(days=8)).expired == 0
    assert _intro(request_id).state == "expired"
    assert "intro_expired" in _kinds(alice.id) and "intro_expired" in _kinds(bob.id)


def test_new_times_restart_the_clock(ctx, pair):
    alice, bob = pair
    request_id = ask(ctx, alice, bob)
    service.tick(now=NOW + timedelta(days=3, minutes=1))
    service.propose_times(user(bob), request_id, [slot(NOW, 8)], now=NOW + timedelta(days=6))
    assert service.tick(now=NOW + timedelta(days=7, minutes=1)).expired == 0
    assert service.tick(now=NOW + timedelta(days=9, minutes=1)).reminded == 1  # Alice's turn
    assert _kinds(alice.id)[-1] == "intro_reminder"


def test_tick_asks_both_to_decide_after_the_call_and_closes_undecided_calls(ctx, pair):
    alice, bob = pair
    request_id = scheduled(ctx, alice, bob)
    end = _intro(request_id).scheduled_end
    assert service.tick(now=end - timedelta(minutes=1)).prompted == 0
    assert service.tick(now=end).prompted == 1
    assert service.tick(now=end + timedelta(hours=1)).prompted == 0
    assert _kinds(alice.id)[-1] == _kinds(bob.id)[-1] == "intro_decide"
    service.record_outcome(user(alice), request_id, "continue", now=end)
    assert service.tick(now=end + timedelta(days=14, minutes=1)).lapsed == 1
    intro = _intro(request_id)
    assert intro.state == "expired" and intro.sequence == 2
    assert "intro_lapsed" in _kinds(alice.id)


# --- what matching makes of it -------------------------------------------------------


def test_an_open_request_or_a_tandem_takes_the_pair_out_of_suggestions(ctx, pair):
    from peerhub.matching.candidates import excluded_for

    alice, bob = pair
    assert bob.id not in excluded_for(alice.id)
    request_id = ask(ctx, alice, bob)
    assert bob.id in excluded_for(alice.id) and alice.id in excluded_for(bob.id)
    service.withdraw(user(alice), request_id, now=NOW)
    assert bob.id not in excluded_for(alice.id)


def test_a_full_member_has_no_room_in_the_directory(ctx, pair, carol):
    from peerhub.profiles.search import DirectoryQuery, search_members

    alice, bob = pair
    assert bob.id in [
        h.user_id for h in search_members(alice.id, DirectoryQuery(has_room=True)).items
    ]
    db.session.get(Profile, bob.id).capacity = 1
    tandem = Tandem(state="active")
    tandem.members = [TandemMember(user_id=bob.id), TandemMember(user_id=carol.id)]
    db.session.add(tandem)
    db.session.commit()
    assert bob.id not in [
        h.user_id for h in search_members(alice.id, DirectoryQuery(has_room=True)).items
    ]
    assert bob.id in [h.user_id for h in search_members(alice.id, DirectoryQuery()).items]


def test_overview_sorts_by_what_to_do(ctx, app, pair, carol):
    alice, bob = pair
    ready(app, carol)
    to_answer = ask(ctx, bob, alice)
    waiting = ask(ctx, alice, carol)
    overview = service.overview(user(alice), now=NOW)
    assert [i.id for i in overview.to_answer] == [to_answer]
    assert [i.id for i in overview.waiting] == [waiting]
    service.accept_time(user(alice), to_answer, _intro(to_answer).open_slots[0].id, now=NOW)
    overview = service.overview(user(alice), now=NOW)
    assert [i.id for i in overview.upcoming] == [to_answer]
    overview = service.overview(user(alice), now=after_call())
    assert [i.id for i in overview.to_decide] == [to_answer]
    assert overview.names[bob.id] == "Bob"


def test_when_for_names_the_zone_in_the_members_language():
    moment = datetime(2026, 12, 8, 17, 0, tzinfo=UTC)
    assert (
        service.when_for(moment, "Europe/Berlin", "de")
        == "Dienstag, 8. Dezember 2026, 18:00 (Europe/Berlin)"
    )
    assert (
        service.when_for(moment, "America/New_York", "en")
        == "Tuesday, December 8, 2026, 12:00 (America/New_York)"
    )
