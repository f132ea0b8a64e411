"""A member's data rights (SECURITY.md 26, 27): everything about them as one ZIP, and the
deletion of their account in one transaction. No request in here.

Export (`export`): `peerhub-data.json` (one key per kind of data, machine-readable),
`peerhub-calendar.ics` (every session and intro call, built by the feed's own code, with
or without a feed address) and a README. Others appear by display name only, and only
where the member's own data needs them. Choices:

- messages: the member's own in full; the other member's in a thread only as a count
  (a shared conversation, but the other's words are the other's data);
- an intro request's opening message: when the member sent it;
- feedback: given and received in full (feedback received was written for the member),
  with the giver's display name;
- journal: every entry of the member's own, never anyone else's;
- the calendar feed: whether it is on and since when, never its token (only a hash is
  stored anyway).

Deletion (`delete_account`), in one transaction, then the User row itself is deleted and
the foreign keys do the rest (CASCADE: profile, tags, availability, languages, journal,
notifications, consents, blocks, feed, check-in answers and ratings, session feedback,
story consents, round entries, intro requests with their slots and messages; SET NULL:
authorship of shared things). Before that:

- tandems of two that are forming or active end (reason `circumstances`), groups of three
  or four go on without the member; the others are told that a member left PeerHub,
  without a name;
- open intro requests close for the other member, who is told the same way; every
  request of the member then goes with its thread (a request is between two people);
- draft round proposals with the member dissolve, published ones go on without them (or
  end when fewer than two remain);
- signatures keep their hash and read "former member"; invitations and cancellations
  the member wrote lose their words; success stories of their tandems leave the
  successes page (a consent is gone), those the member wrote are deleted;
- tags no other profile uses are deleted; mails to the member are deleted, and so are
  mails to the people they were in touch with that name them; those people's
  notifications that name them say "a former member" instead;
- moderation: cases about the member that are still open keep their snapshots and the
  copied name (content under an unresolved report, SECURITY.md 27); resolved ones and the
  moderator actions on them read "former member" and lose their snapshots; reports the
  member filed lose their words once resolved (and always their author); pending appeals
  go, decided ones lose their text.

Kept on purpose: the audit log (`audit_entry`: copied names, no foreign keys, append-only),
the signed agreement versions with their hashes (goal words a profile lent to an agreement
stay in the tandem's agreement, its check-ins and achievements), the session notes the
tandem shares (author unknown from then on), and content under an unresolved report.
"""

from __future__ import annotations

import io
import json
import logging
import re
import zipfile
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.orm import selectinload

from peerhub.accounts.models import User
from peerhub.accounts.passwords import verify_password
from peerhub.calendar.models import CalendarFeed
from peerhub.errors import Invalid
from peerhub.extensions import db, transaction
from peerhub.intros.models import OPEN_STATES, IntroMessage, IntroRequest
from peerhub.journal.models import JournalEntry
from peerhub.matching.models import PairPause, Proposal, ProposalMember, RoundEntry
from peerhub.meetings.models import Series, SessionAbsence, SessionFeedback, SessionRecord
from peerhub.moderation.models import Appeal, ModerationAction, Report, ReportCase
from peerhub.notifications.models import Notification, OutboxMail
from peerhub.notifications.service import NOTIFICATION_TEXTS, notification_text, notify, queue_mail
from peerhub.profiles.models import Block, Profile, ProfileTag, Tag
from peerhub.tandems.models import (
    BINDING_STATES,
    Achievement,
    Agreement,
    AgreementVersion,
    CheckIn,
    CheckInAnswer,
    Signature,
    SuccessStory,
    Tandem,
    TandemDeparture,
    TandemInvitation,
    TandemMember,
)
from peerhub.web.urls import absolute_url, site_path

security_log = logging.getLogger("peerhub.security")

FORMAT_VERSION = 1
# What a signature and a moderation record read after the member deleted their account.
FORMER_MEMBER = "former member"
END_REASON = "circumstances"


# --- export ----------------------------------------------------------------------------------


