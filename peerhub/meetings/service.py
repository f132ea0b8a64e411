"""The rules for a tandem's sessions: cancel, move or restore one, record who came, write
shared notes; change the time or rhythm from a day on, pause for some weeks, end early; and
the reminder the day before each session.

Every change locks the tandem's row first, so two members acting at once are served one
after the other, and each checks the state it finds: a second click changes nothing. Every
change calendars must see raises the series' SEQUENCE (`series.touch`). No request here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from peerhub.accounts.models import User
from peerhub.errors import Conflict, Invalid, NotFound
from peerhub.extensions import db, transaction, utcnow
from peerhub.meetings import mails
from peerhub.meetings import series as timeline_of
from peerhub.meetings.models import (
    FEEDBACK_MAX,
    NOTE_MAX,
    NOTE_PARTS,
    REASON_MAX,
    Series,
    SessionAbsence,
    SessionFeedback,
    SessionRecord,
    SessionReminder,
)
from peerhub.meetings.occurrences import first_day
from peerhub.meetings.series import Session
from peerhub.notifications.service import notify, queue_mail
from peerhub.plaintext import clean
from peerhub.tandems import agreement as texts
from peerhub.tandems import service as tandems
from peerhub.tandems.models import Tandem
from peerhub.web.timefmt import zoned
from peerhub.web.urls import absolute_url, site_path

REMINDER_LEAD = timedelta(hours=24)  # the reminder goes out a day before the session
PAUSE_WEEKS = (1, 8)
RUNNING = ("active", "completed")  # the sessions left after completing still take place


# --- reading --------------------------------------------------------------------------------


@dataclass
class Overview:
    """A tandem's sessions as its pages show them."""

    sessions: list[Session]
    now: datetime

    @property
    def past(self) -> list[Session]:
        """Sessions that are over."""
        return [s for s in self.sessions if s.end <= self.now]

    @property
    def coming(self) -> list[Session]:
        """Sessions not over yet (one going on now included), cancelled ones too (they say
        so), soonest first: the same list as the dashboard's."""
        return sorted((s for s in self.sessions if s.end > self.now), key=lambda s: s.start)

    @property
    def next(self) -> Session | None:
        return next((s for s in self.coming if not s.cancelled), None)

    @property
    def paused_until(self) -> date | None:
        """The day of the last paused session still to come, while a pause lasts."""
        paused = [s for s in self.coming if s.paused and not s.begun(self.now)]
        if not paused:
            return None
        return timeline_of.local_day(paused[-1].start, paused[-1].series.zone)


def overview(tandem: Tandem, now: datetime | None = None) -> Overview:
    """Every session of the tandem, with what happened to each."""
    series = timeline_of.series_of(tandem.id)
    return Overview(timeline_of.timeline(series, tandem.member_ids()), now or utcnow())


def session_for(user: User, series_id: int, number: int, lock: bool = False):
    """(tandem, session) for a member of the series' tandem. Raises NotFound for anyone
    else, and for a number the series does not have."""
    series = db.session.get(Series, series_id)
    if series is None:
        raise NotFound("session")
    tandem = tandems.tandem_for(user, series.tandem_id, lock=lock)
    sessions = timeline_of.timeline(timeline_of.series_of(tandem.id), tandem.member_ids())
    for session in sessions:
        if session.key == (series_id, number):
            return tandem, session, sessions
    raise NotFound("session")


def next_across(user: User, now: datetime | None = None, limit: int = 5) -> list[Session]:
    """The member's next sessions across their tandems (the dashboard's list)."""
    now = now or utcnow()
    found: list[Session] = []
    for tandem in tandems.tandems_of(user.id, ("active", "completed")):
        found += timeline_of.next_sessions(tandem, now, limit)
    return sorted(found, key=lambda s: s.start)[:limit]


def partner_names(session: Session, viewer_id: int) -> str:
    """The others in the session's tandem, by name."""
    tandem = db.session.get(Tandem, session.series.tandem_id)
    return ", ".join(u.display_name for u in tandems.partners(tandem, viewer_id))


