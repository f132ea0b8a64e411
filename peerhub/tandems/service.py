"""Tandems and groups: who works together, the agreement every member signs, what its
activation sets going, invitations into a group, and ending or completing with respect.

Every change locks the agreement (or tandem) row first and then checks the state it
finds, so two members saving, signing or ending at the same moment give one result.
No request here: views, the CLI and the tests call these functions alike.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from peerhub.accounts.models import User
from peerhub.errors import Conflict, Invalid, NotFound
from peerhub.extensions import db, transaction, utcnow
from peerhub.meetings import series
from peerhub.meetings.models import Series
from peerhub.notifications.service import notify, queue_mail
from peerhub.plaintext import clean
from peerhub.tandems import agreement as texts
from peerhub.tandems.mails import mail_text
from peerhub.tandems.models import (
    BINDING_STATES,
    END_REASONS,
    GROUP_MAX,
    NOTE_MAX,
    TERM_CHOICES,
    Agreement,
    AgreementVersion,
    Signature,
    Tandem,
    TandemDeparture,
    TandemInvitation,
    TandemMember,
)
from peerhub.web.urls import absolute_url, site_path

TERM_REMINDER = timedelta(days=14)  # before the term ends, members are asked how to go on


# --- reading ---------------------------------------------------------------------------


def binding_count(user_id: int) -> int:
    """How many forming or active tandems the member is in (what capacity counts)."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(TandemMember)
            .join(Tandem, Tandem.id == TandemMember.tandem_id)
            .where(TandemMember.user_id == user_id, Tandem.state.in_(BINDING_STATES))
        )
        or 0
    )


def has_room(user_id: int) -> bool:
    """Whether the member can take on another tandem (their capacity, from the profile)."""
    from peerhub.profiles.models import Profile

    profile = db.session.get(Profile, user_id)
    return profile is not None and binding_count(user_id) < profile.capacity


