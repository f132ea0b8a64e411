"""The member directory: who may be found, by which words and filters, in which order.

Full text runs on the stems `Profile.search_document` holds (see `text.py`): on SQLite
through the FTS5 table `profile_fts`, on PostgreSQL through the GIN expression index
`ix_profile_search_document_fts`. Both are made by the migration e1f0a2b3c4d5 and are
not in the models, so autogenerate is told to leave them alone (`include_in_migrations`).
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
    func,
    literal_column,
    not_,
    select,
    table,
    union_all,
)
from sqlalchemy.orm import join

from peerhub.accounts.models import User
from peerhub.extensions import db
from peerhub.profiles.models import (
    AvailabilityWindow,
    Block,
    Profile,
    ProfileLanguage,
    ProfileTag,
    Tag,
)
from peerhub.profiles.text import query_terms, tag_key

PER_PAGE_MAX = 100
FTS_TABLE = "profile_fts"
FTS_INDEX = "ix_profile_search_document_fts"
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
    total: int
    page: int
    per_page: int

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


def has_room_condition() -> ColumnElement[bool]:
    """Whether a member can take on another partner (the one place this is decided)."""
    # Tandems do not exist yet: once they do, compare capacity with the active ones here.
    return and_(Profile.status == "open", Profile.capacity >= 1)


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


def _tag_filter(name: str, kind: str) -> ColumnElement[bool] | None:
    key = tag_key(name)
    if not key:
        return None
    # Uncorrelated: the tag id once, then its members through (tag_id, kind).
    tag_id = select(Tag.id).where(Tag.key == key).scalar_subquery()
    members = select(ProfileTag.user_id).where(ProfileTag.tag_id == tag_id, ProfileTag.kind == kind)
    return Profile.user_id.in_(members)


def _filters(viewer_id: int, query: DirectoryQuery) -> list[ColumnElement[bool]]:
    """Who may be listed at all, and the member's filters; raises ValueError for a bad one."""
    blocked = union_all(
        select(Block.blocked_id).where(Block.blocker_id == viewer_id),
        select(Block.blocker_id).where(Block.blocked_id == viewer_id),
    )
    conditions: list[ColumnElement[bool]] = [
        Profile.visibility == "members",
        Profile.status == "open",
        User.status == "active",
        User.email_verified_at.is_not(None),
        Profile.user_id != viewer_id,
        not_(Profile.user_id.in_(blocked)),
    ]
    for name, kind in ((query.offers, "offer"), (query.seeks, "seek")):
        condition = _tag_filter(name, kind)
        if condition is not None:
            conditions.append(condition)
    language = query.language.strip().lower()
    if language:
        speakers = select(ProfileLanguage.user_id).where(ProfileLanguage.code == language)
        conditions.append(Profile.user_id.in_(speakers))
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
        available = select(AvailabilityWindow.user_id).where(
            AvailabilityWindow.weekday == query.weekday
        )
        conditions.append(Profile.user_id.in_(available))
    if query.has_room:
        conditions.append(has_room_condition())
    return conditions


def _ranked(terms: list[list[str]], dialect: str):
    """(FROM clause, extra conditions, relevance ordering) for a text search."""
    if dialect == "sqlite":
        fts = _profile_fts
        source = join(join(fts, Profile, Profile.user_id == fts.c.rowid), User, _OWNER)
        match = literal_column(FTS_TABLE).op("MATCH")(bindparam("fts_match", fts5_match(terms)))
        # FTS5's hidden `rank` column is bm25(profile_fts), lower for better matches; unlike a
        # bm25() call it may sit beside the window count.
        return source, [match], fts.c.rank.asc()
    if dialect == "postgresql":
        document = func.to_tsvector(_SIMPLE, Profile.search_document)
        tsquery = func.to_tsquery(_SIMPLE, bindparam("tsquery", pg_tsquery(terms)))
        source = join(Profile, User, _OWNER)
        return source, [document.op("@@")(tsquery)], func.ts_rank(document, tsquery).desc()
    raise NotImplementedError(f"directory search on {dialect}")


def search_members(
    viewer_id: int, query: DirectoryQuery, page: int = 1, per_page: int = 20
) -> DirectoryPage:
    """One page of the members `viewer_id` may find with `query`; ValueError for a bad filter."""
    page = max(1, page)
    per_page = min(max(1, per_page), PER_PAGE_MAX)
    conditions = _filters(viewer_id, query)
    terms = query_terms(query.text)
    if terms:
        source, matches, relevance = _ranked(terms, db.engine.dialect.name)
        conditions += matches
        order = [relevance, Profile.updated_at.desc(), Profile.user_id]
    else:
        source = join(Profile, User, _OWNER)
        order = [Profile.updated_at.desc(), Profile.user_id]

    columns = (
        Profile.user_id,
        User.display_name,
        Profile.headline,
        Profile.meeting_mode,
        Profile.city,
    )
    # The total rides along as a window count: the matches are found and ranked once.
    rows = db.session.execute(
        select(*columns, func.count().over().label("total"))
        .select_from(source)
        .where(*conditions)
        .order_by(*order)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    if rows:
        total = rows[0].total
    else:  # past the end (or nothing at all): the count alone
        total = db.session.scalar(select(func.count()).select_from(source).where(*conditions))
    hits = [
        DirectoryHit(
            user_id=row.user_id,
            display_name=row.display_name,
            headline=row.headline,
            meeting_mode=row.meeting_mode,
            city=row.city,
        )
        for row in rows
    ]
    _load_tags_and_languages(hits)
    return DirectoryPage(items=hits, total=total or 0, page=page, per_page=per_page)


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
    """Alembic's include_object: autogenerate leaves the full-text table and index alone."""
    if type_ == "table" and name and name.startswith(FTS_TABLE):
        return False
    return not (type_ == "index" and name == FTS_INDEX)