def no_show_counts(tandem: Tandem, sessions: list[Session]) -> Counter[int]:
    """How often each member did not come without cancelling, in the term in force."""
    term_start = _term(tandem)[0]
    counts: Counter[int] = Counter()
    for session in sessions:
        if session.record is None or session.cancelled:
            continue
        if timeline_of.local_day(session.occurrence.start, session.series.zone) < term_start:
            continue
        counts.update(a.user_id for a in session.record.absences)
    return counts


def in_force(tandem: Tandem) -> dict[str, Any]:
    """The content of the agreement version in force (the draft before any is)."""
    agreement = tandems.agreement_of(tandem)
    version = agreement.in_force_version
    content = tandems.version_content(agreement, version) if version else None
    return content or agreement.content


def _term(tandem: Tandem) -> tuple[date, date]:
    return texts.term_dates(in_force(tandem))


def notice_hours(tandem: Tandem) -> int:
    """The notice the agreement in force asks for before cancelling a session."""
    return int(in_force(tandem)["cancellation"]["notice_hours"])


def no_show_limit(tandem: Tandem) -> int:
    return int(in_force(tandem)["cancellation"]["no_show_limit"])


# --- single sessions -----------------------------------------------------------------------


def _require_running(tandem: Tandem) -> None:
    if tandem.state == "forming":
        raise Conflict(_("Your sessions begin once everyone has signed the agreement."))
    if tandem.state not in RUNNING:
        raise Conflict(_("This tandem has ended; its sessions can no longer change."))


def _record(session: Session, now: datetime) -> SessionRecord:
    """The session's record, made when it is first needed."""
    if session.record is not None:
        return session.record
    record = SessionRecord(
        series_id=session.series.id,
        number=session.number,
        planned_start=session.occurrence.start,
        state="scheduled",
        cancel_reason="",
        late=False,
        notes={},
        notes_version=0,
        created_at=now,
        updated_at=now,
    )
    session.series.records.append(record)
    return record


def cancel_session(
    user: User, series_id: int, number: int, reason: str, now: datetime | None = None
) -> SessionRecord:
    """Cancel one session before it begins, with a reason the others read. Later than the
    agreement's notice period it counts as a late cancellation. Again is harmless.

    Raises NotFound, Conflict (begun, or the tandem is not running) or Invalid (reason).
    """
    now = now or utcnow()
    reason = clean(reason, REASON_MAX, "reason", _("Tell the others why, in a few words."))
    with transaction():
        tandem, session, _all = session_for(user, series_id, number, lock=True)
        if session.cancelled:
            return session.record
        _require_running(tandem)
        if session.begun(now):
            raise Conflict(
                _("This session has begun; it can no longer be cancelled. Record who came.")
            )
        record = _record(session, now)
        late = session.start - now < timedelta(hours=notice_hours(tandem))
        record.state, record.cancel_kind, record.cancel_reason = "cancelled", "single", reason
        record.cancelled_by_id, record.cancelled_at, record.late = user.id, now, late
        record.updated_at = now
        timeline_of.touch(session.series, now, user.id)
        kind = "session_cancelled_late" if late else "session_cancelled"
        # told at the time it was to take place; taken back, it takes place as planned
        _tell_others(tandem, user, kind, session, reason=reason)
        record.moved_start = record.moved_end = record.moved_by_id = None
    return record


def restore_session(
    user: User, series_id: int, number: int, now: datetime | None = None
) -> SessionRecord | None:
    """Take a cancellation (or one paused session) back before the session begins: it
    takes place at its planned time. Raises NotFound or Conflict."""
    now = now or utcnow()
    with transaction():
        tandem, session, sessions = session_for(user, series_id, number, lock=True)
        if not session.cancelled:
            return session.record
        _require_running(tandem)
        if session.begun(now):
            raise Conflict(_("This session would have begun already."))
        if _overlapping(session, sessions):
            raise Conflict(
                _(
                    "Another session was moved into this time. Move that one first, then take "
                    "this cancellation back."
                )
            )
        record = session.record
        record.state, record.cancel_kind, record.cancel_reason = "scheduled", None, ""
        record.cancelled_by_id = record.cancelled_at = None
        record.late, record.updated_at = False, now
        timeline_of.touch(session.series, now, user.id)
        _tell_others(tandem, user, "session_restored", session)
    return record