def tandem_for(user: User, tandem_id: int, lock: bool = False) -> Tandem:
    """A tandem the member belongs to. Raises NotFound for anyone else, moderators included."""
    query = select(Tandem).where(Tandem.id == tandem_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    tandem = db.session.scalar(query)
    if tandem is None or user.id not in tandem.member_ids():
        raise NotFound("tandem")
    return tandem


def locked(tandem_id: int) -> Tandem:
    """The tandem row, locked and read afresh (timed work that no member asked for)."""
    return db.session.scalar(
        select(Tandem)
        .where(Tandem.id == tandem_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def tandems_of(user_id: int, states: tuple[str, ...] = BINDING_STATES) -> list[Tandem]:
    """The member's tandems in `states`, newest first."""
    return list(
        db.session.scalars(
            select(Tandem)
            .join(TandemMember, TandemMember.tandem_id == Tandem.id)
            .where(TandemMember.user_id == user_id, Tandem.state.in_(states))
            .order_by(Tandem.created_at.desc(), Tandem.id.desc())
        )
    )


def awaiting_signature(user_id: int, tandems: list[Tandem]) -> list[Tandem]:
    """Of `tandems`, those whose latest agreement version the member has not signed."""
    if not tandems:
        return []
    agreements = {
        a.tandem_id: a
        for a in db.session.scalars(
            select(Agreement).where(Agreement.tandem_id.in_([t.id for t in tandems]))
        )
    }
    signed = {
        (s.agreement_id, s.version)
        for s in db.session.scalars(select(Signature).where(Signature.user_id == user_id))
    }
    return [
        t
        for t in tandems
        if t.id in agreements and (agreements[t.id].id, agreements[t.id].version) not in signed
    ]


def partners(tandem: Tandem, user_id: int) -> list[User]:
    """The other members of the tandem, by name."""
    others = [db.session.get(User, m.user_id) for m in tandem.members if m.user_id != user_id]
    return sorted((u for u in others if u is not None), key=lambda u: u.display_name.casefold())


def names_of(tandem: Tandem) -> dict[int, str]:
    """The display name of every member of the tandem, by id."""
    rows = db.session.execute(
        select(User.id, User.display_name).where(User.id.in_(tandem.member_ids()))
    )
    return {uid: name for uid, name in rows}


def agreement_of(tandem: Tandem, lock: bool = False) -> Agreement:
    """The tandem's agreement (locked for the transaction when `lock`)."""
    query = select(Agreement).where(Agreement.tandem_id == tandem.id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.session.scalar(query)


def version_content(agreement: Agreement, number: int) -> dict[str, Any] | None:
    """The content of version `number`, exactly as it was written."""
    row = db.session.scalar(
        select(AgreementVersion).where(
            AgreementVersion.agreement_id == agreement.id, AgreementVersion.number == number
        )
    )
    return json.loads(row.canonical) if row else None


def versions_of(agreement: Agreement) -> list[AgreementVersion]:
    """Every version, oldest first."""
    return list(
        db.session.scalars(
            select(AgreementVersion)
            .where(AgreementVersion.agreement_id == agreement.id)
            .order_by(AgreementVersion.number)
        )
    )


def signatures_of(agreement: Agreement, version: int | None = None) -> list[Signature]:
    """The signatures of one version (or of all), in signing order."""
    query = select(Signature).where(Signature.agreement_id == agreement.id)
    if version is not None:
        query = query.where(Signature.version == version)
    return list(db.session.scalars(query.order_by(Signature.signed_at, Signature.id)))


@dataclass
class AgreementStatus:
    """Who signed the latest version, who still needs to, and which version is in force."""

    version: int
    in_force: int | None
    signed: list[Signature]
    missing: list[int]  # user ids

    @property
    def complete(self) -> bool:
        return not self.missing


def status_of(tandem: Tandem, agreement: Agreement) -> AgreementStatus:
    signed = signatures_of(agreement, agreement.version)
    by = {s.user_id for s in signed}
    return AgreementStatus(
        version=agreement.version,
        in_force=agreement.in_force_version,
        signed=signed,
        missing=[uid for uid in tandem.member_ids() if uid not in by],
    )


def series_of(tandem: Tandem) -> list[Series]:
    """The tandem's series in order (with their session records)."""
    return series.series_of(tandem.id)


def next_sessions(
    tandem: Tandem, now: datetime | None = None, limit: int = 4
) -> list[series.Session]:
    """The next sessions of the tandem that take place; in a group the roles rotate through
    the members in their order, one step per session (counted across a change of rhythm)."""
    return series.next_sessions(tandem, now or utcnow(), limit)


# --- forming -------------------------------------------------------------------------------


def _majority_language(users: list[User]) -> str:
    counts = Counter(u.language for u in users)
    return "de" if counts["de"] >= counts["en"] else "en"


def _first_draft(users: list[User], today: date, place: dict[str, str] | None) -> dict[str, Any]:
    """A first agreement for these members: their own goals, a time they are all free, and
    the practice's framework in the language most of them speak."""
    from peerhub.profiles.models import Profile

    profiles = [db.session.get(Profile, u.id) for u in users]
    goals: list[str] = []
    for profile in profiles:
        if profile is not None and profile.goals:
            goal = profile.goals[0].text.strip()
            if goal and goal.casefold() not in {g.casefold() for g in goals}:
                goals.append(goal)
    rhythm = _shared_rhythm(users, profiles, today)
    if place is None:
        in_person = all(p is not None and p.meeting_mode != "video" for p in profiles)
        city = next((p.city for p in profiles if p is not None and p.city), "")
        place = (
            {"mode": "in_person", "detail": city}
            if in_person and city
            else {"mode": "video", "detail": ""}
        )
    return texts.defaults(_majority_language(users), goals, rhythm, place, today)


def _shared_rhythm(users: list[User], profiles: list, today: date) -> dict[str, Any]:
    """Weekly or every two weeks as most prefer; the first weekly time all are free for the
    session length, in the first member's zone (Tuesday 18:00 when nothing is shared)."""
    from peerhub.intros.service import offered_times

    rhythms = Counter(p.rhythm for p in profiles if p is not None)
    lengths = [p.session_length for p in profiles if p is not None]
    length = max(lengths) if lengths else 60
    zone = users[0].timezone
    weekday, start = 1, "18:00"
    moment = None
    if len(users) >= 2:
        now = datetime.combine(today, time(), tzinfo=UTC)
        times = offered_times(users[0], users[1], length, now=now)
        for user in users[2:]:
            others = set(offered_times(users[0], user, length, now=now))
            times = [t for t in times if t in others]
        moment = times[0] if times else None
    if moment is not None:
        local = moment.astimezone(ZoneInfo(zone))
        weekday, start = local.weekday(), f"{local:%H:%M}"
    return {
        "frequency": "biweekly" if rhythms["biweekly"] > rhythms["weekly"] else "weekly",
        "weekday": weekday,
        "start": start,
        "zone": zone,
        "length": 90 if length == 90 else 60,
    }


def _write_version(
    agreement: Agreement,
    content: dict[str, Any],
    by_id: int | None,
    section: str | None,
    now: datetime,
) -> None:
    db.session.add(
        AgreementVersion(
            agreement_id=agreement.id,
            number=agreement.version,
            canonical=texts.canonical(content),
            content_hash=texts.content_hash(content),
            changed_section=section,
            created_at=now,
            created_by_id=by_id,
        )
    )


def start_tandem(
    user_ids: list[int],
    intro_request_id: int | None = None,
    proposal_id: int | None = None,
    place: dict[str, str] | None = None,
    now: datetime | None = None,
) -> Tandem:
    """A new tandem (or group) in the state forming, with a first draft of its agreement,
    in the caller's transaction."""
    now = now or utcnow()
    ids = list(dict.fromkeys(user_ids))
    tandem = Tandem(
        intro_request_id=intro_request_id, proposal_id=proposal_id, state="forming", created_at=now
    )
    tandem.members = [TandemMember(user_id=uid, position=n) for n, uid in enumerate(ids)]
    db.session.add(tandem)
    db.session.flush()
    users = [db.session.get(User, uid) for uid in ids]
    content = _first_draft(users, now.date(), place)
    agreement = Agreement(tandem_id=tandem.id, version=1, content=content, updated_at=now)
    db.session.add(agreement)
    db.session.flush()
    _write_version(agreement, content, None, None, now)
    return tandem


# --- editing ---------------------------------------------------------------------------------


class StaleSave(Conflict):
    """Someone saved the same section after the member began editing: both texts, so the
    member can compare and decide (HTTP 409)."""

    def __init__(
        self, message: str, section: str, theirs: Any, yours: Any, version: int, by: str
    ) -> None:
        super().__init__(message, section)
        self.section, self.theirs, self.yours, self.version, self.by = (
            section,
            theirs,
            yours,
            version,
            by,
        )


def _require_editable(tandem: Tandem) -> None:
    if tandem.state not in BINDING_STATES:
        raise Conflict(_("This tandem has ended; its agreement can no longer change."))


def save_section(
    user: User,
    tandem_id: int,
    section: str,
    data: dict[str, Any],
    base_version: int,
    now: datetime | None = None,
) -> Agreement:
    """Save one section, as a new version that everyone signs again.

    `base_version` is the version the member was editing. If the same section changed
    since, nothing is saved and StaleSave carries both texts; changes to other sections
    meanwhile are kept. Saving what is already there changes nothing. Raises NotFound,
    Conflict (ended), StaleSave or Invalid.
    """
    now = now or utcnow()
    with transaction():
        tandem = tandem_for(user, tandem_id)
        _require_editable(tandem)
        agreement = agreement_of(tandem, lock=True)
        current = agreement.content
        value = texts.clean_section(section, data, current, now.date())
        if section not in texts.SECTIONS:
            raise Invalid(_("This part of the agreement does not exist."), "section")
        if base_version != agreement.version:
            base = version_content(agreement, base_version)
            if base is None or base.get(section) != current.get(section):
                if current.get(section) == value:
                    return agreement  # the other member saved the very same words
                # who changed this section last (the latest version may have changed another)
                editor_id = db.session.scalar(
                    select(AgreementVersion.created_by_id)
                    .where(
                        AgreementVersion.agreement_id == agreement.id,
                        AgreementVersion.changed_section == section,
                    )
                    .order_by(AgreementVersion.number.desc())
                    .limit(1)
                )
                editor = db.session.get(User, editor_id) if editor_id else None
                raise StaleSave(
                    _(
                        "%(name)s changed this section while you were editing. Compare both "
                        "texts, then save yours again if it should replace theirs.",
                        name=editor.display_name if editor else _("Someone"),
                    ),
                    section,
                    current.get(section),
                    value,
                    agreement.version,
                    editor.display_name if editor else "",
                )
        if current.get(section) == value:
            return agreement
        content = {**current, section: value}
        agreement.version += 1
        agreement.content = content
        agreement.updated_at, agreement.updated_by_id = now, user.id
        _write_version(agreement, content, user.id, section, now)
        for other in partners(tandem, user.id):
            _tell(other, "agreement_changed", tandem, user)
    return agreement


# --- signing -----------------------------------------------------------------------------------


def _same_name(typed: str, name: str) -> bool:
    def fold(value: str) -> str:
        return " ".join(value.split()).casefold()

    return fold(typed) == fold(name)


def sign(
    user: User,
    tandem_id: int,
    version: int,
    typed_name: str,
    confirmed: bool,
    now: datetime | None = None,
) -> Signature:
    """Sign version `version` by typing one's full name and confirming.

    When every current member has signed the latest version, it comes into force: a forming
    tandem becomes active, and the series follows the rhythm and term (see `_in_force`).
    Signing twice is harmless. Raises NotFound, Conflict (a newer version exists: read it
    first; or the tandem ended) or Invalid (name or confirmation missing).
    """
    now = now or utcnow()
    typed = " ".join((typed_name or "").split())
    if not confirmed:
        raise Invalid(_("Please confirm that you agree."), "confirm")
    if not _same_name(typed, user.display_name):
        raise Invalid(
            _("Type your full name as it appears on PeerHub: %(name)s", name=user.display_name),
            "full_name",
        )
    with transaction():
        tandem = tandem_for(user, tandem_id, lock=True)
        _require_editable(tandem)
        agreement = agreement_of(tandem, lock=True)
        existing = db.session.scalar(
            select(Signature).where(
                Signature.agreement_id == agreement.id,
                Signature.version == version,
                Signature.user_id == user.id,
            )
        )
        if existing is not None:
            return existing
        if version != agreement.version:
            raise Conflict(
                _("The agreement changed since you read it. Please read the new version first.")
            )
        signature = Signature(
            agreement_id=agreement.id,
            version=version,
            user_id=user.id,
            typed_name=typed[:120],
            content_hash=_stored_hash(agreement, version),
            signed_at=now,
        )
        db.session.add(signature)
        db.session.flush()
        status = status_of(tandem, agreement)
        if status.complete:
            _in_force(tandem, agreement, now)
        else:
            for other in partners(tandem, user.id):
                _tell(other, "agreement_signed", tandem, user, mail=False)
    return signature


def _stored_hash(agreement: Agreement, version: int) -> str:
    """The hash written with the version (a signature names the words as they were stored)."""
    return db.session.scalar(
        select(AgreementVersion.content_hash).where(
            AgreementVersion.agreement_id == agreement.id, AgreementVersion.number == version
        )
    )


def _in_force(tandem: Tandem, agreement: Agreement, now: datetime) -> None:
    """Everyone signed the latest version: it is in force. A forming tandem becomes active;
    the series follows the rhythm and term from the next session on; check-ins follow the
    review interval."""
    if agreement.in_force_version == agreement.version:
        return
    old = agreement.in_force_version
    previous = version_content(agreement, old) if old is not None else None
    old_term = previous["term"] if previous is not None else None
    agreement.in_force_version = agreement.version
    content = agreement.content
    first = tandem.state == "forming"
    if old_term is not None and old_term != content["term"]:
        # a new term in force is reminded of and decided about anew
        tandem.term_reminded_at = None
        for member in tandem.members:
            member.term_choice = None
    if first:
        tandem.state, tandem.activated_at = "active", now
    tandem.updated_at = now
    series.follow_agreement(tandem.id, agreement.version, content, previous, now)
    every = timedelta(weeks=content["review"]["every_weeks"])
    start, _end = texts.term_dates(content)
    tandem.next_check_in_on = max(start, now.date()) + every
    for member in tandem.members:
        user = db.session.get(User, member.user_id)
        _tell(user, "tandem_active" if first else "agreement_in_force", tandem, None)


# --- ending and the end of the term ------------------------------------------------------


def leave_group(user: User, tandem_id: int, note: str = "", now: datetime | None = None) -> Tandem:
    """Leave a group of three or four while the others go on (a pair ends instead). The
    others are told, with the optional note; the roles rotate among those who stay, and
    the agreement in force stays signed by them. Raises NotFound (also when left already),
    Conflict (a pair, or the group ended) or Invalid (note too long)."""
    now = now or utcnow()
    note = clean(note, NOTE_MAX, "note")
    with transaction():
        tandem = tandem_for(user, tandem_id, lock=True)
        for other in depart(tandem, user, now):
            _tell(other, "tandem_left", tandem, user, note=note)
    return tandem


def depart(tandem: Tandem, user: User, now: datetime) -> list[User]:
    """`user` leaves the (locked) group in the caller's transaction; returns the others, to
    be told. Raises Conflict (a pair, or the group ended)."""
    _require_editable(tandem)
    if len(tandem.members) < 3:
        raise Conflict(_("A tandem of two ends together: end it instead."))
    others = partners(tandem, user.id)
    tandem.members = [m for m in tandem.members if m.user_id != user.id]
    tandem.updated_at = now
    db.session.merge(TandemDeparture(tandem_id=tandem.id, user_id=user.id, left_at=now))
    db.session.flush()
    return others


def end_early(
    user: User, tandem_id: int, reason: str, note: str = "", now: datetime | None = None
) -> Tandem:
    """End the tandem before its term (any member), with a reason and optional private
    feedback for the others; future sessions are cancelled and everyone is told kindly.

    Ending twice is harmless. Raises NotFound, Conflict (completed) or Invalid.
    """
    now = now or utcnow()
    if reason not in END_REASONS:
        raise Invalid(_("Choose a reason."), "reason")
    note = clean(note, NOTE_MAX, "note")
    with transaction():
        tandem = tandem_for(user, tandem_id, lock=True)
        for other in end_tandem(tandem, user, reason, now, note):
            _tell(other, "tandem_ended", tandem, user)
    return tandem


def end_tandem(
    tandem: Tandem, user: User, reason: str, now: datetime, note: str = ""
) -> list[User]:
    """`user` ends the (locked) tandem in the caller's transaction: future sessions are
    cancelled, pending invitations withdrawn. Returns the others, to be told (nobody when
    it had ended already). Raises Conflict (completed)."""
    if tandem.state == "ended":
        return []
    if tandem.state == "completed":
        raise Conflict(_("This tandem is completed already."))
    tandem.state, tandem.ended_at, tandem.ended_by_id = "ended", now, user.id
    tandem.end_reason, tandem.updated_at = reason, now
    mine = next(m for m in tandem.members if m.user_id == user.id)
    if note:
        mine.note = note
    series.end_all(tandem.id, now, user.id)
    _withdraw_invitations(tandem, now)
    return partners(tandem, user.id)


def term_ending(tandem: Tandem, agreement: Agreement, today: date) -> bool:
    """Whether the term is close to its end (or over): time to choose how to go on."""
    if tandem.state != "active" or agreement.in_force_version is None:
        return False
    # The term in force, not a draft: once someone chose to continue, the draft holds the
    # next term, and the others still decide about this one.
    _start, end = texts.term_dates(version_content(agreement, agreement.in_force_version))
    return today >= end - TERM_REMINDER


def choose_at_term_end(
    user: User, tandem_id: int, choice: str, note: str = "", now: datetime | None = None
) -> Tandem:
    """At the end of the term: continue (a new term of the same length is drafted, and
    everyone signs it) or complete (with a farewell note; the tandem completes when every
    member chose to complete). Adjusting is editing the agreement. Raises NotFound,
    Conflict (not active, or not yet near the end) or Invalid."""
    now = now or utcnow()
    if choice not in TERM_CHOICES:
        raise Invalid(_("Choose to continue or to complete."), "choice")
    note = clean(note, NOTE_MAX, "note")
    with transaction():
        tandem = tandem_for(user, tandem_id, lock=True)
        agreement = agreement_of(tandem, lock=True)
        if not term_ending(tandem, agreement, now.date()):
            raise Conflict(_("You can decide this in the last two weeks of your term."))
        mine = next(m for m in tandem.members if m.user_id == user.id)
        mine.term_choice = choice
        if note:
            mine.note = note
        if choice == "continue":
            start, end = texts.term_dates(agreement.content)
            if start == texts.term_dates(version_content(agreement, agreement.in_force_version))[0]:
                # the first "continue": draft the next term right after this one
                new_start = end + timedelta(days=1)
                content = {
                    **agreement.content,
                    "term": {
                        "start": new_start.isoformat(),
                        "end": (new_start + (end - start)).isoformat(),
                    },
                }
                agreement.version += 1
                agreement.content = content
                agreement.updated_at, agreement.updated_by_id = now, user.id
                _write_version(agreement, content, user.id, "term", now)
            for other in partners(tandem, user.id):
                _tell(other, "term_continue", tandem, user)
        elif all(m.term_choice == "complete" for m in tandem.members):
            # The sessions left in the term still take place; the series ends with the term.
            tandem.state, tandem.updated_at = "completed", now
            tandem.ended_at = now
            _withdraw_invitations(tandem, now)
            for member in tandem.members:
                _tell(db.session.get(User, member.user_id), "tandem_completed", tandem, None)
        else:
            for other in partners(tandem, user.id):
                _tell(other, "term_complete", tandem, user)
    return tandem


# --- groups ---------------------------------------------------------------------------


def invite(
    user: User, tandem_id: int, invitee_id: int, message: str = "", now: datetime | None = None
) -> TandemInvitation:
    """Invite a further member into the group (at most four). Inviting again returns the
    pending invitation. Raises NotFound (the member is not visible to every member of the
    tandem), Conflict (ended, full) or Invalid (no room, message too long)."""
    from peerhub.profiles.service import member_for

    now = now or utcnow()
    message = clean(message, NOTE_MAX, "message")
    with transaction():
        tandem = tandem_for(user, tandem_id, lock=True)
        _require_editable(tandem)
        if invitee_id in tandem.member_ids():
            raise Invalid(_("This member is in your tandem already."), "member")
        for member_id in tandem.member_ids():
            member_for(member_id, invitee_id)  # blocked by anyone in the tandem: not found
        pending = db.session.scalar(
            select(TandemInvitation).where(
                TandemInvitation.tandem_id == tandem.id,
                TandemInvitation.user_id == invitee_id,
                TandemInvitation.state == "pending",
            )
        )
        if pending is not None:
            return pending
        open_count = db.session.scalar(
            select(func.count())
            .select_from(TandemInvitation)
            .where(TandemInvitation.tandem_id == tandem.id, TandemInvitation.state == "pending")
        )
        if len(tandem.members) + open_count >= GROUP_MAX:
            raise Conflict(_("A group has at most four members."))
        invitee = db.session.get(User, invitee_id)
        if not has_room(invitee_id):
            raise Invalid(
                _(
                    "%(name)s has no room for another partnership right now.",
                    name=invitee.display_name,
                ),
                "member",
            )
        invitation = TandemInvitation(
            tandem_id=tandem.id,
            user_id=invitee_id,
            invited_by_id=user.id,
            message=message,
            created_at=now,
        )
        db.session.add(invitation)
        db.session.flush()
        _tell(invitee, "tandem_invited", tandem, user, invitation=invitation)
    return invitation


def invitations_for(user_id: int) -> list[TandemInvitation]:
    """The member's pending invitations into groups."""
    return list(
        db.session.scalars(
            select(TandemInvitation)
            .where(TandemInvitation.user_id == user_id, TandemInvitation.state == "pending")
            .order_by(TandemInvitation.created_at.desc())
        )
    )


def pending_invitations(tandem: Tandem) -> list[TandemInvitation]:
    """The tandem's invitations still waiting for an answer."""
    return list(
        db.session.scalars(
            select(TandemInvitation)
            .where(TandemInvitation.tandem_id == tandem.id, TandemInvitation.state == "pending")
            .order_by(TandemInvitation.created_at)
        )
    )


def invitable_tandems(user: User, invitee_id: int) -> list[Tandem]:
    """The member's tandems that could take `invitee_id` in (forming or active, room for one
    more, not in it yet, nothing pending for them)."""
    out = []
    for tandem in tandems_of(user.id):
        if invitee_id in tandem.member_ids():
            continue
        pending = pending_invitations(tandem)
        if any(i.user_id == invitee_id for i in pending):
            continue
        if len(tandem.members) + len(pending) < GROUP_MAX:
            out.append(tandem)
    return out


def invitation_for(user: User, invitation_id: int, lock: bool = False) -> TandemInvitation:
    """An invitation addressed to the member, or sent by their tandem. Raises NotFound."""
    query = select(TandemInvitation).where(TandemInvitation.id == invitation_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    invitation = db.session.scalar(query)
    if invitation is None:
        raise NotFound("invitation")
    tandem = db.session.get(Tandem, invitation.tandem_id)
    if invitation.user_id != user.id and user.id not in tandem.member_ids():
        raise NotFound("invitation")
    return invitation


def answer_invitation(
    user: User, invitation_id: int, accept: bool, now: datetime | None = None
) -> TandemInvitation:
    """Join the group, or say no thanks. The same answer again is harmless. Joining asks
    everyone to sign again only in the sense that the new member signs the version in
    force; until they do, the agreement is not complete. Raises NotFound, Conflict."""
    now = now or utcnow()
    with transaction():
        invitation = invitation_for(user, invitation_id, lock=True)
        if invitation.user_id != user.id:
            raise NotFound("invitation")
        wanted = "accepted" if accept else "declined"
        if invitation.state == wanted:
            return invitation
        if invitation.state != "pending":
            raise Conflict(_("This invitation is no longer open."))
        tandem = db.session.scalar(
            select(Tandem).where(Tandem.id == invitation.tandem_id).with_for_update()
        )
        if accept:
            if tandem.state not in BINDING_STATES:
                raise Conflict(_("This tandem has ended; the invitation is no longer open."))
            if len(tandem.members) >= GROUP_MAX:
                raise Conflict(_("A group has at most four members."))
            # The member's row is the lock that orders their concurrent joins, so two
            # invitations accepted at once cannot both take the last place. key_share makes
            # it FOR NO KEY UPDATE: rows that only refer to the member (notifications) do
            # not wait for it, so it cannot deadlock with them.
            db.session.execute(
                select(User.id).where(User.id == user.id).with_for_update(key_share=True)
            )
            if not has_room(user.id):
                raise Conflict(
                    _(
                        "You are at the number of partnerships your profile allows. Raise it "
                        "in your profile, or end one first."
                    )
                )
            position = max((m.position for m in tandem.members), default=-1) + 1
            tandem.members.append(TandemMember(user_id=user.id, position=position, joined_at=now))
            tandem.updated_at = now
            departed = db.session.get(TandemDeparture, (tandem.id, user.id))
            if departed is not None:  # back in the group: its sessions are theirs again
                db.session.delete(departed)
        invitation.state, invitation.answered_at = wanted, now
        db.session.flush()
        for member in tandem.members:
            if member.user_id != user.id:
                _tell(
                    db.session.get(User, member.user_id),
                    "tandem_joined" if accept else "tandem_invitation_declined",
                    tandem,
                    user,
                )
    return invitation


def withdraw_invitation(
    user: User, invitation_id: int, now: datetime | None = None
) -> TandemInvitation:
    """A member of the tandem takes back a pending invitation. Raises NotFound, Conflict."""
    now = now or utcnow()
    with transaction():
        invitation = invitation_for(user, invitation_id, lock=True)
        if invitation.user_id == user.id:
            raise NotFound("invitation")
        if invitation.state == "withdrawn":
            return invitation
        if invitation.state != "pending":
            raise Conflict(_("This invitation is no longer open."))
        invitation.state, invitation.answered_at = "withdrawn", now
    return invitation


def _withdraw_invitations(tandem: Tandem, now: datetime) -> None:
    db.session.execute(
        update(TandemInvitation)
        .where(TandemInvitation.tandem_id == tandem.id, TandemInvitation.state == "pending")
        .values(state="withdrawn", answered_at=now)
        .execution_options(synchronize_session=False)
    )


def group_from_proposal(proposal, now: datetime | None = None) -> Tandem | None:
    """A group proposal of a round that every remaining member accepted becomes a forming
    group (once: the schema holds one tandem per proposal), in the caller's transaction.
    Members without room are left out; fewer than three left: no group."""
    now = now or utcnow()
    ids = [m.user_id for m in proposal.members if m.answer == "accepted"]
    ids = [uid for uid in ids if has_room(uid)]
    if len(ids) < 3:
        return None
    existing = db.session.scalar(select(Tandem).where(Tandem.proposal_id == proposal.id))
    if existing is not None:
        return existing
    return start_tandem(ids, proposal_id=proposal.id, now=now)


def tick(now: datetime | None = None) -> int:
    """Two weeks before a term ends, ask the members once how they want to go on (part of
    `flask --app app tick`; safe to run twice at once). Returns how many tandems were told."""
    now = now or utcnow()
    told = 0
    candidates = db.session.scalars(
        select(Tandem.id).where(Tandem.state == "active", Tandem.term_reminded_at.is_(None))
    ).all()
    for tandem_id in candidates:
        with transaction():
            tandem = locked(tandem_id)
            agreement = agreement_of(tandem)
            if tandem.term_reminded_at is not None or not term_ending(
                tandem, agreement, now.date()
            ):
                continue
            tandem.term_reminded_at = now
            for member in tandem.members:
                _tell(db.session.get(User, member.user_id), "term_ending", tandem, None)
            told += 1
    return told


def tell_group_formed(user_id: int, tandem: Tandem) -> None:
    """Everyone in a round's group said yes: tell a member their group is forming."""
    _tell(db.session.get(User, user_id), "tandem_group_formed", tandem, None)


# --- telling the members ----------------------------------------------------------------


def _tell(
    member: User,
    kind: str,
    tandem: Tandem,
    actor: User | None,
    mail: bool = True,
    invitation: TandemInvitation | None = None,
    note: str = "",
    target: tuple[str, dict] | None = None,
) -> None:
    """Notify a member in the app and (when `mail`) by mail, in their language, in the
    caller's transaction. The link goes to the tandem page, the invitation, or `target`."""
    endpoint, values = target or ("tandems.show", {"tandem_id": tandem.id})
    if invitation is not None:
        endpoint, values = ("tandems.invitation", {"invitation_id": invitation.id})
    # the others in the tandem besides the member told and the one who acted
    names = ", ".join(
        u.display_name for u in partners(tandem, member.id) if actor is None or u.id != actor.id
    )
    actor_name = actor.display_name if actor else ""
    notify(member.id, kind, link=site_path(endpoint, **values), name=actor_name, names=names)
    if mail:
        queue_mail(
            member.email,
            kind,
            member.language,
            subject_params={"name": actor_name, "names": names},
            name=member.display_name,
            link=absolute_url(endpoint, **values),
            **mail_text(kind, tandem, member, actor, names, invitation, note),
        )
