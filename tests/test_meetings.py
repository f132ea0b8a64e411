"""A tandem's sessions without HTTP: single sessions (cancel, restore, move, attendance,
notes), the whole series (a new time from a day on, a pause, an early end), how the series
follows the agreement, group roles, reminders, transactions and races.

Every state machine has a test for each illegal transition; times are passed as `now`. The
races run on SQLite and, with TEST_DATABASE_URL, on PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest
from sqlalchemy import event, func, select

from peerhub.accounts.models import User
from peerhub.errors import Conflict, DomainError, Invalid, NotFound
from peerhub.extensions import db
from peerhub.meetings import series as timeline
from peerhub.meetings import service
from peerhub.meetings.models import Series, SessionRecord, SessionReminder
from peerhub.meetings.series import Session
from peerhub.notifications.models import Notification, OutboxMail
from peerhub.tandems import service as tandems
from peerhub.tandems.models import Tandem, TandemDeparture
from tests.intro_factories import ready
from tests.records import kinds, mails, race
from tests.session_factories import FIRST, NOW, active_tandem, sessions_of

# The first draft's term runs 14 December 2026 to 13 March 2027: thirteen Tuesdays at 18:00
# in Berlin (17:00 UTC, winter time all along), numbered 0 to 12.
TERM_END = date(2027, 3, 13)
LAST = 12
LATER = datetime(2027, 1, 7, 9, 0, tzinfo=UTC)  # a Thursday: four Tuesdays were held
LAST_TWO_WEEKS = datetime(2027, 3, 5, 9, 0, tzinfo=UTC)
REASON = "I am ill, sorry."
THURSDAYS = ("weekly", "3", "19:00", "Europe/Berlin", "60")  # 18:00 UTC in winter


def user(persona) -> User:
    return db.session.get(User, persona.id)


def planned(number: int) -> datetime:
    """Where the rule puts session `number` of the first series (UTC)."""
    return FIRST + timedelta(weeks=number)


def all_series(tandem_id: int) -> list[Series]:
    """The tandem's series as the database has them now, in order."""
    db.session.expire_all()
    return timeline.series_of(tandem_id)


def sid(tandem_id: int, index: int = 0) -> int:
    return all_series(tandem_id)[index].id


def session(tandem_id: int, number: int, index: int = 0) -> Session:
    """Session `number` of the tandem's series `index`, as read now."""
    key = (sid(tandem_id, index), number)
    return next(s for s in sessions_of(tandem_id) if s.key == key)


def record(tandem_id: int, number: int, index: int = 0) -> SessionRecord | None:
    return session(tandem_id, number, index).record


def sequences(tandem_id: int) -> list[int]:
    return [s.sequence for s in all_series(tandem_id)]


def news(persona) -> list[str]:
    """The member's notifications about sessions, oldest first."""
    return [k for k in kinds(persona.id) if k.startswith(("session_", "series_", "no_shows"))]


def news_mails(persona) -> list[OutboxMail]:
    return [m for m in mails(persona.email) if m.template.startswith(("session_", "series_", "no"))]


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def tandem_of(tandem_id: int) -> Tandem:
    return db.session.get(Tandem, tandem_id, populate_existing=True)


def set_state(tandem_id: int, state: str) -> None:
    """Put the tandem in a state directly (no path leads a tandem with sessions back to
    forming, say): the service's own check is what is tested."""
    tandem_of(tandem_id).state = state
    db.session.commit()


# Single sessions by number in the tandem's first series; attendance by default an hour in.


def cancel(persona, tandem_id: int, number: int = 0, reason: str = REASON, now=NOW):
    return service.cancel_session(user(persona), sid(tandem_id), number, reason, now=now)


def restore(persona, tandem_id: int, number: int = 0, now=NOW):
    return service.restore_session(user(persona), sid(tandem_id), number, now=now)


def move(persona, tandem_id: int, number: int, start: datetime, now=NOW):
    return service.move_session(user(persona), sid(tandem_id), number, start, now=now)


def attend(persona, tandem_id: int, number: int, absent=(), now=None):
    now = now or planned(number) + timedelta(hours=1)
    return service.record_attendance(
        user(persona), sid(tandem_id), number, [p.id for p in absent], now=now
    )


def notes(persona, tandem_id: int, number: int, base: int, now=NOW, **parts):
    return service.save_notes(user(persona), sid(tandem_id), number, parts, base, now=now)


def rhythm(*fields: str) -> dict:
    return service.rhythm_fields(*(fields or THURSDAYS))


def change(persona, tandem_id: int, from_day: date | None, fields=THURSDAYS, now=NOW):
    return service.change_series(user(persona), tandem_id, from_day, rhythm(*fields), now=now)


def complete(pair, tandem_id: int) -> None:
    """Everyone chose to complete in the last two weeks: the sessions left still take place."""
    for persona in pair:
        tandems.choose_at_term_end(user(persona), tandem_id, "complete", now=LAST_TWO_WEEKS)
    assert tandem_of(tandem_id).state == "completed"


def sign_all(personas, tandem_id: int, now) -> None:
    version = tandems.agreement_of(tandem_of(tandem_id)).version
    for persona in personas:
        tandems.sign(user(persona), tandem_id, version, persona.name, True, now=now)


@pytest.fixture
def pair(ctx, alice, bob):
    return alice, bob


@pytest.fixture
def active_id(ctx, pair) -> int:
    """Alice and Bob, active since NOW, every Tuesday 18:00 Berlin from 15 December."""
    ready(ctx, *pair)  # profiles first, outside the test's own read
    return active_tandem(ctx, *pair)


@pytest.fixture
def trio(ctx, alice, bob, carol):
    return alice, bob, carol


@pytest.fixture
def group_id(ctx, trio) -> int:
    """Alice, Bob and Carol (German), active since NOW."""
    ready(ctx, *trio)
    return active_tandem(ctx, *trio)


# --- cancelling and restoring one session -----------------------------------------------------


@pytest.mark.parametrize(
    "before, late",
    # the agreement's notice is 24 hours: exactly 24 hours before is still in time
    [(timedelta(days=8), False), (timedelta(hours=24), False), (timedelta(hours=23), True)],
)
def test_cancelling_a_session_tells_the_other_member_and_raises_the_sequence_once(
    ctx, pair, active_id, before, late
):
    alice, bob = pair
    now = FIRST - before
    [series] = all_series(active_id)
    updated = series.updated_at
    cancelled = cancel(alice, active_id, 0, "  I am ill, sorry.\r\n  ", now=now)
    assert cancelled.cancelled and cancelled.cancel_kind == "single" and cancelled.late is late
    assert cancelled.cancel_reason == REASON and cancelled.cancelled_by_id == alice.id
    assert cancelled.cancelled_at == now and cancelled.planned_start == FIRST
    [series] = all_series(active_id)
    assert series.sequence == 1 and series.updated_at > updated
    assert series.changed_by_id == alice.id
    kind = "session_cancelled_late" if late else "session_cancelled"
    assert news(bob) == [kind] and news(alice) == []
    [mail] = news_mails(bob)
    assert mail.template == kind and REASON in mail.text_body
    assert ("later than the notice" in mail.text_body) is late
    assert news_mails(alice) == []
    # the session no longer takes place
    assert [s.start for s in timeline.next_sessions(tandem_of(active_id), now, 2)] == [
        planned(1),
        planned(2),
    ]

    # again (a second click, or the other member) changes nothing and tells nobody twice
    again = cancel(bob, active_id, 0, "Me too.", now=now)
    assert again.id == cancelled.id and again.cancel_reason == REASON
    assert sequences(active_id) == [1] and news(bob) == [kind] and news(alice) == []
    assert count(SessionRecord) == 1