def _overlapping(session: Session, sessions: list[Session]) -> bool:
    """Whether a session taking place at its planned time would overlap another one."""
    start, end = session.occurrence.start, session.occurrence.end
    return any(
        not other.cancelled and other.key != session.key and other.start < end and start < other.end
        for other in sessions
    )


def move_session(
    user: User, series_id: int, number: int, start: datetime, now: datetime | None = None
) -> SessionRecord | None:
    """Move one session to another time that is still to come, between the sessions before
    and after it (never onto another one). Moving it back to its planned time undoes the
    move. Raises NotFound, Conflict (begun, cancelled, not running) or Invalid (the time).
    """
    now = now or utcnow()
    if start.utcoffset() is None:
        raise ValueError("a new time must be timezone-aware")
    with transaction():
        tandem, session, sessions = session_for(user, series_id, number, lock=True)
        _require_running(tandem)
        if session.cancelled:
            raise Conflict(_("This session is cancelled. Take the cancellation back first."))
        if session.begun(now):
            raise Conflict(_("This session has begun; it can no longer be moved."))
        if start == session.start:
            return session.record  # already there: nothing changes
        end = start + timedelta(minutes=session.series.length_minutes)
        _check_between(session, sessions, start, end, now, user)
        term_start, term_end = _term(tandem)
        if not term_start <= timeline_of.local_day(start, session.series.zone) <= term_end:
            raise Invalid(
                _(
                    "That is outside your term (%(start)s to %(end)s).",
                    start=texts.long_date(term_start.isoformat()),
                    end=texts.long_date(term_end.isoformat()),
                ),
                "start",
            )
        was = session.start
        record = _record(session, now)
        planned = start == session.occurrence.start
        record.moved_start = None if planned else start
        record.moved_end = None if planned else end
        record.moved_by_id = None if planned else user.id
        record.updated_at = now
        timeline_of.touch(session.series, now, user.id)
        moved = Session(session.series, session.occurrence, record)
        _tell_others(tandem, user, "session_moved", moved, was=was)
    return record


def _check_between(
    session: Session,
    sessions: list[Session],
    start: datetime,
    end: datetime,
    now: datetime,
    user: User,
) -> None:
    """A moved session stays between its neighbours (those that take place) and in the
    future; raises Invalid naming the neighbour in the member's zone."""
    if start <= now:
        raise Invalid(_("Choose a time that is still to come."), "start")
    taking_place = [s for s in sessions if not s.cancelled and s.key != session.key]
    before = [s for s in taking_place if s.occurrence.start < session.occurrence.start]
    after = [s for s in taking_place if s.occurrence.start > session.occurrence.start]
    reach = timedelta(weeks=session.series.interval_weeks)
    # Without a neighbour, a session still moves at most one rhythm's step away.
    low = before[-1] if before else None
    high = after[0] if after else None
    if low is not None and (start < low.end or start <= low.occurrence.start):
        raise Invalid(
            _(
                "That is not after the session before it (%(when)s). A session can only move "
                "to a time between the sessions before and after it.",
                when=zoned(low.start, user.timezone),
            ),
            "start",
        )
    if high is not None and (end > high.start or start >= high.occurrence.start):
        raise Invalid(
            _(
                "That runs into the next session (%(when)s). A session can only move to a "
                "time between the sessions before and after it.",
                when=zoned(high.start, user.timezone),
            ),
            "start",
        )
    if abs(start - session.occurrence.start) >= reach:
        raise Invalid(
            _(
                "Choose a time closer to the planned one than two sessions are apart in your "
                "rhythm."
            ),
            "start",
        )


