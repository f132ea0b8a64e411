"""The member directory: who may be found, by which words and filters, in which order.

Full text runs on the stems `Profile.search_document` holds (see `text.py`): on SQLite
through the FTS5 table `profile_fts` (migration e1f0a2b3c4d5), on PostgreSQL through the
stored tsvector `profile.search_vector` and its GIN index (migration f3a4b5c6d7e8). Neither
is in the models, so autogenerate is told to leave them alone (`include_in_migrations`).
Languages and weekdays filter through bitmask columns kept by the profile service.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    column,
    false,
    func,
    literal_column,
    select,
    table,
    union_all,
)
from sqlalchemy.orm import join
from sqlalchemy.sql import Select

from peerhub.accounts.models import User
from peerhub.extensions import db
from peerhub.profiles.models import (
    LANGUAGE_CODES,
    Block,
    Profile,
    ProfileLanguage,
    ProfileTag,
    Tag,
    language_mask,
    weekday_mask,
)
from peerhub.profiles.text import query_terms, tag_key

PER_PAGE_MAX = 100
# Counting stops here ("more than 500 found"), and so does paging: an exact count of
# 30,000 matches would cost more than the page itself, and nobody reads page 26.
TOTAL_CAP = 500
# With at most this many text matches they are ordered by relevance; with more (a very
# common word) newest first, which the listing index serves without ranking every match.
RANK_LIMIT = 500
FTS_TABLE = "profile_fts"
FTS_INDEX = "ix_profile_search_vector"
SEARCH_VECTOR = "search_vector"  # PostgreSQL only: a stored tsvector (migration f3a4b5c6d7e8)
MEETING_MODE_FILTERS = ("video", "in_person")

# The FTS5 table, for queries only: it is not in the metadata (no create_all, no autogenerate).
_profile_fts = table(FTS_TABLE, column("rowid"), column("search_document"), column("rank"))
# Inline constant, not a parameter: PostgreSQL only uses the expression index for the very
# expression it was built on, to_tsvector('simple'::regconfig, search_document).
_SIMPLE = literal_column("'simple'")
_OWNER = User.id == Profile.user_id


@dataclass(frozen=True)
class DirectoryQuery:
    """What a member asks the directory; empty fields do not filter."""

    text: str = ""
    offers: str = ""  # a tag name, matched by its key
    seeks: str = ""
    language: str = ""  # ISO 639-1 code
    meeting_mode: str = ""  # '' any, 'video' or 'in_person' ('either' profiles match both)
    city: str = ""  # matched by key; only in-person/either profiles have a city
    weekday: int | None = None  # 0 = Monday, in the member's own zone
    has_room: bool = False


@dataclass
class DirectoryHit:
    """One member as the directory lists them."""

    user_id: int
    display_name: str
    headline: str
    meeting_mode: str
    city: str | None
    offers: list[str] = field(default_factory=list)
    seeks: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)


@dataclass
class DirectoryPage:
    """One page of hits and what the pager needs."""

    items: list[DirectoryHit]
    total: int  # exact up to TOTAL_CAP; `more` says there are more than that
    page: int
    per_page: int
    more: bool = False

    @property
    def pages(self) -> int:
        return math.ceil(self.total / self.per_page) if self.total else 0

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int | None:
        return self.page - 1 if self.has_prev else None

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None


def bound_count(user_id: ColumnElement[int]) -> ColumnElement[int]:
    """How many forming or active tandems the member `user_id` is in (a scalar subquery)."""
    from peerhub.tandems.models import BINDING_STATES, Tandem, TandemMember

    return (
        select(func.count())
        .select_from(TandemMember)
        .join(Tandem, Tandem.id == TandemMember.tandem_id)
        .where(TandemMember.user_id == user_id, Tandem.state.in_(BINDING_STATES))
        .scalar_subquery()
    )


def has_room_condition() -> ColumnElement[bool]:
    """Whether a member can take on another partner (the one place this is decided):
    open, and in fewer forming or active tandems than their capacity."""
    return and_(Profile.status == "open", Profile.capacity > bound_count(Profile.user_id))


def fts5_match(terms: list[list[str]]) -> str:
    """An FTS5 MATCH expression: every term, each as any of its stems; the last as prefixes.

    Every stem is an FTS5 string ("..." with " doubled), so nothing a member types can
    become an operator, a column filter or a NEAR group.
    """
    groups = []
    for position, stems in enumerate(terms):
        star = "*" if position == len(terms) - 1 else ""
        quoted = ['"' + stem.replace('"', '""') + '"' + star for stem in stems]
        groups.append("(" + " OR ".join(quoted) + ")")
    return " AND ".join(groups)


def pg_tsquery(terms: list[list[str]]) -> str:
    """A PostgreSQL to_tsquery string of the same shape, every stem a quoted lexeme."""
    groups = []
    for position, stems in enumerate(terms):
        prefix = ":*" if position == len(terms) - 1 else ""
        quoted = [
            "'" + stem.replace("\\", "\\\\").replace("'", "''") + "'" + prefix for stem in stems
        ]
        groups.append("(" + " | ".join(quoted) + ")")
    return " & ".join(groups)


def _members(subquery: Select, user_id: ColumnElement[int], drives: bool) -> ColumnElement[bool]:
    """`Profile.user_id` is among the `user_id`s `subquery` selects.

    SQLite plans `IN (…)` as a list it builds whole or as the driving loop, and `EXISTS` as a
    primary-key probe per row: the list when it may drive (no text), the probe when the full
    text index drives and the list would be, say, every German speaker.
    """
    if drives:
        return Profile.user_id.in_(subquery)
    return subquery.where(user_id == Profile.user_id).exists()


def blocked_either_way(viewer_id: int):
    """The ids of members `viewer_id` blocked or was blocked by (a select)."""
    return union_all(
        select(Block.blocked_id).where(Block.blocker_id == viewer_id),
        select(Block.blocker_id).where(Block.blocked_id == viewer_id),
    )


def _listed_for(viewer_id: int) -> list[ColumnElement[bool]]:
    """Who may appear in `viewer_id`'s directory at all (rows of Profile joined with User)."""
    blocked = blocked_either_way(viewer_id)
    return [
        Profile.visibility == "members",
        Profile.hidden_by_moderator_at.is_(None),
        Profile.status == "open",
        User.status == "active",
        User.email_verified_at.is_not(None),
        Profile.user_id != viewer_id,
        Profile.user_id.not_in(blocked),
    ]


def _filters(query: DirectoryQuery, text: bool) -> list[ColumnElement[bool]]:
    """The member's filters, combined with AND; raises ValueError for a bad one."""
    conditions: list[ColumnElement[bool]] = []
    for name, kind in ((query.offers, "offer"), (query.seeks, "seek")):
        key = tag_key(name)
        if key:
            # The tag's id once (uncorrelated), then (tag_id, kind) or the primary key.
            tag_id = select(Tag.id).where(Tag.key == key).scalar_subquery()
            tagged = select(ProfileTag.user_id).where(
                ProfileTag.tag_id == tag_id, ProfileTag.kind == kind
            )
            conditions.append(_members(tagged, ProfileTag.user_id, drives=not text))
    language = query.language.strip().lower()
    if language:
        if language not in LANGUAGE_CODES:
            return [false()]  # nobody speaks a language the list does not have
        conditions.append(Profile.language_mask.op("&")(language_mask([language])) != 0)
    mode = query.meeting_mode.strip()
    if mode in MEETING_MODE_FILTERS:
        conditions.append(Profile.meeting_mode.in_((mode, "either")))
    elif mode not in ("", "either"):
        raise ValueError(f"unknown meeting mode {mode!r}")
    city = tag_key(query.city)
    if city:
        conditions.append(Profile.city_key == city)
    if query.weekday is not None:
        if query.weekday not in range(7):
            raise ValueError(f"weekday {query.weekday!r} is not 0..6")
        conditions.append(Profile.weekday_mask.op("&")(weekday_mask([query.weekday])) != 0)
    if query.has_room:
        conditions.append(has_room_condition())
    return conditions


def _match(terms: list[list[str]], dialect: str):
    """The condition "the profile's document matches the words" (SQLite: the MATCH on FTS5)."""
    if dialect == "sqlite":
        expression = bindparam("fts_match", fts5_match(terms))
        return literal_column(FTS_TABLE).op("MATCH")(expression)
    if dialect == "postgresql":
        tsquery = func.to_tsquery(_SIMPLE, bindparam("tsquery", pg_tsquery(terms)))
        return literal_column(f"profile.{SEARCH_VECTOR}").op("@@")(tsquery)
    raise NotImplementedError(f"directory search on {dialect}")


def _few_matches(terms: list[list[str]], dialect: str) -> bool:
    """Whether the words match at most RANK_LIMIT profiles (counting stops just past it)."""
    match = _match(terms, dialect)
    if dialect == "sqlite":
        matching = select(_profile_fts.c.rowid).where(match)
    else:
        matching = select(Profile.user_id).where(match)
    count = select(func.count()).select_from(matching.limit(RANK_LIMIT + 1).subquery())
    return (db.session.scalar(count) or 0) <= RANK_LIMIT


def _text_search(terms: list[list[str]], dialect: str, ranked: bool):
    """(source, match condition, score (lower is better) or None when not `ranked`).

    Ranked searches are driven from the full-text index; unranked ones (many matches) are
    checked against while the listing index drives, newest first.
    """
    match = _match(terms, dialect)
    if dialect == "sqlite":
        fts = _profile_fts
        if ranked:
            # `+rowid` keeps the planner from probing FTS5 per profile (re-running MATCH).
            by_rowid = Profile.user_id == literal_column(f"+{FTS_TABLE}.rowid")
            source = join(join(fts, Profile, by_rowid), User, _OWNER)
            return source, match, fts.c.rank  # bm25: lower is better
        # `+user_id`: the list is only checked, so the listing index drives, newest first,
        # and stops after TOTAL_CAP + 1 (driving from 30,000 rowids and sorting is slower).
        listed = literal_column(f"+{Profile.__tablename__}.user_id").in_(
            select(fts.c.rowid).where(match)
        )
        return join(Profile, User, _OWNER), listed, None
    # PostgreSQL: ts_rank of the two sides of the @@ match (vector, query) is higher for
    # better matches; negated, it sorts like bm25
    score = -func.ts_rank(match.left, match.right) if ranked else None
    return join(Profile, User, _OWNER), match, score


def search_members(
    viewer_id: int, query: DirectoryQuery, page: int = 1, per_page: int = 20
) -> DirectoryPage:
    """One page of the members `viewer_id` may find with `query`; ValueError for a bad filter.

    Totals are exact up to TOTAL_CAP. Text results come by relevance when the words match
    at most RANK_LIMIT profiles, else newest first, as results without text always do.
    """
    per_page = min(max(1, per_page), PER_PAGE_MAX)
    page = min(max(1, page), max(TOTAL_CAP // per_page, 1))
    terms = query_terms(query.text)
    conditions = _listed_for(viewer_id) + _filters(query, text=bool(terms))
    relevance = None
    source = join(Profile, User, _OWNER)
    if terms:
        dialect = db.engine.dialect.name
        ranked = _few_matches(terms, dialect)
        source, condition, relevance = _text_search(terms, dialect, ranked)
        conditions.append(condition)
    # The first TOTAL_CAP + 1 in order (newest first walks the listing index and stops early),
    # then the page and the capped total from those in one pass.
    columns = [Profile.user_id, Profile.updated_at]
    order = [Profile.updated_at.desc(), Profile.user_id.desc()]  # one direction: the index's
    if relevance is not None:
        columns.append(relevance.label("relevance"))
        order.insert(0, relevance)
    first = (
        select(*columns)
        .select_from(source)
        .where(*conditions)
        .order_by(*order)
        .limit(TOTAL_CAP + 1)
        .subquery()
    )
    again = [first.c.updated_at.desc(), first.c.user_id.desc()]
    if relevance is not None:
        again.insert(0, first.c.relevance)
    rows = db.session.execute(
        select(first.c.user_id, func.count().over())
        .order_by(*again)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    ids = [user_id for user_id, _total in rows]
    # past the last page no row carries the window count: count alone
    total = rows[0][1] if rows else db.session.scalar(select(func.count()).select_from(first))
    return DirectoryPage(
        items=_hits(ids),
        total=min(total or 0, TOTAL_CAP),
        page=page,
        per_page=per_page,
        more=(total or 0) > TOTAL_CAP,
    )


def _hits(ids: list[int]) -> list[DirectoryHit]:
    """The directory entries for `ids`, in that order, with offers, seeks and languages."""
    if not ids:
        return []
    rows = db.session.execute(
        select(
            Profile.user_id, User.display_name, Profile.headline, Profile.meeting_mode, Profile.city
        )
        .join(User, _OWNER)
        .where(Profile.user_id.in_(ids))
    )
    by_id = {
        row.user_id: DirectoryHit(
            user_id=row.user_id,
            display_name=row.display_name,
            headline=row.headline,
            meeting_mode=row.meeting_mode,
            city=row.city,
        )
        for row in rows
    }
    hits = [by_id[user_id] for user_id in ids if user_id in by_id]
    _load_tags_and_languages(hits)
    return hits


def _load_tags_and_languages(hits: list[DirectoryHit]) -> None:
    """Offers, seeks and languages of a page's hits, in two queries."""
    if not hits:
        return
    by_id = {hit.user_id: hit for hit in hits}
    tags: dict[tuple[int, str], list[str]] = defaultdict(list)
    for user_id, kind, name in db.session.execute(
        select(ProfileTag.user_id, ProfileTag.kind, Tag.name)
        .join(Tag, Tag.id == ProfileTag.tag_id)
        .where(ProfileTag.user_id.in_(by_id), ProfileTag.kind.in_(("offer", "seek")))
    ):
        tags[user_id, kind].append(name)
    for user_id, code in db.session.execute(
        select(ProfileLanguage.user_id, ProfileLanguage.code)
        .where(ProfileLanguage.user_id.in_(by_id))
        .order_by(ProfileLanguage.code)
    ):
        by_id[user_id].languages.append(code)
    for hit in hits:
        hit.offers = sorted(tags[hit.user_id, "offer"], key=str.casefold)
        hit.seeks = sorted(tags[hit.user_id, "seek"], key=str.casefold)


def include_in_migrations(object, name, type_, reflected, compare_to) -> bool:
    """Alembic's include_object: autogenerate leaves the full-text table, column and index
    alone (each exists on one database only)."""
    if type_ == "table" and name and name.startswith(FTS_TABLE):
        return False
    if type_ == "column" and name == SEARCH_VECTOR:
        return False
    return not (type_ == "index" and name == FTS_INDEX)