@pytest.mark.parametrize("reason", ["", "   \r\n ", "x" * 301])
def test_a_cancellation_needs_a_short_reason(ctx, pair, active_id, reason):
    alice, bob = pair
    with pytest.raises(Invalid) as raised:
        cancel(alice, active_id, 0, reason)
    assert raised.value.field == "reason"
    assert count(SessionRecord) == 0 and sequences(active_id) == [0] and news(bob) == []


def test_a_reason_of_300_characters_is_enough(ctx, pair, active_id):
    alice, _bob = pair
    assert cancel(alice, active_id, 0, "x" * 300).cancel_reason == "x" * 300


@pytest.mark.parametrize("after", [timedelta(0), timedelta(minutes=30), timedelta(days=2)])
def test_a_session_that_has_begun_cannot_be_cancelled(ctx, pair, active_id, after):
    alice, bob = pair
    with pytest.raises(Conflict, match="has begun"):
        cancel(alice, active_id, 0, now=FIRST + after)
    assert count(SessionRecord) == 0 and sequences(active_id) == [0] and news(bob) == []


def test_cancelling_a_moved_session_tells_the_time_it_was_moved_to(ctx, pair, active_id):
    alice, bob = pair
    wednesday = planned(1) + timedelta(days=1)
    move(bob, active_id, 1, wednesday)
    cancelled = cancel(alice, active_id, 1)
    # it takes place as planned if the cancellation is taken back
    assert cancelled.cancelled and not cancelled.moved
    assert news(bob)[-1] == "session_cancelled"
    told = db.session.scalars(
        select(Notification).where(Notification.user_id == bob.id).order_by(Notification.id)
    ).all()[-1]
    # Bob's zone is New York: the session he would have come to was Wednesday at 12:00
    assert "Wed" in told.params["when"] and "12:00" in told.params["when"]
    assert "Wed" in news_mails(bob)[-1].text_body


def test_restoring_a_cancelled_session_brings_it_back_as_planned(ctx, pair, active_id):
    alice, bob = pair
    cancel(alice, active_id, 2, now=planned(2) - timedelta(hours=2))  # late
    restored = restore(bob, active_id, 2, now=planned(2) - timedelta(hours=1))
    assert restored.state == "scheduled" and restored.cancel_kind is None
    assert not restored.late and restored.cancel_reason == "" and restored.cancelled_by_id is None
    assert sequences(active_id) == [2]
    assert news(alice) == ["session_restored"] and news_mails(alice)[-1].template == (
        "session_restored"
    )
    assert news(bob) == ["session_cancelled_late"]
    assert not session(active_id, 2).cancelled and session(active_id, 2).start == planned(2)


def test_restoring_a_session_that_is_not_cancelled_changes_nothing(ctx, pair, active_id):
    alice, bob = pair
    assert restore(alice, active_id, 0) is None
    move(alice, active_id, 1, planned(1) + timedelta(hours=2))
    kept = restore(alice, active_id, 1)
    assert kept is not None and not kept.cancelled and kept.moved
    assert sequences(active_id) == [1] and news(bob) == ["session_moved"]
    assert count(SessionRecord) == 1


def test_a_cancelled_session_cannot_be_restored_once_it_would_have_begun(ctx, pair, active_id):
    alice, bob = pair
    cancel(alice, active_id, 0)
    for now in (FIRST, FIRST + timedelta(days=1)):
        with pytest.raises(Conflict, match="begun"):
            restore(bob, active_id, 0, now=now)
    assert record(active_id, 0).cancelled and sequences(active_id) == [1]
    assert news(alice) == []


# --- moving one session ----------------------------------------------------------------------


def test_moving_a_session_between_its_neighbours_keeps_its_length(ctx, pair, active_id):
    alice, bob = pair
    wednesday = planned(1) + timedelta(days=1, hours=2)
    [series] = all_series(active_id)
    updated = series.updated_at
    moved = move(alice, active_id, 1, wednesday)
    assert moved.moved and moved.moved_by_id == alice.id
    assert (moved.moved_start, moved.moved_end) == (wednesday, wednesday + timedelta(hours=1))
    [series] = all_series(active_id)
    assert series.sequence == 1 and series.updated_at > updated
    assert news(bob) == ["session_moved"] and news(alice) == []
    assert news_mails(bob)[-1].template == "session_moved"
    assert session(active_id, 1).start == wednesday
    # moving it where it is already changes nothing
    assert move(bob, active_id, 1, wednesday).id == moved.id
    assert sequences(active_id) == [1] and news(alice) == []


@pytest.mark.parametrize(
    "start",
    [
        planned(2),  # onto the next session
        planned(2) - timedelta(minutes=30),  # into it
        planned(2) + timedelta(hours=2),  # after it
        planned(0),  # onto the session before
        planned(0) + timedelta(minutes=30),  # into it
        planned(0) - timedelta(hours=1),  # before it
    ],
)
def test_a_session_cannot_move_onto_or_past_its_neighbours(ctx, pair, active_id, start):
    alice, bob = pair
    with pytest.raises(Invalid) as raised:
        move(alice, active_id, 1, start)
    assert raised.value.field == "start"
    assert count(SessionRecord) == 0 and sequences(active_id) == [0] and news(bob) == []


def test_a_session_may_move_right_next_to_its_neighbours(ctx, pair, active_id):
    alice, _bob = pair
    move(alice, active_id, 1, planned(0) + timedelta(hours=1))  # as the one before ends
    move(alice, active_id, 1, planned(2) - timedelta(hours=1))  # ending as the next begins
    assert session(active_id, 1).end == planned(2)


def test_a_cancelled_neighbour_leaves_room_up_to_a_rhythm_step(ctx, pair, active_id):
    alice, _bob = pair
    cancel(alice, active_id, 2)
    into = planned(2) - timedelta(minutes=30)  # where the cancelled one would have been
    assert move(alice, active_id, 1, into).moved_start == into
    with pytest.raises(Invalid, match="two sessions are apart"):
        move(alice, active_id, 1, planned(2))


def test_restoring_never_makes_two_sessions_overlap(ctx, pair, active_id):
    alice, bob = pair
    cancel(alice, active_id, 2)
    move(alice, active_id, 1, planned(2) - timedelta(minutes=30))
    with pytest.raises(Conflict, match="moved into this time"):
        restore(bob, active_id, 2)
    held = [s for s in sessions_of(active_id) if not s.cancelled]
    assert all(one.end <= two.start for one, two in pairwise(held))
    assert sessions_of(active_id)[2].cancelled


@pytest.mark.parametrize("start", [NOW - timedelta(hours=1), NOW])
def test_a_session_cannot_move_into_the_past(ctx, pair, active_id, start):
    alice, _bob = pair
    with pytest.raises(Invalid, match="still to come") as raised:
        move(alice, active_id, 0, start)
    assert raised.value.field == "start" and count(SessionRecord) == 0


def test_a_session_that_has_begun_or_is_cancelled_cannot_move(ctx, pair, active_id):
    alice, bob = pair
    with pytest.raises(Conflict, match="begun"):
        move(alice, active_id, 0, FIRST + timedelta(hours=3), now=FIRST + timedelta(minutes=5))
    cancel(bob, active_id, 1)
    with pytest.raises(Conflict, match="cancelled"):
        move(alice, active_id, 1, planned(1) + timedelta(hours=2))
    assert not record(active_id, 1).moved and sequences(active_id) == [1]
    assert news(bob) == []


def test_moving_a_session_back_to_its_planned_time_clears_the_move(ctx, pair, active_id):
    alice, bob = pair
    move(alice, active_id, 1, planned(1) + timedelta(days=1))
    back = move(bob, active_id, 1, planned(1))
    assert not back.moved and back.moved_end is None and back.moved_by_id is None
    assert session(active_id, 1).start == planned(1)
    assert sequences(active_id) == [2] and news(alice) == ["session_moved"]