def record_attendance(
    user: User,
    series_id: int,
    number: int,
    absent_ids: list[int],
    now: datetime | None = None,
) -> SessionRecord:
    """Record that the session was held, and who did not come (a no-show). Recording again
    replaces it. When a member's no-shows reach the number the agreement names, everyone is
    asked to talk about it. Raises NotFound, Conflict (not begun, cancelled, not running)
    or Invalid (someone outside the tandem)."""
    now = now or utcnow()
    with transaction():
        tandem, session, sessions = session_for(user, series_id, number, lock=True)
        _require_running(tandem)
        if session.cancelled:
            raise Conflict(_("This session was cancelled; there is nothing to record."))
        if not session.begun(now):
            raise Conflict(_("You can record who came once the session has begun."))
        members = tandem.member_ids()
        absent = sorted(set(absent_ids))
        if any(uid not in members for uid in absent):
            raise Invalid(_("Choose among the members of your tandem."), "absent")
        before = no_show_counts(tandem, sessions)
        record = _record(session, now)
        record.absences = [SessionAbsence(user_id=uid) for uid in absent]
        record.attendance_at, record.attendance_by_id = now, user.id
        record.updated_at = now
        db.session.flush()
        # the session read above may have had no record yet: count it with the one written
        held = Session(session.series, session.occurrence, record)
        after = no_show_counts(tandem, [held if s.key == held.key else s for s in sessions])
        limit = no_show_limit(tandem)
        for uid in absent:
            if before[uid] < limit <= after[uid]:
                _tell_no_shows(tandem, uid, after[uid], session)
    return record


class StaleNotes(Conflict):
    """Someone saved these notes since the member opened them; both texts are kept."""

    def __init__(self, record: SessionRecord, yours: dict[str, str], by: str) -> None:
        super().__init__(
            _(
                "%(name)s saved these notes while you were writing. The form now holds their "
                "notes; your words are right here, to add what is missing.",
                name=by,
            )
        )
        self.record = record
        self.yours = yours
        self.by = by


def save_notes(
    user: User,
    series_id: int,
    number: int,
    parts: dict[str, str | None],
    base: int,
    now: datetime | None = None,
) -> SessionRecord | None:
    """Save the shared notes of a session (personal update, main topic, next steps), based
    on the version the member read. Identical words change nothing; a save over someone's
    newer notes raises StaleNotes. Raises NotFound, Conflict or Invalid (too long)."""
    now = now or utcnow()
    notes = {part: clean(parts.get(part), NOTE_MAX, part) for part in NOTE_PARTS}
    with transaction():
        tandem, session, _all = session_for(user, series_id, number, lock=True)
        _require_running(tandem)
        if session.record is None and not any(notes.values()):
            return None  # nothing written, nothing to keep
        record = _record(session, now)
        current = {part: (record.notes or {}).get(part, "") for part in NOTE_PARTS}
        if notes == current:
            return record
        if base != record.notes_version:
            author = db.session.get(User, record.notes_by_id) if record.notes_by_id else None
            raise StaleNotes(record, notes, author.display_name if author else _("Someone"))
        record.notes = notes
        record.notes_version += 1
        record.notes_by_id, record.notes_at, record.updated_at = user.id, now, now
    return record


# --- the whole series -------------------------------------------------------------------------


def rhythm_fields(
    frequency: str | None,
    weekday: str | int | None,
    start: str | None,
    zone: str | None,
    length: str | int | None,
) -> dict[str, Any]:
    """A rhythm from a form, checked as the agreement's rhythm section is, as series
    fields. Raises Invalid naming the field."""
    form = {"frequency": frequency, "weekday": weekday, "start": start, "zone": zone}
    rhythm = texts.clean_section("rhythm", {**form, "length": length}, {}, date.today())
    return timeline_of.rhythm_of({"rhythm": rhythm})


def _first_day(value: date | None, zone: str, now: datetime, term_end: date) -> date:
    """A 'from' day of a series change: today or later, within the term."""
    if value is None:
        raise Invalid(_("Please give a date."), "from")
    if value < timeline_of.local_day(now, zone):
        raise Invalid(_("Choose today or a later day."), "from")
    if value > term_end:
        raise Invalid(
            _(
                "That is after the end of your term (%(date)s).",
                date=texts.long_date(term_end.isoformat()),
            ),
            "from",
        )
    return value


def _running_tandem(user: User, tandem_id: int) -> Tandem:
    tandem = tandems.tandem_for(user, tandem_id, lock=True)
    if tandem.state != "active":
        _require_running(tandem)
        raise Conflict(
            _(
                "Your tandem is completing: only the sessions left in its term take place, and "
                "each of them can still be moved or cancelled."
            )
        )
    return tandem


