"""Reflection in a tandem without HTTP: check-ins (no peeking before everyone answered), the
tick that opens and reminds, each goal's journey as chart data and the chart's geometry,
goals and milestones reached, success stories published only with everyone's consent, the
review of a term, and quick feedback after a session.

Times are passed as `now`, relative to the first session (Tuesday 15 December 2026, 17:00
UTC); the races run on SQLite and, with TEST_DATABASE_URL, on PostgreSQL.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from peerhub.accounts.models import User
from peerhub.errors import Conflict, DomainError, Invalid, NotFound
from peerhub.extensions import db
from peerhub.meetings import series as timeline
from peerhub.meetings import service as meetings
from peerhub.meetings.models import SessionFeedback
from peerhub.notifications.models import Notification
from peerhub.profiles.models import Profile
from peerhub.tandems import progress
from peerhub.tandems import service as tandems
from peerhub.tandems.models import (
    STORY_MAX,
    Achievement,
    CheckIn,
    CheckInAnswer,
    GoalRating,
    StoryConsent,
    SuccessStory,
    Tandem,
)
from peerhub.web import charts
from peerhub.web.charts import line_chart
from tests.conftest import make_user
from tests.intro_factories import ready
from tests.records import kinds, mails, race
from tests.session_factories import FIRST, NOW, active_tandem

# Alice and Bob are active since NOW (Monday 7 December 2026); their term runs from 14
# December 2026 to 13 March 2027, a session every Tuesday (numbers 0 to 12), a check-in
# every four weeks: the first one is due on 11 January 2027.
TERM = (date(2026, 12, 14), date(2027, 3, 13))
FIRST_DUE = date(2027, 1, 11)
WHEN = FIRST + timedelta(hours=2)  # the first session is over
LAST_TWO_WEEKS = datetime(2027, 3, 5, 9, 0, tzinfo=UTC)
GOALS = {
    "goal_title_0": "Lead meetings that end on time",
    "goal_key_0": "g1",
    "goal_title_1": "Say no kindly",
}


def user(persona) -> User:
    return db.session.get(User, persona.id)


def tandem_of(tandem_id: int) -> Tandem:
    db.session.expire_all()
    return db.session.get(Tandem, tandem_id, populate_existing=True)


def goals_of(tandem_id: int) -> list[dict[str, str]]:
    """The goals of the agreement in force, in order."""
    return progress._goals(progress._content(tandem_of(tandem_id)))


def keys_of(tandem_id: int) -> list[str]:
    return [g["key"] for g in goals_of(tandem_id)]


def planned(number: int) -> datetime:
    return FIRST + timedelta(weeks=number)


def sid(tandem_id: int) -> int:
    db.session.expire_all()
    return timeline.series_of(tandem_id)[0].id


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def told(persona, kind: str) -> int:
    """How many notifications of `kind` the member has."""
    return kinds(persona.id).count(kind)


def mailed(persona, template: str) -> int:
    return [m.template for m in mails(persona.email)].count(template)


def check_in(check_in_id: int) -> CheckIn:
    db.session.expire_all()
    return db.session.get(CheckIn, check_in_id)


def start(persona, tandem_id: int, now: datetime = WHEN) -> CheckIn:
    return progress.start_check_in(user(persona), tandem_id, now=now)


def rate(persona, check_in_id: int, *values, now: datetime = WHEN, helped="", change=""):
    """Answer with `values` for the check-in's goals, in order."""
    keys = [g["key"] for g in check_in(check_in_id).goals]
    ratings = dict(zip(keys, values, strict=True))
    return progress.answer(user(persona), check_in_id, ratings, helped, change, now=now)


def view(persona, check_in_id: int) -> progress.CheckInView:
    db.session.expire_all()
    tandem, found = progress.check_in_for(user(persona), check_in_id)
    return progress.view_of(tandem, found, user(persona))


def shown(persona, check_in_id: int) -> dict[int, dict[str, int]]:
    """The answers the member sees, as {user id: {goal key: progress}}."""
    return {a.user_id: a.progress() for a in view(persona, check_in_id).answers}


def journeys(persona, tandem_id: int) -> list[progress.Journey]:
    return progress.journeys(tandem_of(tandem_id), user(persona))


def sign_all(personas, tandem_id: int, now: datetime) -> None:
    version = tandems.agreement_of(tandem_of(tandem_id)).version
    for persona in personas:
        tandems.sign(user(persona), tandem_id, version, persona.name, True, now=now)


def change_goals(personas, tandem_id: int, titles: dict[str, str], now: datetime) -> None:
    """The first member saves the goals {key (or "" for a new one): title}; all sign."""
    data = {}
    for n, (key, title) in enumerate(titles.items()):
        data[f"goal_title_{n}"] = title
        data[f"goal_key_{n}"] = key
    agreement = tandems.agreement_of(tandem_of(tandem_id))
    tandems.save_section(user(personas[0]), tandem_id, "goals", data, agreement.version, now)
    sign_all(personas, tandem_id, now)


def forming(ctx, *personas) -> int:
    """A tandem whose agreement nobody has signed yet."""
    fresh = [p for p in personas if db.session.get(Profile, p.id) is None]
    db.session.rollback()  # end this read: ready() writes from its own context
    ready(ctx, *fresh)
    tandem = tandems.start_tandem([p.id for p in personas], now=NOW)
    db.session.commit()
    return tandem.id


def end(persona, tandem_id: int, now: datetime = WHEN) -> None:
    tandems.end_early(user(persona), tandem_id, "no_time", now=now)


def _quiet() -> None:
    """End the test's own read, so the racing writers need not wait for it (SQLite)."""
    db.session.rollback()


def _errors(results: list[object]) -> list[BaseException]:
    errors = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(e, DomainError) for e in errors), errors
    return errors


@pytest.fixture
def pair(ctx, alice, bob):
    return alice, bob


@pytest.fixture
def pair_id(ctx, pair) -> int:
    """Alice and Bob, active since NOW, with two goals: g1 and a second one."""
    ready(ctx, *pair)
    return active_tandem(ctx, *pair, goals=GOALS)


@pytest.fixture
def trio(ctx, alice, bob, carol):
    return alice, bob, carol


@pytest.fixture
def group_id(ctx, trio) -> int:
    ready(ctx, *trio)
    return active_tandem(ctx, *trio)


# --- opening a check-in ------------------------------------------------------------------------


def test_the_agreement_in_force_sets_the_first_check_in_date(ctx, pair_id):
    assert tandem_of(pair_id).next_check_in_on == FIRST_DUE
    [g1, g2] = goals_of(pair_id)
    assert g1 == {"key": "g1", "title": "Lead meetings that end on time"}
    assert g2["title"] == "Say no kindly" and g2["key"] != "g1"


def test_a_forming_tandem_has_no_check_ins(ctx, alice, bob):
    tandem_id = forming(ctx, alice, bob)
    with pytest.raises(Conflict):
        start(alice, tandem_id)
    assert count(CheckIn) == 0