@pytest.mark.parametrize(
    "number, step, allowed",
    [
        (0, -timedelta(days=1), True),  # Monday 14 December, the term's first day
        (0, -timedelta(days=2), False),  # the first has no neighbour before it: the term
        (LAST, timedelta(days=4), True),  # Saturday 13 March, the term's last day
        (LAST, timedelta(days=5), False),  # the last has none after it
    ],
)
def test_the_first_and_last_session_move_within_the_term(
    ctx, pair, active_id, number, step, allowed
):
    alice, _bob = pair
    start = planned(number) + step
    if allowed:
        assert move(alice, active_id, number, start).moved_start == start
        return
    with pytest.raises(Invalid, match="outside your term") as raised:
        move(alice, active_id, number, start)
    assert raised.value.field == "start" and count(SessionRecord) == 0


def test_a_moved_session_is_upcoming_at_its_new_time(ctx, pair, active_id):
    alice, _bob = pair
    earlier = planned(1) - timedelta(days=3)  # Saturday 19 December
    later = planned(2) + timedelta(days=2)  # Thursday 31 December
    move(alice, active_id, 1, earlier)
    move(alice, active_id, 2, later)
    sessions = sessions_of(active_id)
    # after the moved first one ended, though before its planned time: it is over
    now = earlier + timedelta(hours=2)
    coming = timeline.upcoming(sessions, now, 3)
    assert [(s.number, s.start) for s in coming] == [(2, later), (3, planned(3)), (4, planned(4))]
    # after the planned end of the second, before its new time: it is still to come
    now = planned(2) + timedelta(hours=2)
    assert [s.number for s in timeline.upcoming(sessions, now, 2)] == [2, 3]
    assert service.overview(tandem_of(active_id), now).next.number == 2


def test_a_new_time_must_name_its_zone(ctx, pair, active_id):
    alice, _bob = pair
    with pytest.raises(ValueError):
        move(alice, active_id, 1, planned(1).replace(tzinfo=None) + timedelta(hours=2))


# --- who may do what, and when ----------------------------------------------------------------

SINGLE = {  # session 1 is the one the tests cancel first
    "cancel": lambda p, t: cancel(p, t, 2),
    "restore": lambda p, t: restore(p, t, 1),
    "move": lambda p, t: move(p, t, 2, planned(2) + timedelta(hours=2)),
    "attendance": lambda p, t: attend(p, t, 0),
    "notes": lambda p, t: notes(p, t, 2, 0, topic="Feedback"),
}
WHOLE = {
    "change": lambda p, t: change(p, t, date(2027, 1, 4)),
    "pause": lambda p, t: service.pause_series(user(p), t, date(2026, 12, 21), 2, now=NOW),
    "resume": lambda p, t: service.resume_series(user(p), t, now=NOW),
    "end": lambda p, t: service.end_series(user(p), t, date(2027, 1, 5), now=NOW),
}


@pytest.mark.parametrize("outsider", ["mallory", "mod"])
@pytest.mark.parametrize("action", [*SINGLE, *WHOLE])
def test_the_sessions_are_not_found_for_anyone_outside_the_tandem(
    ctx, request, pair, active_id, outsider, action
):
    alice, bob = pair
    stranger = request.getfixturevalue(outsider)
    cancel(bob, active_id, 1)
    call = {**SINGLE, **WHOLE}[action]
    with pytest.raises(NotFound):
        call(stranger, active_id)
    with pytest.raises(NotFound):
        service.session_for(user(stranger), sid(active_id), 0)
    assert count(SessionRecord) == 1 and sequences(active_id) == [1]
    assert news(alice) == ["session_cancelled"] and news(bob) == []


@pytest.mark.parametrize("number", [13, 99, -1])
def test_a_number_the_series_does_not_have_is_not_found(ctx, pair, active_id, number):
    alice, _bob = pair
    for call in (
        lambda: cancel(alice, active_id, number),
        lambda: restore(alice, active_id, number),
        lambda: move(alice, active_id, number, planned(1) + timedelta(hours=2)),
        lambda: service.record_attendance(user(alice), sid(active_id), number, [], now=LATER),
        lambda: notes(alice, active_id, number, 0, topic="x"),
    ):
        with pytest.raises(NotFound):
            call()
    with pytest.raises(NotFound):
        service.cancel_session(user(alice), 999_999, 0, REASON, now=NOW)
    assert count(SessionRecord) == 0


@pytest.mark.parametrize("state", ["forming", "ended"])
@pytest.mark.parametrize("action", [*SINGLE, *WHOLE])
def test_a_tandem_that_is_not_running_changes_no_session(ctx, pair, active_id, state, action):
    alice, bob = pair
    cancel(bob, active_id, 1)  # something to restore
    set_state(active_id, state)
    message = "once everyone has signed" if state == "forming" else "ended"
    with pytest.raises(Conflict, match=message):
        {**SINGLE, **WHOLE}[action](alice, active_id)
    assert count(SessionRecord) == 1 and record(active_id, 1).cancelled
    assert sequences(active_id) == [1] and news(bob) == []


def test_an_ended_tandem_keeps_its_past_sessions_as_they_were(ctx, pair, active_id):
    alice, bob = pair
    tandems.end_early(user(bob), active_id, "no_time", now=LATER)
    with pytest.raises(Conflict, match="ended"):  # held, in the tandem that ended
        cancel(alice, active_id, 0, now=LATER)
    with pytest.raises(Conflict, match="ended"):
        attend(alice, active_id, 3, [bob], now=LATER)
    with pytest.raises(Conflict, match="ended"):
        notes(alice, active_id, 3, 0, now=LATER, topic="Our last session")
    with pytest.raises(NotFound):  # no longer a session at all
        cancel(alice, active_id, 4, now=LATER)
    assert count(SessionRecord) == 0


@pytest.mark.parametrize("action", [*WHOLE])
def test_a_completed_tandem_keeps_its_last_sessions_but_not_their_rhythm(
    ctx, pair, active_id, action
):
    alice, _bob = pair
    complete(pair, active_id)
    before = sequences(active_id)
    with pytest.raises(Conflict, match="completing"):
        WHOLE[action](alice, active_id)
    assert sequences(active_id) == before and len(all_series(active_id)) == 1


def test_a_completed_tandem_may_still_cancel_move_and_record_its_last_sessions(
    ctx, pair, active_id
):
    alice, bob = pair
    complete(pair, active_id)
    cancel(alice, active_id, LAST, now=LAST_TWO_WEEKS)  # Tuesday 9 March, the last
    restore(bob, active_id, LAST, now=LAST_TWO_WEEKS)
    move(bob, active_id, LAST, planned(LAST) + timedelta(hours=1), now=LAST_TWO_WEEKS)
    attend(alice, active_id, 11, [bob])
    assert news(alice) == ["session_restored", "session_moved"]
    assert [a.user_id for a in record(active_id, 11).absences] == [bob.id]


# --- attendance and no-shows ----------------------------------------------------------------


def test_attendance_is_recorded_once_the_session_has_begun(ctx, pair, active_id):
    alice, bob = pair
    with pytest.raises(Conflict, match="once the session has begun"):
        attend(alice, active_id, 0, [bob], now=FIRST - timedelta(minutes=1))
    assert count(SessionRecord) == 0
    held = attend(alice, active_id, 0, [bob], now=FIRST)
    assert [a.user_id for a in held.absences] == [bob.id]
    assert held.attendance_by_id == alice.id and held.attendance_at == FIRST
    assert sequences(active_id) == [0]  # calendars do not carry attendance


