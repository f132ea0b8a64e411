"""The learning journal without HTTP: writing (once per form), what an entry may be about,
the quick entry after a session, who may read an entry (its author alone, unless shared with
a tandem they both belong to now), search over one's own entries, editing against the
version read, deleting, and the formatting's allow-list.

Times are passed as `now`; the races run on SQLite and, with TEST_DATABASE_URL, on PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from markupsafe import Markup
from sqlalchemy import func, select

from peerhub.accounts.models import User
from peerhub.errors import Invalid, NotFound
from peerhub.extensions import db
from peerhub.journal import formatting
from peerhub.journal import service as journal
from peerhub.journal.models import BODY_MAX, TITLE_MAX, TOKEN_MAX, JournalEntry
from peerhub.meetings import series as timeline
from peerhub.tandems import service as tandems
from peerhub.tandems.models import Tandem
from tests.conftest import make_user
from tests.intro_factories import ready
from tests.records import race
from tests.session_factories import FIRST, active_tandem

WHEN = FIRST + timedelta(hours=2)  # the first session (15 December 2026) is over


def user(persona) -> User:
    return db.session.get(User, persona.id)


def tandem_of(tandem_id: int) -> Tandem:
    return db.session.get(Tandem, tandem_id, populate_existing=True)


def sid(tandem_id: int) -> int:
    """The tandem's first series."""
    db.session.expire_all()
    return timeline.series_of(tandem_id)[0].id


def goals_of(tandem_id: int) -> list[str]:
    """The keys of the tandem's agreement goals, in order."""
    return [g["key"] for g in tandems.agreement_of(tandem_of(tandem_id)).content["goals"]]


def write(persona, title: str = "What I noticed", body: str = "", token=None, now=WHEN, **links):
    return journal.write(user(persona), token or journal.new_token(), title, body, now=now, **links)


def read(persona, entry_id: int) -> JournalEntry:
    db.session.expire_all()
    return journal.entry_for(user(persona), entry_id)


def can_read(persona, entry_id: int) -> bool:
    try:
        read(persona, entry_id)
    except NotFound:
        return False
    return True


def found(persona, **filters) -> list[str]:
    """The titles `search` finds for the member, newest first."""
    db.session.expire_all()
    query = journal.search(user(persona), journal.Filters(**filters))
    return [e.title for e in db.session.scalars(query)]


def count(*where) -> int:
    return db.session.scalar(select(func.count()).select_from(JournalEntry).where(*where))


@pytest.fixture
def admin(app):
    return make_user(app, "ada@example.org", "Ada", role="admin")


@pytest.fixture
def pair_id(ctx, alice, bob) -> int:
    """Alice and Bob, active, every Tuesday from 15 December; one goal g1."""
    ready(ctx, alice, bob)
    return active_tandem(ctx, alice, bob)


@pytest.fixture
def other_id(ctx, pair_id, alice, carol) -> int:
    """Alice's second tandem, with Carol (who speaks German)."""
    ready(ctx, carol)
    return active_tandem(ctx, alice, carol)


@pytest.fixture
def group_id(ctx, alice, bob, carol) -> int:
    """Alice, Bob and Carol, active."""
    ready(ctx, alice, bob, carol)
    return active_tandem(ctx, alice, bob, carol)


# --- writing -----------------------------------------------------------------------------------


def test_an_entry_is_private_and_the_same_form_sent_twice_writes_it_once(ctx, alice):
    token = journal.new_token()
    first = write(alice, "  My first insight \r\n", "Line one\r\nline two  ", token=token)
    assert first.title == "My first insight" and first.body == "Line one\nline two"
    assert first.author_id == alice.id and first.shared_at is None and not first.shared
    assert first.version == 1 and first.created_at == WHEN == first.updated_at
    assert first.tandem_id is None and first.goal_keys == []
    again = write(alice, "Another title", "other words", token=token, now=WHEN + timedelta(1))
    assert again.id == first.id and again.title == "My first insight"
    assert count() == 1
    # another form is another entry
    assert write(alice, "My first insight", token=journal.new_token()).id != first.id
    assert count() == 2


def test_the_same_token_from_two_members_makes_two_entries(ctx, alice, bob):
    write(alice, token="same-token")
    write(bob, token="same-token")
    assert count() == 2