def test_starting_a_check_in_copies_the_goals_and_tells_the_others(ctx, pair, pair_id):
    alice, bob = pair
    opened = start(alice, pair_id)
    assert opened.number == 1 and opened.due_on == WHEN.date() and opened.opened_at == WHEN
    assert opened.opened_by_id == alice.id and opened.closed_at is None
    assert opened.goals == goals_of(pair_id) and len(opened.goals) == 2
    # the interval counts from today
    assert tandem_of(pair_id).next_check_in_on == WHEN.date() + timedelta(weeks=4)
    assert told(bob, "check_in_open") == 1 and mailed(bob, "check_in_open") == 1
    assert told(alice, "check_in_open") == 0 and mailed(alice, "check_in_open") == 0
    [note] = db.session.scalars(
        select(Notification).where(
            Notification.user_id == bob.id, Notification.kind == "check_in_open"
        )
    ).all()
    # the notice names everyone in the tandem, the one who opened it too
    assert str(opened.id) in note.link and note.params["names"] == "Alice"


def test_starting_twice_returns_the_open_check_in(ctx, pair, pair_id):
    alice, bob = pair
    opened = start(alice, pair_id)
    assert start(alice, pair_id).id == opened.id
    assert start(bob, pair_id, now=WHEN + timedelta(hours=1)).id == opened.id
    # another day, still not answered by everyone: the same one
    rate(alice, opened.id, 10, 20)
    assert start(bob, pair_id, now=WHEN + timedelta(days=3)).id == opened.id
    assert count(CheckIn) == 1
    assert told(bob, "check_in_open") == 1 and told(alice, "check_in_open") == 0
    assert tandem_of(pair_id).next_check_in_on == WHEN.date() + timedelta(weeks=4)


def test_a_check_in_everyone_answered_gives_way_to_a_new_one_on_another_day(ctx, pair, pair_id):
    alice, bob = pair
    first = start(alice, pair_id)
    rate(alice, first.id, 10, 20)
    rate(bob, first.id, 30, 40)
    assert start(bob, pair_id, now=WHEN + timedelta(hours=1)).id == first.id  # same day
    later = WHEN + timedelta(days=7)
    second = start(bob, pair_id, now=later)
    assert second.id != first.id and second.number == 2 and second.due_on == later.date()
    assert check_in(first.id).closed_at == later and check_in(second.id).closed_at is None
    assert told(alice, "check_in_open") == 1 and told(bob, "check_in_open") == 1
    assert [c.number for c in progress.check_ins_of(tandem_of(pair_id))] == [2, 1]


def test_a_check_in_keeps_the_goals_it_opened_with(ctx, pair, pair_id):
    opened = start(pair[0], pair_id)
    before = [dict(g) for g in opened.goals]
    change_goals(pair, pair_id, {"g1": "Meetings end on time"}, WHEN + timedelta(hours=1))
    assert keys_of(pair_id) == ["g1"]
    assert check_in(opened.id).goals == before


def test_outsiders_find_no_check_in(ctx, pair, pair_id, carol, mod):
    opened = start(pair[0], pair_id)
    for outsider in (carol, mod):
        with pytest.raises(NotFound):
            progress.check_in_for(user(outsider), opened.id)
        with pytest.raises(NotFound):
            rate(outsider, opened.id, 10, 10)
        with pytest.raises(NotFound):
            start(outsider, pair_id)
    with pytest.raises(NotFound):
        progress.check_in_for(user(pair[0]), opened.id + 1000)
    assert count(CheckInAnswer) == 0


def test_an_ended_tandem_has_no_check_ins(ctx, pair, pair_id):
    alice, bob = pair
    opened = start(alice, pair_id)
    end(alice, pair_id)
    with pytest.raises(Conflict):
        rate(bob, opened.id, 10, 10)
    with pytest.raises(Conflict):
        start(bob, pair_id, now=WHEN + timedelta(days=1))
    assert count(CheckInAnswer) == 0 and progress.due_for(user(bob)) == []


# --- answering ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["", "  ", "101", "-1", "abc", "5.5", "1e2", None, "%", "5 0"])
def test_every_goal_needs_a_rating_from_0_to_100(ctx, pair, pair_id, bad):
    alice, _bob = pair
    opened = start(alice, pair_id)
    [g1, g2] = keys_of(pair_id)
    with pytest.raises(Invalid) as error:
        progress.answer(user(alice), opened.id, {g1: "50", g2: bad}, "", "", now=WHEN)
    assert error.value.field == f"goal_{g2}" and "Say no kindly" in error.value.message
    assert count(CheckInAnswer) == 0 and count(GoalRating) == 0


def test_a_goal_left_out_is_refused(ctx, pair, pair_id):
    alice, _bob = pair
    opened = start(alice, pair_id)
    [g1, g2] = keys_of(pair_id)
    with pytest.raises(Invalid) as error:
        progress.answer(user(alice), opened.id, {g2: "10", "other": "10"}, "", "", now=WHEN)
    assert error.value.field == f"goal_{g1}" and count(CheckInAnswer) == 0


def test_a_rating_with_a_digit_that_is_no_number_is_refused_not_a_crash(ctx, pair, pair_id):
    """BUG: "²".isdigit() is true, so int("²") raises ValueError (a 500) instead of Invalid."""
    alice, _bob = pair
    opened = start(alice, pair_id)
    [g1, g2] = keys_of(pair_id)
    with pytest.raises(Invalid) as error:
        progress.answer(user(alice), opened.id, {g1: "50", g2: "²"}, "", "", now=WHEN)
    assert error.value.field == f"goal_{g2}"


@pytest.mark.parametrize(
    "given, stored",
    [("55 %", 55), ("55%", 55), (" 0 ", 0), ("100", 100), (42, 42), ("007", 7)],
)
def test_ratings_are_read_with_or_without_the_percent_sign(ctx, pair, pair_id, given, stored):
    alice, _bob = pair
    opened = start(alice, pair_id)
    [g1, g2] = keys_of(pair_id)
    mine = progress.answer(
        user(alice), opened.id, {g1: given, g2: "1"}, " It helped.\r\n ", " Less. ", now=WHEN
    )
    assert mine.progress() == {g1: stored, g2: 1}
    assert (mine.helped, mine.change, mine.answered_at) == ("It helped.", "Less.", WHEN)


def test_what_helped_and_what_to_change_fit_their_limits(ctx, pair, pair_id):
    alice, _bob = pair
    opened = start(alice, pair_id)
    [g1, g2] = keys_of(pair_id)
    for field in ("helped", "change"):
        words = {"helped": "", "change": "", field: "x" * 1001}
        with pytest.raises(Invalid) as error:
            progress.answer(user(alice), opened.id, {g1: 1, g2: 1}, now=WHEN, **words)
        assert error.value.field == field
    assert count(CheckInAnswer) == 0


