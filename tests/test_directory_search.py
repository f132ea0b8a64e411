"""The member directory's search service, without HTTP, on SQLite (FTS5) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event, select, text, update

from peerhub.accounts.models import User
from peerhub.extensions import db, utcnow
from peerhub.profiles.models import (
    AvailabilityWindow,
    Block,
    Profile,
    ProfileLanguage,
    ProfileTag,
    Tag,
    language_mask,
    weekday_mask,
)
from peerhub.profiles.search import (
    DirectoryPage,
    DirectoryQuery,
    fts5_match,
    has_room_condition,
    include_in_migrations,
    pg_tsquery,
    search_members,
)
from peerhub.profiles.text import query_terms, search_document, tag_key

_counter = iter(range(1, 1_000_000))


def add_member(
    name: str,
    *,
    headline: str = "",
    about: str = "",
    goals: Sequence[str] = (),
    offers: Sequence[str] = (),
    seeks: Sequence[str] = (),
    interests: Sequence[str] = (),
    languages: Sequence[str] = ("de",),
    mode: str = "video",
    city: str | None = None,
    weekdays: Sequence[int] = (),
    capacity: int = 2,
    status: str = "open",
    visibility: str = "members",
    user_status: str = "active",
    verified: bool = True,
    updated_at: datetime | None = None,
) -> int:
    """A member with a profile, written row by row (no profile service): the user's id."""
    now = utcnow()
    user = User(
        email=f"{name.lower()}-{next(_counter)}@example.org",
        display_name=name,
        password_hash="not-a-real-hash",
        status=user_status,
        email_verified_at=now if verified else None,
    )
    db.session.add(user)
    db.session.flush()
    tag_names = [*offers, *seeks, *interests]
    db.session.add(
        Profile(
            user_id=user.id,
            headline=headline,
            about=about,
            meeting_mode=mode,
            city=city,
            city_key=tag_key(city) if city else None,
            capacity=capacity,
            status=status,
            visibility=visibility,
            search_document=search_document(headline, about, *goals, *tag_names),
            language_mask=language_mask(languages),
            weekday_mask=weekday_mask(weekdays),
            updated_at=updated_at or now,
        )
    )
    db.session.flush()
    for kind, names in (("offer", offers), ("seek", seeks), ("interest", interests)):
        for tag_name in names:
            db.session.add(ProfileTag(user_id=user.id, tag_id=_tag(tag_name).id, kind=kind))
    for code in languages:
        db.session.add(ProfileLanguage(user_id=user.id, code=code))
    for weekday in weekdays:
        db.session.add(
            AvailabilityWindow(user_id=user.id, weekday=weekday, start_minute=1080, end_minute=1200)
        )
    db.session.commit()
    return user.id


def _tag(name: str) -> Tag:
    key = tag_key(name)
    tag = db.session.scalar(select(Tag).where(Tag.key == key))
    if tag is None:
        tag = Tag(name=name, key=key)
        db.session.add(tag)
        db.session.flush()
    return tag


def viewer() -> int:
    return add_member("Viewer", headline="Ich schaue mich um")


def found(viewer_id: int, **query) -> list[int]:
    page = search_members(viewer_id, DirectoryQuery(**query), per_page=100)
    assert page.total == len(page.items)
    return [hit.user_id for hit in page.items]


@contextmanager
def counted_selects() -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


# --- full text ------------------------------------------------------------------


def test_text_finds_german_and_english_word_forms(ctx):
    me = viewer()
    coach = add_member("Coach", headline="Ich coache gern", about="Coaching für Teams")
    timer = add_member("Timer", headline="Zeitmanagement und Fokus")
    leader = add_member("Leader", about="Ich begleite Führungskräfte")
    mentor = add_member("Mentor", about="Erfahrener Mentor")

    assert found(me, text="coaching") == [coach]
    assert found(me, text="coachen") == [coach]
    assert found(me, text="coaches") == [coach]
    assert found(me, text="Teams") == [coach]
    assert found(me, text="team") == [coach]
    assert found(me, text="zeitman") == [timer]  # still typing: a prefix
    assert found(me, text="ZEITMANAGEMENT") == [timer]
    assert found(me, text="mentoring") == [mentor]
    # "Führung" is a prefix of the stem of "Führungskräfte", and "Fuehrung" is the same word.
    assert found(me, text="Führung") == [leader]
    assert found(me, text="fuehrung") == [leader]
    assert found(me, text="Führungskräfte") == [leader]
    assert found(me, text="Leadership") == []


