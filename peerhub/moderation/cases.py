"""Reports, the review queue, moderator actions and appeals: the rules, without HTTP.

A member reports a profile, an intro message or a member; every report of one target joins
its open case (the partial unique index `uq_report_case_open`), one report per reporter and
case. Moderators dismiss a case, hide its content, or act on its member (warn, suspend,
ban): an action on a member resolves all of their open cases. Each action needs a reason
the member reads, is written to the audit log in the same transaction, and tells the
reporters the outcome in general words; the reported member never learns who reported.
Nobody acts on an admin or on themselves; two moderators acting on one case at once cannot
both succeed (the case's version). A warned, hidden or suspended member may appeal once,
within 20 days; another moderator than the one who acted decides.

Locks are always taken in one order: the member's row, then their cases (or the appeal,
then the member's row), so two moderators never wait on each other in a circle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from peerhub.accounts import tokens
from peerhub.accounts.models import User, new_session_token
from peerhub.errors import Conflict, Invalid, NotAllowed, NotFound
from peerhub.extensions import db, transaction, utcnow
from peerhub.moderation import audit
from peerhub.moderation.models import (
    APPEALABLE,
    CATEGORIES,
    DETAILS_MAX,
    NAME_MAX,
    REASON_MAX,
    Appeal,
    ModerationAction,
    Report,
    ReportCase,
)
from peerhub.notifications.service import notify, queue_mail
from peerhub.web.timefmt import zoned
from peerhub.web.urls import absolute_url, site_path

APPEAL_DAYS = 20
APPEAL_WINDOW = timedelta(days=APPEAL_DAYS)
APPEAL_MAX = 1000
# A signed link to the appeal form for members who cannot log in (suspended): the action
# and the member are in it; it lasts as long as the appeal window.
APPEAL_TOKEN = ("appeal", APPEAL_DAYS * 24 * 3600)
SUSPENSION_MAX = timedelta(days=366)
QUEUE_MAX = 50
HISTORY_MAX = 20

CASE_ACTIONS = ("dismiss", "warn", "hide", "suspend", "ban")
MEMBER_ACTIONS = ("warn", "suspend", "ban")  # resolve all of the member's open cases

# What each action is called in the audit log.
AUDIT_ACTIONS = {
    "dismiss": "report_dismissed",
    "warn": "member_warned",
    "hide": "content_hidden",
    "suspend": "member_suspended",
    "ban": "member_banned",
}

CATEGORY_LABELS = {
    "spam": _l("Spam or advertising"),
    "harassment": _l("Harassment or bullying"),
    "inappropriate": _l("Inappropriate content"),
    "safety": _l("Someone's safety is at risk"),
    "other": _l("Something else"),
}

ACTION_LABELS = {
    "dismiss": _l("Dismissed: no action needed"),
    "warn": _l("Warning"),
    "hide": _l("Hidden"),
    "suspend": _l("Suspension"),
    "ban": _l("Ban"),
    "lift": _l("Suspension or ban lifted"),
}

TARGET_LABELS = {
    "profile": _l("Profile"),
    "message": _l("Message"),
    "member": _l("Member"),
}

# What a reporter reads about their report's case: general words, never the action itself.
OUTCOME_LABELS = {
    "open": _l("Being reviewed"),
    "action": _l("Reviewed: we took action"),
    "no_action": _l("Reviewed: no action needed"),
}

# The audit log's actor for what the site does by itself (a suspension that ran out).
SITE = SimpleNamespace(id=None, display_name="PeerHub")


class StaleCase(Conflict):
    """The case changed (another moderator acted, or a new report came) since the form."""

    def __init__(self, message: str, case_id: int) -> None:
        super().__init__(message)
        self.case_id = case_id


class AccountRestricted(NotAllowed):
    """A suspended or banned member tried to log in; `appeal_url` leads to the appeal form."""

    def __init__(self, message: str, appeal_url: str | None = None) -> None:
        super().__init__(message)
        self.appeal_url = appeal_url


# --- small checks ----------------------------------------------------------------------------


def _text(value: str | None, limit: int, field_name: str, empty: str | None) -> str:
    text = (value or "").strip()
    if not text and empty:
        raise Invalid(empty, field_name)
    if len(text) > limit:
        raise Invalid(_("Please use at most %(max)d characters.", max=limit), field_name)
    return text


def _reason(value: str | None) -> str:
    return _text(
        value, REASON_MAX, "reason", _("Please give a reason: the member reads it, and the log.")
    )


def _is_moderator(actor: User) -> None:
    if not actor.is_moderator:
        raise NotFound("moderation")


def refusal(actor: User, member: User) -> str | None:
    """Why `actor` may not act on `member` (None when they may): nobody acts on an admin or
    on themselves."""
    if member.id == actor.id:
        return _("You cannot act on your own account.")
    if member.is_admin:
        return _("Moderators cannot act on admins.")
    return None


def _may_act_on(actor: User, member: User) -> None:
    why = refusal(actor, member)
    if why:
        raise NotAllowed(why)


def _lock_member(user_id: int) -> User | None:
    """The member's row, locked until the transaction ends (SQLite's write transactions are
    serial anyway): two moderators acting on one member take turns."""
    return db.session.scalar(
        select(User)
        .where(User.id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _name(user: User | None, fallback: str = "") -> str:
    return (user.display_name if user else fallback)[:NAME_MAX]


# --- what can be reported -----------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Something a member may report: its kind and id, whom it is about, what it says."""

    kind: str
    id: int
    subject: User
    snapshot: dict[str, Any]


