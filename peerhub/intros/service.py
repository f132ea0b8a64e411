"""Intro calls: request, propose times, answer kindly, talk, meet, and decide together.

The request is a small state machine (see `models.STATES`). Every change is one
transaction that locks the request row and then changes it only from the state it
was read in, so two tabs, two clicks or two servers racing give one result and no 500;
the schema backs the rules up (one open request per pair, five per sender).
No request here: views, `flask --app app tick` and the tests call these functions alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, literal_column, or_, select, union_all, update
from sqlalchemy.exc import IntegrityError

from peerhub.accounts.models import User
from peerhub.calendar.ics import ICS_CONTENT_TYPE, SingleEvent, calendar_bytes
from peerhub.errors import Conflict, Invalid, NotAllowed, NotFound
from peerhub.extensions import db, transaction, utcnow
from peerhub.intros import mails
from peerhub.intros.mails import decline_text, when_for  # noqa: F401 - part of this API
from peerhub.intros.models import (
    DECIDE_WITHIN,
    DECLINE_REASONS,
    EXPIRY,
    FEEDBACK_MAX,
    LENGTHS,
    MESSAGE_MAX,
    MODES,
    OPEN_OUTGOING_MAX,
    OPEN_STATES,
    OUTCOMES,
    PLACE_MAX,
    REMINDER_AFTER,
    SOURCES,
    IntroMessage,
    IntroRequest,
    IntroSlot,
)
from peerhub.matching.candidates import PAUSE
from peerhub.matching.models import pair_key
from peerhub.matching.service import pause_pair
from peerhub.notifications.models import Notification
from peerhub.notifications.service import notify, queue_mail
from peerhub.plaintext import clean
from peerhub.profiles import service as profiles
from peerhub.profiles.availability import intervals
from peerhub.profiles.models import AvailabilityWindow, Profile
from peerhub.tandems import service as tandems
from peerhub.tandems.models import Tandem
from peerhub.web.urls import absolute_url, site_path

TIMES_MIN, TIMES_MAX = 1, 3
HORIZON = timedelta(days=14)  # proposed times lie within the next 14 days
LEAD = timedelta(hours=2)  # and not sooner than this, so the other can still read it
STEP = timedelta(minutes=30)  # offered times start on the hour or half hour
OFFERED_PER_DAY = 4


# --- reading ----------------------------------------------------------------------


def request_for(user: User, request_id: int, lock: bool = False) -> IntroRequest:
    """A request the member is part of. Raises NotFound for anyone else (moderators too),
    and once either member has blocked the other."""
    query = select(IntroRequest).where(IntroRequest.id == request_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    intro = db.session.scalar(query)
    if intro is None or user.id not in (intro.requester_id, intro.recipient_id):
        raise NotFound("intro request")
    if profiles.blocked_between(intro.requester_id, intro.recipient_id):
        raise NotFound("intro request")
    return intro


def open_between(a: int, b: int) -> IntroRequest | None:
    """The open request between two members, if any (either direction)."""
    low, high = pair_key(a, b)
    return db.session.scalar(
        select(IntroRequest).where(
            IntroRequest.low_id == low,
            IntroRequest.high_id == high,
            IntroRequest.state.in_(OPEN_STATES),
        )
    )


def messages_of(intro: IntroRequest) -> list[IntroMessage]:
    """The request's thread, oldest first."""
    return list(
        db.session.scalars(
            select(IntroMessage)
            .where(IntroMessage.request_id == intro.id)
            .order_by(IntroMessage.id)
        )
    )


def _ids_of(user_id: int, open_: bool):
    """The ids of the member's open (or closed) requests, sent and received: two index
    lookups, one per side, instead of an OR that planners may answer with a scan."""
    state = IntroRequest.state.in_(OPEN_STATES) if open_ else IntroRequest.state.not_in(OPEN_STATES)
    return union_all(
        select(IntroRequest.id).where(IntroRequest.requester_id == user_id, state),
        select(IntroRequest.id).where(IntroRequest.recipient_id == user_id, state),
    )


def requests_of(user_id: int, open_: bool = True, limit: int = 50) -> list[IntroRequest]:
    """The member's open (or closed) requests, sent and received, newest change first."""
    return list(
        db.session.scalars(
            select(IntroRequest)
            .where(IntroRequest.id.in_(_ids_of(user_id, open_)))
            .order_by(IntroRequest.updated_at.desc(), IntroRequest.id.desc())
            .limit(limit)
        )
    )