def test_a_cancelled_session_has_no_attendance(ctx, pair, active_id):
    alice, bob = pair
    cancel(alice, active_id, 0)
    with pytest.raises(Conflict, match="cancelled"):
        attend(bob, active_id, 0, [alice])
    assert record(active_id, 0).absences == []


def test_only_members_of_the_tandem_can_be_absent(ctx, pair, mallory, active_id):
    alice, bob = pair
    with pytest.raises(Invalid) as raised:
        attend(alice, active_id, 0, [bob, mallory])
    assert raised.value.field == "absent" and count(SessionRecord) == 0


def test_recording_attendance_again_replaces_it(ctx, pair, active_id):
    alice, bob = pair
    attend(alice, active_id, 0, [bob])
    later = FIRST + timedelta(hours=3)
    again = attend(bob, active_id, 0, [alice, alice], now=later)
    assert [a.user_id for a in again.absences] == [alice.id]
    assert again.attendance_by_id == bob.id and again.attendance_at == later
    attend(bob, active_id, 0, [alice], now=later)  # the same again: no duplicate row
    assert [a.user_id for a in record(active_id, 0).absences] == [alice.id]
    attend(alice, active_id, 0, [])
    assert record(active_id, 0).absences == [] and count(SessionRecord) == 1
    tandem = tandem_of(active_id)
    assert service.no_show_counts(tandem, sessions_of(active_id)) == {}


def test_reaching_the_agreed_no_shows_tells_everyone_once(ctx, pair, active_id):
    alice, bob = pair
    attend(alice, active_id, 0, [bob])
    assert news(alice) == news(bob) == []
    attend(alice, active_id, 1, [bob])  # the agreement's limit: 2
    assert news(alice) == ["no_shows"] and news(bob) == ["no_shows_you"]
    assert news_mails(alice)[-1].template == "no_shows"
    mail = news_mails(bob)[-1]
    assert mail.template == "no_shows_you" and "Sessions you missed without cancelling: 2" in (
        mail.text_body
    )
    counts = service.no_show_counts(tandem_of(active_id), sessions_of(active_id))
    assert counts == {bob.id: 2}
    # recording the same again, or a third no-show, tells nobody again
    attend(bob, active_id, 1, [bob], now=planned(1) + timedelta(hours=2))
    attend(alice, active_id, 2, [bob])
    assert news(alice) == ["no_shows"] and news(bob) == ["no_shows_you"]


def test_no_shows_reached_on_a_session_with_notes_tell_too(ctx, pair, active_id):
    alice, bob = pair
    notes(alice, active_id, 1, 0, topic="Feedback")  # the record exists already
    attend(alice, active_id, 0, [bob])
    attend(alice, active_id, 1, [bob])
    assert news(alice) == ["no_shows"] and news(bob) == ["no_shows_you"]


def test_no_shows_count_in_the_term_in_force_only(ctx, pair, active_id):
    alice, bob = pair
    attend(alice, active_id, 0, [bob])
    tandems.choose_at_term_end(user(alice), active_id, "continue", now=LAST_TWO_WEEKS)
    sign_all(pair, active_id, LAST_TWO_WEEKS)
    [series] = all_series(active_id)
    assert series.ends_on == date(2027, 6, 11)  # the same series runs into the next term
    assert service.no_show_counts(tandem_of(active_id), sessions_of(active_id)) == {}
    attend(alice, active_id, 13, [bob])  # Tuesday 16 March, in the new term
    attend(alice, active_id, 12, [bob])  # Tuesday 9 March, in the term before
    counts = service.no_show_counts(tandem_of(active_id), sessions_of(active_id))
    assert counts == {bob.id: 1} and news(bob) == []


# --- shared notes --------------------------------------------------------------------------


def test_notes_are_saved_as_a_new_version_and_the_same_words_change_nothing(ctx, pair, active_id):
    alice, bob = pair
    saved = notes(alice, active_id, 0, 0, update="  Busy week.\r\n", topic="Feedback")
    assert saved.notes_version == 1 and saved.notes_by_id == alice.id and saved.notes_at == NOW
    assert saved.notes == {"update": "Busy week.", "topic": "Feedback", "next_steps": ""}
    same = notes(bob, active_id, 0, 0, update="Busy week.", topic="Feedback ")
    assert same.notes_version == 1 and same.notes_by_id == alice.id
    more = notes(bob, active_id, 0, 1, update="Busy week.", topic="Feedback", next_steps="Ask")
    assert more.notes_version == 2 and more.notes_by_id == bob.id
    assert sequences(active_id) == [0] and news(alice) == news(bob) == []


def test_a_save_over_newer_notes_keeps_both_texts_and_overwrites_nothing(ctx, pair, active_id):
    alice, bob = pair
    notes(alice, active_id, 0, 0, topic="Alice's topic")
    with pytest.raises(service.StaleNotes) as raised:
        notes(bob, active_id, 0, 0, topic="Bob's topic")
    stale = raised.value
    assert stale.status == 409 and stale.by == "Alice"
    assert stale.yours == {"update": "", "topic": "Bob's topic", "next_steps": ""}
    assert stale.record.notes["topic"] == "Alice's topic"
    assert stale.message.startswith("Alice saved these notes while you were writing")
    kept = record(active_id, 0)
    assert kept.notes["topic"] == "Alice's topic" and kept.notes_version == 1
    assert kept.notes_by_id == alice.id


@pytest.mark.parametrize("part", ["update", "topic", "next_steps"])
def test_notes_longer_than_4000_characters_are_invalid(ctx, pair, active_id, part):
    alice, _bob = pair
    assert notes(alice, active_id, 0, 0, **{part: "x" * 4000}).notes_version == 1
    with pytest.raises(Invalid) as raised:
        notes(alice, active_id, 0, 1, **{part: "x" * 4001})
    assert raised.value.field == part and record(active_id, 0).notes_version == 1


# --- the whole series ----------------------------------------------------------------------


def test_a_new_time_from_a_day_on_ends_the_old_series_before_that_day(ctx, pair, active_id):
    alice, bob = pair
    made = change(alice, active_id, date(2027, 1, 4))  # a Monday
    old, new = all_series(active_id)
    assert new.id == made.id
    assert old.state == "ended" and old.ends_on == date(2026, 12, 29) and old.sequence == 1
    assert [s.start for s in timeline.timeline([old])] == [planned(n) for n in range(3)]
    assert new.state == "active" and new.sequence == 0 and new.changed_by_id == alice.id
    assert (new.weekday, new.start_minute, new.zone, new.length_minutes) == (
        3,
        19 * 60,
        "Europe/Berlin",
        60,
    )
    assert new.interval_weeks == 1 and (new.starts_on, new.ends_on) == (
        date(2027, 1, 4),
        TERM_END,
    )
    starts = [s.start for s in timeline.timeline([new])]
    assert starts[0] == datetime(2027, 1, 7, 18, 0, tzinfo=UTC)  # the first Thursday
    assert (old.next_session_at, new.next_session_at) == (FIRST, starts[0])  # reminders
    assert starts[-1] == datetime(2027, 3, 11, 18, 0, tzinfo=UTC) and len(starts) == 10
    assert news(bob) == ["series_changed"] and news(alice) == []
    assert news_mails(bob)[-1].template == "series_changed"
    # the same rhythm again changes nothing
    assert change(bob, active_id, date(2027, 1, 11)).id == made.id
    assert change(alice, active_id, date(2027, 1, 4)).id == made.id
    assert sequences(active_id) == [1, 0] and news(alice) == [] and news(bob) == ["series_changed"]