def test_nobody_peeks_before_everyone_answered(ctx, pair, pair_id):
    alice, bob = pair
    opened = start(alice, pair_id)
    [g1, g2] = keys_of(pair_id)
    rate(alice, opened.id, 40, 10, helped="Listening")
    # Bob has not answered: he sees that Alice did, not what she said
    seen = view(bob, opened.id)
    assert seen.mine is None and seen.answers == [] and not seen.visible
    assert seen.answered == [alice.id] and seen.waiting == [bob.id]
    assert seen.open and not seen.complete
    # Alice sees her own answer, and none of the others' yet
    hers = view(alice, opened.id)
    assert hers.mine.progress() == {g1: 40, g2: 10} and hers.answers == []
    assert hers.waiting == [bob.id] and hers.open
    assert check_in(opened.id).revealed_at is None
    assert told(alice, "check_in_revealed") == told(bob, "check_in_revealed") == 0
    rate(bob, opened.id, 70, 30, now=WHEN + timedelta(hours=1))
    both = {alice.id: {g1: 40, g2: 10}, bob.id: {g1: 70, g2: 30}}
    assert shown(alice, opened.id) == both == shown(bob, opened.id)
    final = view(bob, opened.id)
    assert final.complete and not final.open and final.waiting == [] and final.visible
    assert check_in(opened.id).revealed_at == WHEN + timedelta(hours=1)
    assert told(alice, "check_in_revealed") == 1 and told(bob, "check_in_revealed") == 1
    assert mailed(alice, "check_in_revealed") == 0  # in the app only
    # the answers stay as they are
    for persona in pair:
        with pytest.raises(Conflict):
            rate(persona, opened.id, 99, 99, now=WHEN + timedelta(hours=2))
    assert shown(alice, opened.id) == both
    assert told(alice, "check_in_revealed") == 1 and told(bob, "check_in_revealed") == 1


def test_in_a_group_the_answers_wait_for_every_member(ctx, trio, group_id):
    alice, bob, carol = trio
    opened = start(carol, group_id)
    # the notice names everyone else in the group, the one who opened it too
    [note] = db.session.scalars(
        select(Notification).where(
            Notification.user_id == alice.id, Notification.kind == "check_in_open"
        )
    ).all()
    assert note.params["names"] == "Bob, Carol" and told(carol, "check_in_open") == 0
    rate(alice, opened.id, 10)
    rate(bob, opened.id, 20)
    assert shown(alice, opened.id) == {} == shown(bob, opened.id) == shown(carol, opened.id)
    assert view(carol, opened.id).waiting == [carol.id]
    rate(carol, opened.id, 30)
    assert set(shown(alice, opened.id)) == {alice.id, bob.id, carol.id}


def test_an_answer_changed_before_everyone_answered_replaces_the_first(ctx, pair, pair_id):
    alice, bob = pair
    opened = start(alice, pair_id)
    [g1, g2] = keys_of(pair_id)
    rate(alice, opened.id, 40, 10, helped="First")
    later = WHEN + timedelta(hours=1)
    rate(alice, opened.id, 60, 20, helped="Second", now=later)
    assert count(CheckInAnswer) == 1 and count(GoalRating) == 2
    mine = view(alice, opened.id).mine
    assert mine.progress() == {g1: 60, g2: 20}
    assert (mine.helped, mine.answered_at) == ("Second", later)
    assert view(bob, opened.id).answered == [alice.id]


def test_a_closed_check_in_shows_the_answers_only_to_those_who_answered(ctx, pair, pair_id):
    alice, bob = pair
    first = start(alice, pair_id)
    [g1, g2] = keys_of(pair_id)
    rate(alice, first.id, 40, 10)
    # Bob never answered; the check-in that was due next closes it
    due = tandem_of(pair_id).next_check_in_on
    assert due == date(2027, 1, 12)
    assert progress.tick(datetime(2027, 1, 12, 6, 0, tzinfo=UTC))[0] == 1
    closed = view(alice, first.id)
    assert closed.check_in.closed_at is not None and not closed.open and not closed.complete
    assert shown(alice, first.id) == {alice.id: {g1: 40, g2: 10}}
    assert shown(bob, first.id) == {} and view(bob, first.id).mine is None
    for persona in pair:
        with pytest.raises(Conflict):
            rate(persona, first.id, 50, 50, now=datetime(2027, 1, 13, tzinfo=UTC))
    assert check_in(first.id).revealed_at is None


def test_the_dashboard_lists_open_check_ins_not_answered_yet(ctx, pair, pair_id):
    alice, bob = pair
    opened = start(alice, pair_id)
    assert [c.id for _t, c in progress.due_for(user(alice))] == [opened.id]
    assert [c.id for _t, c in progress.due_for(user(bob))] == [opened.id]
    rate(alice, opened.id, 1, 2)
    assert progress.due_for(user(alice)) == []
    assert [t.id for t, _c in progress.due_for(user(bob))] == [pair_id]


# --- the tick ----------------------------------------------------------------------------------


def test_the_tick_opens_the_check_in_that_is_due_and_moves_the_next_date(ctx, pair, pair_id):
    _alice, bob = pair
    assert progress.tick(datetime(2027, 1, 10, 23, 59, tzinfo=UTC)) == (0, 0)
    assert count(CheckIn) == 0
    now = datetime(2027, 1, 11, 6, 0, tzinfo=UTC)
    assert progress.tick(now) == (1, 0)
    [opened] = progress.check_ins_of(tandem_of(pair_id))
    assert opened.due_on == FIRST_DUE and opened.opened_at == now
    assert opened.opened_by_id is None and opened.goals == goals_of(pair_id)
    assert tandem_of(pair_id).next_check_in_on == FIRST_DUE + timedelta(weeks=4)
    for persona in pair:  # nobody started it: everyone is told
        assert told(persona, "check_in_open") == 1 and mailed(persona, "check_in_open") == 1
    # a second tick does nothing
    assert progress.tick(now) == (0, 0)
    assert progress.tick(now + timedelta(hours=5)) == (0, 0)
    assert count(CheckIn) == 1 and told(bob, "check_in_open") == 1


def test_the_next_tick_closes_the_previous_check_in(ctx, pair, pair_id):
    progress.tick(datetime(2027, 1, 11, 6, 0, tzinfo=UTC))
    later = datetime(2027, 2, 8, 6, 0, tzinfo=UTC)
    assert progress.tick(later)[0] == 1
    second, first = progress.check_ins_of(tandem_of(pair_id))
    assert (first.number, second.number) == (1, 2)
    assert first.closed_at == later and second.closed_at is None
    assert second.due_on == date(2027, 2, 8)
    assert tandem_of(pair_id).next_check_in_on == date(2027, 3, 8)