def export(user: User, now: datetime) -> bytes:
    """The member's data as a ZIP: peerhub-data.json, peerhub-calendar.ics, README.txt."""
    data = json.dumps(collect(user, now), ensure_ascii=False, indent=2, default=_json_default)
    files = (
        ("peerhub-data.json", data.encode("utf-8")),
        ("peerhub-calendar.ics", calendar(user)),
        ("README.txt", readme(user, now).encode("utf-8")),
    )
    buffer = io.BytesIO()
    stamp = now.timetuple()[:6]
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in files:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, body)
    return buffer.getvalue()


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def readme(user: User, now: datetime) -> str:
    """A few lines on what the ZIP holds, in the member's language."""
    with force_locale(user.language):
        lines = [
            _("Your data from PeerHub, exported on %(when)s (UTC).", when=now.isoformat()),
            "",
            _(
                "peerhub-data.json: everything PeerHub stores about you, one key per kind "
                "(account, profile, tandems, journal …), readable by machines and text editors."
            ),
            _(
                "peerhub-calendar.ics: your sessions and intro calls, to import into any "
                "calendar program."
            ),
            "",
            _(
                "Other members appear by their display name only. In a conversation you get "
                "your own messages in full and the other member's as a number."
            ),
            _(
                "The file holds private data, such as your journal: keep it safe. You can "
                "delete your account in your settings at any time."
            ),
        ]
    return "\n".join(lines) + "\n"


class _Names:
    """Display names of other members, looked up once each ("former member" when gone)."""

    def __init__(self, user: User) -> None:
        self.me = user.id
        self.known: dict[int, str] = {user.id: user.display_name}

    def __call__(self, user_id: int | None) -> str:
        if user_id is None:
            return FORMER_MEMBER
        if user_id not in self.known:
            found = db.session.get(User, user_id)
            self.known[user_id] = found.display_name if found else FORMER_MEMBER
        return self.known[user_id]

    def many(self, ids: Iterable[int]) -> list[str]:
        return sorted((self(i) for i in ids if i != self.me), key=str.casefold)


def collect(user: User, now: datetime) -> dict[str, Any]:
    """Everything about the member, one key per kind (see the module's docstring)."""
    names = _Names(user)
    me = user.id
    tandems = list(
        db.session.scalars(
            select(Tandem)
            .join(TandemMember, TandemMember.tandem_id == Tandem.id)
            .where(TandemMember.user_id == me)
            .options(selectinload(Tandem.members))
            .order_by(Tandem.id)
        )
    )
    departures = list(
        db.session.scalars(select(TandemDeparture).where(TandemDeparture.user_id == me))
    )
    tandem_ids = [t.id for t in tandems]
    profile = db.session.get(Profile, me)
    with force_locale(user.language):
        notifications = [
            {
                "kind": n.kind,
                "text": notification_text(n),
                "link": n.link,
                "created_at": n.created_at,
                "read_at": n.read_at,
            }
            for n in db.session.scalars(
                select(Notification).where(Notification.user_id == me).order_by(Notification.id)
            )
        ]
    feed = db.session.get(CalendarFeed, me)
    return {
        "format_version": FORMAT_VERSION,
        "exported_at": now,
        "account": _account(user),
        "consents": [
            {
                "purpose": c.purpose,
                "policy_version": c.policy_version,
                "given_at": c.given_at,
                "withdrawn_at": c.withdrawn_at,
            }
            for c in user.consents
        ],
        "profile": _profile(profile),
        "tags": _tags(profile),
        "languages": [lang.code for lang in profile.languages] if profile else [],
        "availability": [
            {
                "weekday": w.weekday,
                "start": f"{w.start_minute // 60:02d}:{w.start_minute % 60:02d}",
                "end": f"{w.end_minute // 60:02d}:{w.end_minute % 60:02d}",
                "zone": user.timezone,
            }
            for w in (profile.windows if profile else [])
        ],
        "blocks": [
            {"member": names(b.blocked_id), "since": b.created_at}
            for b in db.session.scalars(
                select(Block).where(Block.blocker_id == me).order_by(Block.created_at)
            )
        ],
        "matching": _matching(me, names),
        "intro_requests": _intros(me, names),
        "tandems": _tandems(me, tandems, departures, names),
        "tandem_invitations": _invitations(me, names),
        "agreements": _agreements(me, tandems, departures),
        "sessions": _sessions(me, names),
        "session_feedback": _feedback(me, tandem_ids, names),
        "check_ins": _check_ins(me),
        "achievements": [
            {
                "tandem": a.tandem_id,
                "kind": a.kind,
                "title": a.title,
                "reached_at": a.reached_at,
                "marked_by_me": a.marked_by_id == me,
            }
            for a in db.session.scalars(
                select(Achievement)
                .where(Achievement.tandem_id.in_(tandem_ids))
                .order_by(Achievement.id)
            )
        ],
        "success_stories": _stories(me, tandem_ids),
        "journal": [
            {
                "title": e.title,
                "body": e.body,
                "tandem": e.tandem_id,
                "series": e.series_id,
                "session": e.session_number,
                "goals": e.goal_keys,
                "shared_at": e.shared_at,
                "created_at": e.created_at,
                "updated_at": e.updated_at,
                "version": e.version,
            }
            for e in db.session.scalars(
                select(JournalEntry).where(JournalEntry.author_id == me).order_by(JournalEntry.id)
            )
        ],
        "calendar_feed": {"on": feed is not None, "since": feed.created_at if feed else None},
        "notifications": notifications,
        "mails": [
            {
                "subject": m.subject,
                "kind": m.template,
                "status": m.status,
                "created_at": m.created_at,
                "sent_at": m.sent_at,
            }
            for m in db.session.scalars(
                select(OutboxMail).where(OutboxMail.recipient == user.email).order_by(OutboxMail.id)
            )
        ],
        "reports_filed": [
            {
                "about": case.target_kind,
                "category": report.category,
                "details": report.details,
                "created_at": report.created_at,
                "status": case.state,
            }
            for report, case in db.session.execute(
                select(Report, ReportCase)
                .join(ReportCase, ReportCase.id == Report.case_id)
                .where(Report.reporter_id == me)
                .order_by(Report.id)
            )
        ],
        "moderation": _moderation(me),
    }