def test_a_new_time_keeps_the_sessions_held_and_the_one_under_way(ctx, pair, active_id):
    alice, bob = pair
    now = planned(1) + timedelta(minutes=20)  # Tuesday 22 December, in the session
    attend(alice, active_id, 0, [bob])
    change(alice, active_id, date(2026, 12, 22), now=now)
    old, new = all_series(active_id)
    assert old.ends_on == date(2026, 12, 22)
    assert [s.number for s in timeline.timeline([old])] == [0, 1]
    assert [a.user_id for a in record(active_id, 0).absences] == [bob.id]
    assert new.starts_on == date(2026, 12, 22)
    assert timeline.timeline([new])[0].start == datetime(2026, 12, 24, 18, 0, tzinfo=UTC)


def test_a_new_time_that_starts_today_after_its_hour_begins_next_week(ctx, pair, active_id):
    alice, _bob = pair
    thursday_evening = datetime(2027, 1, 7, 20, 0, tzinfo=UTC)
    change(alice, active_id, date(2027, 1, 7), now=thursday_evening)
    _old, new = all_series(active_id)
    assert timeline.timeline([new])[0].start == datetime(2027, 1, 14, 18, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "from_day, message",
    [
        (None, "give a date"),
        (date(2026, 12, 6), "today or a later day"),
        (date(2027, 3, 14), "after the end of your term"),
        (date(2027, 3, 12), "No session in this rhythm fits"),  # a Friday: no Thursday left
    ],
)
def test_a_new_time_needs_a_day_within_the_term(ctx, pair, active_id, from_day, message):
    alice, bob = pair
    with pytest.raises(Invalid, match=message) as raised:
        change(alice, active_id, from_day)
    assert raised.value.field == "from"
    assert len(all_series(active_id)) == 1 and sequences(active_id) == [0] and news(bob) == []


@pytest.mark.parametrize(
    "fields, field",
    [
        (("monthly", "3", "19:00", "Europe/Berlin", "60"), "frequency"),
        (("weekly", "7", "19:00", "Europe/Berlin", "60"), "weekday"),
        (("weekly", "Thursday", "19:00", "Europe/Berlin", "60"), "weekday"),
        (("weekly", "3", "25:00", "Europe/Berlin", "60"), "start"),
        (("weekly", "3", "7pm", "Europe/Berlin", "60"), "start"),
        (("weekly", "3", "19:00", "Mars/Olympus", "60"), "zone"),
        (("weekly", "3", "19:00", "Europe/Berlin", "45"), "length"),
    ],
)
def test_a_rhythm_from_a_form_is_checked_field_by_field(ctx, fields, field):
    with pytest.raises(Invalid) as raised:
        service.rhythm_fields(*fields)
    assert raised.value.field == field


def test_a_rhythm_from_a_form_becomes_series_fields(ctx):
    assert service.rhythm_fields("biweekly", 0, " 07:30 ", "Asia/Tokyo", 90) == {
        "interval_weeks": 2,
        "weekday": 0,
        "start_minute": 7 * 60 + 30,
        "zone": "Asia/Tokyo",
        "length_minutes": 90,
    }


def test_a_pause_cancels_the_sessions_in_its_weeks_and_resuming_brings_them_back(
    ctx, pair, active_id
):
    alice, bob = pair
    paused = service.pause_series(user(alice), active_id, date(2026, 12, 21), "2", now=NOW)
    assert [r.number for r in paused] == [1, 2]
    assert all(r.cancel_kind == "pause" and not r.late and r.cancel_reason == "" for r in paused)
    sessions = sessions_of(active_id)
    assert [s.number for s in sessions if s.cancelled] == [1, 2]
    assert all(s.paused for s in sessions if s.cancelled)
    assert service.overview(tandem_of(active_id), NOW).paused_until == date(2026, 12, 29)
    assert sequences(active_id) == [1]
    assert news(bob) == ["series_paused"] and news(alice) == []
    assert news_mails(bob)[-1].template == "series_paused"

    # while the pause lasts: the first paused session is over, the second comes back
    now = planned(1) + timedelta(hours=2)
    assert service.resume_series(user(bob), active_id, now=now) == 1
    assert [s.number for s in sessions_of(active_id) if s.cancelled] == [1]
    assert service.overview(tandem_of(active_id), now).paused_until is None
    assert sequences(active_id) == [2] and news(alice) == ["series_resumed"]
    # again: nothing to resume, nobody told
    assert service.resume_series(user(bob), active_id, now=now) == 0
    assert sequences(active_id) == [2] and news(alice) == ["series_resumed"]


def test_a_pause_inside_the_notice_period_is_not_a_late_cancellation(ctx, pair, active_id):
    alice, _bob = pair
    now = FIRST - timedelta(hours=2)
    [paused] = service.pause_series(user(alice), active_id, now.date(), 1, now=now)
    assert paused.number == 0 and not paused.late


def test_resuming_leaves_single_cancellations_cancelled(ctx, pair, active_id):
    alice, bob = pair
    cancel(alice, active_id, 2)
    service.pause_series(user(bob), active_id, date(2026, 12, 21), 3, now=NOW)
    assert [s.number for s in sessions_of(active_id) if s.cancelled] == [1, 2, 3]
    assert service.resume_series(user(alice), active_id, now=NOW) == 2
    assert [s.number for s in sessions_of(active_id) if s.cancelled] == [2]
    assert record(active_id, 2).cancel_reason == REASON


@pytest.mark.parametrize("weeks", [0, 9, "-1", "two", None])
def test_a_pause_lasts_one_to_eight_weeks(ctx, pair, active_id, weeks):
    alice, _bob = pair
    with pytest.raises(Invalid) as raised:
        service.pause_series(user(alice), active_id, date(2026, 12, 21), weeks, now=NOW)
    assert raised.value.field == "weeks" and count(SessionRecord) == 0


def test_a_pause_needs_a_session_in_its_weeks(ctx, pair, active_id):
    alice, bob = pair
    with pytest.raises(Invalid, match="no session to pause") as raised:
        service.pause_series(user(alice), active_id, date(2027, 3, 10), 1, now=NOW)
    assert raised.value.field == "from"
    cancel(alice, active_id, 1)  # the only session in that week is cancelled already
    with pytest.raises(Invalid, match="no session to pause"):
        service.pause_series(user(alice), active_id, date(2026, 12, 21), 1, now=NOW)
    assert count(SessionRecord) == 1 and sequences(active_id) == [1]
    assert news(bob) == ["session_cancelled"]


def test_ending_the_sessions_early_keeps_the_tandem_and_a_new_time_starts_them_again(
    ctx, pair, active_id
):
    alice, bob = pair
    assert service.end_series(user(alice), active_id, date(2027, 1, 5), now=NOW) is True
    [series] = all_series(active_id)
    assert series.state == "ended" and series.ends_on == date(2027, 1, 5)
    assert series.sequence == 1
    assert timeline.timeline([series])[-1].start == planned(3)
    assert tandem_of(active_id).state == "active"
    assert timeline.next_sessions(tandem_of(active_id), LATER) == []
    assert news(bob) == ["series_ended"] and "Your last session is on" in (
        news_mails(bob)[-1].text_body
    )
    # again changes nothing
    assert service.end_series(user(bob), active_id, date(2027, 1, 5), now=NOW) is False
    assert service.end_series(user(bob), active_id, date(2027, 2, 1), now=NOW) is False
    assert sequences(active_id) == [1] and news(alice) == []
    # a new time starts the sessions again
    change(
        bob, active_id, date(2027, 1, 11), fields=("weekly", "1", "18:00", "Europe/Berlin", "60")
    )
    coming = timeline.next_sessions(tandem_of(active_id), LATER)
    assert [s.start for s in coming] == [planned(n) for n in (4, 5, 6, 7)]
    assert news(alice) == ["series_changed"]