def test_a_late_tick_keeps_the_due_date_and_counts_on_from_it_or_from_today(ctx, pair, pair_id):
    assert progress.tick(datetime(2027, 1, 20, 6, 0, tzinfo=UTC))[0] == 1
    [opened] = progress.check_ins_of(tandem_of(pair_id))
    assert opened.due_on == FIRST_DUE
    assert tandem_of(pair_id).next_check_in_on == date(2027, 2, 8)
    # more than an interval late: the next date counts from today, never in the past
    assert progress.tick(datetime(2027, 3, 10, 6, 0, tzinfo=UTC))[0] == 1
    assert progress.check_ins_of(tandem_of(pair_id))[0].due_on == date(2027, 2, 8)
    assert tandem_of(pair_id).next_check_in_on == date(2027, 4, 7)


@pytest.mark.parametrize("due, opens", [(date(2027, 3, 13), True), (date(2027, 3, 14), False)])
def test_the_tick_opens_no_check_in_after_the_term(ctx, pair, pair_id, due, opens):
    tandem_of(pair_id).next_check_in_on = due
    db.session.commit()
    assert progress.tick(datetime.combine(due, datetime.min.time(), UTC)) == (int(opens), 0)
    assert count(CheckIn) == int(opens)
    assert tandem_of(pair_id).next_check_in_on == due + timedelta(weeks=4)


def test_the_tick_opens_nothing_for_a_tandem_that_is_not_active(ctx, pair, pair_id, carol):
    end(pair[0], pair_id, now=NOW + timedelta(days=1))
    forming_id = forming(ctx, carol, pair[1])
    tandem_of(forming_id).next_check_in_on = FIRST_DUE
    db.session.commit()
    assert progress.tick(datetime(2027, 1, 11, 6, 0, tzinfo=UTC)) == (0, 0)
    assert count(CheckIn) == 0


def test_the_tick_reminds_those_who_have_not_answered_once_after_three_days(ctx, pair, pair_id):
    alice, bob = pair
    opened_at = datetime(2027, 1, 11, 6, 0, tzinfo=UTC)
    progress.tick(opened_at)
    [opened] = progress.check_ins_of(tandem_of(pair_id))
    rate(alice, opened.id, 30, 40, now=opened_at + timedelta(days=1))
    assert progress.tick(opened_at + timedelta(days=3, seconds=-1)) == (0, 0)
    assert told(bob, "check_in_reminder") == 0
    assert progress.tick(opened_at + timedelta(days=3)) == (0, 1)
    assert told(bob, "check_in_reminder") == 1 and mailed(bob, "check_in_reminder") == 1
    assert told(alice, "check_in_reminder") == 0 and mailed(alice, "check_in_reminder") == 0
    assert check_in(opened.id).reminded_at == opened_at + timedelta(days=3)
    assert progress.tick(opened_at + timedelta(days=5)) == (0, 0)
    assert told(bob, "check_in_reminder") == 1


def test_the_tick_reminds_nobody_when_everyone_answered(ctx, pair, pair_id):
    alice, bob = pair
    opened_at = datetime(2027, 1, 11, 6, 0, tzinfo=UTC)
    progress.tick(opened_at)
    [opened] = progress.check_ins_of(tandem_of(pair_id))
    rate(alice, opened.id, 1, 1, now=opened_at)
    rate(bob, opened.id, 2, 2, now=opened_at)
    assert progress.tick(opened_at + timedelta(days=4)) == (0, 0)
    assert told(alice, "check_in_reminder") == told(bob, "check_in_reminder") == 0


def test_two_ticks_at_once_open_one_check_in_and_remind_once(ctx, pair, pair_id):
    alice, bob = pair
    now = datetime(2027, 1, 11, 6, 0, tzinfo=UTC)
    _quiet()
    results = race(ctx, lambda: progress.tick(now), lambda: progress.tick(now))
    assert _errors(results) == [] and sorted(results) == [(0, 0), (1, 0)]
    assert count(CheckIn) == 1 and told(bob, "check_in_open") == 1
    later = now + timedelta(days=3)
    _quiet()
    results = race(ctx, lambda: progress.tick(later), lambda: progress.tick(later))
    assert _errors(results) == [] and sorted(results) == [(0, 0), (0, 2)]
    assert told(alice, "check_in_reminder") == 1 and told(bob, "check_in_reminder") == 1


def test_two_members_starting_a_check_in_at_once_open_one(ctx, pair, pair_id):
    alice, bob = pair
    _quiet()
    results = race(
        ctx,
        lambda: progress.start_check_in(user(alice), pair_id, now=WHEN),
        lambda: progress.start_check_in(user(bob), pair_id, now=WHEN),
    )
    assert _errors(results) == [] and results[0] == results[1]
    assert count(CheckIn) == 1
    assert told(alice, "check_in_open") + told(bob, "check_in_open") == 1


def test_the_last_two_answers_at_once_reveal_the_check_in_once(ctx, pair, pair_id):
    alice, bob = pair
    opened_id, keys = start(alice, pair_id).id, keys_of(pair_id)
    _quiet()
    results = race(
        ctx,
        lambda: progress.answer(user(alice), opened_id, dict.fromkeys(keys, 10), "", "", WHEN),
        lambda: progress.answer(user(bob), opened_id, dict.fromkeys(keys, 20), "", "", WHEN),
    )
    assert _errors(results) == []
    assert count(CheckInAnswer) == 2 and check_in(opened_id).revealed_at == WHEN
    assert told(alice, "check_in_revealed") == 1 and told(bob, "check_in_revealed") == 1
    assert set(shown(alice, opened_id)) == {alice.id, bob.id}


# --- each goal's journey -----------------------------------------------------------------------

D1, D2, D3 = WHEN, WHEN + timedelta(weeks=3), WHEN + timedelta(weeks=6)


def three_check_ins(pair, tandem_id: int) -> list[int]:
    """Two check-ins both answered, then a third only Alice answered so far."""
    alice, bob = pair
    first = start(alice, tandem_id, now=D1)
    rate(alice, first.id, 20, 10, now=D1)
    rate(bob, first.id, 30, 40, now=D1)
    second = start(bob, tandem_id, now=D2)
    rate(alice, second.id, 50, 30, now=D2)
    rate(bob, second.id, 60, 45, now=D2)
    third = start(alice, tandem_id, now=D3)
    rate(alice, third.id, 80, 35, now=D3)
    return [first.id, second.id, third.id]


def test_a_journey_has_each_members_ratings_with_the_viewers_own_first(ctx, pair, pair_id):
    alice, bob = pair
    three_check_ins(pair, pair_id)
    d1, d2, d3 = D1.date(), D2.date(), D3.date()
    [g1, g2] = keys_of(pair_id)
    lead, say_no = journeys(alice, pair_id)
    assert (lead.key, lead.title, lead.current) == (g1, "Lead meetings that end on time", True)
    assert (say_no.key, say_no.title, say_no.current) == (g2, "Say no kindly", True)
    # Alice's own third rating counts; Bob's answers of the third are not revealed
    assert lead.lines == [
        progress.Line(alice.id, "You", [(d1, 20), (d2, 50), (d3, 80)]),
        progress.Line(bob.id, "Bob", [(d1, 30), (d2, 60)]),
    ]
    assert say_no.lines == [
        progress.Line(alice.id, "You", [(d1, 10), (d2, 30), (d3, 35)]),
        progress.Line(bob.id, "Bob", [(d1, 40), (d2, 45)]),
    ]
    assert lead.latest == {alice.id: 80, bob.id: 60} and lead.achievement is None
    # Bob has not answered the third: he sees neither his nor Alice's point for it
    lead, say_no = journeys(bob, pair_id)
    assert lead.lines == [
        progress.Line(bob.id, "You", [(d1, 30), (d2, 60)]),
        progress.Line(alice.id, "Alice", [(d1, 20), (d2, 50)]),
    ]
    assert say_no.latest == {bob.id: 45, alice.id: 30}