def _account(user: User) -> dict[str, Any]:
    return {
        "email": user.email,
        "display_name": user.display_name,
        "language": user.language,
        "timezone": user.timezone,
        "role": user.role,
        "status": user.status,
        "status_reason": user.status_reason,
        "suspended_until": user.suspended_until,
        "created_at": user.created_at,
        "email_verified_at": user.email_verified_at,
        "last_login_at": user.last_login_at,
        "password_changed_at": user.password_changed_at,
    }


def _profile(profile: Profile | None) -> dict[str, Any]:
    if profile is None:
        return {}
    return {
        "headline": profile.headline,
        "about": profile.about,
        "goals": [g.text for g in profile.goals],
        "context": profile.context,
        "meeting_mode": profile.meeting_mode,
        "city": profile.city,
        "rhythm": profile.rhythm,
        "session_length": profile.session_length,
        "capacity": profile.capacity,
        "status": profile.status,
        "visibility": profile.visibility,
        "hidden_by_moderator_at": profile.hidden_by_moderator_at,
        "onboarded_at": profile.onboarded_at,
        "created_at": profile.created_at,
        "updated_at": profile.updated_at,
    }


def _tags(profile: Profile | None) -> dict[str, list[str]]:
    if profile is None:
        return {}
    return {kind: profile.tag_names(kind) for kind in ("offer", "seek", "interest")}


def _matching(me: int, names: _Names) -> dict[str, Any]:
    dismissed = db.session.scalars(
        select(PairPause)
        .where(PairPause.by_id == me, PairPause.reason == "dismissed")
        .order_by(PairPause.created_at)
    )
    entries = db.session.scalars(
        select(RoundEntry).where(RoundEntry.user_id == me).order_by(RoundEntry.round_id)
    )
    proposals = db.session.execute(
        select(Proposal, ProposalMember)
        .join(ProposalMember, ProposalMember.proposal_id == Proposal.id)
        .where(ProposalMember.user_id == me, Proposal.status != "draft")
        .order_by(Proposal.id)
    )
    return {
        "suggestions_dismissed": [
            {
                "member": names(p.high_id if p.low_id == me else p.low_id),
                "at": p.created_at,
                "until": p.until,
            }
            for p in dismissed
        ],
        "round_entries": [
            {
                "round": e.round_id,
                "wants_group": e.wants_group,
                "joined_at": e.created_at,
                "unmatched_reason": e.unmatched_reason,
            }
            for e in entries
        ],
        "round_proposals": [
            {
                "round": proposal.round_id,
                "status": proposal.status,
                "members": names.many(m.user_id for m in proposal.members),
                "my_answer": mine.answer,
                "answered_at": mine.answered_at,
            }
            for proposal, mine in proposals
        ],
    }