@pytest.mark.parametrize(
    "title, body, field",
    [
        ("", "words", "title"),
        ("   \r\n ", "words", "title"),
        (None, "words", "title"),
        ("x" * (TITLE_MAX + 1), "", "title"),
        ("Fine", "x" * (BODY_MAX + 1), "body"),
    ],
)
def test_an_entry_needs_a_title_and_fits_its_limits(ctx, alice, title, body, field):
    with pytest.raises(Invalid) as error:
        journal.write(user(alice), journal.new_token(), title, body, now=WHEN)
    assert error.value.field == field
    assert count() == 0


def test_an_entry_at_its_limits_is_kept(ctx, alice):
    entry = write(alice, "x" * TITLE_MAX, "y" * BODY_MAX)
    assert len(entry.title) == TITLE_MAX and len(entry.body) == BODY_MAX


@pytest.mark.parametrize("token", ["", "   ", None, "t" * (TOKEN_MAX + 1)])
def test_a_form_without_a_usable_token_is_refused(ctx, alice, token):
    with pytest.raises(Invalid) as error:
        journal.write(user(alice), token, "Title", "", now=WHEN)
    assert error.value.field == "token" and count() == 0


def test_two_sends_of_the_same_form_at_once_write_one_entry(ctx, alice):
    db.session.rollback()  # end the test's read, so the writers need not wait for it
    results = race(
        ctx,
        lambda: journal.write(user(alice), "raced", "Once", "", now=WHEN),
        lambda: journal.write(user(alice), "raced", "Once", "", now=WHEN),
    )
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert results[0] == results[1] and count() == 1


# --- what an entry is about --------------------------------------------------------------------


def test_an_entry_about_a_session_belongs_to_its_tandem(ctx, alice, pair_id):
    series_id = sid(pair_id)
    entry = write(alice, session=(series_id, 0))
    assert (entry.tandem_id, entry.series_id, entry.session_number) == (pair_id, series_id, 0)
    assert [e.id for e in journal.about_session(user(alice), series_id, 0)] == [entry.id]
    assert journal.about_session(user(alice), series_id, 1) == []


def test_goals_name_their_tandem_and_repeat_once(ctx, alice, pair_id):
    [g1] = goals_of(pair_id)
    entry = write(alice, goals=[f"{pair_id}:{g1}", f"{pair_id}:{g1}"])
    assert entry.tandem_id == pair_id and entry.goal_keys == [g1]


def test_a_session_of_a_tandem_not_the_members_is_not_found(
    ctx, alice, bob, carol, mallory, pair_id
):
    ready(ctx, mallory)
    theirs = active_tandem(ctx, carol, mallory)
    with pytest.raises(NotFound):
        write(alice, session=(sid(theirs), 0))
    with pytest.raises(NotFound):
        write(alice, session=(sid(pair_id), 99))  # no such session in the series
    with pytest.raises(NotFound):
        write(alice, session=(10_000, 0))
    with pytest.raises(NotFound):
        write(alice, tandem_id=theirs)
    [goal] = goals_of(theirs)
    with pytest.raises(NotFound):
        write(alice, goals=[f"{theirs}:{goal}"])
    assert count() == 0


def test_a_session_of_one_tandem_and_another_tandem_are_refused(ctx, alice, pair_id, other_id):
    with pytest.raises(Invalid) as error:
        write(alice, tandem_id=other_id, session=(sid(pair_id), 0))
    assert error.value.field == "tandem"
    [goal] = goals_of(other_id)
    with pytest.raises(Invalid) as error:
        write(alice, session=(sid(pair_id), 0), goals=[f"{other_id}:{goal}"])
    assert error.value.field == "goals"
    assert count() == 0


def test_goals_of_two_tandems_are_refused(ctx, alice, pair_id, other_id):
    [mine] = goals_of(pair_id)
    [ours] = goals_of(other_id)
    with pytest.raises(Invalid) as error:
        write(alice, goals=[f"{pair_id}:{mine}", f"{other_id}:{ours}"])
    assert error.value.field == "goals"
    with pytest.raises(Invalid):
        write(alice, tandem_id=pair_id, goals=[f"{other_id}:{ours}"])
    assert count() == 0