def open_outgoing(user_id: int) -> int:
    """How many open requests the member has sent (at most five)."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(IntroRequest)
            .where(IntroRequest.requester_id == user_id, IntroRequest.state.in_(OPEN_STATES))
        )
        or 0
    )


def call_started(intro: IntroRequest, now: datetime | None = None) -> bool:
    """Whether the scheduled call has begun (from then on both can decide how to go on)."""
    now = now or utcnow()
    return intro.state == "scheduled" and intro.scheduled_start <= now


@dataclass
class Overview:
    """A member's intro calls by what they ask of the member, for the home page and the list."""

    to_answer: list[IntroRequest] = field(default_factory=list)  # pending, the member's turn
    waiting: list[IntroRequest] = field(default_factory=list)  # pending, the other's turn
    upcoming: list[IntroRequest] = field(default_factory=list)  # scheduled, not begun
    to_decide: list[IntroRequest] = field(default_factory=list)  # held, member undecided
    waiting_decision: list[IntroRequest] = field(default_factory=list)  # held, other undecided
    past: list[IntroRequest] = field(default_factory=list)
    forming: list = field(default_factory=list)  # tandems whose agreement waits for the member
    tandems: list = field(default_factory=list)  # forming and active
    invitations: list = field(default_factory=list)  # into groups, waiting for the member
    names: dict[int, str] = field(default_factory=dict)

    def partner_names(self, tandem, user_id: int) -> str:
        """The other members of a tandem, by name."""
        return ", ".join(
            self.names.get(m.user_id, "") for m in tandem.members if m.user_id != user_id
        )

    @property
    def open_count(self) -> int:
        return sum(
            map(
                len,
                (
                    self.to_answer,
                    self.waiting,
                    self.upcoming,
                    self.to_decide,
                    self.waiting_decision,
                ),
            )
        )


def overview(user: User, now: datetime | None = None, past: int = 20) -> Overview:
    """The member's open requests sorted by what to do, the recent closed ones, and the
    tandems that are forming."""
    now = now or utcnow()
    out = Overview()
    for intro in requests_of(user.id, open_=True, limit=200):
        if intro.state == "pending":
            (out.to_answer if intro.turn_id == user.id else out.waiting).append(intro)
        elif not call_started(intro, now):
            out.upcoming.append(intro)
        elif intro.outcome_of(user.id) is None:
            out.to_decide.append(intro)
        else:
            out.waiting_decision.append(intro)
    out.upcoming.sort(key=lambda i: i.scheduled_start)
    if past:
        out.past = requests_of(user.id, open_=False, limit=past)
    out.tandems = tandems.tandems_of(user.id)
    out.forming = tandems.awaiting_signature(user.id, out.tandems)
    out.invitations = tandems.invitations_for(user.id)
    ids = {
        i.other_id(user.id)
        for group in (
            out.to_answer,
            out.waiting,
            out.upcoming,
            out.to_decide,
            out.waiting_decision,
            out.past,
        )
        for i in group
    }
    ids |= {m.user_id for t in out.tandems for m in t.members}
    ids |= {i.invited_by_id for i in out.invitations if i.invited_by_id}
    if ids:
        out.names = dict(
            db.session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all()
        )
    return out


def open_requests_with(user_id: int, other_ids: list[int]) -> dict[int, int]:
    """For each of `other_ids` with an open request with `user_id`: that request's id."""
    if not other_ids:
        return {}
    rows = db.session.execute(
        select(IntroRequest.id, IntroRequest.requester_id, IntroRequest.recipient_id).where(
            IntroRequest.state.in_(OPEN_STATES),
            or_(
                and_(
                    IntroRequest.requester_id == user_id, IntroRequest.recipient_id.in_(other_ids)
                ),
                and_(
                    IntroRequest.recipient_id == user_id, IntroRequest.requester_id.in_(other_ids)
                ),
            ),
        )
    )
    return {(r if r != user_id else q): i for i, q, r in rows}


# --- when both are free -----------------------------------------------------------


def _windows(user_id: int) -> list[tuple[int, int, int]]:
    return [
        (w.weekday, w.start_minute, w.end_minute)
        for w in db.session.scalars(
            select(AvailabilityWindow).where(AvailabilityWindow.user_id == user_id)
        )
    ]