def test_every_word_must_match_and_only_the_last_is_a_prefix(ctx):
    me = viewer()
    both = add_member("Both", about="Coaching und Zeitmanagement")
    add_member("Coaching", about="Coaching")
    add_member("Time", about="Zeitmanagement")

    assert found(me, text="coaching zeitmanagement") == [both]
    assert found(me, text="coaching zeitman") == [both]
    # an earlier word is a whole word: "zeitman" is not one
    assert found(me, text="zeitman coaching") == []


def test_no_words_means_no_text_filter(ctx):
    me = viewer()
    other = add_member("Other", about="Irgendwas")
    for nothing in ("", "   ", '"*()', "-:^"):
        assert found(me, text=nothing) == [other]


HOSTILE = (
    '"',
    '""',
    '"coach',
    "coach*",
    "*",
    "coach OR python",
    "coach AND NOT python",
    "NOT coach",
    "NEAR(coach python)",
    "NEAR(coach python, 2)",
    "coach -python",
    "-coach",
    "(coach",
    "coach)",
    "search_document:coach",
    "headline : coach",
    "{search_document}: coach",
    "^coach",
    "coach + python",
    "'; DROP TABLE profile; --",
    "coach's",
    "coach & !python | team",
    "coach:*",
    "coach <-> python",
    "\\",
    "\\' coach",
    "東京 coach",
    "🙂 coach",
)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_search_syntax_in_the_input_is_only_words(ctx, hostile):
    """Operators, quotes, column filters and NEAR neither fail nor act: words stay words."""
    me = viewer()
    coach = add_member("Coach", about="Coach near the station")
    python = add_member("Python", about="Python")

    page = search_members(me, DirectoryQuery(text=hostile))
    expected = [
        member
        for member, about in ((coach, "Coach near the station"), (python, "Python"))
        if matches(search_document(about), query_terms(hostile))
    ]
    assert sorted(hit.user_id for hit in page.items) == sorted(expected)
    assert page.total == len(expected)
    if hostile in ("coach OR python", "NEAR(coach python)", "coach -python"):
        assert expected == []  # the words coach, python (and or/near): nobody has them all


def matches(document: str, terms: list[list[str]]) -> bool:
    """The rule in Python: every term has a stem among the words, the last one as a prefix."""
    words = document.split()
    return all(
        any(
            word == stem or (position == len(terms) - 1 and word.startswith(stem))
            for stem in stems
            for word in words
        )
        for position, stems in enumerate(terms)
    )


def test_operator_words_are_searched_as_words(ctx):
    me = viewer()
    near = add_member("Near", about="I live near the station")
    assert found(me, text="NEAR") == [near]
    assert found(me, text="near station") == [near]


def test_match_strings_quote_every_stem():
    terms = [['a"b', "c"], ["d'e\\"]]
    assert fts5_match(terms) == '("a""b" OR "c") AND ("d\'e\\"*)'
    assert pg_tsquery(terms) == "('a\"b' | 'c') & ('d''e\\\\':*)"


def test_quotes_inside_stems_reach_the_database_harmlessly(ctx, monkeypatch):
    """Stems hold letters and digits only; should one ever hold a quote, it stays a character."""
    me = viewer()
    add_member("Coach", about="Coach")
    odd = [['coach"', "co'ach\\"], ["x) OR (coach", "coach' | 'coach"]]
    monkeypatch.setattr("peerhub.profiles.search.query_terms", lambda text: odd)
    page = search_members(me, DirectoryQuery(text="anything"))
    assert (page.items, page.total) == ([], 0)


