"""Member administration: moderators find members and read their moderation record, resend a
confirmation mail and force a password reset; admins grant and revoke the moderator role.
Each action is written to the audit log in its own transaction. Moderators act on no admin
and not on themselves. Nothing here reads journals (they are private to their author)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, exists, func, or_, select

from peerhub.accounts import service as accounts
from peerhub.accounts.models import User, new_session_token
from peerhub.errors import Conflict, Invalid, NotAllowed, NotFound
from peerhub.extensions import db, transaction, utcnow
from peerhub.moderation import audit
from peerhub.moderation.models import (
    REASON_MAX,
    AuditEntry,
    ModerationAction,
    Report,
    ReportCase,
)
from peerhub.web.ids import PAGE_MAX

PER_PAGE = 50
SEARCH_MAX = 100
RECORD_LIMIT = 20  # cases, reports and actions shown on a member's page (newest first)
# A second click (or a second moderator) within this window changes and sends nothing.
REPEAT_WINDOW = timedelta(minutes=5)
GRANTABLE_ROLES = ("member", "moderator")  # admins are made on the command line only
# Never a valid Argon2 hash: no password matches it, and each one is new, so older reset
# links (bound to the previous hash) stop working.
ENDED_HASH_PREFIX = "!reset-forced:"

RESEND_VERIFICATION = "verification_resent"
FORCE_RESET = "password_reset_forced"
ROLE_GRANTED = "role_granted"
ROLE_REVOKED = "role_revoked"


@dataclass(frozen=True)
class Page:
    """One page of a list: its rows, its number (within 1…pages) and the totals."""

    items: list[Any]
    page: int
    pages: int
    total: int

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def page_of(query: Select, page: int, per_page: int = PER_PAGE) -> Page:
    """The rows of `query` on page `page`, capped to the last page (at least one page)."""
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    pages = max(((total or 0) + per_page - 1) // per_page, 1)
    number = min(max(page, 1), pages, PAGE_MAX)
    items = db.session.scalars(query.limit(per_page).offset((number - 1) * per_page)).all()
    return Page(list(items), number, pages, total or 0)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _moderator(actor: User) -> None:
    if not actor.is_moderator:
        raise NotFound(_("There is no such page."))


def search(actor: User, text: str = "", page: int = 1) -> Page:
    """Members whose name or e-mail address contains `text`, newest first. Raises NotFound
    for anyone but a moderator."""
    _moderator(actor)
    query = select(User)
    text = " ".join((text or "").split())[:SEARCH_MAX]
    if text:
        # SQLite's lower() folds ASCII only; its connections have a Unicode casefold()
        sqlite = db.engine.dialect.name == "sqlite"
        fold = func.casefold if sqlite else func.lower
        pattern = _like(text.casefold() if sqlite else text.lower())
        query = query.where(
            or_(
                fold(User.display_name).like(pattern, escape="\\"),
                fold(User.email).like(pattern, escape="\\"),
            )
        )
    return page_of(query.order_by(User.created_at.desc(), User.id.desc()), page)


@dataclass(frozen=True)
class Record:
    """What moderators know of a member: reports about them and by them, actions on them."""

    member: User
    reports_received: int
    reports_filed: int
    cases: list[ReportCase]  # cases about the member
    filed: list[Report]  # reports the member filed (with their case)
    actions: list[ModerationAction]
    audit_entries: int  # audit entries naming the member as target


def member_for(actor: User, user_id: int) -> User:
    """The member with this id, for a moderator. Raises NotFound."""
    _moderator(actor)
    member = db.session.get(User, user_id)
    if member is None:
        raise NotFound(_("There is no such member."))
    return member


def record_for(actor: User, user_id: int) -> Record:
    """A member's moderation record (never their journal). Raises NotFound."""
    member = member_for(actor, user_id)
    received = db.session.scalar(
        select(func.count(Report.id))
        .join(ReportCase, Report.case_id == ReportCase.id)
        .where(ReportCase.subject_id == member.id)
    )
    filed_count = db.session.scalar(
        select(func.count(Report.id)).where(Report.reporter_id == member.id)
    )
    cases = db.session.scalars(
        select(ReportCase)
        .where(ReportCase.subject_id == member.id)
        .order_by(ReportCase.last_report_at.desc(), ReportCase.id.desc())
        .limit(RECORD_LIMIT)
    ).all()
    filed = db.session.scalars(
        select(Report)
        .where(Report.reporter_id == member.id)
        .order_by(Report.created_at.desc(), Report.id.desc())
        .limit(RECORD_LIMIT)
    ).all()
    actions = db.session.scalars(
        select(ModerationAction)
        .where(ModerationAction.subject_id == member.id)
        .order_by(ModerationAction.created_at.desc(), ModerationAction.id.desc())
        .limit(RECORD_LIMIT)
    ).all()
    entries = db.session.scalar(
        select(func.count(AuditEntry.id)).where(
            AuditEntry.target_kind == "member", AuditEntry.target_id == member.id
        )
    )
    return Record(
        member=member,
        reports_received=received or 0,
        reports_filed=filed_count or 0,
        cases=list(cases),
        filed=list(filed),
        actions=list(actions),
        audit_entries=entries or 0,
    )


def refusal(actor: User, member: User) -> str | None:
    """Why `actor` may not act on `member` (None when they may)."""
    if member.id == actor.id:
        return _("You cannot act on your own account here.")
    if member.is_admin:
        return _("Moderators cannot act on admins.")
    return None