@pytest.mark.parametrize("goal", ["{tandem}:nope", "{tandem}:", "g1", ":g1", "x:g1", ""])
def test_an_unknown_goal_is_refused(ctx, alice, pair_id, goal):
    with pytest.raises(Invalid) as error:
        write(alice, goals=[goal.format(tandem=pair_id)])
    assert error.value.field == "goals" and count() == 0


def test_a_goal_with_a_digit_that_is_no_number_is_refused_not_a_crash(ctx, alice, pair_id):
    """BUG: `owner.isdigit()` is true for "²", but int("²") raises ValueError (a 500)."""
    with pytest.raises(Invalid):
        write(alice, goals=["²:g1"])


# --- the quick entry after a session -----------------------------------------------------------


def test_the_quick_entry_is_titled_with_the_sessions_day_in_the_members_language(
    ctx, alice, pair_id
):
    series_id = sid(pair_id)
    entry = journal.quick(user(alice), series_id, 0, " To listen first. ", "quick-1", now=WHEN)
    assert entry.title == "What I learned on December 15, 2026"
    assert entry.body == "To listen first." and entry.series_id == series_id
    assert entry.tandem_id == pair_id and entry.session_number == 0
    # the same form again is the same entry
    again = journal.quick(user(alice), series_id, 0, "Other words", "quick-1", now=WHEN)
    assert again.id == entry.id and count() == 1


def test_a_german_members_quick_entry_names_the_day_in_german(ctx, alice, carol, other_id):
    series_id = sid(other_id)
    entry = journal.quick(user(carol), series_id, 0, "Zuhören.", "quick-de", now=WHEN)
    assert user(carol).language == "de"
    assert entry.title == "Was ich am 15. Dezember 2026 gelernt habe"


def test_the_quick_entry_needs_words_and_a_session_of_the_members(ctx, alice, mallory, pair_id):
    series_id = sid(pair_id)
    with pytest.raises(Invalid) as error:
        journal.quick(user(alice), series_id, 0, "   ", "q", now=WHEN)
    assert error.value.field == "text"
    with pytest.raises(Invalid):
        journal.quick(user(alice), series_id, 0, "x" * (journal.QUICK_MAX + 1), "q", now=WHEN)
    with pytest.raises(NotFound):
        journal.quick(user(mallory), series_id, 0, "Peeking", "q", now=WHEN)
    assert count() == 0


# --- who reads an entry ------------------------------------------------------------------------


def test_a_private_entry_is_its_authors_alone(ctx, alice, bob, carol, mod, mallory, admin, pair_id):
    entry = write(alice, "Private", "Only mine", tandem_id=pair_id)
    assert read(alice, entry.id).body == "Only mine"
    for other in (bob, carol, mod, admin, mallory):
        assert not can_read(other, entry.id), other.name
    assert not can_read(alice, entry.id + 1000)


def test_a_shared_entry_is_read_by_the_tandems_members_only(
    ctx, alice, bob, carol, mod, mallory, admin, pair_id, other_id
):
    entry = write(alice, "For Bob", tandem_id=pair_id)
    shared = journal.share(user(alice), entry.id, now=WHEN)
    assert shared.shared and shared.shared_at == WHEN and shared.tandem_id == pair_id
    assert read(bob, entry.id).title == "For Bob"
    # Carol shares another tandem with Alice, not this one; roles read nothing
    for other in (carol, mod, admin, mallory):
        assert not can_read(other, entry.id), other.name
    # sharing again changes nothing
    assert journal.share(user(alice), entry.id, now=WHEN + timedelta(1)).shared_at == WHEN
    journal.unshare(user(alice), entry.id, now=WHEN + timedelta(2))
    assert not can_read(bob, entry.id) and can_read(alice, entry.id)
    assert read(alice, entry.id).shared_at is None
    # twice is harmless
    assert journal.unshare(user(alice), entry.id).shared_at is None


def test_an_entry_about_no_tandem_is_shared_with_the_one_named(ctx, alice, bob, carol, pair_id):
    entry = write(alice)
    with pytest.raises(Invalid) as error:
        journal.share(user(alice), entry.id, now=WHEN)
    assert error.value.field == "tandem"
    journal.share(user(alice), entry.id, tandem_id=pair_id, now=WHEN)
    assert read(alice, entry.id).tandem_id == pair_id and can_read(bob, entry.id)