def _intros(me: int, names: _Names) -> list[dict[str, Any]]:
    requests = db.session.scalars(
        select(IntroRequest)
        .where(or_(IntroRequest.requester_id == me, IntroRequest.recipient_id == me))
        .options(selectinload(IntroRequest.slots))
        .order_by(IntroRequest.id)
    ).all()
    messages: dict[int, list[IntroMessage]] = {}
    for message in db.session.scalars(
        select(IntroMessage)
        .where(IntroMessage.request_id.in_([r.id for r in requests]))
        .order_by(IntroMessage.id)
    ):
        messages.setdefault(message.request_id, []).append(message)
    out = []
    for intro in requests:
        sent = intro.requester_id == me
        thread = messages.get(intro.id, [])
        out.append(
            {
                "direction": "sent" if sent else "received",
                "other_member": names(intro.other_id(me)),
                "state": intro.state,
                "source": intro.source,
                "message": intro.message if sent else None,
                "length_minutes": intro.length_minutes,
                "mode": intro.mode,
                "place": intro.place,
                "proposed_times": [
                    {
                        "start": s.start,
                        "end": s.end,
                        "round": s.round,
                        "by_me": s.proposed_by_id == me,
                    }
                    for s in intro.slots
                ],
                "scheduled_start": intro.scheduled_start,
                "scheduled_end": intro.scheduled_end,
                "decline_reason": intro.decline_reason,
                "closed_at": intro.closed_at,
                "my_outcome": intro.outcome_of(me),
                "feedback_given": (intro.requester_feedback if sent else intro.recipient_feedback),
                "feedback_received": intro.feedback_for(me),
                "created_at": intro.created_at,
                "messages": {
                    "mine": [
                        {
                            "text": m.body,
                            "at": m.created_at,
                            "hidden_by_moderator": m.hidden_at is not None,
                        }
                        for m in thread
                        if m.author_id == me
                    ],
                    "from_the_other_member": sum(1 for m in thread if m.author_id != me),
                },
            }
        )
    return out


def _tandems(
    me: int, tandems: list[Tandem], departures: list[TandemDeparture], names: _Names
) -> list[dict[str, Any]]:
    out = []
    for tandem in tandems:
        mine = next(m for m in tandem.members if m.user_id == me)
        out.append(
            {
                "id": tandem.id,
                "state": tandem.state,
                "members": names.many(tandem.member_ids()),
                "created_at": tandem.created_at,
                "activated_at": tandem.activated_at,
                "ended_at": tandem.ended_at,
                "end_reason": tandem.end_reason,
                "ended_by_me": tandem.ended_by_id == me,
                "joined_at": mine.joined_at,
                "my_term_choice": mine.term_choice,
                "my_note": mine.note,
            }
        )
    for departure in departures:
        out.append({"id": departure.tandem_id, "state": "left", "left_at": departure.left_at})
    return out


def _invitations(me: int, names: _Names) -> dict[str, list[dict[str, Any]]]:
    rows = db.session.scalars(
        select(TandemInvitation)
        .where(or_(TandemInvitation.user_id == me, TandemInvitation.invited_by_id == me))
        .order_by(TandemInvitation.id)
    ).all()
    return {
        "sent": [
            {
                "tandem": i.tandem_id,
                "to": names(i.user_id),
                "message": i.message,
                "state": i.state,
                "created_at": i.created_at,
                "answered_at": i.answered_at,
            }
            for i in rows
            if i.invited_by_id == me
        ],
        "received": [
            {
                "tandem": i.tandem_id,
                "from": names(i.invited_by_id),
                "state": i.state,
                "created_at": i.created_at,
                "answered_at": i.answered_at,
            }
            for i in rows
            if i.user_id == me
        ],
    }


def _agreements(
    me: int, tandems: list[Tandem], departures: list[TandemDeparture]
) -> list[dict[str, Any]]:
    """Every version the member can read (their tandems'), and all of their signatures
    (also in groups they left)."""
    tandem_ids = [t.id for t in tandems] + [d.tandem_id for d in departures]
    agreements = db.session.scalars(
        select(Agreement).where(Agreement.tandem_id.in_(tandem_ids)).order_by(Agreement.id)
    ).all()
    readable = {t.id for t in tandems}
    signatures: dict[int, list[Signature]] = {}
    for signature in db.session.scalars(
        select(Signature).where(Signature.user_id == me).order_by(Signature.id)
    ):
        signatures.setdefault(signature.agreement_id, []).append(signature)
    out = []
    for agreement in agreements:
        versions = []
        if agreement.tandem_id in readable:
            versions = [
                {
                    "number": v.number,
                    "content": json.loads(v.canonical),
                    "content_hash": v.content_hash,
                    "changed_section": v.changed_section,
                    "created_at": v.created_at,
                    "written_by_me": v.created_by_id == me,
                }
                for v in db.session.scalars(
                    select(AgreementVersion)
                    .where(AgreementVersion.agreement_id == agreement.id)
                    .order_by(AgreementVersion.number)
                )
            ]
        mine = signatures.get(agreement.id, [])
        if not versions and not mine:
            continue
        out.append(
            {
                "tandem": agreement.tandem_id,
                "version": agreement.version,
                "in_force_version": agreement.in_force_version,
                "versions": versions,
                "my_signatures": [
                    {
                        "version": s.version,
                        "typed_name": s.typed_name,
                        "content_hash": s.content_hash,
                        "signed_at": s.signed_at,
                    }
                    for s in mine
                ],
            }
        )
    return out