def test_a_journey_of_a_superseded_check_in_shows_only_the_viewers_own_point(ctx, pair, pair_id):
    alice, bob = pair
    opened = start(alice, pair_id, now=D1)
    rate(bob, opened.id, 25, 35, now=D1)
    progress.tick(datetime.combine(tandem_of(pair_id).next_check_in_on, datetime.min.time(), UTC))
    lead, _say_no = journeys(bob, pair_id)
    assert lead.lines == [progress.Line(bob.id, "You", [(D1.date(), 25)])]
    assert [j.lines for j in journeys(alice, pair_id)] == [[], []]


def test_a_journey_before_any_check_in_has_no_lines(ctx, pair, pair_id):
    assert [(j.current, j.lines) for j in journeys(pair[0], pair_id)] == [(True, []), (True, [])]


def test_a_goal_removed_from_the_agreement_keeps_its_journey(ctx, pair, pair_id):
    alice, bob = pair
    three_check_ins(pair, pair_id)
    [g1, g2] = keys_of(pair_id)
    later = D3 + timedelta(days=1)
    change_goals(pair, pair_id, {"g1": "Meetings end on time", "": "Ask for help"}, later)
    new = keys_of(pair_id)[1]
    assert keys_of(pair_id) == [g1, new] and new not in (g1, g2)
    lead, ask, say_no = journeys(alice, pair_id)
    # the agreement's goals first (in their new words), then the one no longer in it
    assert (lead.key, lead.title, lead.current) == (g1, "Meetings end on time", True)
    assert (ask.key, ask.current, ask.lines) == (new, True, [])
    assert (say_no.key, say_no.title, say_no.current) == (g2, "Say no kindly", False)
    assert [line.user_id for line in say_no.lines] == [alice.id, bob.id]
    assert say_no.latest == {alice.id: 35, bob.id: 45}
    # a goal that was never rated leaves without a trace
    change_goals(pair, pair_id, {"g1": "Meetings end on time"}, later + timedelta(hours=1))
    assert [(j.key, j.current) for j in journeys(alice, pair_id)] == [(g1, True), (g2, False)]


def test_a_journey_names_the_goal_reached(ctx, pair, pair_id):
    alice, _bob = pair
    reached = progress.mark_reached(user(alice), pair_id, "goal", "g1", now=WHEN)
    lead, say_no = journeys(alice, pair_id)
    assert lead.achievement.id == reached.id and say_no.achievement is None


def test_a_journey_becomes_a_chart_from_the_first_rating_to_the_last(ctx, pair, pair_id):
    alice, _bob = pair
    three_check_ins(pair, pair_id)
    lead, _say_no = journeys(alice, pair_id)
    chart = line_chart([(ln.name, ln.points) for ln in lead.lines], *TERM)
    you, bob = chart.traces
    assert you.label == "You" and [p.value for p in you.points] == [20, 50, 80]
    assert [p.day for p in bob.points] == [D1.date(), D2.date()]
    assert you.points[0].x == bob.points[0].x and you.points[0].y > bob.points[0].y
    assert you.points[0].x < you.points[1].x < you.points[2].x
    assert chart.x_ticks[0].label == "2026-12-14" and chart.x_ticks[-1].label == "2027-03-13"


# --- the chart's geometry ----------------------------------------------------------------------


def test_line_chart_maps_dates_and_values_linearly_into_the_plot():
    start, end = date(2027, 1, 1), date(2027, 1, 11)
    points = [(date(2027, 1, 11), 100), (date(2027, 1, 1), 0), (date(2027, 1, 6), 50)]
    chart = line_chart([("You", points)], start, end)
    left, top, right, bottom = chart.plot
    assert (chart.width, chart.height) == (320, 120) and chart.plot == (34, 8, 310, 98)
    [trace] = chart.traces
    assert [(p.x, p.y, p.day, p.value) for p in trace.points] == [
        (left, bottom, date(2027, 1, 1), 0),
        ((left + right) / 2, (top + bottom) / 2, date(2027, 1, 6), 50),
        (right, top, date(2027, 1, 11), 100),
    ]
    assert trace.path == "34.0,98.0 172.0,53.0 310.0,8.0"
    assert chart.y_ticks == [
        charts.Tick(98, "0%"),
        charts.Tick(53, "50%"),
        charts.Tick(8, "100%"),
    ]
    assert chart.x_ticks == [charts.Tick(34, "2027-01-01"), charts.Tick(310, "2027-01-11")]
    assert not chart.empty


def test_line_chart_places_a_quarter_at_a_quarter():
    chart = line_chart([("a", [(date(2027, 1, 2), 25)])], date(2027, 1, 1), date(2027, 1, 5))
    [point] = chart.traces[0].points
    assert point.x == 34 + 276 / 4 and point.y == 98 - 90 / 4


def test_line_chart_widens_the_dates_to_the_data_and_clamps_the_values():
    chart = line_chart(
        [("a", [(date(2026, 12, 22), 150)]), ("b", [(date(2027, 1, 1), -10)])],
        date(2027, 1, 1),
        date(2027, 1, 11),
        date_label=lambda d: d.strftime("%d.%m."),
    )
    [high], [low] = (t.points for t in chart.traces)
    assert (high.x, high.y, high.value) == (34, 8, 150)  # the earliest day, at the top
    assert (low.x, low.y) == (172, 98)  # halfway through the widened span
    assert [t.label for t in chart.x_ticks] == ["22.12.", "11.01."]


def test_line_chart_without_a_maximum_picks_a_round_one():
    chart = line_chart(
        [("n", [(date(2027, 1, 1), 3), (date(2027, 1, 3), 7)])],
        date(2027, 1, 1),
        date(2027, 1, 3),
        y_max=None,
        y_unit="",
    )
    assert [t.label for t in chart.y_ticks] == ["0", "5", "10"]
    assert [(p.x, p.y) for p in chart.traces[0].points] == [
        (34, pytest.approx(98 - 27)),
        (310, pytest.approx(98 - 63)),
    ]
    odd = line_chart(
        [("n", [(date(2027, 1, 1), 3)])], date(2027, 1, 1), date(2027, 1, 2), y_max=None, y_unit=""
    )
    assert [t.label for t in odd.y_ticks] == ["0", "2.5", "5"]
    assert odd.traces[0].points[0].y == pytest.approx(98 - 90 * 3 / 5)