def _profile_snapshot(user: User, profile) -> dict[str, Any]:
    return {
        "name": user.display_name,
        "headline": profile.headline or "",
        "about": profile.about or "",
        "goals": [goal.text for goal in profile.goals],
        "offers": profile.tag_names("offer"),
        "seeks": profile.tag_names("seek"),
        "interests": profile.tag_names("interest"),
        "city": profile.city or "",
    }


def report_target(reporter: User, kind: str, target_id: int) -> Target:
    """What `reporter` may report under this kind and id (only what they can see: another
    member's profile or the member, or the other member's message in their own intro
    thread), with a snapshot of it. Journals are never reportable. Raises NotFound."""
    from peerhub.intros import service as intros
    from peerhub.intros.models import IntroMessage
    from peerhub.profiles import service as profiles

    if kind in ("profile", "member"):
        user, profile = profiles.member_for(reporter.id, target_id)
        snapshot = (
            _profile_snapshot(user, profile) if kind == "profile" else {"name": user.display_name}
        )
        return Target(kind, user.id, user, snapshot)
    if kind == "message":
        message = db.session.get(IntroMessage, target_id)
        if message is None or message.hidden_at is not None or message.author_id is None:
            raise NotFound("message")
        intro = intros.request_for(reporter, message.request_id)
        if message.author_id == reporter.id:
            raise NotFound("message")
        author = db.session.get(User, message.author_id)
        if author is None or author.id != intro.other_id(reporter.id):
            raise NotFound("message")
        snapshot = {
            "body": message.body,
            "author": author.display_name,
            "author_id": author.id,
            "created_at": message.created_at.isoformat(),
            "request_id": intro.id,
        }
        return Target(kind, message.id, author, snapshot)
    raise NotFound("report target")


@dataclass(frozen=True)
class Filed:
    """A report as filed: `again` when the reporter had reported this case already (their
    new words were added to their report)."""

    report: Report
    again: bool

    @property
    def id(self) -> int:
        return self.report.id