def test_ending_the_sessions_before_the_first_one_calls_the_series_off(ctx, pair, active_id):
    alice, bob = pair
    assert service.end_series(user(alice), active_id, date(2026, 12, 8), now=NOW)
    [series] = all_series(active_id)
    assert series.state == "cancelled" and timeline.timeline([series]) == []
    assert "before the first one" in news_mails(bob)[-1].text_body
    with pytest.raises(Invalid, match="give a date"):
        service.end_series(user(alice), active_id, None, now=NOW)


# --- the agreement and the series ----------------------------------------------------------


def test_re_signing_an_unrelated_change_keeps_a_members_new_time(ctx, pair, active_id):
    alice, bob = pair
    change(alice, active_id, date(2027, 1, 4))
    before = [(s.id, s.state, s.weekday, s.ends_on, s.sequence) for s in all_series(active_id)]
    agreement = tandems.agreement_of(tandem_of(active_id))
    tandems.save_section(
        user(bob), active_id, "rules", {"text": "We start on time."}, agreement.version, LATER
    )
    sign_all(pair, active_id, LATER)
    assert tandems.agreement_of(tandem_of(active_id)).in_force_version == 2
    after = [(s.id, s.state, s.weekday, s.ends_on, s.sequence) for s in all_series(active_id)]
    assert after == before


def test_continuing_the_term_keeps_a_members_new_time_and_moves_its_end(ctx, pair, active_id):
    alice, _bob = pair
    change(alice, active_id, date(2027, 1, 4))
    tandems.choose_at_term_end(user(alice), active_id, "continue", now=LAST_TWO_WEEKS)
    sign_all(pair, active_id, LAST_TWO_WEEKS)
    old, thursdays = all_series(active_id)
    assert old.state == "ended" and old.ends_on == date(2026, 12, 29)
    assert thursdays.state == "active" and thursdays.weekday == 3
    assert thursdays.ends_on == date(2027, 6, 11) and thursdays.sequence == 1
    coming = timeline.next_sessions(tandem_of(active_id), datetime(2027, 6, 1, tzinfo=UTC), 9)
    # summer time: 19:00 in Berlin is 17:00 UTC
    assert [s.start for s in coming] == [
        datetime(2027, 6, 3, 17, 0, tzinfo=UTC),
        datetime(2027, 6, 10, 17, 0, tzinfo=UTC),
    ]


def test_a_new_rhythm_in_the_agreement_replaces_a_members_time_from_the_next_session(
    ctx, pair, active_id
):
    alice, bob = pair
    change(alice, active_id, date(2027, 1, 4))
    now = datetime(2027, 1, 20, 9, 0, tzinfo=UTC)  # a Wednesday: two Thursdays were held
    agreement = tandems.agreement_of(tandem_of(active_id))
    wednesdays = {
        "frequency": "weekly",
        "weekday": "2",
        "start": "20:00",
        "zone": "Europe/Berlin",
        "length": "90",
    }
    tandems.save_section(user(bob), active_id, "rhythm", wednesdays, agreement.version, now)
    sign_all(pair, active_id, now)
    tuesdays, thursdays, new = all_series(active_id)
    assert [s.start for s in timeline.timeline([tuesdays])] == [planned(n) for n in range(3)]
    assert thursdays.state == "ended" and thursdays.ends_on == date(2027, 1, 14)
    assert [s.start.day for s in timeline.timeline([thursdays])] == [7, 14]
    assert new.state == "active" and (new.weekday, new.start_minute, new.length_minutes) == (
        2,
        20 * 60,
        90,
    )
    assert timeline.timeline([new])[0].start == datetime(2027, 1, 20, 19, 0, tzinfo=UTC)
    assert new.ends_on == TERM_END and new.agreement_version == 2


def test_a_members_next_sessions_across_tandems_come_soonest_first(ctx, trio, mallory):
    alice, bob, carol = trio
    ready(ctx, *trio)
    pair_id = active_tandem(ctx, alice, bob)
    group_id = active_tandem(ctx, *trio)
    change(carol, group_id, date(2026, 12, 14))  # Thursdays from the first week on
    thursday = datetime(2026, 12, 17, 18, 0, tzinfo=UTC)
    coming = service.next_across(user(alice), NOW, limit=4)
    assert [(s.series.tandem_id, s.start) for s in coming] == [
        (pair_id, planned(0)),
        (group_id, thursday),
        (pair_id, planned(1)),
        (group_id, thursday + timedelta(weeks=1)),
    ]
    assert {s.series.tandem_id for s in service.next_across(user(carol), NOW)} == {group_id}
    assert service.next_across(user(mallory), NOW) == []
    tandems.end_early(user(bob), pair_id, "no_time", now=NOW)
    assert {s.series.tandem_id for s in service.next_across(user(alice), NOW)} == {group_id}


# --- groups ---------------------------------------------------------------------------------


def test_a_cancelled_session_takes_no_turn_in_a_group(ctx, trio, group_id):
    alice, bob, carol = trio
    ids = tandem_of(group_id).member_ids()
    roles = [(s.case_giver_id, s.moderator_id) for s in sessions_of(group_id)[:4]]
    assert roles == [(ids[n % 3], ids[(n + 1) % 3]) for n in range(4)]
    cancel(carol, group_id, 1)
    sessions = sessions_of(group_id)
    assert sessions[1].cancelled and sessions[1].case_giver_id is None
    assert sessions[1].moderator_id is None
    # the next session that takes place has the turn the cancelled one would have had
    assert [(s.case_giver_id, s.moderator_id) for s in (sessions[0], *sessions[2:4])] == roles[:3]
    assert news(alice) == news(bob) == ["session_cancelled"] and news(carol) == []


def test_leaving_a_group_is_recorded_and_coming_back_removes_it(ctx, trio, group_id):
    alice, bob, carol = trio
    tandems.leave_group(user(carol), group_id, now=NOW)
    departure = db.session.get(TandemDeparture, (group_id, carol.id))
    assert departure is not None and departure.left_at == NOW
    with pytest.raises(NotFound):  # her sessions are no longer hers
        cancel(carol, group_id, 0)
    invitation = tandems.invite(user(alice), group_id, carol.id, now=LATER)
    tandems.answer_invitation(user(carol), invitation.id, accept=True, now=LATER)
    assert db.session.get(TandemDeparture, (group_id, carol.id)) is None
    assert count(TandemDeparture) == 0
    assert tandem_of(group_id).member_ids() == [alice.id, bob.id, carol.id]


# --- reminders ------------------------------------------------------------------------------


def test_the_day_before_each_member_gets_one_reminder_in_their_language_and_zone(
    ctx, trio, group_id
):
    alice, bob, carol = trio
    now = FIRST - timedelta(hours=23)
    assert service.tick(now) == 3
    [to_alice] = mails(alice.email)[-1:]
    [to_bob] = mails(bob.email)[-1:]
    [to_carol] = mails(carol.email)[-1:]
    assert {m.template for m in (to_alice, to_bob, to_carol)} == {"session_reminder"}
    assert "Tue, Dec 15" in to_alice.text_body and "18:00 (Europe/Berlin)" in to_alice.text_body
    assert "12:00 (America/New_York)" in to_bob.text_body
    assert "Bob, Carol" in to_alice.subject
    assert 'lang="de"' in to_carol.html_body and "Di., 15. Dez." in to_carol.text_body
    assert "18:00 (Europe/Berlin)" in to_carol.text_body
    assert f"/sessions/{sid(group_id)}/0" in to_carol.text_body
    assert count(SessionReminder) == 3
    # a second tick sends nothing twice
    assert service.tick(now + timedelta(minutes=5)) == 0
    assert service.tick(FIRST - timedelta(minutes=1)) == 0
    assert count(SessionReminder) == 3
    assert count(OutboxMail, OutboxMail.template == "session_reminder") == 3