def test_an_entry_is_shared_only_with_a_tandem_of_the_authors_and_its_own(
    ctx, alice, carol, mallory, pair_id, other_id
):
    ready(ctx, mallory)
    theirs = active_tandem(ctx, carol, mallory)
    loose = write(alice)
    with pytest.raises(NotFound):
        journal.share(user(alice), loose.id, tandem_id=theirs, now=WHEN)
    about_pair = write(alice, tandem_id=pair_id)
    with pytest.raises(Invalid):
        journal.share(user(alice), about_pair.id, tandem_id=other_id, now=WHEN)
    # nobody shares or takes back another member's entry
    with pytest.raises(NotFound):
        journal.share(user(carol), about_pair.id, tandem_id=other_id, now=WHEN)
    journal.share(user(alice), about_pair.id, now=WHEN)
    with pytest.raises(NotFound):
        journal.unshare(user(carol), about_pair.id)
    db.session.expire_all()
    assert read(alice, about_pair.id).shared
    assert read(alice, loose.id).shared_at is None and not can_read(mallory, loose.id)


def test_an_author_who_leaves_the_group_takes_their_shared_entries_along(
    ctx, alice, bob, carol, group_id
):
    entry = write(alice, "To the group", tandem_id=group_id)
    journal.share(user(alice), entry.id, now=WHEN)
    assert can_read(bob, entry.id) and can_read(carol, entry.id)
    assert [e.id for e in journal.shared_in(tandem_of(group_id), user(bob))] == [entry.id]
    tandems.leave_group(user(alice), group_id, now=WHEN + timedelta(days=1))
    assert not can_read(bob, entry.id) and not can_read(carol, entry.id)
    assert journal.shared_in(tandem_of(group_id), user(bob)) == []
    assert can_read(alice, entry.id)  # still hers
    # and she can no longer share anything with the group
    with pytest.raises(NotFound):
        journal.share(user(alice), write(alice).id, tandem_id=group_id, now=WHEN)


def test_a_member_who_leaves_the_group_no_longer_reads_what_was_shared_there(
    ctx, alice, bob, carol, group_id
):
    entry = write(alice, "To the group", tandem_id=group_id)
    journal.share(user(alice), entry.id, now=WHEN)
    tandems.leave_group(user(carol), group_id, now=WHEN + timedelta(days=1))
    assert not can_read(carol, entry.id) and can_read(bob, entry.id)
    assert journal.shared_in(tandem_of(group_id), user(carol)) == []


def test_shared_in_lists_only_shared_entries_of_current_members_newest_first(
    ctx, alice, bob, carol, mallory, group_id
):
    older = write(alice, "Alice shares", tandem_id=group_id)
    journal.share(user(alice), older.id, now=WHEN)
    newer = write(bob, "Bob shares", tandem_id=group_id)
    journal.share(user(bob), newer.id, now=WHEN + timedelta(hours=1))
    write(carol, "Carol keeps it", tandem_id=group_id)  # private
    taken_back = write(carol, "Carol took it back", tandem_id=group_id)
    journal.share(user(carol), taken_back.id, now=WHEN)
    journal.unshare(user(carol), taken_back.id, now=WHEN + timedelta(hours=2))
    group = tandem_of(group_id)
    for viewer in (alice, bob, carol):
        assert [e.id for e in journal.shared_in(group, user(viewer))] == [newer.id, older.id]
    assert journal.shared_in(group, user(mallory)) == []  # not a member
    assert [e.id for e in journal.shared_in(group, user(carol), limit=1)] == [newer.id]
    tandems.leave_group(user(bob), group_id, now=WHEN + timedelta(days=1))
    assert [e.id for e in journal.shared_in(tandem_of(group_id), user(alice))] == [older.id]


# --- search ------------------------------------------------------------------------------------


def test_search_finds_only_the_members_own_entries(ctx, alice, bob, pair_id):
    write(alice, "Coffee with Bob", now=WHEN)
    theirs = write(bob, "Coffee for everyone", "coffee", tandem_id=pair_id)
    journal.share(user(bob), theirs.id, now=WHEN)
    assert can_read(alice, theirs.id)  # Alice may read it on the tandem's page ...
    assert found(alice, text="coffee") == ["Coffee with Bob"]  # ... but never finds it here
    assert found(alice) == ["Coffee with Bob"]
    assert found(alice, shared="shared") == []
    assert found(alice, tandem_id=pair_id) == []
    assert found(bob, text="coffee") == ["Coffee for everyone"]