def change_series(
    user: User,
    tandem_id: int,
    from_day: date | None,
    rhythm: dict[str, Any],
    now: datetime | None = None,
) -> Series:
    """Change the time or rhythm from a day on: every session not yet begun from that day on
    gives way to a new series that runs to the end of the term (the past stays as it was).
    `rhythm` comes from `rhythm_fields`. Raises NotFound, Conflict or Invalid."""
    now = now or utcnow()
    with transaction():
        tandem = _running_tandem(user, tandem_id)
        end = _term(tandem)[1]
        day = _first_day(from_day, rhythm["zone"], now, end)
        begin = timeline_of.first_begin(day, rhythm, now)
        if first_day(begin, rhythm["weekday"]) > end:
            raise Invalid(_("No session in this rhythm fits before the end of your term."), "from")
        live = [s for s in timeline_of.series_of(tandem.id) if s.state in timeline_of.LIVE]
        running = next((s for s in live if s.state == "active"), None)
        if running and timeline_of.same_rhythm(running, rhythm) and running.starts_on <= begin:
            return running  # it runs so already: a second click changes nothing
        for one in live:
            timeline_of.end_before(one, timeline_of.midnight(day, one.zone), now, user.id)
        version = tandems.agreement_of(tandem).in_force_version or 1
        made = timeline_of.start_series(tandem.id, version, begin, end, rhythm, now, user.id)
        db.session.flush()
        first = timeline_of.upcoming(timeline_of.timeline([made]), now, 1)[0]
        _tell_others(tandem, user, "series_changed", first, rhythm=made)
    return made


def pause_series(
    user: User, tandem_id: int, from_day: date | None, weeks: int | str, now: datetime | None = None
) -> list[SessionRecord]:
    """Pause for some weeks: the sessions from `from_day` for `weeks` weeks do not take
    place (each one can be taken back, or all at once with `resume_series`). Raises
    NotFound, Conflict or Invalid (no session in those weeks)."""
    now = now or utcnow()
    try:
        weeks = int(str(weeks))
    except ValueError:
        weeks = 0
    if not PAUSE_WEEKS[0] <= weeks <= PAUSE_WEEKS[1]:
        raise Invalid(_("Pause for one to eight weeks."), "weeks")
    with transaction():
        tandem = _running_tandem(user, tandem_id)
        overview_ = overview(tandem, now)
        zone = overview_.next.series.zone if overview_.next else user.timezone
        day = _first_day(from_day, zone, now, _term(tandem)[1])
        begins = max(now, timeline_of.midnight(day, zone))
        until = timeline_of.midnight(day + timedelta(weeks=weeks), zone)
        paused = [s for s in overview_.coming if not s.cancelled and begins <= s.start < until]
        if not paused:
            raise Invalid(_("There is no session to pause in those weeks."), "from")
        # told with the times the sessions had (a moved one at its new time)
        _tell_others(tandem, user, "series_paused", paused[0], last=paused[-1])
        records = []
        for session in paused:
            record = _record(session, now)
            record.state, record.cancel_kind, record.cancel_reason = "cancelled", "pause", ""
            record.cancelled_by_id, record.cancelled_at, record.late = user.id, now, False
            record.moved_start = record.moved_end = record.moved_by_id = None
            record.updated_at = now
            records.append(record)
        for series in {s.series.id: s.series for s in paused}.values():
            timeline_of.touch(series, now, user.id)
    return records


def resume_series(user: User, tandem_id: int, now: datetime | None = None) -> int:
    """End a pause early: the paused sessions still to come take place again. Returns how
    many; again is harmless. Raises NotFound or Conflict."""
    now = now or utcnow()
    with transaction():
        tandem = _running_tandem(user, tandem_id)
        sessions = overview(tandem, now).sessions
        paused = [
            s for s in sessions if s.paused and not s.begun(now) and not _overlapping(s, sessions)
        ]
        for session in paused:
            record = session.record
            record.state, record.cancel_kind = "scheduled", None
            record.cancelled_by_id = record.cancelled_at = None
            record.updated_at = now
        for series in {s.series.id: s.series for s in paused}.values():
            timeline_of.touch(series, now, user.id)
        if paused:
            _tell_others(tandem, user, "series_resumed", paused[0])
    return len(paused)