def _sessions(me: int, names: _Names) -> dict[str, list[dict[str, Any]]]:
    """What the member did to sessions: notes saved, attendance recorded, cancellations and
    moves, and the sessions they missed."""
    records = db.session.execute(
        select(SessionRecord, Series.tandem_id)
        .join(Series, Series.id == SessionRecord.series_id)
        .where(
            or_(
                SessionRecord.notes_by_id == me,
                SessionRecord.attendance_by_id == me,
                SessionRecord.cancelled_by_id == me,
                SessionRecord.moved_by_id == me,
                exists().where(
                    SessionAbsence.record_id == SessionRecord.id, SessionAbsence.user_id == me
                ),
            )
        )
        .options(selectinload(SessionRecord.absences))
        .order_by(SessionRecord.series_id, SessionRecord.number)
    ).all()

    def where(record: SessionRecord, tandem_id: int) -> dict[str, Any]:
        return {
            "tandem": tandem_id,
            "series": record.series_id,
            "session": record.number,
            "planned_start": record.planned_start,
        }

    return {
        "notes_saved": [
            {**where(r, t), "notes": r.notes, "saved_at": r.notes_at}
            for r, t in records
            if r.notes_by_id == me
        ],
        "attendance_recorded": [
            {
                **where(r, t),
                "recorded_at": r.attendance_at,
                "absent": [names(a.user_id) for a in r.absences],
            }
            for r, t in records
            if r.attendance_by_id == me
        ],
        "cancelled": [
            {
                **where(r, t),
                "kind": r.cancel_kind,
                "reason": r.cancel_reason,
                "late": r.late,
                "at": r.cancelled_at,
            }
            for r, t in records
            if r.cancelled_by_id == me and r.cancelled
        ],
        "moved": [
            {**where(r, t), "to_start": r.moved_start, "to_end": r.moved_end}
            for r, t in records
            if r.moved_by_id == me and r.moved
        ],
        "missed": [where(r, t) for r, t in records if any(a.user_id == me for a in r.absences)],
    }


def _feedback(me: int, tandem_ids: list[int], names: _Names) -> dict[str, list[dict[str, Any]]]:
    """Feedback the member gave, and feedback the others gave on the member's sessions
    (written for them: in full, with the giver's name)."""
    rows = db.session.execute(
        select(SessionFeedback, Series.tandem_id)
        .join(Series, Series.id == SessionFeedback.series_id)
        .where(or_(SessionFeedback.user_id == me, Series.tandem_id.in_(tandem_ids)))
        .order_by(SessionFeedback.series_id, SessionFeedback.number, SessionFeedback.user_id)
    ).all()

    def item(f: SessionFeedback, tandem_id: int) -> dict[str, Any]:
        return {
            "tandem": tandem_id,
            "series": f.series_id,
            "session": f.number,
            "helped": f.helped,
            "wish": f.wish,
            "created_at": f.created_at,
            "updated_at": f.updated_at,
        }

    return {
        "given": [item(f, t) for f, t in rows if f.user_id == me],
        "received": [{**item(f, t), "from": names(f.user_id)} for f, t in rows if f.user_id != me],
    }


def _check_ins(me: int) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(CheckIn, CheckInAnswer)
        .join(CheckInAnswer, CheckInAnswer.check_in_id == CheckIn.id)
        .where(CheckInAnswer.user_id == me)
        .options(selectinload(CheckInAnswer.ratings))
        .order_by(CheckIn.id)
    ).all()
    return [
        {
            "tandem": check_in.tandem_id,
            "number": check_in.number,
            "due_on": check_in.due_on,
            "goals": check_in.goals,
            "answered_at": answer.answered_at,
            "helped": answer.helped,
            "change": answer.change,
            "progress": answer.progress(),
        }
        for check_in, answer in rows
    ]


def _stories(me: int, tandem_ids: list[int]) -> list[dict[str, Any]]:
    stories = db.session.scalars(
        select(SuccessStory)
        .where(
            or_(
                SuccessStory.tandem_id.in_(tandem_ids),
                SuccessStory.written_by_id == me,
                SuccessStory.consents.any(user_id=me),
            )
        )
        .options(selectinload(SuccessStory.consents))
        .order_by(SuccessStory.id)
    )
    out = []
    for story in stories:
        consent = next((c for c in story.consents if c.user_id == me), None)
        out.append(
            {
                "tandem": story.tandem_id,
                "achievement": story.achievement_id,
                "text": story.text,
                "version": story.version,
                "written_by_me": story.written_by_id == me,
                "published_at": story.published_at,
                "my_consent": None
                if consent is None
                else {
                    "version": consent.version,
                    "show_name": consent.show_name,
                    "consented_at": consent.consented_at,
                },
            }
        )
    return out