def test_index_follows_edits_and_deletions(ctx):
    me = viewer()
    member = add_member("Member", about="Python")
    assert found(me, text="python") == [member]

    db.session.execute(
        update(Profile)
        .where(Profile.user_id == member)
        .values(search_document=search_document("Kanban"), updated_at=utcnow())
    )
    db.session.commit()
    assert found(me, text="python") == []
    assert found(me, text="kanban") == [member]

    # other columns change without touching the index
    db.session.execute(update(Profile).where(Profile.user_id == member).values(capacity=3))
    db.session.commit()
    assert found(me, text="kanban") == [member]

    db.session.execute(Profile.__table__.delete().where(Profile.user_id == member))
    db.session.commit()
    assert found(me, text="kanban") == []
    if db.engine.dialect.name == "sqlite":
        rows = db.session.execute(
            text("SELECT count(*) FROM profile_fts WHERE profile_fts MATCH 'kanban'")
        ).scalar()
        assert rows == 0


def test_full_text_objects_exist(ctx):
    """A later batch migration of `profile` on SQLite would drop the triggers silently."""
    if db.engine.dialect.name == "sqlite":
        names = set(
            db.session.execute(
                text("SELECT name FROM sqlite_master WHERE tbl_name IN ('profile', 'profile_fts')")
            ).scalars()
        )
        assert {
            "profile_fts",
            "profile_fts_after_insert",
            "profile_fts_after_update",
            "profile_fts_after_delete",
        } <= names
    else:
        definition = db.session.execute(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_profile_search_vector'")
        ).scalar()
        assert "gin" in definition and "(search_vector)" in definition
        generated = db.session.execute(
            text(
                "SELECT generation_expression FROM information_schema.columns "
                "WHERE table_name = 'profile' AND column_name = 'search_vector'"
            )
        ).scalar()
        assert "to_tsvector('simple'::regconfig, search_document)" in generated


# --- filters --------------------------------------------------------------------


def test_offers_and_seeks_match_by_tag_key(ctx):
    me = viewer()
    offers = add_member("Offers", offers=["Zeitmanagement"], seeks=["Python"])
    seeks = add_member("Seeks", offers=["Python"], seeks=["Zeitmanagement"])
    add_member("Interested", interests=["Zeitmanagement"])

    assert found(me, offers="zeit-management") == [offers]
    assert found(me, seeks="ZEITMANAGEMENT") == [seeks]
    assert found(me, offers="Python") == [seeks]
    assert found(me, offers="Zeitmanagement", seeks="Python") == [offers]
    assert found(me, offers="No such tag") == []


def test_language_filter(ctx):
    me = viewer()
    german = add_member("German", languages=["de"])
    both = add_member("Both", languages=["de", "en"])
    assert sorted(found(me, language="en")) == [both]
    assert sorted(found(me, language="DE")) == sorted([german, both])
    assert found(me, language="fr") == []


def test_meeting_mode_filter_counts_either_for_both(ctx):
    me = viewer()
    video = add_member("Video", mode="video")
    in_person = add_member("InPerson", mode="in_person", city="Berlin")
    either = add_member("Either", mode="either", city="Berlin")

    assert sorted(found(me, meeting_mode="video")) == sorted([video, either])
    assert sorted(found(me, meeting_mode="in_person")) == sorted([in_person, either])
    assert sorted(found(me, meeting_mode="")) == sorted([video, in_person, either])
    with pytest.raises(ValueError):
        search_members(me, DirectoryQuery(meeting_mode="telepathy"))


def test_city_filter_matches_by_key(ctx):
    me = viewer()
    munich = add_member("Munich", mode="in_person", city="München")
    add_member("Berlin", mode="either", city="Berlin")
    add_member("Online", mode="video")

    assert found(me, city="muenchen") == [munich]
    assert found(me, city=" MÜNCHEN ") == [munich]
    assert found(me, city="Hamburg") == []
    assert found(me, city="München", meeting_mode="video") == []


def test_weekday_filter(ctx):
    me = viewer()
    monday = add_member("Monday", weekdays=[0])
    sunday = add_member("Sunday", weekdays=[6, 2])
    add_member("Never")

    assert found(me, weekday=0) == [monday]
    assert found(me, weekday=6) == [sunday]
    assert found(me, weekday=4) == []
    with pytest.raises(ValueError):
        search_members(me, DirectoryQuery(weekday=7))


def test_has_room(ctx):
    me = viewer()
    full_house = add_member("Capacity", capacity=3)
    add_member("Paused", status="paused")
    assert found(me, has_room=True) == [full_house]
    assert db.session.scalar(select(Profile.user_id).where(has_room_condition())) is not None