def _reason(text: str | None) -> str:
    reason = (text or "").strip()
    if not reason:
        raise Invalid(_("Please say why, for the audit log."), "reason")
    if len(reason) > REASON_MAX:
        raise Invalid(_("Please use at most %(max)d characters.", max=REASON_MAX), "reason")
    return reason


def _locked(actor: User, user_id: int) -> User:
    """The member's row, locked until the transaction ends (PostgreSQL; SQLite's write
    transactions are serial anyway), so two clicks at once act once. Raises NotFound."""
    _moderator(actor)
    member = db.session.scalar(
        select(User)
        .where(User.id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if member is None:
        raise NotFound(_("There is no such member."))
    return member


def _may_act(actor: User, member: User) -> None:
    why = refusal(actor, member)
    if why:
        raise NotAllowed(why)


def _done_moments_ago(action: str, member: User, now: datetime) -> bool:
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    AuditEntry.action == action,
                    AuditEntry.target_kind == "member",
                    AuditEntry.target_id == member.id,
                    AuditEntry.created_at >= now - REPEAT_WINDOW,
                )
            )
        )
    )


def resend_verification(
    actor: User, user_id: int, reason: str, now: datetime | None = None
) -> bool:
    """Mail an unverified member a fresh confirmation link; False when one went out moments
    ago (a second click sends nothing more). Raises NotFound, NotAllowed, Invalid, Conflict
    (the address is confirmed already)."""
    now = now or utcnow()
    with transaction():
        member = _locked(actor, user_id)
        _may_act(actor, member)
        reason = _reason(reason)
        if member.is_verified:
            raise Conflict(
                _("%(name)s has confirmed their address already.", name=member.display_name)
            )
        if _done_moments_ago(RESEND_VERIFICATION, member, now):
            return False
        accounts.queue_verification(member)
        audit.record(
            actor, RESEND_VERIFICATION, "member", member.id, member.display_name, reason, now=now
        )
    return True


def force_password_reset(
    actor: User, user_id: int, reason: str, now: datetime | None = None
) -> bool:
    """End the member's password and every session and calendar feed, and mail them a reset
    link (when they may log in: suspended and banned members get no link). False when this
    happened moments ago (a second click changes and sends nothing). Raises NotFound,
    NotAllowed, Invalid."""
    from peerhub.calendar.service import revoke

    now = now or utcnow()
    with transaction():
        member = _locked(actor, user_id)
        _may_act(actor, member)
        reason = _reason(reason)
        if _done_moments_ago(FORCE_RESET, member, now):
            return False
        member.password_hash = ENDED_HASH_PREFIX + secrets.token_urlsafe(24)
        member.password_changed_at = now
        member.session_token = new_session_token()
        revoke(member.id)
        mailed = member.is_active
        if mailed:
            accounts.queue_reset_link(member, forced=True)
        audit.record(
            actor,
            FORCE_RESET,
            "member",
            member.id,
            member.display_name,
            reason,
            details={"mailed": mailed},
            now=now,
        )
    return True


def set_role(
    actor: User, user_id: int, role: str, reason: str, now: datetime | None = None
) -> bool:
    """An admin makes a member a moderator or a moderator a member again; False when the
    member has that role already. Raises NotFound (for anyone but an admin, too),
    NotAllowed (their own role, or an admin's), Invalid."""
    if not actor.is_admin:
        raise NotFound(_("There is no such page."))
    if role not in GRANTABLE_ROLES:
        raise Invalid(_("Please choose member or moderator."), "role")
    now = now or utcnow()
    with transaction():
        member = _locked(actor, user_id)
        if member.id == actor.id:
            raise NotAllowed(_("You cannot change your own role."))
        if member.is_admin:
            raise NotAllowed(_("An admin's role cannot be changed here."))
        reason = _reason(reason)
        if member.role == role:
            return False
        before = member.role
        member.role = role
        audit.record(
            actor,
            ROLE_GRANTED if role == "moderator" else ROLE_REVOKED,
            "member",
            member.id,
            member.display_name,
            reason,
            details={"from": before, "to": role},
            now=now,
        )
    return True


def existing_members(ids: list[int]) -> set[int]:
    """Which of these ids still name a member (the log outlives deleted accounts)."""
    if not ids:
        return set()
    return set(db.session.scalars(select(User.id).where(User.id.in_(set(ids)))))


@dataclass(frozen=True)
class AuditChoices:
    """What the log's filters offer: the actions, actors and target kinds it holds."""

    actions: list[str]
    actors: list[tuple[int, str]]
    target_kinds: list[str]


def audit_page(actor: User, filters: audit.AuditFilters, page: int = 1) -> Page:
    """One page of the audit log, newest first. Raises NotFound for non-moderators."""
    _moderator(actor)
    return page_of(audit.entries(filters), page)


def audit_choices(actor: User) -> AuditChoices:
    """The values present in the log, for its filters. Raises NotFound for non-moderators."""
    _moderator(actor)
    actions = db.session.scalars(
        select(AuditEntry.action).distinct().order_by(AuditEntry.action)
    ).all()
    kinds = db.session.scalars(
        select(AuditEntry.target_kind).distinct().order_by(AuditEntry.target_kind)
    ).all()
    actors = db.session.execute(
        select(AuditEntry.actor_id, func.max(AuditEntry.actor_name))
        .where(AuditEntry.actor_id.is_not(None))
        .group_by(AuditEntry.actor_id)
        .order_by(func.max(AuditEntry.actor_name))
    ).all()
    return AuditChoices(list(actions), [(i, n) for i, n in actors], list(kinds))