def _moderation(me: int) -> dict[str, list[dict[str, Any]]]:
    """What moderators did about the member, and their appeals (never who reported)."""
    return {
        "actions": [
            {
                "kind": a.kind,
                "reason": a.reason,
                "about": a.target_kind,
                "until": a.until,
                "created_at": a.created_at,
                "seen_at": a.seen_at,
                "lifted_at": a.lifted_at,
            }
            for a in db.session.scalars(
                select(ModerationAction)
                .where(ModerationAction.subject_id == me)
                .order_by(ModerationAction.id)
            )
        ],
        "appeals": [
            {
                "text": a.text,
                "state": a.state,
                "created_at": a.created_at,
                "decided_at": a.decided_at,
                "reason": a.reason,
            }
            for a in db.session.scalars(
                select(Appeal).where(Appeal.user_id == me).order_by(Appeal.id)
            )
        ],
    }


def calendar(user: User) -> bytes:
    """Every session of the member's tandems and every intro call that had a time, built by
    the feed's code (no feed address needed, no 90-day window)."""
    from peerhub.calendar import feed as feeds
    from peerhub.intros.service import call_status

    tandems = {
        t.id: t
        for t in db.session.scalars(
            select(Tandem)
            .join(TandemMember, TandemMember.tandem_id == Tandem.id)
            .where(TandemMember.user_id == user.id)
            .options(selectinload(Tandem.members))
        )
    }
    state = feeds.FeedState(user)
    state.series = [
        feeds.SeriesItem(row, tandems[row.tandem_id])
        for row in db.session.scalars(
            select(Series)
            .where(Series.tandem_id.in_(tandems))
            .options(selectinload(Series.records))
            .order_by(Series.tandem_id, Series.starts_on, Series.id)
        )
    ]
    state.calls = [
        feeds.CallItem(intro)
        for intro in db.session.scalars(
            select(IntroRequest)
            .where(or_(IntroRequest.requester_id == user.id, IntroRequest.recipient_id == user.id))
            .options(selectinload(IntroRequest.slots))
            .order_by(IntroRequest.id)
        )
        if call_status(intro) is not None
    ]
    return feeds.feed_bytes(state)


# --- deletion --------------------------------------------------------------------------------


def delete_account(user: User, password: str, confirmed: bool, now: datetime) -> None:
    """Delete the member's account and their personal data, in one transaction (see the
    module's docstring for what goes, what stays and who is told).

    Raises Invalid (wrong password, or the deletion not confirmed); nothing changes then.
    """
    if not verify_password(user.password_hash, password or ""):
        raise Invalid(_("Your current password is not correct."), "password")
    if not confirmed:
        raise Invalid(_("Please confirm that your account and data are to be deleted."), "confirm")
    user_id = user.id
    with transaction():
        me = db.session.get(User, user_id, with_for_update=True, populate_existing=True)
        if me is None:
            return
        contacts = _contacts(user_id)
        _leave_tandems(me, now)
        _close_intros(me, now)
        _leave_matching(me, now)
        _anonymise_shared(me)
        _anonymise_moderation(me)
        _forget_mentions(me, contacts)
        _delete_unused_tags(me)
        from peerhub.calendar.service import revoke

        revoke(user_id)
        db.session.execute(
            delete(OutboxMail)
            .where(OutboxMail.recipient == me.email)
            .execution_options(synchronize_session=False)
        )
        db.session.flush()
        db.session.expunge_all()
        db.session.execute(delete(User).where(User.id == user_id))
    security_log.info("account_deleted user=%s", user_id)


def _contacts(me: int) -> set[int]:
    """The members whose notifications and mails may name this one: everyone they shared a
    tandem, an intro request, a proposal, an invitation or a report case with."""
    mine = select(TandemMember.tandem_id).where(TandemMember.user_id == me)
    left = select(TandemDeparture.tandem_id).where(TandemDeparture.user_id == me)
    queries = [
        select(TandemMember.user_id).where(
            or_(TandemMember.tandem_id.in_(mine), TandemMember.tandem_id.in_(left))
        ),
        select(IntroRequest.requester_id).where(IntroRequest.recipient_id == me),
        select(IntroRequest.recipient_id).where(IntroRequest.requester_id == me),
        select(ProposalMember.user_id).where(
            ProposalMember.proposal_id.in_(
                select(ProposalMember.proposal_id).where(ProposalMember.user_id == me)
            )
        ),
        select(TandemInvitation.user_id).where(TandemInvitation.invited_by_id == me),
        select(TandemInvitation.invited_by_id).where(TandemInvitation.user_id == me),
        select(Report.reporter_id).join(ReportCase).where(ReportCase.subject_id == me),
    ]
    ids: set[int] = set()
    for query in queries:
        ids.update(i for i in db.session.scalars(query) if i is not None)
    ids.discard(me)
    return ids