def test_filters_combine(ctx):
    me = viewer()
    fitting = {
        "about": "Coaching für Teams",
        "offers": ["Feedback"],
        "seeks": ["Python"],
        "languages": ["de", "en"],
        "mode": "either",
        "city": "Köln",
        "weekdays": [1],
    }
    match = add_member("Match", **fitting)
    # each of these differs from the match in one respect only
    no_text = add_member("NoText", **{**fitting, "about": "Feedback"})
    add_member("NoOffer", **{**fitting, "offers": []})
    add_member("NoSeek", **{**fitting, "seeks": ["Feedback"]})
    add_member("NoEnglish", **{**fitting, "languages": ["de"]})
    add_member("Video", **{**fitting, "mode": "video", "city": None})
    add_member("Bonn", **{**fitting, "city": "Bonn"})
    add_member("Friday", **{**fitting, "weekdays": [4]})
    add_member("Paused", **{**fitting}, status="paused")

    query = {
        "text": "coach",
        "offers": "feedback",
        "seeks": "python",
        "language": "en",
        "meeting_mode": "in_person",
        "city": "koeln",
        "weekday": 1,
        "has_room": True,
    }
    assert found(me, **query) == [match]
    without_text = {k: v for k, v in query.items() if k != "text"}
    assert sorted(found(me, **without_text)) == sorted([match, no_text])


# --- who may be found -------------------------------------------------------------


def test_only_visible_open_active_verified_unblocked_members_appear(ctx):
    me = viewer()
    visible = add_member("Visible", about="Coaching")
    add_member("Hidden", about="Coaching", visibility="hidden")
    add_member("Paused", about="Coaching", status="paused")
    add_member("Suspended", about="Coaching", user_status="suspended")
    add_member("Banned", about="Coaching", user_status="banned")
    add_member("Unverified", about="Coaching", verified=False)
    i_blocked = add_member("IBlocked", about="Coaching")
    blocks_me = add_member("BlocksMe", about="Coaching")
    db.session.add_all(
        [Block(blocker_id=me, blocked_id=i_blocked), Block(blocker_id=blocks_me, blocked_id=me)]
    )
    db.session.commit()
    db.session.execute(
        update(Profile)
        .where(Profile.user_id == me)
        .values(about="Coaching", search_document="coach")
    )
    db.session.commit()

    assert found(me, text="coaching") == [visible]
    assert found(me) == [visible]
    # blocks work both ways: the blocked member does not see the blocker either
    assert me not in found(i_blocked)
    assert me not in found(blocks_me)
    assert visible in found(i_blocked)


# --- pages and order --------------------------------------------------------------


def test_pages(ctx):
    me = viewer()
    start = utcnow() - timedelta(days=1)
    ids = [
        add_member(f"M{i}", about="Coaching", updated_at=start + timedelta(minutes=i))
        for i in range(25)
    ]
    newest_first = list(reversed(ids))

    for query in (DirectoryQuery(), DirectoryQuery(language="de"), DirectoryQuery(text="coach")):
        first = search_members(me, query, page=1, per_page=10)
        assert (first.total, first.pages, first.page) == (25, 3, 1)
        assert (first.has_prev, first.has_next, first.prev_num, first.next_num) == (
            False,
            True,
            None,
            2,
        )
        last = search_members(me, query, page=3, per_page=10)
        assert len(last.items) == 5 and last.total == 25
        assert (last.has_prev, last.has_next, last.prev_num, last.next_num) == (
            True,
            False,
            2,
            None,
        )
        beyond = search_members(me, query, page=9, per_page=10)
        assert beyond.items == [] and beyond.total == 25 and not beyond.has_next
        assert search_members(me, query, page=0, per_page=10).page == 1
        assert search_members(me, query, page=-3, per_page=10).items == first.items
        everyone = [
            hit.user_id for n in (1, 2, 3) for hit in search_members(me, query, n, 10).items
        ]
        assert sorted(everyone) == sorted(ids)
        assert everyone == newest_first  # with text all are equally relevant here

    empty = search_members(me, DirectoryQuery(text="nobody"))
    assert (empty.total, empty.pages, empty.has_prev, empty.has_next) == (0, 0, False, False)