def _statements(call: Callable[[], object]) -> tuple[object, list[str]]:
    """What `call` returns and the SQL statements it sent (transaction control left out)."""
    sent: list[str] = []

    def seen(conn, cursor, statement, *args) -> None:
        if statement.split()[0].upper() in ("SELECT", "INSERT", "UPDATE", "DELETE"):
            sent.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        return call(), sent
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def test_tick_moves_the_index_on_and_an_idle_tick_reads_only_the_index(ctx, pair, active_id):
    alice, bob = pair
    [series] = all_series(active_id)
    assert series.next_session_at == FIRST
    db.session.rollback()
    sent, statements = _statements(lambda: service.tick(NOW))
    assert sent == 0 and len(statements) == 1
    assert "next_session_at" in statements[0] and "session_record" not in statements[0]
    assert service.tick(FIRST - timedelta(hours=1)) == 2
    assert all_series(active_id)[0].next_session_at == planned(1)
    db.session.rollback()
    sent, statements = _statements(lambda: service.tick(FIRST + timedelta(hours=2)))
    assert sent == 0 and len(statements) == 1
    # the last session: nothing after it
    assert service.tick(planned(LAST) - timedelta(hours=1)) == 2
    assert all_series(active_id)[0].next_session_at is None
    assert len(mails(alice.email)) == len(mails(bob.email))


def test_a_cancelled_session_gets_no_reminder(ctx, pair, active_id):
    alice, bob = pair
    cancel(alice, active_id, 0)
    assert all_series(active_id)[0].next_session_at == planned(1)
    assert service.tick(FIRST - timedelta(hours=1)) == 0
    assert count(SessionReminder) == 0
    assert [m.template for m in news_mails(bob)] == ["session_cancelled"]


def test_a_session_moved_into_the_next_day_gets_one_reminder(ctx, pair, active_id):
    alice, bob = pair
    now = datetime(2026, 12, 20, 12, 0, tzinfo=UTC)  # Sunday; the next session is Tuesday
    assert service.tick(now) == 0
    moved = now + timedelta(hours=22)  # Monday 21 December, 10:00 UTC
    move(alice, active_id, 1, moved, now=now)
    assert all_series(active_id)[0].next_session_at == moved
    assert service.tick(now) == 2
    assert service.tick(now + timedelta(hours=1)) == 0
    reminders = db.session.scalars(select(SessionReminder)).all()
    assert {(r.number, r.user_id) for r in reminders} == {(1, alice.id), (1, bob.id)}


@pytest.mark.parametrize("how", ["ended early", "state alone"])
def test_an_ended_tandem_gets_no_reminders(ctx, pair, active_id, how):
    _alice, bob = pair
    now = FIRST - timedelta(hours=23)
    if how == "ended early":
        tandems.end_early(user(bob), active_id, "no_time", now=now - timedelta(hours=1))
    else:  # the series still has sessions: the tandem's state alone says no
        set_state(active_id, "ended")
    assert service.tick(now) == 0 and count(SessionReminder) == 0
    assert count(OutboxMail, OutboxMail.template == "session_reminder") == 0
    assert all_series(active_id)[0].next_session_at in (None, planned(1))


# --- one transaction ------------------------------------------------------------------------


def _broken(*args, **kwargs):
    raise RuntimeError("the mail template broke")


@pytest.mark.parametrize(
    "action",
    [
        lambda a, t: cancel(a, t, 1),
        lambda a, t: move(a, t, 1, planned(1) + timedelta(hours=2)),
        lambda a, t: change(a, t, date(2027, 1, 4)),
        lambda a, t: service.pause_series(user(a), t, date(2026, 12, 21), 2, now=NOW),
        lambda a, t: service.end_series(user(a), t, date(2027, 1, 5), now=NOW),
    ],
    ids=["cancel", "move", "change", "pause", "end"],
)
def test_an_error_after_the_first_write_leaves_nothing_behind(
    ctx, pair, active_id, monkeypatch, action
):
    alice, bob = pair
    [series] = all_series(active_id)
    before = (series.state, series.ends_on, series.sequence, series.updated_at)
    monkeypatch.setattr(service, "_tell_others", _broken)
    with pytest.raises(RuntimeError):
        action(alice, active_id)
    [series] = all_series(active_id)
    assert (series.state, series.ends_on, series.sequence, series.updated_at) == before
    assert count(SessionRecord) == 0 and count(Series) == 1
    assert news(bob) == [] and news_mails(bob) == []


@pytest.mark.parametrize("undo", ["restore", "resume"])
def test_an_error_while_taking_a_cancellation_back_keeps_it(
    ctx, pair, active_id, monkeypatch, undo
):
    alice, bob = pair
    if undo == "restore":
        cancel(bob, active_id, 1)
    else:
        service.pause_series(user(bob), active_id, date(2026, 12, 21), 1, now=NOW)
    told = news(alice)
    monkeypatch.setattr(service, "_tell_others", _broken)
    with pytest.raises(RuntimeError):
        if undo == "restore":
            restore(alice, active_id, 1)
        else:
            service.resume_series(user(alice), active_id, now=NOW)
    assert record(active_id, 1).cancelled and sequences(active_id) == [1]
    assert news(alice) == told and news(bob) == []


def test_an_error_while_telling_about_no_shows_records_no_attendance(
    ctx, pair, active_id, monkeypatch
):
    alice, bob = pair
    attend(alice, active_id, 0, [bob])
    monkeypatch.setattr(service, "_tell", _broken)
    with pytest.raises(RuntimeError):
        attend(alice, active_id, 1, [bob])
    assert record(active_id, 1) is None and count(SessionRecord) == 1


# --- races ------------------------------------------------------------------------------------


def _quiet() -> None:
    """End the test's own read, so the racing writers need not wait for it (SQLite)."""
    db.session.rollback()


def _errors(results: list[object]) -> list[BaseException]:
    """The exceptions among the results; any that is not a domain error is a 500."""
    errors = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(e, DomainError) for e in errors), errors
    return errors


def test_two_members_cancelling_the_same_session_at_once_cancel_it_once(ctx, pair, active_id):
    alice, bob = pair
    series_id = sid(active_id)
    _quiet()
    results = race(
        ctx,
        lambda: service.cancel_session(user(alice), series_id, 1, "Alice is ill.", now=NOW),
        lambda: service.cancel_session(user(bob), series_id, 1, "Bob is away.", now=NOW),
    )
    assert _errors(results) == [] and results[0] == results[1]
    assert count(SessionRecord) == 1 and sequences(active_id) == [1]
    told = news(alice) + news(bob)
    assert told == ["session_cancelled"]
    assert count(OutboxMail, OutboxMail.template == "session_cancelled") == 1


def test_two_sessions_cancelled_at_once_raise_the_sequence_twice(ctx, pair, active_id):
    alice, bob = pair
    series_id = sid(active_id)
    _quiet()
    results = race(
        ctx,
        lambda: service.cancel_session(user(alice), series_id, 1, REASON, now=NOW),
        lambda: service.cancel_session(user(bob), series_id, 2, REASON, now=NOW),
    )
    assert _errors(results) == []
    assert [s.number for s in sessions_of(active_id) if s.cancelled] == [1, 2]
    [series] = all_series(active_id)
    # every change calendars must see raises the SEQUENCE: none is lost
    assert series.sequence == 2 and series.next_session_at == FIRST