def _leave_tandems(me: User, now: datetime) -> None:
    """Pairs that still bind end; groups go on without the member. Those who stay are told
    that a member left PeerHub, without a name."""
    from peerhub.tandems import service as tandems

    for tandem_id in db.session.scalars(
        select(Tandem.id)
        .join(TandemMember, TandemMember.tandem_id == Tandem.id)
        .where(TandemMember.user_id == me.id, Tandem.state.in_(BINDING_STATES))
        .order_by(Tandem.id)
    ).all():
        tandem = tandems.tandem_for(me, tandem_id, lock=True)
        if len(tandem.members) >= 3:
            others, kind = tandems.depart(tandem, me, now), "tandem_member_gone"
        else:
            others, kind = tandems.end_tandem(tandem, me, END_REASON, now), "tandem_partner_gone"
        for other in others:
            _tell_gone(other, kind, tandem)


def _tell_gone(member: User, kind: str, tandem: Tandem) -> None:
    link = ("tandems.show", {"tandem_id": tandem.id})
    notify(member.id, kind, link=site_path(link[0], **link[1]))
    with force_locale(member.language):
        text = str(NOTIFICATION_TEXTS[kind])
    queue_mail(
        member.email,
        kind,
        member.language,
        name=member.display_name,
        paragraphs=[text],
        link=absolute_url(link[0], **link[1]),
        link_label=_("Open your tandem"),
    )


def _close_intros(me: User, now: datetime) -> None:
    """The other member of each open request is told it closed; the requests themselves go
    with the account (ON DELETE CASCADE), threads and times included."""
    for intro in db.session.scalars(
        select(IntroRequest).where(
            or_(IntroRequest.requester_id == me.id, IntroRequest.recipient_id == me.id),
            IntroRequest.state.in_(OPEN_STATES),
        )
    ).all():
        notify(intro.other_id(me.id), "intro_partner_gone", link=site_path("intros.index"))


def _leave_matching(me: User, now: datetime) -> None:
    """Draft proposals with the member dissolve (as when leaving the round); a published
    proposal goes on with the others, or ends when fewer than two remain."""
    from peerhub.matching import service as matching
    from peerhub.tandems import service as tandems

    round_ = matching.open_round()
    if round_ is not None:
        matching._drop_from_drafts(round_, [me.id])
    proposals = db.session.scalars(
        select(Proposal)
        .join(ProposalMember, ProposalMember.proposal_id == Proposal.id)
        .where(ProposalMember.user_id == me.id, Proposal.status == "proposed")
    ).all()
    for proposal in proposals:
        proposal.members = [m for m in proposal.members if m.user_id != me.id]
        db.session.flush()
        remaining = [m for m in proposal.members if m.answer != "declined"]
        if len(remaining) < 2:
            proposal.status, proposal.decided_at = "declined", now
            for member in remaining:
                notify(
                    member.user_id, "proposal_partner_gone", link=site_path("matching.round_page")
                )
        elif all(m.answer == "accepted" for m in remaining):
            # the member was the last to answer: the others all said yes
            proposal.status, proposal.decided_at = "accepted", now
            group = tandems.group_from_proposal(proposal, now) if len(remaining) > 2 else None
            for member in remaining:
                if group is not None and member.user_id in group.member_ids():
                    tandems.tell_group_formed(member.user_id, group)
                else:
                    matching._tell(
                        member.user_id, "proposal_accepted", proposal, mail="proposal_accepted"
                    )


def _anonymise_shared(me: User) -> None:
    """What the member put into things others keep: signatures read "former member" (the
    hash stays), their invitation messages and cancellation reasons lose their words, the
    stories they wrote go and every story of their tandems leaves the successes page."""
    db.session.execute(
        update(Signature)
        .where(Signature.user_id == me.id)
        .values(typed_name=FORMER_MEMBER)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(TandemInvitation)
        .where(TandemInvitation.invited_by_id == me.id)
        .values(message="")
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(SessionRecord)
        .where(SessionRecord.cancelled_by_id == me.id)
        .values(cancel_reason="")
        .execution_options(synchronize_session=False)
    )
    tandem_ids = select(TandemMember.tandem_id).where(TandemMember.user_id == me.id)
    db.session.execute(
        delete(SuccessStory)
        .where(SuccessStory.written_by_id == me.id)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(SuccessStory)
        .where(SuccessStory.tandem_id.in_(tandem_ids), SuccessStory.published_at.is_not(None))
        .values(published_at=None)
        .execution_options(synchronize_session=False)
    )