def test_search_matches_every_word_in_title_or_body_whatever_the_case(ctx, alice):
    write(alice, "Morning PAGES", "A calm start", now=WHEN)
    write(alice, "Evening review", "calm and tired", now=WHEN + timedelta(hours=1))
    write(alice, "Meeting notes", "loud", now=WHEN + timedelta(hours=2))
    assert found(alice, text="CALM") == ["Evening review", "Morning PAGES"]
    assert found(alice, text="pages") == ["Morning PAGES"]
    assert found(alice, text="calm   tired") == ["Evening review"]
    assert found(alice, text="calm loud") == []
    assert found(alice, text="ing") == ["Meeting notes", "Evening review", "Morning PAGES"]
    assert found(alice, text="") == ["Meeting notes", "Evening review", "Morning PAGES"]


def test_search_folds_the_case_of_umlauts_too(ctx, alice):
    """Most members write German: "übung" finds "Übung" (SQLite's lower() folds ASCII only)."""
    write(alice, "Übung macht den Meister")
    assert found(alice, text="übung") == ["Übung macht den Meister"]


def test_search_takes_like_wildcards_literally(ctx, alice):
    write(alice, "100% focused", now=WHEN)
    write(alice, "snake_case names", now=WHEN + timedelta(hours=1))
    write(alice, "Plain words", "nothing special", now=WHEN + timedelta(hours=2))
    write(alice, "Back\\slash", now=WHEN + timedelta(hours=3))
    assert found(alice, text="%") == ["100% focused"]
    assert found(alice, text="_") == ["snake_case names"]
    assert found(alice, text="0%") == ["100% focused"]
    assert found(alice, text="e_c") == ["snake_case names"]
    assert found(alice, text="\\") == ["Back\\slash"]
    assert found(alice, text="k\\s") == ["Back\\slash"]
    assert found(alice, text="p%n") == []  # not "Plain"


def test_search_by_tandem_goal_sharing_and_session(ctx, alice, pair_id, other_id):
    [goal] = goals_of(pair_id)
    [other_goal] = goals_of(other_id)
    write(alice, "Loose", now=WHEN)
    about_goal = write(
        alice,
        "About the goal",
        tandem_id=pair_id,
        goals=[f"{pair_id}:{goal}"],
        now=WHEN + timedelta(hours=1),
    )
    write(alice, "About the session", session=(sid(pair_id), 0), now=WHEN + timedelta(hours=2))
    write(alice, "With Carol", goals=[f"{other_id}:{other_goal}"], now=WHEN + timedelta(hours=3))
    journal.share(user(alice), about_goal.id, now=WHEN)
    assert found(alice, tandem_id=pair_id) == ["About the session", "About the goal"]
    assert found(alice, tandem_id=other_id) == ["With Carol"]
    assert found(alice, goal=f"{pair_id}:{goal}") == ["About the goal"]
    assert found(alice, goal=f"{other_id}:{other_goal}") == ["With Carol"]
    # both tandems call their first goal g1: the tandem tells them apart
    assert goal == other_goal == "g1"
    assert found(alice, goal=f"{pair_id}:{goal}", text="session") == []
    assert found(alice, goal=f"{pair_id}:{goal}", shared="private") == []
    assert found(alice, shared="shared") == ["About the goal"]
    assert found(alice, shared="private") == ["With Carol", "About the session", "Loose"]
    assert found(alice, session=True) == ["About the session"]
    assert found(alice, shared="nonsense") == found(alice)
    assert found(alice, goal="rubbish") == found(alice)


def test_search_by_a_goal_with_a_digit_that_is_no_number_is_no_crash(ctx, alice, pair_id):
    """BUG: `owner.isdigit()` is true for "²", but int("²") raises ValueError (a 500)."""
    write(alice, "Loose")
    assert found(alice, goal="²:g1") == ["Loose"]


# --- editing and deleting ----------------------------------------------------------------------