def test_a_cancel_racing_a_move_of_the_same_session_ends_cancelled_without_error(
    ctx, pair, active_id
):
    alice, bob = pair
    series_id = sid(active_id)
    wednesday = planned(1) + timedelta(days=1)
    _quiet()
    results = race(
        ctx,
        lambda: service.cancel_session(user(alice), series_id, 1, REASON, now=NOW),
        lambda: service.move_session(user(bob), series_id, 1, wednesday, now=NOW),
    )
    cancelled, moved = results
    # the cancel always takes effect; the move either came first (and the cancellation
    # then took it back) or found the session cancelled: a clean Conflict, never a 500
    assert isinstance(cancelled, int), cancelled
    assert isinstance(moved, int | Conflict), moved
    kept = record(active_id, 1)
    assert kept.cancelled and not kept.moved and count(SessionRecord) == 1
    assert sequences(active_id) == [2 if isinstance(moved, int) else 1]
    assert news(bob) == ["session_cancelled"]
    assert news(alice) == (["session_moved"] if isinstance(moved, int) else [])


def test_a_cancel_racing_a_new_time_never_cancels_a_session_the_new_time_dropped(
    ctx, pair, active_id
):
    alice, bob = pair
    series_id, thursdays = sid(active_id), rhythm()
    _quiet()
    results = race(
        ctx,
        lambda: service.change_series(user(alice), active_id, date(2027, 1, 4), thursdays, NOW),
        lambda: service.cancel_session(user(bob), series_id, 4, REASON, now=NOW),
    )
    made, cancelled = results
    assert isinstance(made, int), made
    assert isinstance(cancelled, int | NotFound), cancelled
    old, new = all_series(active_id)
    assert new.id == made and old.ends_on == date(2026, 12, 29)
    # cancelled first, the new time then ended the series once more; else nothing to cancel
    assert old.sequence == (2 if isinstance(cancelled, int) else 1)
    assert news(alice) == (["session_cancelled"] if isinstance(cancelled, int) else [])


def test_a_cancel_that_waited_for_a_new_times_lock_sees_the_new_time(
    ctx, pair, active_id, monkeypatch
):
    """The cancel reads the series, then waits for the tandem's lock while the new time is
    written (on SQLite its transaction holds the new time off instead: the plain order)."""
    alice, bob = pair
    series_id, thursdays = sid(active_id), rhythm()
    reading, written = threading.Event(), threading.Event()
    tandem_for = tandems.tandem_for
    postgresql = db.engine.dialect.name == "postgresql"

    def slow_for_bob(member, tandem_id, lock=False):
        if member.id == bob.id and lock:
            reading.set()
            written.wait(timeout=10 if postgresql else 1)
        return tandem_for(member, tandem_id, lock)

    def change_meanwhile():
        reading.wait(timeout=5)
        made = service.change_series(user(alice), active_id, date(2027, 1, 4), thursdays, NOW)
        written.set()
        return made

    monkeypatch.setattr(tandems, "tandem_for", slow_for_bob)
    _quiet()
    made, cancelled = race(
        ctx,
        change_meanwhile,
        lambda: service.cancel_session(user(bob), series_id, 4, REASON, now=NOW),
    )
    assert isinstance(made, int), made
    old, _new = all_series(active_id)
    if postgresql:
        assert isinstance(cancelled, NotFound), cancelled  # session 4 is gone
        assert old.sequence == 1 and count(SessionRecord) == 0
    else:
        assert isinstance(cancelled, int) and old.sequence == 2
    assert old.ends_on == date(2026, 12, 29)


def test_two_saves_of_notes_from_the_same_version_keep_one_and_refuse_the_other(
    ctx, pair, active_id
):
    alice, bob = pair
    series_id = sid(active_id)
    _quiet()
    results = race(
        ctx,
        lambda: service.save_notes(user(alice), series_id, 0, {"topic": "Alice's"}, 0, now=NOW),
        lambda: service.save_notes(user(bob), series_id, 0, {"topic": "Bob's"}, 0, now=NOW),
    )
    errors = _errors(results)
    assert len(errors) == 1 and isinstance(errors[0], service.StaleNotes), results
    kept = record(active_id, 0)
    assert kept.notes_version == 1
    winner = alice if kept.notes_by_id == alice.id else bob
    assert kept.notes["topic"] == f"{winner.name}'s" and errors[0].by == winner.name


def test_two_changes_of_the_time_at_once_make_one_new_series(ctx, pair, active_id):
    alice, bob = pair
    _quiet()
    results = race(
        ctx,
        lambda: change(alice, active_id, date(2027, 1, 4)),
        lambda: change(bob, active_id, date(2027, 1, 4)),
    )
    assert _errors(results) == [] and results[0] == results[1]
    old, new = all_series(active_id)
    assert new.id == results[0] and (old.sequence, new.sequence) == (1, 0)
    assert count(Series) == 2
    assert len(news(alice) + news(bob)) == 1


def test_two_ticks_at_once_send_each_reminder_once(ctx, pair, active_id):
    alice, bob = pair
    now = FIRST - timedelta(hours=2)
    _quiet()
    results = race(ctx, lambda: service.tick(now), lambda: service.tick(now))
    assert _errors(results) == [] and sorted(results) == [0, 2]
    assert count(SessionReminder) == 2
    assert [m.template for m in mails(alice.email)].count("session_reminder") == 1
    assert [m.template for m in mails(bob.email)].count("session_reminder") == 1


def test_two_members_recording_the_same_no_show_at_once_tell_once(ctx, pair, active_id):
    alice, bob = pair
    attend(alice, active_id, 0, [bob])
    series_id = sid(active_id)
    now = planned(1) + timedelta(hours=1)
    _quiet()
    results = race(
        ctx,
        lambda: service.record_attendance(user(alice), series_id, 1, [bob.id], now=now),
        lambda: service.record_attendance(user(bob), series_id, 1, [bob.id], now=now),
    )
    assert _errors(results) == [] and results[0] == results[1]
    assert news(alice) == ["no_shows"] and news(bob) == ["no_shows_you"]


# --- what the messages say, and what is not written --------------------------------------------


def test_a_moved_session_is_named_by_the_time_it_had(ctx, pair, active_id):
    alice, bob = pair
    move(alice, active_id, 3, planned(3) + timedelta(days=1))
    [note] = db.session.scalars(
        select(Notification).where(Notification.user_id == bob.id).order_by(Notification.id.desc())
    ).all()[:1]
    # Bob lives in New York: 18:00 in Berlin on 5 January is 12:00 there
    assert note.kind == "session_moved" and "Jan 5" in note.params["was"]
    assert "12:00" in note.params["was"] and "Jan 6" in note.params["when"]
    assert "moved your session of" in news_mails(bob)[-1].text_body


def test_a_pause_names_a_moved_session_at_its_new_time(ctx, pair, active_id):
    alice, bob = pair
    move(alice, active_id, 3, planned(3) + timedelta(days=1))  # Wednesday 6 January
    service.pause_series(user(alice), active_id, date(2027, 1, 4), 2, now=NOW)
    note = db.session.scalars(
        select(Notification).where(Notification.user_id == bob.id).order_by(Notification.id.desc())
    ).first()
    assert note.kind == "series_paused" and "Jan 6" in note.params["when"]
    assert record(active_id, 3).moved_start is None and record(active_id, 3).cancel_kind == "pause"


def test_resuming_leaves_paused_a_session_another_one_moved_into(ctx, pair, active_id):
    alice, bob = pair
    service.pause_series(user(alice), active_id, date(2027, 1, 4), 1, now=NOW)  # session 3
    move(alice, active_id, 4, planned(3) + timedelta(minutes=30))  # into the paused time
    assert service.resume_series(user(bob), active_id, now=NOW) == 0
    assert record(active_id, 3).cancelled
    held = [s for s in sessions_of(active_id) if not s.cancelled]
    assert all(one.end <= two.start for one, two in pairwise(held))


def test_empty_notes_on_an_untouched_session_write_nothing(ctx, pair, active_id):
    alice, _bob = pair
    assert notes(alice, active_id, 2, 0, update="", topic="  ", next_steps="") is None
    assert count(SessionRecord) == 0