def _anonymise_moderation(me: User) -> None:
    """Moderation keeps what the audit needs: open cases about the member keep their
    content; resolved ones, the actions and decided appeals lose the member's name and
    words (the audit log has its own copy of names)."""
    resolved = select(ReportCase.id).where(
        ReportCase.subject_id == me.id, ReportCase.state == "resolved"
    )
    db.session.execute(
        update(Report)
        .where(Report.case_id.in_(resolved))
        .values(snapshot={})
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(ReportCase)
        .where(ReportCase.id.in_(resolved))
        .values(subject_name=FORMER_MEMBER)
        .execution_options(synchronize_session=False)
    )
    closed = select(ReportCase.id).where(ReportCase.state == "resolved")
    db.session.execute(
        update(Report)
        .where(Report.reporter_id == me.id, Report.case_id.in_(closed))
        .values(details="")
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(ModerationAction)
        .where(ModerationAction.subject_id == me.id)
        .values(subject_name=FORMER_MEMBER)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        delete(Appeal)
        .where(Appeal.user_id == me.id, Appeal.state == "pending")
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(Appeal)
        .where(Appeal.user_id == me.id)
        .values(text="")
        .execution_options(synchronize_session=False)
    )


def _mentions(name: str, email: str):
    """A test for text that names the member (whole words only, so "Ann" is not "Anna")."""
    pattern = re.compile(
        "|".join(rf"(?<!\w){re.escape(word)}(?!\w)" for word in (name, email) if word)
    )
    return lambda text: bool(text) and pattern.search(text) is not None


def _forget_mentions(me: User, contacts: set[int]) -> None:
    """The contacts' notifications that name the member say "a former member" instead;
    their mails that name the member are deleted (sent ones were delivered already; those
    waiting were about what the deletion ends)."""
    if not contacts:
        return
    names_me = _mentions(me.display_name, me.email)
    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(contacts)))}
    notifications = db.session.scalars(
        select(Notification).where(Notification.user_id.in_(contacts))
    ).all()
    for notification in notifications:
        owner = people.get(notification.user_id)
        params = _without(notification, me.display_name, owner.language if owner else "de")
        if params is not None:
            notification.params = params
    emails = [u.email for u in people.values()]
    candidates = db.session.scalars(
        select(OutboxMail).where(
            OutboxMail.recipient.in_(emails),
            or_(
                *(
                    column.contains(word, autoescape=True)
                    for column in (
                        OutboxMail.subject,
                        OutboxMail.text_body,
                        OutboxMail.attachment_body,
                    )
                    for word in (me.display_name, me.email)
                )
            ),
        )
    ).all()
    doomed = [
        m.id
        for m in candidates
        if names_me(m.subject) or names_me(m.text_body) or names_me(m.attachment_body)
    ]
    if doomed:
        db.session.execute(
            delete(OutboxMail)
            .where(OutboxMail.id.in_(doomed))
            .execution_options(synchronize_session=False)
        )


def _without(notification: Notification, name: str, language: str) -> dict | None:
    """The notification's params with the member's name replaced, or None if it has none."""
    params = dict(notification.params or {})
    changed = False
    with force_locale(language):
        template = str(NOTIFICATION_TEXTS.get(notification.kind, ""))
        for key, value in params.items():
            if not isinstance(value, str):
                continue
            parts = value.split(", ")
            if name not in parts:
                continue
            first = template.startswith(f"%({key})s")
            parts = [
                (_("A former member") if first and i == 0 else _("a former member"))
                if part == name
                else part
                for i, part in enumerate(parts)
            ]
            params[key] = ", ".join(parts)
            changed = True
    return params if changed else None


def _delete_unused_tags(me: User) -> None:
    """Tags only this member used leave the vocabulary with them (a tag can be personal)."""
    theirs = select(ProfileTag.tag_id).where(ProfileTag.user_id == me.id)
    others = select(ProfileTag.tag_id).where(ProfileTag.user_id != me.id)
    db.session.execute(
        delete(Tag)
        .where(Tag.id.in_(theirs), Tag.id.not_in(others))
        .execution_options(synchronize_session=False)
    )