def test_an_edit_based_on_an_old_version_is_refused_with_both_texts(ctx, alice):
    entry = write(alice, "First", "one")
    later = WHEN + timedelta(hours=1)
    edited = journal.edit(user(alice), entry.id, "Second", "two", base=1, now=later)
    assert (edited.title, edited.body, edited.version, edited.updated_at) == (
        "Second",
        "two",
        2,
        later,
    )
    with pytest.raises(journal.StaleEntry) as error:
        journal.edit(user(alice), entry.id, "Third", "three", base=1, now=later)
    assert (error.value.title, error.value.body) == ("Third", "three")
    assert error.value.entry.title == "Second"
    db.session.expire_all()
    kept = read(alice, entry.id)
    assert (kept.title, kept.body, kept.version) == ("Second", "two", 2)
    assert journal.edit(user(alice), entry.id, "Third", "three", base=2).version == 3


def test_saving_the_same_words_changes_nothing(ctx, alice, pair_id):
    [goal] = goals_of(pair_id)
    entry = write(alice, "Same", "words", goals=[f"{pair_id}:{goal}"])
    again = journal.edit(
        user(alice),
        entry.id,
        " Same ",
        "words\r\n",
        base=1,
        tandem_id=pair_id,
        goals=[f"{pair_id}:{goal}"],
        now=WHEN + timedelta(days=1),
    )
    assert again.version == 1 and again.updated_at == WHEN
    # even from a tab that read an older version: nothing to lose
    stale = journal.edit(
        user(alice),
        entry.id,
        "Same",
        "words",
        base=0,
        tandem_id=pair_id,
        goals=[f"{pair_id}:{goal}"],
    )
    assert stale.version == 1
    # dropping the goal is a change
    assert (
        journal.edit(user(alice), entry.id, "Same", "words", base=1, tandem_id=pair_id).version == 2
    )


def test_an_edit_checks_its_words_and_links(ctx, alice, pair_id, other_id):
    entry = write(alice, "Title", tandem_id=pair_id)
    with pytest.raises(Invalid) as error:
        journal.edit(user(alice), entry.id, "", "body", base=1)
    assert error.value.field == "title"
    [goal] = goals_of(other_id)
    with pytest.raises(Invalid):
        journal.edit(
            user(alice),
            entry.id,
            "Title",
            "",
            base=1,
            tandem_id=pair_id,
            goals=[f"{other_id}:{goal}"],
        )
    db.session.expire_all()
    assert read(alice, entry.id).version == 1


def test_moving_a_shared_entry_to_another_tandem_takes_it_back(
    ctx, alice, bob, carol, pair_id, other_id
):
    entry = write(alice, "Shared", tandem_id=pair_id)
    journal.share(user(alice), entry.id, now=WHEN)
    # new words about the same tandem: still shared
    kept = journal.edit(user(alice), entry.id, "Shared", "more", base=1, tandem_id=pair_id)
    assert kept.shared and can_read(bob, entry.id)
    moved = journal.edit(user(alice), entry.id, "Shared", "more", base=2, tandem_id=other_id)
    assert moved.tandem_id == other_id and moved.shared_at is None
    assert not can_read(bob, entry.id) and not can_read(carol, entry.id)
    # about no tandem at all: private too
    journal.share(user(alice), entry.id, now=WHEN)
    assert can_read(carol, entry.id)
    loose = journal.edit(user(alice), entry.id, "Shared", "more", base=3)
    assert loose.tandem_id is None and loose.shared_at is None
    assert not can_read(carol, entry.id)


def test_nobody_edits_or_deletes_another_members_entry(ctx, alice, bob, mod, admin, pair_id):
    entry = write(alice, "Mine", tandem_id=pair_id)
    journal.share(user(alice), entry.id, now=WHEN)
    for other in (bob, mod, admin):
        with pytest.raises(NotFound):
            journal.edit(user(other), entry.id, "Theirs", "", base=1, tandem_id=pair_id)
        with pytest.raises(NotFound):
            journal.delete(user(other), entry.id)
    db.session.expire_all()
    assert read(alice, entry.id).title == "Mine" and count() == 1