def end_series(
    user: User, tandem_id: int, last_day: date | None, now: datetime | None = None
) -> bool:
    """End the regular sessions early: none after `last_day` (none from now on when it is
    today or earlier). The tandem goes on; a new time can start the sessions again. Returns
    whether anything changed. Raises NotFound, Conflict or Invalid."""
    now = now or utcnow()
    if last_day is None:
        raise Invalid(_("Please give a date."), "last")
    with transaction():
        tandem = _running_tandem(user, tandem_id)
        changed = False
        for one in timeline_of.series_of(tandem.id):
            if one.state not in timeline_of.LIVE:
                continue
            boundary = timeline_of.midnight(last_day + timedelta(days=1), one.zone)
            changed |= timeline_of.end_before(one, boundary, now, user.id)
        if changed:
            left = [s for s in overview(tandem, now).sessions if not s.cancelled]
            _tell_others(tandem, user, "series_ended", left[-1] if left else None)
    return changed


# --- reminders -------------------------------------------------------------------------------


def tick(now: datetime | None = None) -> int:
    """Mail each member of a running tandem a reminder the day before each session, once
    per session and member (part of `flask --app app tick`; safe to run twice at once).
    Returns how many reminders went out."""
    now = now or utcnow()
    horizon = now + REMINDER_LEAD
    due = db.session.scalars(
        select(Series.id).where(
            Series.next_session_at.is_not(None), Series.next_session_at <= horizon
        )
    ).all()
    sent = 0
    for series_id in due:
        with transaction():
            series = db.session.scalar(
                select(Series)
                .where(Series.id == series_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            if series is None or series.next_session_at is None or series.next_session_at > horizon:
                continue  # another tick was first
            tandem = db.session.get(Tandem, series.tandem_id)
            sessions = timeline_of.upcoming(timeline_of.timeline([series]), now)
            due_now = [s for s in sessions if now < s.start <= horizon]
            if tandem.state in RUNNING and due_now:
                members = list(
                    db.session.scalars(select(User).where(User.id.in_(tandem.member_ids())))
                )
                for session in due_now:
                    sent += _remind(tandem, session, members)
            later = [s.start for s in sessions if s.start > horizon]
            series.next_session_at = later[0] if later else None
    return sent


def _remind(tandem: Tandem, session: Session, members: list[User]) -> int:
    """The day-before mail of one session to each member not yet reminded of it."""
    sent = 0
    done = set(
        db.session.scalars(
            select(SessionReminder.user_id).where(
                SessionReminder.series_id == session.series.id,
                SessionReminder.number == session.number,
            )
        )
    )
    for member in members:
        if member.id in done:
            continue
        key = (session.series.id, session.number, member.id)
        db.session.add(SessionReminder(series_id=key[0], number=key[1], user_id=member.id))
        others = sorted((u for u in members if u.id != member.id), key=lambda u: u.display_name)
        names = ", ".join(u.display_name for u in others)
        when = _when(member, session.start)
        queue_mail(
            member.email,
            "session_reminder",
            member.language,
            subject_params={"names": names, "when": when},
            name=member.display_name,
            link=absolute_url("meetings.session", series_id=key[0], number=key[1]),
            **mails.mail_text("session_reminder", member, None, names, when, session=session),
        )
        sent += 1
    return sent


# --- telling the others --------------------------------------------------------------------


def _when(member: User, moment: datetime) -> str:
    """A moment in the member's zone and language, with the zone named."""
    with force_locale(member.language):
        return f"{zoned(moment, member.timezone)} ({member.timezone})"


# --- feedback after a session ---------------------------------------------------------------


def feedback_on(session: Session) -> list[SessionFeedback]:
    """Every member's feedback on one session (the view shows each member only the others')."""
    return list(
        db.session.scalars(
            select(SessionFeedback)
            .where(
                SessionFeedback.series_id == session.series.id,
                SessionFeedback.number == session.number,
            )
            .order_by(SessionFeedback.created_at)
        )
    )


def give_feedback(
    user: User,
    series_id: int,
    number: int,
    helped: str | None,
    wish: str | None,
    now: datetime | None = None,
) -> SessionFeedback:
    """Quick, kind feedback once a session has begun: what helped me, and one wish. One per
    member and session: sending it again changes it. The others are told in the app.
    Raises NotFound, Conflict (not begun, cancelled, tandem ended) or Invalid."""
    now = now or utcnow()
    helped = clean(helped, FEEDBACK_MAX, "helped")
    wish = clean(wish, FEEDBACK_MAX, "wish")
    if not helped and not wish:
        raise Invalid(_("Write what helped you, or one wish, or both."), "helped")
    with transaction():
        tandem, session, _all = session_for(user, series_id, number, lock=True)
        _require_running(tandem)
        if session.cancelled:
            raise Conflict(_("This session was cancelled: there is nothing to give feedback on."))
        if not session.begun(now):
            raise Conflict(_("Feedback opens once the session has begun."))
        mine = db.session.get(SessionFeedback, (series_id, number, user.id))
        if mine is not None and (mine.helped, mine.wish) == (helped, wish):
            return mine
        first = mine is None
        if first:
            mine = SessionFeedback(
                series_id=series_id, number=number, user_id=user.id, created_at=now
            )
            db.session.add(mine)
        mine.helped, mine.wish, mine.updated_at = helped, wish, now
        if first:
            link = site_path("meetings.session", series_id=series_id, number=number)
            for other in tandems.partners(tandem, user.id):
                notify(other.id, "feedback_received", link=link, name=user.display_name,
                       when=_when(other, session.start))  # fmt: skip
    return mine


def _tell_others(
    tandem: Tandem,
    actor: User,
    kind: str,
    session: Session | None,
    reason: str = "",
    rhythm: Series | None = None,
    last: Session | None = None,
    was: datetime | None = None,
) -> None:
    """Notify the other members in the app and by mail, in their language and zone."""
    for member in tandems.partners(tandem, actor.id):
        _tell(tandem, member, kind, actor, session, reason, rhythm, last, was=was)


def _tell_no_shows(tandem: Tandem, absent_id: int, count: int, session: Session) -> None:
    """A member's no-shows reached the agreement's number: ask everyone to talk."""
    absent = db.session.get(User, absent_id)
    for member_id in tandem.member_ids():
        member = db.session.get(User, member_id)
        kind = "no_shows_you" if member_id == absent_id else "no_shows"
        _tell(tandem, member, kind, absent, session, count=count)


def _tell(
    tandem: Tandem,
    member: User,
    kind: str,
    actor: User,
    session: Session | None,
    reason: str = "",
    rhythm: Series | None = None,
    last: Session | None = None,
    count: int = 0,
    was: datetime | None = None,
) -> None:
    if session is not None and kind.startswith("session_"):
        endpoint = ("meetings.session", {"series_id": session.series.id, "number": session.number})
    else:
        endpoint = ("meetings.sessions", {"tandem_id": tandem.id})
    when = _when(member, session.start) if session is not None else ""
    until = _when(member, last.start) if last is not None else ""
    before = _when(member, was) if was is not None else ""
    with force_locale(member.language):
        every = mails.rhythm_words(rhythm) if rhythm is not None else ""
    params = {
        "name": actor.display_name,
        "when": when,
        "until": until,
        "every": every,
        "was": before,
    }
    notify(member.id, kind, link=site_path(endpoint[0], **endpoint[1]), num=count, **params)
    queue_mail(
        member.email,
        kind,
        member.language,
        subject_params={**params, "num": count},
        name=member.display_name,
        link=absolute_url(endpoint[0], **endpoint[1]),
        **mails.mail_text(
            kind,
            member,
            actor,
            "",
            when,
            session=session,
            reason=reason,
            every=every,
            until=until,
            count=count,
            was=before,
            rules=in_force(tandem)["cancellation"]["repeated"] if "no_shows" in kind else "",
        ),
    )