def test_order_without_text_is_newest_then_id(ctx):
    me = viewer()
    moment = utcnow() - timedelta(hours=1)
    older = add_member("Older", updated_at=moment - timedelta(minutes=5))
    tie_a = add_member("TieA", updated_at=moment)
    tie_b = add_member("TieB", updated_at=moment)
    newest = add_member("Newest", updated_at=moment + timedelta(minutes=5))
    # ties go to the later member: newest-first is one direction, which the index serves
    assert found(me) == [newest, tie_b, tie_a, older]


def test_order_with_text_is_relevance_first(ctx):
    me = viewer()
    earlier = utcnow() - timedelta(days=2)
    # "Coaching" leaves both stems (coaching, coach) in the document: a closer match
    relevant = add_member("Relevant", headline="Coaching Kanban", updated_at=earlier)
    newer = add_member("Newer", headline="Coach Kanban")
    assert found(me, text="coaching") == [relevant, newer]


def test_equal_relevance_is_newest_then_id(ctx):
    me = viewer()
    moment = utcnow() - timedelta(hours=1)
    older = add_member("Older", headline="Kanban", updated_at=moment - timedelta(minutes=5))
    tie_a = add_member("TieA", headline="Kanban", updated_at=moment)
    tie_b = add_member("TieB", headline="Kanban", updated_at=moment)
    assert found(me, text="kanban") == [tie_b, tie_a, older]


def test_page_page_properties():
    page = DirectoryPage(items=[], total=41, page=2, per_page=20)
    assert (page.pages, page.has_prev, page.has_next, page.prev_num, page.next_num) == (
        3,
        True,
        True,
        1,
        3,
    )


# --- what a hit shows -------------------------------------------------------------


def test_hits_carry_tags_and_languages_without_a_query_per_hit(ctx):
    me = viewer()
    for i in range(6):
        add_member(
            f"Member{i}",
            headline=f"Headline {i}",
            offers=["zeit management", "Agile"],
            seeks=["python"],
            interests=["Jazz"],
            languages=["en", "de"],
            mode="either",
            city="Köln",
        )
    with counted_selects() as few:
        small = search_members(me, DirectoryQuery(), per_page=2)
    with counted_selects() as many:
        large = search_members(me, DirectoryQuery(), per_page=6)
    assert len(few) == len(many) <= 5
    assert len(small.items) == 2 and len(large.items) == 6

    hit = large.items[0]
    assert hit.display_name.startswith("Member")
    assert hit.headline.startswith("Headline")
    assert (hit.meeting_mode, hit.city) == ("either", "Köln")
    assert hit.offers == ["Agile", "zeit management"]
    assert hit.seeks == ["python"]
    assert hit.languages == ["de", "en"]


# --- migrations --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "type_", "included"),
    [
        ("profile_fts", "table", False),
        ("profile_fts_data", "table", False),
        ("profile_fts_docsize", "table", False),
        ("ix_profile_search_vector", "index", False),
        ("search_vector", "column", False),
        ("profile", "table", True),
        ("ix_profile_listing", "index", True),
        ("profile_fts", "column", True),
    ],
)
def test_autogenerate_leaves_the_full_text_objects_alone(name, type_, included):
    assert include_in_migrations(None, name, type_, True, None) is included


def test_totals_are_capped_and_paging_stops_there(ctx, monkeypatch):
    from peerhub.profiles import search

    monkeypatch.setattr(search, "TOTAL_CAP", 3)
    me = viewer()
    for i in range(5):
        add_member(f"Member {i}", headline="Kanban")
    result = search_members(me, DirectoryQuery(text="kanban"), per_page=2)
    assert (result.total, result.more, len(result.items)) == (3, True, 2)
    assert search_members(me, DirectoryQuery(text="kanban"), page=9, per_page=2).page == 1


def test_many_matches_come_newest_first(ctx, monkeypatch):
    from peerhub.profiles import search

    monkeypatch.setattr(search, "RANK_LIMIT", 1)
    me = viewer()
    earlier = utcnow() - timedelta(days=2)
    relevant = add_member("Relevant", headline="Coaching Kanban", updated_at=earlier)
    newer = add_member("Newer", headline="Coach Kanban")
    # more matches than RANK_LIMIT: recency, not bm25/ts_rank, decides
    assert found(me, text="coaching") == [newer, relevant]