def test_a_deleted_entry_is_gone_for_everyone(ctx, alice, bob, pair_id):
    entry = write(alice, "Soon gone", tandem_id=pair_id)
    journal.share(user(alice), entry.id, now=WHEN)
    journal.delete(user(alice), entry.id)
    assert not can_read(alice, entry.id) and not can_read(bob, entry.id)
    assert count() == 0
    with pytest.raises(NotFound):
        journal.delete(user(alice), entry.id)
    with pytest.raises(NotFound):
        journal.edit(user(alice), entry.id, "Back", "", base=1)
    with pytest.raises(NotFound):
        journal.share(user(alice), entry.id, tandem_id=pair_id)


def test_goal_choices_list_the_members_tandems_with_their_goals(ctx, alice, bob, pair_id):
    [choice] = journal.goal_choices(user(alice))
    assert choice.tandem.id == pair_id and choice.names == "Bob"
    assert [g["key"] for g in choice.goals] == goals_of(pair_id)


# --- formatting --------------------------------------------------------------------------------


def test_render_keeps_the_simple_formatting():
    html = formatting.render("**bold** and *it*\n\n- one\n- two\n\n> quoted\n\n`code`")
    assert isinstance(html, Markup)
    assert "<strong>bold</strong>" in html and "<em>it</em>" in html
    assert "<ul>\n<li>one</li>\n<li>two</li>\n</ul>" in html
    assert "<blockquote>" in html and "<code>code</code>" in html
    assert formatting.render("line one\nline two") == "<p>line one<br>\nline two</p>\n"
    assert formatting.render("") == "" and formatting.render(None) == ""


def test_render_strips_scripts_and_keeps_raw_html_escaped():
    html = formatting.render('<script>alert("x")</script>\n\n<b onclick="x()">bold</b>')
    assert "<script" not in html and "<b" not in html  # no tag at all: only their text
    assert '&lt;script&gt;alert("x")&lt;/script&gt;' in html
    assert '&lt;b onclick="x()"&gt;bold&lt;/b&gt;' in html
    assert "<iframe" not in formatting.render('<iframe src="https://evil.example"></iframe>')


@pytest.mark.parametrize(
    "text",
    [
        "[click](javascript:alert(1))",
        "[click](JavaScript:alert(1))",
        "[click](data:text/html;base64,PHNjcmlwdD4=)",
        "[click](vbscript:msgbox(1))",
        "<javascript:alert(1)>",
        "[click][x]\n\n[x]: javascript:alert(1)",
    ],
)
def test_render_drops_links_that_are_not_http_or_mail(text):
    html = formatting.render(text)
    assert "href" not in html, html


def test_render_drops_images_and_headings():
    html = formatting.render("![a cat](https://example.org/cat.png)\n\n# Not a heading")
    assert "<img" not in html and "<h1" not in html
    assert "# Not a heading" in html


def test_render_marks_links_nofollow():
    html = formatting.render("[our site](https://example.org/a?b=1&c=2) or [mail](mailto:a@b.org)")
    rel = 'rel="nofollow noopener noreferrer"'
    assert f'<a href="https://example.org/a?b=1&amp;c=2" {rel}>our site</a>' in html
    assert f'<a href="mailto:a@b.org" {rel}>mail</a>' in html


def test_excerpt_is_plain_text_without_formatting_marks():
    assert formatting.excerpt("**Bold** and *it*\n\n- one\n- two") == "Bold and it one two"
    assert formatting.excerpt("a < b & c > d") == "a < b & c > d"  # the template escapes it
    assert formatting.excerpt("[site](https://example.org)") == "site"
    assert formatting.excerpt("") == ""
    plain = formatting.excerpt("<script>alert(1)</script>")
    assert plain == "<script>alert(1)</script>"  # as words, never as markup
    assert not isinstance(plain, Markup)


def test_excerpt_is_cut_at_a_word_with_an_ellipsis():
    text = "one two three four five six seven eight nine ten"
    assert formatting.excerpt(text, limit=len(text)) == text
    short = formatting.excerpt(text, limit=20)
    assert short == "one two three four…" and len(short) <= 20
    assert len(formatting.excerpt("word " * 100)) <= 180


def test_render_keeps_no_attribute_but_a_links_target():
    html = formatting.render('[x](https://example.org "a title")')
    assert "title=" not in html and 'href="https://example.org"' in html