def _round_up(instant: datetime) -> datetime:
    step = int(STEP.total_seconds())
    seconds = int(instant.timestamp())
    return datetime.fromtimestamp(-(-seconds // step) * step, UTC)


def offered_times(
    a: User, b: User, length: int = 30, now: datetime | None = None
) -> list[datetime]:
    """Start times in the next 14 days when both members are free for a call of `length`.

    Each member's weekly windows are placed in real weeks in their own zone (so DST and
    zone differences are exact); at most a few per day, spread over each day's overlap.
    """
    now = now or utcnow()
    earliest, latest = now + LEAD, now + HORIZON
    first, second = _windows(a.id), _windows(b.id)
    if not first or not second:
        return []
    spans_a, spans_b = [], []
    day = (now - timedelta(days=7)).date()
    while day <= (latest + timedelta(days=7)).date():
        spans_a += intervals(first, a.timezone, day)
        spans_b += intervals(second, b.timezone, day)
        day += timedelta(days=7)
    duration = timedelta(minutes=length)
    by_day: dict[date, list[datetime]] = {}
    for start_a, end_a in set(spans_a):
        for start_b, end_b in set(spans_b):
            start, end = max(start_a, start_b, earliest), min(end_a, end_b)
            moment = _round_up(start)
            while moment + duration <= end and moment <= latest:
                by_day.setdefault(moment.date(), []).append(moment)
                moment += STEP
    out = []
    for moments in by_day.values():
        moments = sorted(set(moments))
        if len(moments) > OFFERED_PER_DAY:  # spread over the day: first, last and between
            last = len(moments) - 1
            picks = {round(i * last / (OFFERED_PER_DAY - 1)) for i in range(OFFERED_PER_DAY)}
            moments = [moments[i] for i in sorted(picks)]
        out += moments
    return sorted(out)


# --- checking input ---------------------------------------------------------------


def check_times(starts: list[datetime], length: int, now: datetime | None = None) -> list[datetime]:
    """1–3 distinct future times within 14 days, in five-minute steps. Raises Invalid."""
    now = now or utcnow()
    starts = sorted(set(starts))
    if not TIMES_MIN <= len(starts) <= TIMES_MAX:
        raise Invalid(_("Choose one, two or three times for the call."), "times")
    for start in starts:
        if start.tzinfo is None:
            raise ValueError("proposed times must be aware")
        if start < now + LEAD:
            raise Invalid(
                _(
                    "A proposed time lies in the past or too soon: choose one at least two "
                    "hours ahead."
                ),
                "times",
            )
        if start > now + HORIZON:
            raise Invalid(_("Please propose times within the next 14 days."), "times")
        if start.minute % 5 or start.second or start.microsecond:
            raise Invalid(_("Please propose times in five-minute steps."), "times")
    if any(b - a < timedelta(minutes=length) for a, b in pairwise(starts)):
        raise Invalid(_("Two of the proposed times overlap; choose times further apart."), "times")
    return starts


def _check_place(mode: str, place: str, requester: Profile, recipient: Profile, name: str) -> str:
    if mode not in MODES:
        raise Invalid(_("Choose a video call or a meeting in person."), "mode")
    place = clean(place, PLACE_MAX, "place", None)
    if mode == "video":
        if place:
            parts = urlsplit(place)
            if parts.scheme not in ("http", "https") or not parts.netloc or " " in place:
                raise Invalid(
                    _("The video link must be a web address starting with https:// or http://."),
                    "place",
                )
        return place
    if requester.meeting_mode == "video" or recipient.meeting_mode == "video":
        raise Invalid(_("One of you meets by video only, so please choose a video call."), "mode")
    if not place:
        raise Invalid(
            _("Name a public place to meet, such as a café or a coworking space."), "place"
        )
    return place


# --- requesting -------------------------------------------------------------------


def _room_left(user_id: int) -> bool:
    profile = db.session.get(Profile, user_id)
    capacity = profile.capacity if profile is not None else 0
    return tandems.binding_count(user_id) < capacity


def _recently_closed(a: int, b: int, now: datetime) -> IntroRequest | None:
    """A declined or "not a fit" request of the pair within the last 90 days."""
    low, high = pair_key(a, b)
    return db.session.scalar(
        select(IntroRequest)
        .where(
            IntroRequest.low_id == low,
            IntroRequest.high_id == high,
            IntroRequest.state.in_(("declined", "not_a_fit")),
            IntroRequest.closed_at > now - PAUSE,
        )
        .order_by(IntroRequest.closed_at.desc())
        .limit(1)
    )


def _too_many_open() -> Invalid:
    return Invalid(
        _(
            "You have %(num)d open requests, the most you can have at once. Wait for an "
            "answer or withdraw one first.",
            num=OPEN_OUTGOING_MAX,
        )
    )


def recipient_for(requester: User, recipient_id: int) -> tuple[User, Profile]:
    """The member to ask, if `requester` may ask them at all.

    Raises NotFound (unknown, oneself, blocked either way, suspended, unconfirmed or
    hidden: the same answer, so nothing leaks).
    """
    user, profile = profiles.member_for(requester.id, recipient_id)
    if profile.visibility != "members" or db.session.get(Profile, recipient_id) is None:
        raise NotFound("member")
    return user, profile


def check_can_request(requester: User, recipient_id: int, now: datetime | None = None) -> User:
    """Everything that must hold before a request (also to show the form). Raises a DomainError."""
    now = now or utcnow()
    recipient, their_profile = recipient_for(requester, recipient_id)
    name = recipient.display_name
    existing = open_between(requester.id, recipient_id)
    if existing is not None:
        raise Conflict(
            _("You and %(name)s already have an open intro request.", name=name), "existing"
        )
    mine = db.session.get(Profile, requester.id)
    if mine is None or mine.visibility != "members":
        raise Invalid(
            _(
                "Your profile is hidden: show it to members first, so that %(name)s can see "
                "who is asking.",
                name=name,
            )
        )
    if their_profile.status != "open":
        raise Invalid(
            _("%(name)s has paused their profile and takes no requests right now.", name=name)
        )
    if not _room_left(recipient_id):
        raise Invalid(_("%(name)s has no room for another partnership right now.", name=name))
    if not _room_left(requester.id):
        raise Invalid(
            _(
                "You are at the number of partnerships your profile allows. Raise it in your "
                "profile, or end one first."
            )
        )
    if open_outgoing(requester.id) >= OPEN_OUTGOING_MAX:
        raise _too_many_open()
    closed = _recently_closed(requester.id, recipient_id, now)
    if closed is not None:
        raise Invalid(
            _(
                "An earlier intro request between you and %(name)s ended recently without "
                "going on. Give it time: you can ask again after %(num)d days.",
                name=name,
                num=PAUSE.days,
            )
        )
    return recipient


def send_request(
    requester: User,
    recipient_id: int,
    message: str,
    starts: list[datetime],
    length: int = 30,
    mode: str = "video",
    place: str = "",
    source: str = "profile",
    now: datetime | None = None,
) -> IntroRequest:
    """Ask another member for an intro call at one of 1–3 proposed times.

    Asking again while the request is open returns the open request (a double click is
    harmless). Raises NotFound (blocked, hidden, suspended …), Conflict (they already asked
    you) or Invalid (paused, full, five open requests, bad times, text or place).
    """
    now = now or utcnow()
    existing = open_between(requester.id, recipient_id)
    if existing is not None and existing.requester_id == requester.id:
        return existing
    if existing is not None:
        name = db.session.get(User, recipient_id).display_name
        raise Conflict(
            _("%(name)s has already asked you for an intro call: answer there.", name=name),
            "existing",
        )
    recipient = check_can_request(requester, recipient_id, now)
    if source not in SOURCES:
        source = "profile"
    if length not in LENGTHS:
        raise Invalid(_("The call lasts 20 or 30 minutes."), "length")
    message = clean(
        message,
        MESSAGE_MAX,
        "message",
        _("Write a few words: who you are and why you would like to talk."),
    )
    starts = check_times(starts, length, now)
    place = _check_place(
        mode,
        place,
        db.session.get(Profile, requester.id),
        db.session.get(Profile, recipient_id),
        recipient.display_name,
    )
    low, high = pair_key(requester.id, recipient_id)
    try:
        with transaction():
            # The requester's row is the lock that orders their concurrent requests.
            # FOR NO KEY UPDATE: rows that merely refer to the member (the request itself)
            # take a key-share lock on it, which this must not wait for.
            db.session.execute(
                select(User.id).where(User.id == requester.id).with_for_update(key_share=True)
            )
            taken = set(
                db.session.scalars(
                    select(IntroRequest.sender_slot).where(
                        IntroRequest.requester_id == requester.id,
                        IntroRequest.state.in_(OPEN_STATES),
                    )
                )
            )
            free = [n for n in range(1, OPEN_OUTGOING_MAX + 1) if n not in taken]
            if not free:
                raise _too_many_open()
            intro = IntroRequest(
                requester_id=requester.id,
                recipient_id=recipient_id,
                low_id=low,
                high_id=high,
                state="pending",
                source=source,
                sender_slot=free[0],
                message=message,
                length_minutes=length,
                mode=mode,
                place=place,
                turn_id=recipient_id,
                awaiting_since=now,
                slot_round=1,
                created_at=now,
                updated_at=now,
            )
            intro.slots = [
                IntroSlot(
                    round=1,
                    proposed_by_id=requester.id,
                    start=start,
                    end=start + timedelta(minutes=length),
                )
                for start in starts
            ]
            db.session.add(intro)
            db.session.flush()
            _tell(recipient, "intro_request", intro, requester, mail=True)
    except IntegrityError:
        # Another tab or server sent a request of this pair (or took the same place) first.
        existing = open_between(requester.id, recipient_id)
        if existing is not None and existing.requester_id == requester.id:
            return existing
        raise Conflict(
            _("You and %(name)s already have an open intro request.", name=recipient.display_name),
            "existing",
        ) from None
    return intro


# --- answering --------------------------------------------------------------------


def _conditional(intro: IntroRequest, states: tuple[str, ...], **values) -> None:
    """Change the request only from one of `states` (the row is locked; this is the
    belt to the lock's braces). Raises Conflict when it moved on meanwhile."""
    result = db.session.execute(
        update(IntroRequest)
        .where(IntroRequest.id == intro.id, IntroRequest.state.in_(states))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict(_("This request changed meanwhile. Please look at it again."))
    db.session.refresh(intro)


def _closed_message(intro: IntroRequest) -> str:
    return {
        "declined": _("This request was answered with a no; there is nothing left to do."),
        "withdrawn": _("This request was withdrawn."),
        "expired": _("This request was closed: it waited too long for an answer or a decision."),
        "cancelled": _("This intro call was cancelled."),
        "continued": _("You both decided to continue: you are a tandem now."),
        "not_a_fit": _("This intro call is closed: it was not the right fit."),
    }.get(intro.state, _("This request changed meanwhile. Please look at it again."))


def accept_time(
    user: User, request_id: int, slot_id: int, now: datetime | None = None
) -> IntroRequest:
    """Pick one of the proposed times: the call is scheduled. The same pick again is harmless.

    Raises NotFound (not one's request, unknown time), NotAllowed (it is the other's turn),
    Conflict (no longer pending) or Invalid (the time has passed).
    """
    now = now or utcnow()
    with transaction():
        intro = request_for(user, request_id, lock=True)
        slot = next((s for s in intro.slots if s.id == slot_id), None)
        if slot is None:
            raise NotFound("slot")
        if intro.state == "scheduled" and intro.scheduled_start == slot.start:
            return intro  # the second click of a double click
        if intro.state != "pending":
            raise Conflict(
                _closed_message(intro)
                if intro.state != "scheduled"
                else _("The call is already scheduled; propose new times to move it.")
            )
        if intro.turn_id != user.id:
            raise NotAllowed(
                _("You proposed these times; %(name)s picks one.", name=_name(intro.turn_id))
            )
        if slot.round != intro.slot_round:
            raise Conflict(_("These times were replaced by newer ones. Please look again."))
        if slot.start <= now:
            raise Invalid(_("This time has passed. Please propose new times instead."), "times")
        _conditional(
            intro,
            ("pending",),
            state="scheduled",
            scheduled_start=slot.start,
            scheduled_end=slot.end,
            turn_id=None,
            reminded_at=None,
            sequence=intro.sequence + 1,
            updated_at=now,
        )
        other = db.session.get(User, intro.other_id(user.id))
        for member, partner in ((other, user), (user, other)):
            _tell(member, "intro_scheduled", intro, partner, mail=True, attach=True)
    return intro


def propose_times(
    user: User,
    request_id: int,
    starts: list[datetime],
    note: str = "",
    now: datetime | None = None,
) -> IntroRequest:
    """Offer other times: when it is one's turn, or to move a scheduled call that has not
    begun (the call is then open again until the other picks a time).

    Raises NotFound, NotAllowed (the other's turn), Conflict (closed or the call has begun)
    or Invalid (bad times or note).
    """
    now = now or utcnow()
    note = clean(note, MESSAGE_MAX, "note", None)
    with transaction():
        intro = request_for(user, request_id, lock=True)
        starts = check_times(starts, intro.length_minutes, now)
        if intro.state == "pending" and intro.turn_id != user.id:
            raise NotAllowed(
                _(
                    "You proposed times already; %(name)s answers next.",
                    name=_name(intro.turn_id),
                )
            )
        if intro.state == "scheduled" and call_started(intro, now):
            raise Conflict(_("The call has begun; it can no longer be moved."))
        if intro.state not in OPEN_STATES:
            raise Conflict(_closed_message(intro))
        if {s.start for s in intro.open_slots} == set(starts) and intro.turn_id != user.id:
            return intro  # the same proposal sent twice
        moving = intro.state == "scheduled"
        other_id = intro.other_id(user.id)
        new_round = intro.slot_round + 1
        _conditional(
            intro,
            (intro.state,),
            state="pending",
            turn_id=other_id,
            awaiting_since=now,
            reminded_at=None,
            slot_round=new_round,
            scheduled_start=None,
            scheduled_end=None,
            sequence=intro.sequence + (1 if moving else 0),
            updated_at=now,
        )
        for start in starts:
            db.session.add(
                IntroSlot(
                    request_id=intro.id,
                    round=new_round,
                    proposed_by_id=user.id,
                    start=start,
                    end=start + timedelta(minutes=intro.length_minutes),
                )
            )
        if note:
            db.session.add(IntroMessage(request_id=intro.id, author_id=user.id, body=note))
        db.session.flush()
        db.session.refresh(intro)
        other = db.session.get(User, other_id)
        _tell(other, "intro_moved" if moving else "intro_times", intro, user, mail=True)
    return intro


def decline(user: User, request_id: int, reason: str, now: datetime | None = None) -> IntroRequest:
    """Say no kindly, with an optional reason from a short list. Again is harmless.

    Only the member who was asked can decline, while the request is pending. Raises
    NotFound, NotAllowed (the requester: withdraw instead), Conflict or Invalid (reason).
    """
    now = now or utcnow()
    if reason and reason not in DECLINE_REASONS:
        raise Invalid(_("Choose one of the reasons, or none."), "reason")
    with transaction():
        intro = request_for(user, request_id, lock=True)
        if intro.state == "declined":
            return intro
        if intro.requester_id == user.id:
            raise NotAllowed(_("You sent this request; you can withdraw it instead."))
        if intro.state != "pending":
            raise Conflict(_closed_message(intro))
        _conditional(
            intro,
            ("pending",),
            state="declined",
            decline_reason=reason or None,
            turn_id=None,
            closed_by_id=user.id,
            closed_at=now,
            updated_at=now,
        )
        requester = db.session.get(User, intro.requester_id)
        _tell(requester, "intro_declined", intro, user, mail=True)
    return intro


def withdraw(user: User, request_id: int, now: datetime | None = None) -> IntroRequest:
    """Take back one's own pending request. Again is harmless.

    Raises NotFound, NotAllowed (the member who was asked: decline instead) or Conflict.
    """
    now = now or utcnow()
    with transaction():
        intro = request_for(user, request_id, lock=True)
        if intro.state == "withdrawn":
            return intro
        if intro.requester_id != user.id:
            raise NotAllowed(_("Only the member who asked can withdraw a request."))
        if intro.state != "pending":
            raise Conflict(
                _("The call is scheduled: cancel it instead.")
                if intro.state == "scheduled"
                else _closed_message(intro)
            )
        _conditional(
            intro,
            ("pending",),
            state="withdrawn",
            turn_id=None,
            closed_by_id=user.id,
            closed_at=now,
            updated_at=now,
        )
        _tell(db.session.get(User, intro.recipient_id), "intro_withdrawn", intro, user, mail=True)
    return intro


def cancel_call(
    user: User, request_id: int, note: str = "", now: datetime | None = None
) -> IntroRequest:
    """Cancel a scheduled call before it begins (either member); calendars are updated.

    Again is harmless. Raises NotFound, Conflict (not scheduled, or begun) or Invalid (note).
    """
    now = now or utcnow()
    note = clean(note, MESSAGE_MAX, "note", None)
    with transaction():
        intro = request_for(user, request_id, lock=True)
        if intro.state == "cancelled":
            return intro
        if intro.state != "scheduled":
            raise Conflict(
                _("The call is not scheduled; withdraw or decline the request instead.")
                if intro.state == "pending"
                else _closed_message(intro)
            )
        if call_started(intro, now):
            raise Conflict(
                _("The call has begun. Afterwards, tell us whether you want to continue.")
            )
        _conditional(
            intro,
            ("scheduled",),
            state="cancelled",
            closed_by_id=user.id,
            closed_at=now,
            sequence=intro.sequence + 1,
            updated_at=now,
        )
        if note:
            db.session.add(IntroMessage(request_id=intro.id, author_id=user.id, body=note))
        other = db.session.get(User, intro.other_id(user.id))
        _tell(other, "intro_cancelled", intro, user, mail=True, attach=True)
    return intro


def record_outcome(
    user: User,
    request_id: int,
    outcome: str,
    feedback: str = "",
    now: datetime | None = None,
) -> IntroRequest:
    """After the call: "let's continue" or "not a fit", with optional private feedback.

    When both continue, a tandem is formed (once: the schema holds one tandem per request);
    "not a fit" closes the request kindly and keeps the pair apart for 90 days. The same
    answer again is harmless; a different one after answering is refused. Raises NotFound,
    Conflict (not yet held, closed, answered otherwise, no room left) or Invalid.
    """
    now = now or utcnow()
    if outcome not in OUTCOMES:
        raise Invalid(_("Choose “Let's continue” or “Not a fit”."), "outcome")
    feedback = clean(feedback, FEEDBACK_MAX, "feedback", None)
    with transaction():
        intro = request_for(user, request_id, lock=True)
        mine = intro.outcome_of(user.id)
        if mine == outcome:
            return intro
        if mine is not None:
            raise Conflict(_("You have already decided; your answer can no longer change."))
        if intro.state != "scheduled":
            raise Conflict(_closed_message(intro))
        if not call_started(intro, now):
            raise Conflict(_("You can decide once the call has taken place."))
        if outcome == "continue" and not _room_left(user.id):
            raise Conflict(
                _(
                    "You are at the number of partnerships your profile allows. Raise it in "
                    "your profile, or end one first."
                )
            )
        side = "requester" if user.id == intro.requester_id else "recipient"
        values = {f"{side}_outcome": outcome, "updated_at": now}
        if feedback:
            values[f"{side}_feedback"] = feedback
        _conditional(intro, ("scheduled",), **values)
        other = db.session.get(User, intro.other_id(user.id))
        theirs = intro.outcome_of(other.id)
        if outcome == "not_a_fit":
            _conditional(
                intro, ("scheduled",), state="not_a_fit", closed_by_id=user.id, closed_at=now
            )
            pause_pair(user.id, other.id, "not_a_fit", user.id, now=now)
            _tell(other, "intro_not_a_fit", intro, user, mail=True)
        elif theirs == "continue":
            if not _room_left(other.id):
                raise Conflict(
                    _(
                        "%(name)s has no room for another partnership right now. Talk "
                        "about it in your messages.",
                        name=other.display_name,
                    )
                )
            _conditional(intro, ("scheduled",), state="continued", closed_at=now)
            tandem = tandems.start_tandem(
                [intro.requester_id, intro.recipient_id],
                intro_request_id=intro.id,
                place={"mode": intro.mode, "detail": intro.place},
                now=now,
            )
            for member, partner in ((other, user), (user, other)):
                _tell(member, "intro_continued", intro, partner, mail=True, tandem_id=tandem.id)
        else:
            _tell(other, "intro_decided", intro, user, mail=True)
    return intro


def close_for_block(blocker_id: int, blocked_id: int, now: datetime | None = None) -> None:
    """A block ends the pair's open request, in the caller's transaction.

    Nobody is notified: telling the other member would tell them they were blocked.
    """
    now = now or utcnow()
    low, high = pair_key(blocker_id, blocked_id)
    db.session.execute(
        update(IntroRequest)
        .where(
            IntroRequest.low_id == low,
            IntroRequest.high_id == high,
            IntroRequest.state.in_(OPEN_STATES),
        )
        .values(
            state="cancelled",
            turn_id=None,
            closed_by_id=blocker_id,
            closed_at=now,
            updated_at=now,
            sequence=IntroRequest.sequence + 1,
        )
        .execution_options(synchronize_session=False)
    )


def tandem_of(intro: IntroRequest):
    """The tandem that grew out of this request, if any."""
    return db.session.scalar(select(Tandem).where(Tandem.intro_request_id == intro.id))


# --- messages ---------------------------------------------------------------------


def post_message(
    user: User, request_id: int, body: str, now: datetime | None = None
) -> IntroMessage:
    """Add a plain-text message to the request's thread (while it is open).

    Raises NotFound, Conflict (closed) or Invalid (empty or too long).
    """
    now = now or utcnow()
    body = clean(body, MESSAGE_MAX, "body", _("Write a message first."))
    with transaction():
        intro = request_for(user, request_id, lock=True)
        if intro.state not in OPEN_STATES:
            raise Conflict(_closed_message(intro))
        message = IntroMessage(request_id=intro.id, author_id=user.id, body=body, created_at=now)
        db.session.add(message)
        intro.updated_at = now
        other = db.session.get(User, intro.other_id(user.id))
        # One mail per unread stretch: the first unread message mails, the rest only notify.
        link = site_path("intros.show", request_id=intro.id)
        unread = db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(
                Notification.user_id == other.id,
                Notification.kind == "intro_message",
                Notification.link == link,
                Notification.read_at.is_(None),
            )
        )
        _tell(other, "intro_message", intro, user, mail=not unread)
    return message


# --- scheduled work (flask --app app tick) -----------------------------------------


@dataclass
class TickReport:
    """What one run of the scheduled work did."""

    expired: int = 0
    reminded: int = 0
    prompted: int = 0
    lapsed: int = 0
    errors: list[str] = field(default_factory=list)


def _state_is(state: str):
    """`state = 'name'` written as a literal: SQLite (and a generic PostgreSQL plan) can
    only use the partial indexes `tick` relies on when the state is not a parameter."""
    assert state in OPEN_STATES
    return IntroRequest.state == literal_column(f"'{state}'")


def _due(*conditions) -> list[int]:
    """Ids of requests matching `conditions`, in no particular order: ordering by id would
    make SQLite walk the whole table instead of the small partial index."""
    return list(db.session.scalars(select(IntroRequest.id).where(*conditions)))


def tick(now: datetime | None = None) -> TickReport:
    """Expire unanswered requests, remind after three days, ask for the decision after a
    call, and close calls nobody decided on. Safe to run often and twice at once: every
    change is conditional on the state it was chosen in."""
    now = now or utcnow()
    report = TickReport()
    for request_id in _due(_state_is("pending"), IntroRequest.awaiting_since <= now - EXPIRY):
        report.expired += _close_stale(request_id, now, ("pending",), "intro_expired")
    for request_id in _due(
        _state_is("pending"),
        IntroRequest.awaiting_since <= now - REMINDER_AFTER,
        IntroRequest.reminded_at.is_(None),
    ):
        report.reminded += _remind(request_id, now)
    for request_id in _due(
        _state_is("scheduled"),
        IntroRequest.scheduled_end <= now,
        IntroRequest.outcome_prompted_at.is_(None),
    ):
        report.prompted += _prompt(request_id, now)
    for request_id in _due(
        _state_is("scheduled"), IntroRequest.scheduled_end <= now - DECIDE_WITHIN
    ):
        report.lapsed += _close_stale(request_id, now, ("scheduled",), "intro_lapsed")
    return report


def _claim(request_id: int, where, **values) -> IntroRequest | None:
    """Change one due request if it is still due (another tick may have been first)."""
    result = db.session.execute(
        update(IntroRequest)
        .where(IntroRequest.id == request_id, *where)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return None
    return db.session.get(IntroRequest, request_id, populate_existing=True)


def _close_stale(request_id: int, now: datetime, states: tuple[str, ...], kind: str) -> int:
    with transaction():
        condition = (
            IntroRequest.awaiting_since <= now - EXPIRY
            if states == ("pending",)
            else IntroRequest.scheduled_end <= now - DECIDE_WITHIN
        )
        intro = _claim(
            request_id,
            (IntroRequest.state.in_(states), condition),
            state="expired",
            turn_id=None,
            closed_at=now,
            updated_at=now,
            sequence=IntroRequest.sequence + (1 if states == ("scheduled",) else 0),
        )
        if intro is None:
            return 0
        requester = db.session.get(User, intro.requester_id)
        recipient = db.session.get(User, intro.recipient_id)
        _tell(requester, kind, intro, recipient, mail=True)
        _tell(recipient, kind, intro, requester, mail=True)
    return 1


def _remind(request_id: int, now: datetime) -> int:
    with transaction():
        intro = _claim(
            request_id,
            (
                IntroRequest.state == "pending",
                IntroRequest.reminded_at.is_(None),
                IntroRequest.awaiting_since <= now - REMINDER_AFTER,
            ),
            reminded_at=now,
        )
        if intro is None:
            return 0
        waiting = db.session.get(User, intro.turn_id)
        _tell(
            waiting,
            "intro_reminder",
            intro,
            db.session.get(User, intro.other_id(waiting.id)),
            mail=True,
        )
    return 1


def _prompt(request_id: int, now: datetime) -> int:
    with transaction():
        intro = _claim(
            request_id,
            (
                IntroRequest.state == "scheduled",
                IntroRequest.scheduled_end <= now,
                IntroRequest.outcome_prompted_at.is_(None),
            ),
            outcome_prompted_at=now,
        )
        if intro is None:
            return 0
        requester = db.session.get(User, intro.requester_id)
        recipient = db.session.get(User, intro.recipient_id)
        for member, partner in ((requester, recipient), (recipient, requester)):
            if intro.outcome_of(member.id) is None:
                _tell(member, "intro_decide", intro, partner, mail=True)
    return 1


# --- telling the other member -----------------------------------------------------


def _name(user_id: int | None) -> str:
    user = db.session.get(User, user_id) if user_id else None
    return user.display_name if user else ""


def call_status(intro: IntroRequest) -> str | None:
    """The call's iCalendar STATUS, or None when it never had a time in anyone's calendar.

    A call with a time is confirmed (also once it took place); moved and waiting for a new
    time it is tentative; cancelled, or closed after a move, it is cancelled.
    """
    if intro.state == "cancelled":
        return "CANCELLED"
    if intro.scheduled_start is not None:
        return "CONFIRMED"
    if intro.sequence == 0 or not intro.slots:
        return None  # never scheduled: no calendar has it
    return "TENTATIVE" if intro.state == "pending" else "CANCELLED"


def call_event(intro: IntroRequest, viewer: User) -> SingleEvent | None:
    """The call as a calendar event in the viewer's zone and language (the same UID always;
    the SEQUENCE rises with every change of time or status), or None without a time."""
    from flask_babel import force_locale

    status = call_status(intro)
    if status is None and intro.state == "pending" and intro.open_slots:
        status = "TENTATIVE"  # a download of a pending request shows its first proposed time
    if status is None:
        return None
    other = db.session.get(User, intro.other_id(viewer.id))
    start = intro.scheduled_start or (intro.open_slots[0].start if intro.open_slots else None)
    if start is None:
        return None
    end = intro.scheduled_end or start + timedelta(minutes=intro.length_minutes)
    with force_locale(viewer.language):
        summary = _("Intro call with %(name)s", name=other.display_name)
        if intro.mode == "in_person":
            location = intro.place
        else:
            location = intro.place or _("Video call (the link follows in your messages)")
        description = _(
            "A short, non-binding intro call on PeerHub to get to know each other. "
            "Afterwards, each of you tells PeerHub whether you want to continue."
        )
    host = urlsplit(current_app.config["PEERHUB_BASE_URL"]).hostname or "peerhub"
    return SingleEvent(
        uid=f"intro-{intro.id}@{host}",
        start=start,
        end=end,
        zone=viewer.timezone,
        summary=summary,
        description=description,
        location=location,
        url=absolute_url("intros.show", request_id=intro.id),
        sequence=intro.sequence,
        status=status,
        stamp=intro.updated_at,
        created=intro.created_at,
    )


def ics_for(intro: IntroRequest, viewer: User) -> bytes:
    """The call as an iCalendar file in the viewer's zone and language. Raises NotFound
    when the call has no time."""
    from flask_babel import force_locale

    event = call_event(intro, viewer)
    if event is None:
        raise NotFound("call")
    with force_locale(viewer.language):
        calendar_name = _("PeerHub intro call")
    return calendar_bytes(calendar_name, [event])


def _tell(
    member: User,
    kind: str,
    intro: IntroRequest,
    partner: User,
    mail: bool = False,
    attach: bool = False,
    tandem_id: int | None = None,
) -> None:
    """Notify `member` of a step (in the app and, when `mail`, by mail in their language),
    in the caller's transaction."""
    if tandem_id is not None:
        path, url = (
            site_path("tandems.show", tandem_id=tandem_id),
            absolute_url("tandems.show", tandem_id=tandem_id),
        )
    else:
        path = site_path("intros.show", request_id=intro.id)
        url = absolute_url("intros.show", request_id=intro.id)
    notify(member.id, kind, link=path, name=partner.display_name)
    if not mail:
        return
    attachment = None
    if attach:
        attachment = ("intro-call.ics", ICS_CONTENT_TYPE, ics_for(intro, member).decode("utf-8"))
    queue_mail(
        member.email,
        kind,
        member.language,
        subject_params={"name": partner.display_name},
        attachment=attachment,
        name=member.display_name,
        link=url,
        link_label=mails.LINK_LABELS.get(kind, _l("Open the request")),
        **mails.mail_text(kind, intro, member, partner),
    )