def test_an_empty_chart_of_one_day_draws_nothing_and_does_not_fail():
    chart = line_chart([("You", []), ("Bob", [])], date(2027, 1, 1), date(2027, 1, 1), y_max=None)
    assert chart.empty and [t.points for t in chart.traces] == [[], []]
    assert [t.label for t in chart.y_ticks] == ["0%", "0.5%", "1%"]
    assert chart.x_ticks == [charts.Tick(34, "2027-01-01"), charts.Tick(34, "2027-01-01")]
    assert line_chart([], date(2027, 1, 1), date(2027, 2, 1)).empty


@pytest.mark.parametrize(
    "value, bound",
    [
        (-3, 1),
        (0, 1),
        (0.5, 1),
        (1, 1),
        (1.01, 2),
        (2, 2),
        (2.5, 5),
        (5, 5),
        (7, 10),
        (10, 10),
        (11, 20),
        (21, 50),
        (51, 100),
        (100, 100),
        (101, 200),
        (950, 1000),
        (1000, 1000),
    ],
)
def test_nice_rounds_up_to_one_two_or_five_times_a_power_of_ten(value, bound):
    assert charts._nice(value) == bound


# --- goals and milestones reached --------------------------------------------------------------


def test_marking_a_goal_reached_once_tells_the_others(ctx, pair, pair_id):
    alice, bob = pair
    reached = progress.mark_reached(user(alice), pair_id, "goal", "g1", now=WHEN)
    assert (reached.kind, reached.key, reached.title) == (
        "goal",
        "g1",
        goals_of(pair_id)[0]["title"],
    )
    assert reached.marked_by_id == alice.id and reached.reached_at == WHEN
    again = progress.mark_reached(user(bob), pair_id, "goal", "g1", now=WHEN + timedelta(1))
    assert again.id == reached.id and again.marked_by_id == alice.id
    assert count(Achievement) == 1
    assert told(bob, "goal_reached") == 1 and told(alice, "goal_reached") == 0
    assert mailed(bob, "goal_reached") == 0  # in the app only


def test_marking_a_milestone_reached(ctx, pair, pair_id):
    alice, bob = pair
    [milestone] = progress._content(tandem_of(pair_id))["milestones"]
    reached = progress.mark_reached(user(bob), pair_id, "milestone", milestone["key"], now=WHEN)
    assert reached.kind == "milestone" and reached.title == milestone["title"]
    assert told(alice, "milestone_reached") == 1 and told(bob, "milestone_reached") == 0
    # a goal and a milestone are different things, even by the same key
    goal = progress.mark_reached(user(bob), pair_id, "goal", "g1", now=WHEN)
    assert goal.id != reached.id and count(Achievement) == 2


@pytest.mark.parametrize(
    "kind, key, field",
    [
        ("goal", "nope", "key"),
        ("milestone", "g1", "key"),
        ("goal", "m1", "key"),
        ("badge", "g1", "kind"),
        ("", "g1", "kind"),
    ],
)
def test_only_a_goal_or_milestone_of_the_agreement_is_reached(ctx, pair, pair_id, kind, key, field):
    with pytest.raises(Invalid) as error:
        progress.mark_reached(user(pair[0]), pair_id, kind, key, now=WHEN)
    assert error.value.field == field and count(Achievement) == 0


def test_a_goal_only_in_a_draft_is_not_reached_yet(ctx, pair, pair_id):
    alice, _bob = pair
    agreement = tandems.agreement_of(tandem_of(pair_id))
    data = {
        "goal_title_0": "Lead meetings that end on time",
        "goal_key_0": "g1",
        "goal_title_1": "Only in the draft",
    }
    tandems.save_section(user(alice), pair_id, "goals", data, agreement.version, WHEN)
    drafted = tandems.agreement_of(tandem_of(pair_id)).content["goals"][1]["key"]
    with pytest.raises(Invalid):
        progress.mark_reached(user(alice), pair_id, "goal", drafted, now=WHEN)


def test_reaching_needs_an_active_or_completed_tandem_of_ones_own(ctx, pair, pair_id, carol, mod):
    alice, _bob = pair
    for outsider in (carol, mod):
        with pytest.raises(NotFound):
            progress.mark_reached(user(outsider), pair_id, "goal", "g1", now=WHEN)
    forming_id = forming(ctx, carol, mod)
    with pytest.raises(Conflict):
        progress.mark_reached(user(carol), forming_id, "goal", "g1", now=WHEN)
    # completing the tandem keeps the celebrations going
    for persona in pair:
        tandems.choose_at_term_end(user(persona), pair_id, "complete", now=LAST_TWO_WEEKS)
    assert tandem_of(pair_id).state == "completed"
    reached = progress.mark_reached(user(alice), pair_id, "goal", "g1", now=LAST_TWO_WEEKS)
    assert reached.id and count(Achievement) == 1


def test_an_ended_tandem_reaches_nothing_and_takes_nothing_back(ctx, pair, pair_id):
    alice, bob = pair
    reached = progress.mark_reached(user(alice), pair_id, "goal", "g1", now=WHEN)
    end(bob, pair_id, now=WHEN + timedelta(days=1))
    with pytest.raises(Conflict):
        progress.mark_reached(user(alice), pair_id, "milestone", "m1", now=WHEN)
    with pytest.raises(Conflict):
        progress.unmark(user(alice), reached.id)
    with pytest.raises(Conflict):
        progress.write_story(user(alice), reached.id, "We did it.", True, now=WHEN)
    assert count(Achievement) == 1


def test_celebrations_last_thirty_days(ctx, pair, pair_id):
    alice, _bob = pair
    goal = progress.mark_reached(user(alice), pair_id, "goal", "g1", now=WHEN)
    milestone = progress.mark_reached(
        user(alice), pair_id, "milestone", "m1", now=WHEN + timedelta(days=10)
    )
    tandem = tandem_of(pair_id)
    assert [a.id for a in progress.celebrations(tandem, WHEN)] == [milestone.id, goal.id]
    assert [a.id for a in progress.celebrations(tandem, WHEN + timedelta(days=30))] == [
        milestone.id,
        goal.id,
    ]
    later = WHEN + timedelta(days=30, seconds=1)
    assert [a.id for a in progress.celebrations(tandem, later)] == [milestone.id]
    assert progress.celebrations(tandem, WHEN + timedelta(days=41)) == []
    assert len(progress.achievements_of(tandem)) == 2  # reached stays reached


