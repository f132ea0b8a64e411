"""The learning journal's rules: an entry is its author's alone. Nobody else reads it (no
partner, moderator or admin: every other reader gets NotFound), unless the author shares that
one entry with a tandem they belong to; then its current members read it, until the author
takes it back or leaves the tandem."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.exc import IntegrityError

from peerhub.accounts.models import User
from peerhub.errors import Conflict, Invalid, NotFound
from peerhub.extensions import db, transaction, utcnow
from peerhub.journal.models import BODY_MAX, TITLE_MAX, TOKEN_MAX, JournalEntry
from peerhub.plaintext import clean
from peerhub.tandems import service as tandems
from peerhub.tandems.models import Tandem, TandemMember
from peerhub.web.ids import ID_MAX

QUICK_MAX = 2000
# tandems whose goals and sessions an entry may name, and with which it may be shared
LINKABLE_STATES = ("forming", "active", "completed", "ended")


def new_token() -> str:
    """A fresh token for a form that writes an entry (sent back with it: one entry per form)."""
    return secrets.token_urlsafe(16)


@dataclass(frozen=True)
class GoalChoice:
    tandem: Tandem
    names: str
    goals: list[dict[str, str]]


def goal_choices(user: User) -> list[GoalChoice]:
    """The member's tandems with their agreement's goals, for linking an entry to them."""
    choices = []
    for tandem in tandems.tandems_of(user.id, LINKABLE_STATES):
        names = ", ".join(u.display_name for u in tandems.partners(tandem, user.id))
        goals = [g for g in tandems.agreement_of(tandem).content.get("goals", []) if g["title"]]
        choices.append(GoalChoice(tandem, names, goals))
    return choices


def _check_token(token: str | None) -> str:
    token = (token or "").strip()
    if not token or len(token) > TOKEN_MAX:
        raise Invalid(_("This form has expired. Please reload the page and try again."), "token")
    return token


def _links(
    user: User, tandem_id: int | None, session: tuple[int, int] | None, goals: list[str]
) -> tuple[int | None, tuple[int, int] | None, list[str]]:
    """Check what an entry is about: a session and goals of one tandem of the member's.
    Goals come as "tandem_id:key". Raises NotFound (not the member's) or Invalid."""
    from peerhub.meetings import service as meetings

    if session is not None:
        tandem, _found, _all = meetings.session_for(user, *session)
        if tandem_id is not None and tandem_id != tandem.id:
            raise Invalid(_("This session belongs to another tandem."), "tandem")
        tandem_id = tandem.id
    keys: list[str] = []
    for value in goals:
        owner, _sep, key = (value or "").partition(":")
        if not _number(owner) or not key:
            raise Invalid(_("Choose goals from the list."), "goals")
        if tandem_id is None:
            tandem_id = int(owner)
        if int(owner) != tandem_id:
            raise Invalid(_("Link goals of one tandem only."), "goals")
        if key not in keys:
            keys.append(key)
    if tandem_id is not None:
        tandem = tandems.tandem_for(user, tandem_id)
        known = {g["key"] for g in tandems.agreement_of(tandem).content.get("goals", [])}
        if any(key not in known for key in keys):
            raise Invalid(_("Choose goals from the list."), "goals")
    return tandem_id, session, keys


def _text(title: str | None, body: str | None) -> tuple[str, str]:
    title = clean(title, TITLE_MAX, "title", _("Give your entry a title."))
    return title, clean(body, BODY_MAX, "body")


def write(
    user: User,
    token: str | None,
    title: str | None,
    body: str | None,
    tandem_id: int | None = None,
    session: tuple[int, int] | None = None,
    goals: list[str] | None = None,
    now: datetime | None = None,
) -> JournalEntry:
    """A new private entry. The same form sent twice (same token) returns the first entry.
    Raises Invalid, or NotFound for a tandem or session that is not the member's."""
    now = now or utcnow()
    token = _check_token(token)
    title, body = _text(title, body)
    existing = _by_token(user, token)
    if existing is not None:
        return existing
    tandem_id, session, keys = _links(user, tandem_id, session, goals or [])
    entry = JournalEntry(
        author_id=user.id,
        client_token=token,
        title=title,
        body=body,
        tandem_id=tandem_id,
        series_id=session[0] if session else None,
        session_number=session[1] if session else None,
        goal_keys=keys,
        created_at=now,
        updated_at=now,
    )
    try:
        with transaction():
            db.session.add(entry)
    except IntegrityError:
        # the same form, sent twice at once: the other request wrote it
        existing = _by_token(user, token)
        if existing is None:
            raise
        return existing
    return entry


def _by_token(user: User, token: str) -> JournalEntry | None:
    return db.session.scalar(
        select(JournalEntry).where(
            JournalEntry.author_id == user.id, JournalEntry.client_token == token
        )
    )


def quick(
    user: User,
    series_id: int,
    number: int,
    text: str | None,
    token: str | None,
    now: datetime | None = None,
) -> JournalEntry:
    """ "What did I learn today?" from a session's page: an entry about that session, titled
    with its day in the member's zone and language."""
    from peerhub.meetings import service as meetings

    now = now or utcnow()
    text = clean(text, QUICK_MAX, "text", _("Write a few words about what you learned."))
    _tandem, session, _all = meetings.session_for(user, series_id, number)
    with force_locale(user.language):
        day = format_date(session.start.astimezone(_zone(user)), "long")
        title = _("What I learned on %(date)s", date=day)
    return write(user, token, title, text, session=(series_id, number), now=now)


def _zone(user: User):
    from zoneinfo import ZoneInfo

    return ZoneInfo(user.timezone)


def own_entry(user: User, entry_id: int, lock: bool = False) -> JournalEntry:
    """An entry of the member's own. Raises NotFound for every other entry."""
    query = select(JournalEntry).where(
        JournalEntry.id == entry_id, JournalEntry.author_id == user.id
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    entry = db.session.scalar(query)
    if entry is None:
        raise NotFound("entry")
    return entry


def _members(tandem_id: int):
    return select(TandemMember.user_id).where(TandemMember.tandem_id == tandem_id)


def readable(viewer_id: int):
    """The condition "`viewer_id` may read this entry": their own, or shared with a tandem
    that has both the viewer and the author as members now."""
    viewer = select(TandemMember.tandem_id).where(TandemMember.user_id == viewer_id)
    author_in = exists().where(
        TandemMember.tandem_id == JournalEntry.tandem_id,
        TandemMember.user_id == JournalEntry.author_id,
    )
    return or_(
        JournalEntry.author_id == viewer_id,
        (JournalEntry.shared_at.is_not(None)) & JournalEntry.tandem_id.in_(viewer) & author_in,
    )


def entry_for(user: User, entry_id: int) -> JournalEntry:
    """An entry the member may read. Raises NotFound for anything else, roles or not."""
    entry = db.session.scalar(
        select(JournalEntry).where(JournalEntry.id == entry_id, readable(user.id))
    )
    if entry is None:
        raise NotFound("entry")
    return entry


class StaleEntry(Conflict):
    """The entry changed in another tab since this one opened it."""

    def __init__(self, entry: JournalEntry, title: str, body: str) -> None:
        super().__init__(
            _(
                "You changed this entry in another tab or window meanwhile. The form now "
                "holds the saved text; your new words are right here, to add what is missing."
            )
        )
        self.entry = entry
        self.title = title
        self.body = body


def edit(
    user: User,
    entry_id: int,
    title: str | None,
    body: str | None,
    base: int,
    tandem_id: int | None = None,
    session: tuple[int, int] | None = None,
    goals: list[str] | None = None,
    now: datetime | None = None,
) -> JournalEntry:
    """Change an own entry, based on the version the member read: a save over a newer
    version raises StaleEntry; identical words change nothing. A shared entry stays shared
    only with the tandem it is about."""
    now = now or utcnow()
    title, body = _text(title, body)
    with transaction():
        entry = own_entry(user, entry_id, lock=True)
        tandem_id, session, keys = _links(user, tandem_id, session, goals or [])
        same = (
            entry.title == title
            and entry.body == body
            and entry.tandem_id == tandem_id
            and (entry.series_id, entry.session_number) == (session or (None, None))
            and list(entry.goal_keys or []) == keys
        )
        if same:
            return entry
        if base != entry.version:
            raise StaleEntry(entry, title, body)
        if entry.tandem_id != tandem_id:
            entry.shared_at = None  # sharing named the old tandem
        entry.title, entry.body, entry.tandem_id = title, body, tandem_id
        entry.series_id = session[0] if session else None
        entry.session_number = session[1] if session else None
        entry.goal_keys = keys
        entry.version += 1
        entry.updated_at = now
    return entry


def delete(user: User, entry_id: int) -> None:
    """Delete an own entry for good. Raises NotFound (also when deleted already)."""
    with transaction():
        db.session.delete(own_entry(user, entry_id, lock=True))


def share(
    user: User, entry_id: int, tandem_id: int | None = None, now: datetime | None = None
) -> JournalEntry:
    """Share one own entry with the members of a tandem of the member's (the entry's own
    tandem, or `tandem_id` for an entry about none). Sharing again changes nothing."""
    now = now or utcnow()
    with transaction():
        entry = own_entry(user, entry_id, lock=True)
        target = entry.tandem_id or tandem_id
        if target is None:
            raise Invalid(_("Choose the tandem to share this entry with."), "tandem")
        if entry.tandem_id is not None and tandem_id is not None and tandem_id != entry.tandem_id:
            raise Invalid(_("This entry is about another tandem."), "tandem")
        tandem = tandems.tandem_for(user, target)
        if entry.shared_at is None:
            entry.tandem_id, entry.shared_at, entry.updated_at = tandem.id, now, now
    return entry


def unshare(user: User, entry_id: int, now: datetime | None = None) -> JournalEntry:
    """Take a shared entry back: private again at once. Twice changes nothing."""
    now = now or utcnow()
    with transaction():
        entry = own_entry(user, entry_id, lock=True)
        if entry.shared_at is not None:
            entry.shared_at, entry.updated_at = None, now
    return entry


def _number(text: str) -> bool:
    """ASCII digits only ("²".isdigit() is true, and int() refuses it), within an id's range."""
    return text.isascii() and text.isdigit() and 0 < int(text) <= ID_MAX


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class Filters:
    text: str = ""
    tandem_id: int | None = None
    goal: str = ""  # "tandem_id:key"
    shared: str = ""  # "", "shared" or "private"
    session: bool = False


def search(user: User, filters: Filters) -> Select:
    """The member's own entries matching `filters`, newest first (a query to paginate).
    Others' shared entries are read on their tandem's page, not searched here."""
    query = select(JournalEntry).where(JournalEntry.author_id == user.id)
    words = filters.text.split()[:8]
    # SQLite's lower() folds ASCII only; its connections have a Unicode `casefold` instead
    sqlite = db.engine.dialect.name == "sqlite"
    fold = func.casefold if sqlite else func.lower
    for word in words:
        pattern = _like(word.casefold() if sqlite else word.lower())
        query = query.where(
            or_(
                fold(JournalEntry.title).like(pattern, escape="\\"),
                fold(JournalEntry.body).like(pattern, escape="\\"),
            )
        )
    if filters.tandem_id is not None:
        query = query.where(JournalEntry.tandem_id == filters.tandem_id)
    owner, _sep, key = filters.goal.partition(":")
    if _number(owner) and key:
        # goal keys are a JSON list: the candidates are few (one member's entries), so the
        # list is checked in Python after SQL narrowed them to the tandem
        query = query.where(JournalEntry.tandem_id == int(owner))
        ids = [e.id for e in db.session.scalars(query) if key in (e.goal_keys or [])]
        query = select(JournalEntry).where(JournalEntry.id.in_(ids))
    if filters.shared == "shared":
        query = query.where(JournalEntry.shared_at.is_not(None))
    elif filters.shared == "private":
        query = query.where(JournalEntry.shared_at.is_(None))
    if filters.session:
        query = query.where(JournalEntry.series_id.is_not(None))
    return query.order_by(JournalEntry.created_at.desc(), JournalEntry.id.desc())


def shared_in(tandem: Tandem, viewer: User, limit: int = 10) -> list[JournalEntry]:
    """Entries the tandem's members shared with it, newest first, for its page."""
    return list(
        db.session.scalars(
            select(JournalEntry)
            .where(JournalEntry.tandem_id == tandem.id, readable(viewer.id))
            .where(JournalEntry.shared_at.is_not(None))
            .order_by(JournalEntry.shared_at.desc(), JournalEntry.id.desc())
            .limit(limit)
        )
    )


def about_session(user: User, series_id: int, number: int) -> list[JournalEntry]:
    """The member's own entries about one session (its page lists them)."""
    return list(
        db.session.scalars(
            select(JournalEntry)
            .where(
                JournalEntry.author_id == user.id,
                JournalEntry.series_id == series_id,
                JournalEntry.session_number == number,
            )
            .order_by(JournalEntry.created_at)
        )
    )