def _open_case(kind: str, target_id: int) -> ReportCase | None:
    return db.session.scalar(
        select(ReportCase)
        .where(
            ReportCase.target_kind == kind,
            ReportCase.target_id == target_id,
            ReportCase.state == "open",
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def report(
    reporter: User,
    kind: str,
    target_id: int,
    category: str,
    details: str,
    now: datetime | None = None,
) -> Filed:
    """Report a profile, a message or a member: the report joins the target's open case or
    opens one. A second report by the same member adds their words to their first one.
    Raises NotFound (nothing they may report), Invalid."""
    now = now or utcnow()
    if category not in CATEGORIES:
        raise Invalid(_("Please choose what the problem is."), "category")
    details = _text(
        details,
        DETAILS_MAX,
        "details",
        _("Please tell us what happened.") if category == "other" else None,
    )
    for attempt in (1, 2):
        try:
            with transaction():
                target = report_target(reporter, kind, target_id)
                case = _open_case(kind, target.id)
                if case is None:
                    case = ReportCase(
                        target_kind=kind,
                        target_id=target.id,
                        subject_id=target.subject.id,
                        subject_name=_name(target.subject),
                        state="open",
                        report_count=0,
                        version=1,
                        opened_at=now,
                        last_report_at=now,
                    )
                    db.session.add(case)
                    db.session.flush()  # another report opening the same case fails here
                else:
                    case.version += 1  # a moderator's form of the case is stale now
                    case.last_report_at = now
                mine = db.session.scalar(
                    select(Report).where(
                        Report.case_id == case.id, Report.reporter_id == reporter.id
                    )
                )
                if mine is not None:
                    mine.category = category
                    if details and details not in mine.details:
                        joined = f"{mine.details}\n\n{details}" if mine.details else details
                        mine.details = joined[:DETAILS_MAX]
                    return Filed(mine, again=True)
                filed = Report(
                    case_id=case.id,
                    reporter_id=reporter.id,
                    category=category,
                    details=details,
                    snapshot=target.snapshot,
                    created_at=now,
                )
                db.session.add(filed)
                case.report_count += 1
                db.session.flush()
                return Filed(filed, again=False)
        except IntegrityError:
            # Another report opened the target's case first: join it.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


# --- what reporters and reported members see ---------------------------------------------


@dataclass(frozen=True)
class MyReport:
    report: Report
    case: ReportCase
    outcome: str  # a key of OUTCOME_LABELS

    @property
    def outcome_label(self) -> str:
        return str(OUTCOME_LABELS[self.outcome])


def _outcome(case: ReportCase, action: ModerationAction | None) -> str:
    if case.state == "open":
        return "open"
    return "no_action" if action is None or action.kind == "dismiss" else "action"


def reports_by(user: User, limit: int = 100) -> list[MyReport]:
    """The member's own reports, newest first, each with its case's outcome in general
    words (never what exactly was done, or to whom else)."""
    rows = db.session.execute(
        select(Report, ReportCase, ModerationAction)
        .join(ReportCase, ReportCase.id == Report.case_id)
        .outerjoin(ModerationAction, ModerationAction.id == ReportCase.action_id)
        .where(Report.reporter_id == user.id)
        .order_by(Report.created_at.desc(), Report.id.desc())
        .limit(limit)
    ).all()
    return [MyReport(r, c, _outcome(c, a)) for r, c, a in rows]


@dataclass
class ActionView:
    """One moderator action about the member, as they see it (never who reported)."""

    action: ModerationAction
    appeal: Appeal | None
    appealable: bool
    appeal_until: datetime | None
    hidden_text: str = ""  # the hidden message's words (the member's own)
    suspension_over: bool = False

    @property
    def id(self) -> int:
        return self.action.id


def _action_view(action: ModerationAction, appeal: Appeal | None, now: datetime) -> ActionView:
    from peerhub.intros.models import IntroMessage

    open_for = action.kind in APPEALABLE and action.lifted_at is None and appeal is None
    deadline = action.created_at + APPEAL_WINDOW if action.kind in APPEALABLE else None
    view = ActionView(
        action=action,
        appeal=appeal,
        appealable=bool(open_for and deadline and now <= deadline),
        appeal_until=deadline,
        suspension_over=action.kind == "suspend"
        and action.until is not None
        and action.until <= now,
    )
    if action.kind == "hide" and action.target_kind == "message" and action.target_id:
        message = db.session.get(IntroMessage, action.target_id)
        view.hidden_text = message.body if message else ""
    return view


def actions_about(user: User, now: datetime | None = None) -> list[ActionView]:
    """What moderators did about the member (dismissed reports are not theirs to know),
    newest first, each with its appeal or whether one is still possible."""
    now = now or utcnow()
    rows = db.session.execute(
        select(ModerationAction, Appeal)
        .outerjoin(Appeal, Appeal.action_id == ModerationAction.id)
        .where(ModerationAction.subject_id == user.id, ModerationAction.kind != "dismiss")
        .order_by(ModerationAction.created_at.desc(), ModerationAction.id.desc())
        .limit(HISTORY_MAX)
    ).all()
    return [_action_view(action, appeal, now) for action, appeal in rows]


def action_about(user: User, action_id: int, now: datetime | None = None) -> ActionView:
    """One action about the member. Raises NotFound for anyone else's (or a dismissal)."""
    action = db.session.get(ModerationAction, action_id)
    if action is None or action.subject_id != user.id or action.kind == "dismiss":
        raise NotFound("action")
    appeal = db.session.scalar(select(Appeal).where(Appeal.action_id == action.id))
    return _action_view(action, appeal, now or utcnow())


def warnings_to_show(user: User, now: datetime | None = None) -> list[str]:
    """The member's warnings not shown yet (and not withdrawn), marked shown: each appears
    once, at the login after it was given."""
    now = now or utcnow()
    with transaction():
        unseen = db.session.execute(
            select(ModerationAction.id, ModerationAction.reason).where(
                ModerationAction.subject_id == user.id,
                ModerationAction.kind == "warn",
                ModerationAction.seen_at.is_(None),
                ModerationAction.lifted_at.is_(None),
            )
        ).all()
        shown = []
        for action_id, reason in unseen:
            changed = db.session.execute(
                update(ModerationAction)
                .where(ModerationAction.id == action_id, ModerationAction.seen_at.is_(None))
                .values(seen_at=now)
            ).rowcount
            if changed == 1:
                shown.append(reason)
    return shown


# --- suspended and banned members at the door ----------------------------------------------


def _latest_in_force(member_id: int, kinds: tuple[str, ...]) -> ModerationAction | None:
    return db.session.scalar(
        select(ModerationAction)
        .where(
            ModerationAction.subject_id == member_id,
            ModerationAction.kind.in_(kinds),
            ModerationAction.lifted_at.is_(None),
        )
        .order_by(ModerationAction.created_at.desc(), ModerationAction.id.desc())
        .limit(1)
    )


def appeal_token(action: ModerationAction) -> str:
    return tokens.make_token(APPEAL_TOKEN, {"a": action.id, "u": action.subject_id})


def login_refusal(user: User, now: datetime | None = None) -> AccountRestricted | None:
    """Why a suspended or banned member may not log in (until when, and the moderators'
    reason), with a link to appeal a suspension; None when their suspension has run out,
    which lifts it now."""
    now = now or utcnow()
    if user.status == "suspended" and user.suspended_until and user.suspended_until <= now:
        end_suspension(user.id, now)
        db.session.refresh(user)
        if user.is_active:
            return None
    reason = user.status_reason or _("No reason was given.")
    if user.status == "banned":
        return AccountRestricted(
            _("This account is banned. The moderators' reason: %(reason)s", reason=reason)
        )
    if user.status != "suspended":
        return None
    if user.suspended_until is None:
        message = _("This account is suspended. The moderators' reason: %(reason)s", reason=reason)
    else:
        message = _(
            "This account is suspended until %(until)s (%(zone)s). The moderators' reason: "
            "%(reason)s",
            until=zoned(user.suspended_until, user.timezone),
            zone=user.timezone,
            reason=reason,
        )
    action = _latest_in_force(user.id, ("suspend",))
    link = None
    if action is not None:
        view = _action_view(
            action, db.session.scalar(select(Appeal).where(Appeal.action_id == action.id)), now
        )
        if view.appealable:
            link = site_path("reports.appeal_by_link", token=appeal_token(action))
    return AccountRestricted(message, link)


def _reactivate(member: User) -> None:
    member.status = "active"
    member.suspended_until = None
    member.status_reason = None


def end_suspension(user_id: int, now: datetime | None = None) -> bool:
    """Lift a suspension whose end has passed (at the member's next login, or by `tick`);
    False when there was none to lift. Written to the audit log as the site's own step."""
    now = now or utcnow()
    with transaction():
        member = _lock_member(user_id)
        if (
            member is None
            or member.status != "suspended"
            or member.suspended_until is None
            or member.suspended_until > now
        ):
            return False
        ended = member.suspended_until
        _reactivate(member)
        audit.record(
            SITE,  # type: ignore[arg-type] - the site, not a member, acts here
            "suspension_ended",
            "member",
            member.id,
            member.display_name,
            "",
            details={"until": ended.isoformat()},
            now=now,
        )
        _mail(member, "moderation_lifted", ended=True)
    return True


def tick(now: datetime | None = None) -> int:
    """Lift every suspension whose end has passed; returns how many (idempotent)."""
    now = now or utcnow()
    due = db.session.scalars(
        select(User.id).where(User.status == "suspended", User.suspended_until <= now)
    ).all()
    db.session.rollback()
    return sum(1 for user_id in due if end_suspension(user_id, now))


# --- the review queue --------------------------------------------------------------------


def _case_visible(actor: User, case: ReportCase | None, subject: User | None) -> bool:
    """Moderators never see cases about themselves (nor who reported them), and cases
    about admins only an admin sees (nobody can act on an admin but dismiss)."""
    if case is None:
        return False
    if case.subject_id is not None and case.subject_id == actor.id:
        return False
    return not (subject is not None and subject.is_admin and not actor.is_admin)


@dataclass
class CaseView:
    """A case with what a moderator needs to decide on it."""

    case: ReportCase
    reports: list[Report]
    reporters: dict[int, str]
    subject: User | None
    target_hidden: bool
    target_gone: bool
    action: ModerationAction | None  # what resolved it
    acted_by: str
    history: list[ModerationAction] = field(default_factory=list)
    appeals: dict[int, Appeal] = field(default_factory=dict)
    moderators: dict[int, str] = field(default_factory=dict)
    past_cases: int = 0
    other_open: list[ReportCase] = field(default_factory=list)
    may_act_on_member: bool = False
    refusal: str | None = None

    @property
    def id(self) -> int:
        return self.case.id

    @property
    def categories(self) -> list[str]:
        return sorted({r.category for r in self.reports})


def _target_state(case: ReportCase) -> tuple[bool, bool]:
    """Whether the case's content is hidden already, and whether it is gone."""
    from peerhub.intros.models import IntroMessage
    from peerhub.profiles.models import Profile

    if case.target_kind == "message":
        message = db.session.get(IntroMessage, case.target_id)
        return (message is not None and message.hidden_at is not None, message is None)
    profile = db.session.get(Profile, case.target_id)
    return (profile is not None and profile.hidden_by_moderator_at is not None, profile is None)


def case_view(actor: User, case: ReportCase) -> CaseView:
    """Everything the case card shows (the full page and the fragment alike)."""
    subject = db.session.get(User, case.subject_id) if case.subject_id else None
    reports = list(case.reports)
    names = dict(
        db.session.execute(
            select(User.id, User.display_name).where(
                User.id.in_({r.reporter_id for r in reports if r.reporter_id})
            )
        ).all()
    )
    action = db.session.get(ModerationAction, case.action_id) if case.action_id else None
    hidden, gone = _target_state(case)
    view = CaseView(
        case=case,
        reports=reports,
        reporters=names,
        subject=subject,
        target_hidden=hidden,
        target_gone=gone,
        action=action,
        acted_by="",
    )
    if subject is not None:
        view.history = list(
            db.session.scalars(
                select(ModerationAction)
                .where(ModerationAction.subject_id == subject.id)
                .order_by(ModerationAction.created_at.desc(), ModerationAction.id.desc())
                .limit(HISTORY_MAX)
            )
        )
        view.appeals = {
            a.action_id: a
            for a in db.session.scalars(
                select(Appeal).where(Appeal.action_id.in_([h.id for h in view.history]))
            )
        }
        view.past_cases = (
            db.session.scalar(
                select(func.count())
                .select_from(ReportCase)
                .where(ReportCase.subject_id == subject.id, ReportCase.state == "resolved")
            )
            or 0
        )
        view.other_open = list(
            db.session.scalars(
                select(ReportCase)
                .where(
                    ReportCase.subject_id == subject.id,
                    ReportCase.state == "open",
                    ReportCase.id != case.id,
                )
                .order_by(ReportCase.opened_at)
            )
        )
        view.refusal = refusal(actor, subject)
        view.may_act_on_member = view.refusal is None
    mod_ids = {h.moderator_id for h in view.history if h.moderator_id}
    if action is not None and action.moderator_id:
        mod_ids.add(action.moderator_id)
    view.moderators = dict(
        db.session.execute(select(User.id, User.display_name).where(User.id.in_(mod_ids))).all()
    )
    if action is not None:
        view.acted_by = view.moderators.get(action.moderator_id or 0, _("a former moderator"))
    return view


def case_for(actor: User, case_id: int) -> CaseView:
    """A case a moderator may see (open or resolved). Raises NotFound."""
    _is_moderator(actor)
    case = db.session.get(ReportCase, case_id)
    subject = db.session.get(User, case.subject_id) if case and case.subject_id else None
    if not _case_visible(actor, case, subject):
        raise NotFound("case")
    return case_view(actor, case)


QUEUE_ORDERS = ("oldest", "most")


def queue(actor: User, order: str = "oldest", limit: int = QUEUE_MAX) -> tuple[list[CaseView], int]:
    """Open cases the moderator may handle, oldest first (or most reported first), with
    how many there are in all. Raises NotFound for non-moderators."""
    _is_moderator(actor)
    query = (
        select(ReportCase)
        .outerjoin(User, User.id == ReportCase.subject_id)
        .where(ReportCase.state == "open")
        .where((ReportCase.subject_id.is_(None)) | (ReportCase.subject_id != actor.id))
    )
    if not actor.is_admin:
        query = query.where((User.id.is_(None)) | (User.role != "admin"))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    if order == "most":
        query = query.order_by(ReportCase.report_count.desc(), ReportCase.opened_at, ReportCase.id)
    else:
        query = query.order_by(ReportCase.opened_at, ReportCase.report_count.desc(), ReportCase.id)
    cases = db.session.scalars(query.limit(limit)).all()
    return [case_view(actor, case) for case in cases], total


def restricted_members(actor: User) -> list[User]:
    """Members suspended or banned now, soonest back first (for lifting). Raises NotFound."""
    _is_moderator(actor)
    return list(
        db.session.scalars(
            select(User)
            .where(User.status.in_(("suspended", "banned")))
            .order_by(User.status.desc(), User.suspended_until, User.display_name)
            .limit(200)
        )
    )


# --- acting on a case ---------------------------------------------------------------------


def _what_happened(case: ReportCase) -> str:
    """For a moderator whose form is stale: what changed the case meanwhile."""
    if case.state == "open":
        return _(
            "This case changed while you were reading it (a new report came in). Please read "
            "it again before you act."
        )
    action = db.session.get(ModerationAction, case.action_id) if case.action_id else None
    who = db.session.get(User, action.moderator_id) if action and action.moderator_id else None
    if action is None:
        return _("This case is resolved already.")
    return _(
        "%(name)s has handled this case already: %(what)s. Their reason: %(reason)s",
        name=_name(who, _("Another moderator")),
        what=str(ACTION_LABELS[action.kind]),
        reason=action.reason,
    )


def _notify_reporters(cases: list[ReportCase], kind: str) -> None:
    link = site_path("reports.mine")
    for case in cases:
        for reporter_id in sorted({r.reporter_id for r in case.reports if r.reporter_id}):
            notify(reporter_id, kind, link=link, name=case.subject_name)


def _mail(member: User, kind: str, **context: Any) -> None:
    """Tell the member by mail (they may be unable to log in), in their language."""
    from peerhub.moderation.mails import mail_text

    queue_mail(
        member.email,
        kind,
        member.language,
        name=member.display_name,
        **mail_text(kind, member, **context),
    )


def _check_until(until: datetime | None, now: datetime) -> datetime:
    if until is None:
        raise Invalid(_("Please choose the day the suspension ends."), "until")
    if until <= now:
        raise Invalid(_("The suspension must end in the future."), "until")
    if until > now + SUSPENSION_MAX:
        raise Invalid(_("A suspension lasts a year at most; ban the member instead."), "until")
    return until


def act(
    actor: User,
    case_id: int,
    kind: str,
    reason: str,
    version: int | None,
    until: datetime | None = None,
    now: datetime | None = None,
) -> ModerationAction:
    """Act on a case: dismiss it, hide its content (the message, or the profile), or warn,
    suspend (until `until`) or ban its member, which resolves all of the member's open
    cases. `version` is the case's version the moderator read. Raises NotFound, NotAllowed
    (an admin, or oneself), Invalid, StaleCase (another moderator acted first, or a new
    report came in), Conflict."""
    from peerhub.calendar.service import revoke
    from peerhub.intros.models import IntroMessage
    from peerhub.profiles.models import Profile

    now = now or utcnow()
    _is_moderator(actor)
    if kind not in CASE_ACTIONS:
        raise Invalid(_("Please choose what to do."), "action")
    reason = _reason(reason)
    if kind == "suspend":
        until = _check_until(until, now)
    with transaction():
        peek = db.session.get(ReportCase, case_id)
        subject = _lock_member(peek.subject_id) if peek and peek.subject_id else None
        case = db.session.scalar(
            select(ReportCase)
            .where(ReportCase.id == case_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if not _case_visible(actor, case, subject):
            raise NotFound("case")
        if case.state != "open" or case.version != version:
            raise StaleCase(_what_happened(case), case.id)
        if kind != "dismiss":
            if subject is None:
                raise Invalid(_("This member has left; the case can only be dismissed."))
            _may_act_on(actor, subject)
        action = ModerationAction(
            kind=kind,
            subject_id=case.subject_id,
            subject_name=case.subject_name,
            moderator_id=actor.id,
            case_id=case.id,
            reason=reason,
            created_at=now,
        )
        details: dict[str, Any] = {"case_id": case.id}
        audit_target = ("member", case.subject_id)
        if kind == "hide":
            if case.target_kind == "message":
                message = db.session.get(IntroMessage, case.target_id)
                if message is None:
                    raise Invalid(_("The message no longer exists."))
                message.hidden_at = message.hidden_at or now
                action.target_kind, action.target_id = "message", message.id
            else:
                profile = db.session.get(Profile, case.target_id)
                if profile is None:
                    raise Invalid(_("%(name)s has no profile to hide.", name=case.subject_name))
                profile.hidden_by_moderator_at = profile.hidden_by_moderator_at or now
                action.target_kind, action.target_id = "profile", profile.user_id
            audit_target = (action.target_kind, action.target_id)
        elif kind == "dismiss":
            audit_target = ("case", case.id)
        elif kind == "suspend":
            if subject.status == "banned":
                raise Conflict(
                    _("%(name)s is banned already; lift the ban first.", name=subject.display_name)
                )
            action.until = until
            details["until"] = until.isoformat()
        db.session.add(action)
        db.session.flush()
        # Which cases this resolves: the case, or for an action on the member all of theirs.
        resolved = [case]
        if kind in MEMBER_ACTIONS:
            resolved += list(
                db.session.scalars(
                    select(ReportCase)
                    .where(
                        ReportCase.subject_id == subject.id,
                        ReportCase.state == "open",
                        ReportCase.id != case.id,
                    )
                    .with_for_update()
                    .execution_options(populate_existing=True)
                )
            )
        for each in resolved:
            changed = db.session.execute(
                update(ReportCase)
                .where(
                    ReportCase.id == each.id,
                    ReportCase.state == "open",
                    ReportCase.version == each.version,
                )
                .values(
                    state="resolved",
                    resolved_at=now,
                    resolved_by_id=actor.id,
                    action_id=action.id,
                    version=ReportCase.version + 1,
                )
                .execution_options(synchronize_session=False)
            ).rowcount
            if changed != 1:
                raise StaleCase(_what_happened(case), case.id)
        details["cases"] = [c.id for c in resolved]
        if kind in ("suspend", "ban"):
            subject.status = "suspended" if kind == "suspend" else "banned"
            subject.suspended_until = until if kind == "suspend" else None
            subject.status_reason = reason
            subject.session_token = new_session_token()  # every session ends now
            revoke(subject.id)  # and the calendar feed stops answering
        audit.record(
            actor,
            AUDIT_ACTIONS[kind],
            audit_target[0],
            audit_target[1],
            case.subject_name,
            reason,
            details=details,
            now=now,
        )
        _notify_reporters(resolved, "report_dismissed" if kind == "dismiss" else "report_actioned")
        if subject is not None and kind != "dismiss":
            _tell_subject(subject, action)
    db.session.expire_all()
    return action


def _tell_subject(member: User, action: ModerationAction) -> None:
    """Tell the member what was done and why (never who reported)."""
    link = site_path("reports.my_actions")
    if action.kind == "warn":
        notify(member.id, "moderation_warned", link=link)
    elif action.kind == "hide":
        kind = (
            "moderation_hid_message"
            if action.target_kind == "message"
            else "moderation_hid_profile"
        )
        notify(member.id, kind, link=link)
    elif action.kind == "suspend":
        _mail(member, "moderation_suspended", action=action, token=appeal_token(action))
    elif action.kind == "ban":
        _mail(member, "moderation_banned", action=action)


def lift(actor: User, user_id: int, reason: str, now: datetime | None = None) -> ModerationAction:
    """Lift a member's suspension or ban. Raises NotFound, NotAllowed (an admin, oneself),
    Invalid, Conflict (they are not suspended or banned: someone was quicker)."""
    now = now or utcnow()
    _is_moderator(actor)
    reason = _reason(reason)
    with transaction():
        member = _lock_member(user_id)
        if member is None:
            raise NotFound("member")
        _may_act_on(actor, member)
        if member.status == "active":
            raise Conflict(
                _("%(name)s is not suspended or banned (any more).", name=member.display_name)
            )
        was = member.status
        for earlier in db.session.scalars(
            select(ModerationAction).where(
                ModerationAction.subject_id == member.id,
                ModerationAction.kind.in_(("suspend", "ban")),
                ModerationAction.lifted_at.is_(None),
            )
        ):
            earlier.lifted_at, earlier.lifted_by_id = now, actor.id
        _reactivate(member)
        action = ModerationAction(
            kind="lift",
            subject_id=member.id,
            subject_name=_name(member),
            moderator_id=actor.id,
            reason=reason,
            created_at=now,
        )
        db.session.add(action)
        db.session.flush()
        audit.record(
            actor,
            "suspension_lifted" if was == "suspended" else "ban_lifted",
            "member",
            member.id,
            member.display_name,
            reason,
            details={"action_id": action.id},
            now=now,
        )
        _mail(member, "moderation_lifted", ended=False, reason=reason)
    return action


# --- appeals ------------------------------------------------------------------------------


def appeal(user: User, action_id: int, text: str, now: datetime | None = None) -> Appeal:
    """Appeal one action about oneself (a warning, a hidden message or profile, a
    suspension), once, within 20 days. Raises NotFound, Invalid, Conflict (appealed already,
    or lifted meanwhile)."""
    now = now or utcnow()
    text = _text(text, APPEAL_MAX, "text", _("Please write why you think this was wrong."))
    try:
        with transaction():
            action = db.session.get(ModerationAction, action_id)
            if action is None or action.subject_id != user.id or action.kind == "dismiss":
                raise NotFound("action")
            if action.kind not in APPEALABLE:
                raise Invalid(_("This decision cannot be appealed here."))
            if db.session.scalar(select(Appeal.id).where(Appeal.action_id == action.id)):
                raise Conflict(_("You have appealed this already; a moderator will decide."))
            if action.lifted_at is not None:
                raise Conflict(_("This was lifted already: there is nothing to appeal."))
            if now > action.created_at + APPEAL_WINDOW:
                raise Invalid(
                    _(
                        "An appeal is possible for %(days)d days after the decision.",
                        days=APPEAL_DAYS,
                    )
                )
            made = Appeal(action_id=action.id, user_id=user.id, text=text, created_at=now)
            db.session.add(made)
            db.session.flush()
    except IntegrityError:
        raise Conflict(_("You have appealed this already; a moderator will decide.")) from None
    return made


def action_for_link(token: str, now: datetime | None = None) -> tuple[User, ActionView]:
    """The member and the suspension a signed appeal link names. Raises Invalid (expired or
    forged), NotFound."""
    try:
        payload = tokens.read_token(APPEAL_TOKEN, token)
    except tokens.TokenExpired as error:
        raise Invalid(
            _(
                "The time for an appeal has run out: it is possible for %(days)d days.",
                days=APPEAL_DAYS,
            )
        ) from error
    except tokens.TokenInvalid as error:
        raise Invalid(_("This appeal link is not valid.")) from error
    user = db.session.get(User, payload.get("u"))
    if user is None:
        raise Invalid(_("This appeal link is not valid."))
    try:
        view = action_about(user, int(payload.get("a") or 0), now)
    except (NotFound, TypeError, ValueError) as error:
        raise Invalid(_("This appeal link is not valid.")) from error
    return user, view


def appeal_by_link(token: str, text: str, now: datetime | None = None) -> Appeal:
    """Appeal from a signed link (for members who cannot log in). Raises Invalid, Conflict."""
    user, view = action_for_link(token, now)
    return appeal(user, view.action.id, text, now)


@dataclass
class AppealView:
    appeal: Appeal
    action: ModerationAction
    member: User | None
    acted_by: str
    decided_by: str
    mine: bool  # the moderator looking made the decision appealed against

    @property
    def id(self) -> int:
        return self.appeal.id


def _appeal_view(actor: User, appeal_: Appeal, action: ModerationAction) -> AppealView:
    names = dict(
        db.session.execute(
            select(User.id, User.display_name).where(
                User.id.in_({action.moderator_id, appeal_.decided_by_id} - {None})
            )
        ).all()
    )
    return AppealView(
        appeal=appeal_,
        action=action,
        member=db.session.get(User, action.subject_id) if action.subject_id else None,
        acted_by=names.get(action.moderator_id, _("a former moderator")),
        decided_by=names.get(appeal_.decided_by_id, ""),
        mine=action.moderator_id == actor.id,
    )


def _appeal_visible(actor: User, appeal_: Appeal | None, action: ModerationAction | None) -> bool:
    if appeal_ is None or action is None or appeal_.user_id == actor.id:
        return False
    member = db.session.get(User, action.subject_id) if action.subject_id else None
    return not (member is not None and member.is_admin and not actor.is_admin)


def appeals(actor: User, limit: int = QUEUE_MAX) -> tuple[list[AppealView], list[AppealView]]:
    """Pending appeals, oldest first, and the latest decided ones. Raises NotFound."""
    _is_moderator(actor)
    rows = db.session.execute(
        select(Appeal, ModerationAction)
        .join(ModerationAction, ModerationAction.id == Appeal.action_id)
        .where((Appeal.user_id.is_(None)) | (Appeal.user_id != actor.id))
        .order_by(Appeal.created_at.desc(), Appeal.id.desc())
        .limit(500)
    ).all()
    views = [_appeal_view(actor, a, m) for a, m in rows if _appeal_visible(actor, a, m)]
    pending = [v for v in reversed(views) if v.appeal.state == "pending"][:limit]
    decided = sorted(
        (v for v in views if v.appeal.state != "pending"),
        key=lambda v: (v.appeal.decided_at or v.appeal.created_at, v.appeal.id),
        reverse=True,
    )[:limit]
    return pending, decided


def appeal_for(actor: User, appeal_id: int) -> AppealView:
    """One appeal a moderator may see. Raises NotFound."""
    _is_moderator(actor)
    appeal_ = db.session.get(Appeal, appeal_id)
    action = db.session.get(ModerationAction, appeal_.action_id) if appeal_ else None
    if not _appeal_visible(actor, appeal_, action):
        raise NotFound("appeal")
    return _appeal_view(actor, appeal_, action)


def pending_appeals(actor: User) -> int:
    """How many appeals wait for a decision (for the queue's heading)."""
    return len(appeals(actor)[0])


def _lift_action(action: ModerationAction, member: User | None, actor: User, now: datetime) -> None:
    """Undo what an approved appeal was against: withdraw the warning, show the content
    again (unless another hiding of it stands), end the suspension (if it is the one)."""
    from peerhub.intros.models import IntroMessage
    from peerhub.profiles.models import Profile

    in_force = _latest_in_force(member.id, ("suspend", "ban")) if member is not None else None
    action.lifted_at, action.lifted_by_id = now, actor.id
    if action.kind == "hide" and action.target_id is not None:
        still_hidden = db.session.scalar(
            select(func.count())
            .select_from(ModerationAction)
            .where(
                ModerationAction.kind == "hide",
                ModerationAction.target_kind == action.target_kind,
                ModerationAction.target_id == action.target_id,
                ModerationAction.lifted_at.is_(None),
                ModerationAction.id != action.id,
            )
        )
        if not still_hidden:
            if action.target_kind == "message":
                message = db.session.get(IntroMessage, action.target_id)
                if message is not None:
                    message.hidden_at = None
            else:
                profile = db.session.get(Profile, action.target_id)
                if profile is not None:
                    profile.hidden_by_moderator_at = None
    elif (
        action.kind == "suspend"
        and member is not None
        and member.status == "suspended"
        and in_force is not None
        and in_force.id == action.id  # not a later suspension, nor a ban
    ):
        _reactivate(member)


def decide_appeal(
    actor: User, appeal_id: int, approve: bool, reason: str, now: datetime | None = None
) -> Appeal:
    """Approve an appeal (the action is lifted) or reject it, with a reason the member
    reads. Another moderator than the one who acted decides. Raises NotFound, NotAllowed,
    Invalid, Conflict (decided already)."""
    now = now or utcnow()
    _is_moderator(actor)
    if approve:
        reason = _text(reason, REASON_MAX, "reason", None)
    else:
        reason = _text(
            reason, REASON_MAX, "reason", _("Please say why: the member reads it, and the log.")
        )
    with transaction():
        appeal_ = db.session.get(Appeal, appeal_id)
        action = db.session.get(ModerationAction, appeal_.action_id) if appeal_ else None
        if not _appeal_visible(actor, appeal_, action):
            raise NotFound("appeal")
        if action.moderator_id == actor.id:
            raise NotAllowed(_("Another moderator decides on appeals against your own decisions."))
        member = _lock_member(action.subject_id) if action.subject_id else None
        if member is not None:
            _may_act_on(actor, member)
        changed = db.session.execute(
            update(Appeal)
            .where(Appeal.id == appeal_id, Appeal.state == "pending")
            .values(
                state="approved" if approve else "rejected",
                decided_by_id=actor.id,
                decided_at=now,
                reason=reason,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed != 1:
            db.session.refresh(appeal_)
            who = db.session.get(User, appeal_.decided_by_id) if appeal_.decided_by_id else None
            raise Conflict(
                _(
                    "%(name)s has decided on this appeal already: %(what)s.",
                    name=_name(who, _("Another moderator")),
                    what=_("approved") if appeal_.state == "approved" else _("rejected"),
                )
            )
        action = db.session.scalar(
            select(ModerationAction)
            .where(ModerationAction.id == action.id)
            .execution_options(populate_existing=True)
        )
        if approve:
            _lift_action(action, member, actor, now)
        audit.record(
            actor,
            "appeal_approved" if approve else "appeal_rejected",
            "member",
            action.subject_id,
            action.subject_name,
            reason,
            details={"appeal_id": appeal_id, "action_id": action.id, "kind": action.kind},
            now=now,
        )
        if member is not None:
            kind = "appeal_approved" if approve else "appeal_rejected"
            notify(member.id, kind, link=site_path("reports.my_actions"))
            _mail(member, kind, action=action, reason=reason)
    db.session.expire_all()
    return db.session.get(Appeal, appeal_id)


def appeal_link(action: ModerationAction) -> str:
    """The signed appeal link's full address (for mails)."""
    return absolute_url("reports.appeal_by_link", token=appeal_token(action))