def test_taking_reached_back_deletes_it_and_its_story(ctx, pair, pair_id, carol):
    alice, bob = pair
    reached = progress.mark_reached(user(alice), pair_id, "goal", "g1", now=WHEN)
    story = progress.write_story(user(alice), reached.id, "We did it.", True, now=WHEN)
    progress.consent(user(bob), story.id, 1, True, now=WHEN)
    assert progress.published(1)[1] == 1
    with pytest.raises(NotFound):
        progress.unmark(user(carol), reached.id)
    assert progress.unmark(user(bob), reached.id).id == pair_id
    assert count(Achievement) == 0 and count(SuccessStory) == 0 and count(StoryConsent) == 0
    assert progress.published(1) == ([], 0)
    with pytest.raises(NotFound):
        progress.unmark(user(bob), reached.id)
    # marked again, it is reached anew
    again = progress.mark_reached(user(bob), pair_id, "goal", "g1", now=WHEN + timedelta(1))
    assert (again.marked_by_id, again.reached_at) == (bob.id, WHEN + timedelta(1))
    assert progress.story_of(again) is None and count(Achievement) == 1


# --- success stories ---------------------------------------------------------------------------


def reached_with_story(members, tandem_id: int, text: str = "We did it together.", show=True):
    """Alice marks g1 reached and writes its story (consenting, by name when `show`)."""
    alice = members[0]
    reached = progress.mark_reached(user(alice), tandem_id, "goal", "g1", now=WHEN)
    story = progress.write_story(user(alice), reached.id, text, show, now=WHEN)
    return reached, story


def test_a_story_waits_for_every_members_consent(ctx, pair, pair_id):
    alice, bob = pair
    reached, story = reached_with_story(pair, pair_id, "  We did it together. \r\n")
    assert (story.text, story.version, story.written_by_id) == ("We did it together.", 1, alice.id)
    assert [(c.user_id, c.version, c.show_name) for c in story.consents] == [(alice.id, 1, True)]
    assert story.published_at is None and progress.published(1) == ([], 0)
    assert told(bob, "story_proposed") == 1 and told(alice, "story_proposed") == 0
    later = WHEN + timedelta(hours=1)
    agreed = progress.consent(user(bob), story.id, 1, False, now=later)
    assert agreed.published_at == later
    assert told(alice, "story_published") == 1 and told(bob, "story_published") == 1
    [shown_story], total = progress.published(1)
    assert total == 1 and shown_story.story.id == story.id
    assert (shown_story.title, shown_story.kind) == (reached.title, "goal")
    # Bob agreed without his name: he is counted, not named
    assert shown_story.names == ["Alice"] and shown_story.members == 2
    # agreeing again changes nothing
    progress.consent(user(bob), story.id, 1, False, now=later + timedelta(hours=1))
    assert progress.published(1)[0][0].story.published_at == later
    assert told(alice, "story_published") == 1


def test_new_words_need_everyones_consent_again(ctx, pair, pair_id):
    alice, bob = pair
    reached, story = reached_with_story(pair, pair_id)
    progress.consent(user(bob), story.id, 1, True, now=WHEN)
    assert progress.published(1)[1] == 1
    rewritten = progress.write_story(user(bob), reached.id, "New words.", True, now=WHEN)
    assert rewritten.id == story.id and rewritten.version == 2 and rewritten.text == "New words."
    assert rewritten.written_by_id == bob.id and rewritten.published_at is None
    assert progress.published(1) == ([], 0)
    assert told(alice, "story_proposed") == 1
    # Alice read the old words: her consent to them does not count
    with pytest.raises(Conflict):
        progress.consent(user(alice), story.id, 1, True, now=WHEN)
    assert progress.published(1) == ([], 0)
    progress.consent(user(alice), story.id, 2, True, now=WHEN + timedelta(hours=1))
    [shown_story], _total = progress.published(1)
    assert shown_story.story.text == "New words." and shown_story.names == ["Alice", "Bob"]


def test_writing_the_same_words_again_is_a_consent_not_a_new_version(ctx, pair, pair_id):
    alice, bob = pair
    reached, _story = reached_with_story(pair, pair_id, show=False)
    same = progress.write_story(user(bob), reached.id, "We did it together.", True, now=WHEN)
    assert same.version == 1 and same.written_by_id == alice.id
    assert same.published_at == WHEN and told(alice, "story_proposed") == 0
    assert progress.published(1)[0][0].names == ["Bob"]


def test_withdrawing_consent_takes_the_story_off_at_once(ctx, pair, pair_id):
    alice, bob = pair
    _reached, story = reached_with_story(pair, pair_id)
    progress.consent(user(bob), story.id, 1, True, now=WHEN)
    taken = progress.withdraw(user(alice), story.id)
    assert taken.published_at is None and [c.user_id for c in taken.consents] == [bob.id]
    assert progress.published(1) == ([], 0) and count(StoryConsent) == 1
    # consenting again publishes it again
    progress.consent(user(alice), story.id, 1, False, now=WHEN + timedelta(hours=1))
    assert progress.published(1)[0][0].names == ["Bob"]


def test_a_story_needs_words_within_its_limit(ctx, pair, pair_id):
    reached = progress.mark_reached(user(pair[0]), pair_id, "goal", "g1", now=WHEN)
    for text in ("", "   ", None, "x" * (STORY_MAX + 1)):
        with pytest.raises(Invalid) as error:
            progress.write_story(user(pair[0]), reached.id, text, True, now=WHEN)
        assert error.value.field == "text"
    assert count(SuccessStory) == 0


def test_outsiders_write_and_consent_to_no_story(ctx, pair, pair_id, carol, mod):
    reached, story = reached_with_story(pair, pair_id)
    for outsider in (carol, mod):
        with pytest.raises(NotFound):
            progress.write_story(user(outsider), reached.id, "Mine now.", True, now=WHEN)
        with pytest.raises(NotFound):
            progress.consent(user(outsider), story.id, 1, True, now=WHEN)
        with pytest.raises(NotFound):
            progress.withdraw(user(outsider), story.id)
    with pytest.raises(NotFound):
        progress.consent(user(pair[1]), story.id + 1000, 1, True, now=WHEN)
    assert count(StoryConsent) == 1 and progress.published(1) == ([], 0)


def test_a_groups_story_names_those_who_agreed_to_be_named(ctx, trio, group_id):
    _alice, bob, carol = trio
    _reached, story = reached_with_story(trio, group_id)
    progress.consent(user(bob), story.id, 1, False, now=WHEN)
    assert progress.published(1) == ([], 0)  # Carol has not agreed yet
    progress.consent(user(carol), story.id, 1, True, now=WHEN)
    [shown_story], total = progress.published(1)
    assert total == 1 and shown_story.names == ["Alice", "Carol"] and shown_story.members == 3


def test_the_successes_page_lists_published_stories_newest_first(ctx, pair, pair_id):
    alice, bob = pair
    _goal, first = reached_with_story(pair, pair_id)
    progress.consent(user(bob), first.id, 1, True, now=WHEN)
    milestone = progress.mark_reached(user(alice), pair_id, "milestone", "m1", now=WHEN)
    second = progress.write_story(user(alice), milestone.id, "Halfway!", True, now=WHEN)
    assert [s.story.id for s in progress.published(1)[0]] == [first.id]
    progress.consent(user(bob), second.id, 1, True, now=WHEN + timedelta(hours=1))
    stories, total = progress.published(1)
    assert total == 2 and [(s.story.id, s.kind) for s in stories] == [
        (second.id, "milestone"),
        (first.id, "goal"),
    ]
    assert [s.story.id for s in progress.published(2, per_page=1)[0]] == [first.id]


# --- the review of a term ----------------------------------------------------------------------


def test_the_review_counts_sessions_held_cancelled_late_and_planned(ctx, pair, pair_id):
    alice, bob = pair
    series_id = sid(pair_id)
    meetings.cancel_session(user(alice), series_id, 2, "Holidays.", now=NOW)
    meetings.cancel_session(user(bob), series_id, 3, "Ill.", now=planned(3) - timedelta(hours=8))
    meetings.record_attendance(user(alice), series_id, 0, [bob.id], now=planned(0) + timedelta(1))
    meetings.record_attendance(user(bob), series_id, 1, [], now=planned(1) + timedelta(hours=1))
    opened = start(alice, pair_id, now=planned(1) + timedelta(hours=2))
    rate(alice, opened.id, 50, 60, now=planned(1) + timedelta(hours=2))
    reached = progress.mark_reached(user(bob), pair_id, "goal", "g1", now=planned(4))
    now = planned(4) + timedelta(hours=2)  # sessions 0, 1 and 4 were held
    review = progress.review(tandem_of(pair_id), user(bob), now=now)
    assert (review.start, review.end) == TERM
    assert (review.held, review.cancelled, review.late, review.planned) == (3, 2, 1, 8)
    assert review.missed == Counter({bob.id: 1})
    assert [a.id for a in review.achievements] == [reached.id]
    # the check-ins under their rule: Bob has not answered, he sees nothing of Alice's
    [seen] = review.check_ins
    assert seen.check_in.id == opened.id and seen.answers == [] and seen.answered == [alice.id]
    assert [j.lines for j in review.journeys] == [[], []]
    mine = progress.review(tandem_of(pair_id), user(alice), now=now)
    assert [line.name for line in mine.journeys[0].lines] == ["You"]


def test_the_review_before_the_first_session_has_everything_still_to_come(ctx, pair, pair_id):
    review = progress.review(tandem_of(pair_id), user(pair[0]), now=FIRST - timedelta(hours=1))
    assert (review.held, review.cancelled, review.late, review.planned) == (0, 0, 0, 13)
    assert review.missed == Counter() and review.check_ins == [] and review.achievements == []
    # once the session has begun it counts as held
    assert progress.review(tandem_of(pair_id), user(pair[0]), now=FIRST).held == 1


# --- feedback after a session ------------------------------------------------------------------


def feedback(persona, tandem_id: int, number: int = 0, helped="It helped.", wish="", now=WHEN):
    return meetings.give_feedback(user(persona), sid(tandem_id), number, helped, wish, now=now)


def feedback_rows(tandem_id: int, number: int = 0) -> list[SessionFeedback]:
    db.session.expire_all()
    session = next(
        s for s in timeline.timeline(timeline.series_of(tandem_id)) if s.number == number
    )
    return meetings.feedback_on(session)


def test_feedback_opens_once_the_session_has_begun(ctx, pair, pair_id):
    alice, _bob = pair
    with pytest.raises(Conflict):
        feedback(alice, pair_id, now=FIRST - timedelta(minutes=1))
    assert count(SessionFeedback) == 0
    assert feedback(alice, pair_id, now=FIRST).created_at == FIRST


def test_a_cancelled_session_takes_no_feedback(ctx, pair, pair_id):
    alice, bob = pair
    meetings.cancel_session(user(bob), sid(pair_id), 1, "Ill.", now=NOW)
    with pytest.raises(Conflict):
        feedback(alice, pair_id, 1, now=planned(1) + timedelta(hours=1))
    assert count(SessionFeedback) == 0


@pytest.mark.parametrize(
    "helped, wish, field",
    [
        ("", "", "helped"),
        ("  ", "\r\n", "helped"),
        (None, None, "helped"),
        ("x" * 1001, "", "helped"),
        ("", "x" * 1001, "wish"),
    ],
)
def test_feedback_needs_some_words_within_the_limit(ctx, pair, pair_id, helped, wish, field):
    with pytest.raises(Invalid) as error:
        feedback(pair[0], pair_id, helped=helped, wish=wish)
    assert error.value.field == field and count(SessionFeedback) == 0


def test_feedback_sent_again_changes_the_one_row_and_tells_the_others_once(ctx, pair, pair_id):
    alice, bob = pair
    first = feedback(alice, pair_id, helped=" Your questions. ", wish="")
    assert (first.helped, first.wish, first.user_id) == ("Your questions.", "", alice.id)
    later = WHEN + timedelta(hours=1)
    feedback(alice, pair_id, helped="Your questions.", wish="More time.", now=later)
    feedback(alice, pair_id, helped="Your questions.", wish="More time.", now=later)
    [row] = feedback_rows(pair_id)
    assert (row.helped, row.wish) == ("Your questions.", "More time.")
    assert row.created_at == WHEN and row.updated_at == later
    assert told(bob, "feedback_received") == 1 and told(alice, "feedback_received") == 0
    assert mailed(bob, "feedback_received") == 0
    [note] = db.session.scalars(
        select(Notification).where(
            Notification.user_id == bob.id, Notification.kind == "feedback_received"
        )
    ).all()
    # in Bob's zone: 18:00 in Berlin is 12:00 in New York
    assert note.params["name"] == "Alice" and "Dec 15" in note.params["when"]
    assert "12:00" in note.params["when"]
    feedback(bob, pair_id, helped="", wish="Start on time.", now=later)
    assert [(r.user_id, r.wish) for r in feedback_rows(pair_id)] == [
        (alice.id, "More time."),
        (bob.id, "Start on time."),
    ]
    assert told(alice, "feedback_received") == 1 and feedback_rows(pair_id, 1) == []


def test_outsiders_give_no_feedback(ctx, pair, pair_id, carol, mod):
    for outsider in (carol, mod):
        with pytest.raises(NotFound):
            feedback(outsider, pair_id)
    with pytest.raises(NotFound):
        feedback(pair[0], pair_id, 99)
    assert count(SessionFeedback) == 0


def test_an_ended_tandem_takes_no_more_feedback(ctx, pair, pair_id):
    alice, bob = pair
    end(bob, pair_id, now=WHEN)
    with pytest.raises(Conflict):
        feedback(alice, pair_id, now=WHEN + timedelta(hours=1))
    assert count(SessionFeedback) == 0


@pytest.fixture
def admin(app):
    return make_user(app, "ada@example.org", "Ada", role="admin")


def test_an_admin_sees_no_check_in_either(ctx, admin, pair, pair_id):
    opened = start(pair[0], pair_id)
    with pytest.raises(NotFound):
        progress.check_in_for(db.session.get(User, admin.id), opened.id)
