"""A tandem's sessions: the list of past and coming sessions with the changes to the whole
series (a new time or rhythm from a day on, a pause, an early end), and one session's page
(cancel, take back, move, who came, shared notes). Every form works without JavaScript;
with htmx the component that changed re-renders itself."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import get_day_names
from flask import Blueprint, abort, flash, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from peerhub.accounts.models import User
from peerhub.errors import DomainError, Invalid, NotFound
from peerhub.extensions import db, utcnow
from peerhub.meetings import service
from peerhub.meetings.mails import rhythm_words
from peerhub.meetings.models import FEEDBACK_MAX, NOTE_MAX, NOTE_PARTS
from peerhub.meetings.series import local_day
from peerhub.profiles.availability import local_instant
from peerhub.tandems import agreement as texts
from peerhub.tandems import service as tandems
from peerhub.tandems.models import Tandem
from peerhub.web.htmx import redirect_after_post, render, wants_fragment
from peerhub.web.timefmt import timezone_names

bp = Blueprint("meetings", __name__)

CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")  # a new time, as <input type=time> sends it


@bp.before_request
@login_required
def _members_only():
    """Sessions are for signed-in members only."""


def _me() -> User:
    return current_user._get_current_object()


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        return None


# --- the list of sessions and the whole series ----------------------------------------------


def _sessions_context(tandem: Tandem, **extra) -> dict:
    me = _me()
    now = utcnow()
    overview = service.overview(tandem, now)
    running = next((s.series for s in overview.sessions if s.series.state == "active"), None)
    coming = overview.next
    zone = running or (coming.series if coming else None)
    zone = zone.zone if zone is not None else me.timezone
    from_day = local_day(coming.start, zone) if coming else local_day(now, zone)
    form = {
        "from": from_day.isoformat(),
        "frequency": "biweekly" if running and running.interval_weeks == 2 else "weekly",
        "weekday": running.weekday if running else from_day.weekday(),
        "start": f"{running.start_minute // 60:02d}:{running.start_minute % 60:02d}"
        if running
        else "18:00",
        "zone": zone,
        "length": running.length_minutes if running else 60,
        "weeks": 2,
        "last": local_day(now, zone).isoformat(),
    }
    form.update(extra.pop("form", {}))
    return {
        "tandem": tandem,
        "me": me,
        "names": tandems.names_of(tandem),
        "partners": tandems.partners(tandem, me.id),
        "overview": overview,
        "past": list(reversed(overview.past)),
        "coming": overview.coming,
        "running": running,
        "rhythm": rhythm_words(running) if running else "",
        "now": now,
        "form": form,
        "zones": timezone_names(),
        "weekday_names": get_day_names("wide", locale=get_locale()),
        "changeable": tandem.state == "active",
        "texts": texts,
        "error": None,
        **extra,
    }


def _tandem(tandem_id: int) -> Tandem:
    try:
        return tandems.tandem_for(_me(), tandem_id)
    except NotFound:
        abort(404)


@bp.get("/tandems/<int:tandem_id>/sessions")
def sessions(tandem_id: int):
    """Every session of the tandem, past and coming, and the changes to the whole series."""
    return render("meetings/sessions.html", None, **_sessions_context(_tandem(tandem_id)))


def _series_action(tandem_id: int, which: str, action, done: str):
    """Run a change of the whole series; a refusal re-renders its form with the message."""
    tandem = _tandem(tandem_id)
    try:
        action()
    except NotFound:
        abort(404)
    except DomainError as error:
        db.session.rollback()
        context = _sessions_context(
            _tandem(tandem_id), error=error, failed=which, form=request.form.to_dict()
        )
        if not wants_fragment():
            flash(error.message, "error")
        return render(
            "meetings/sessions.html", "meetings/_series_forms.html", error.status, **context
        )
    flash(done, "success")
    return redirect_after_post(url_for("meetings.sessions", tandem_id=tandem.id))


@bp.post("/tandems/<int:tandem_id>/sessions/change")
def change(tandem_id: int):
    """A new time or rhythm from a day on (the sessions before it stay)."""
    form = request.form

    def action():
        rhythm = service.rhythm_fields(
            form.get("frequency"), form.get("weekday"), form.get("start"), form.get("zone"),
            form.get("length"),
        )  # fmt: skip
        service.change_series(_me(), tandem_id, _day(form.get("from")), rhythm)

    return _series_action(
        tandem_id, "change", action, _("Your sessions have their new time; we told the others.")
    )


@bp.post("/tandems/<int:tandem_id>/sessions/pause")
def pause(tandem_id: int):
    """Pause the sessions for some weeks."""
    form = request.form
    return _series_action(
        tandem_id,
        "pause",
        lambda: service.pause_series(
            _me(), tandem_id, _day(form.get("from")), form.get("weeks", "")
        ),
        _("Your sessions are paused; we told the others."),
    )


@bp.post("/tandems/<int:tandem_id>/sessions/resume")
def resume(tandem_id: int):
    """End a pause early."""
    return _series_action(
        tandem_id,
        "resume",
        lambda: service.resume_series(_me(), tandem_id),
        _("The pause is over: your sessions take place again."),
    )


@bp.post("/tandems/<int:tandem_id>/sessions/end")
def end(tandem_id: int):
    """End the regular sessions after a day (the tandem goes on)."""
    return _series_action(
        tandem_id,
        "end",
        lambda: service.end_series(_me(), tandem_id, _day(request.form.get("last"))),
        _("Your regular sessions end as you chose; we told the others."),
    )


# --- one session --------------------------------------------------------------------------


def _session(series_id: int, number: int):
    try:
        return service.session_for(_me(), series_id, number)
    except NotFound:
        abort(404)


def _session_context(series_id: int, number: int, **extra) -> dict:
    me = _me()
    tandem, session, sessions = _session(series_id, number)
    names = tandems.names_of(tandem)
    now = utcnow()
    index = next(i for i, s in enumerate(sessions) if s.key == session.key)
    taking_place = [s for s in sessions if not s.cancelled]
    earlier = [s for s in taking_place if s.start < session.start]
    later = [s for s in taking_place if s.start > session.start]
    notice = service.notice_hours(tandem)
    record = session.record
    notes = {part: ((record.notes or {}).get(part, "") if record else "") for part in NOTE_PARTS}
    in_my_zone = session.start.astimezone(ZoneInfo(me.timezone))
    return {
        "tandem": tandem,
        "me": me,
        "names": names,
        "session": session,
        "previous": earlier[-1] if earlier else None,
        "following": later[0] if later else None,
        "number_in_tandem": index + 1,
        "now": now,
        "begun": session.begun(now),
        "running": tandem.state in service.RUNNING,
        "late_if_cancelled": session.start - now < timedelta(hours=notice),
        "notice_hours": notice,
        "notes": notes,
        "notes_version": record.notes_version if record else 0,
        "note_max": NOTE_MAX,
        "plan": service.in_force(tandem)["structure"]["plan"],
        "move_date": in_my_zone.date().isoformat(),
        "move_time": in_my_zone.strftime("%H:%M"),
        "absent": {a.user_id for a in record.absences} if record else set(),
        "absent_names": ", ".join(
            _("%(name)s (you)", name=me.display_name)
            if a.user_id == me.id
            else names.get(a.user_id, "")
            for a in (record.absences if record else [])
        ),
        "error": None,
        "failed": None,
        **_reflection_context(me, tandem, session, now),
        **extra,
    }


def _reflection_context(me: User, tandem: Tandem, session, now: datetime) -> dict:
    """What the session page adds for reflection: the quick journal entry and the member's
    entries about the session, and the feedback after it (the others' to read, one's own to
    change)."""
    from peerhub.journal import service as journal

    feedback = service.feedback_on(session)
    return {
        "quick_token": journal.new_token(),
        "my_entries": journal.about_session(me, session.series.id, session.number),
        "my_feedback": next((f for f in feedback if f.user_id == me.id), None),
        "others_feedback": [f for f in feedback if f.user_id != me.id],
        "feedback_open": tandem.state in service.RUNNING
        and not session.cancelled
        and session.begun(now),
        "feedback_max": FEEDBACK_MAX,
    }


def quick_journal_context(series_id: int, number: int, **extra) -> dict:
    """The whole session page's context (the journal's quick entry renders inside it)."""
    return _session_context(series_id, number, **extra)


@bp.get("/sessions/<int:series_id>/<int:number>")
def session(series_id: int, number: int):
    """One session: when, what happened to it, who came, and the shared notes."""
    return render("meetings/session.html", None, **_session_context(series_id, number))


def _session_action(series_id: int, number: int, which: str, action, done: str, **extra):
    """Run an action on one session; a refusal re-renders the session card with its
    message (422/409), success re-renders it (htmx) or redirects back to the page."""
    try:
        action()
    except NotFound:
        abort(404)
    except DomainError as error:
        db.session.rollback()
        # the card, near the top of the page, says why (with or without htmx)
        context = _session_context(series_id, number, error=error, failed=which, **extra)
        return render(
            "meetings/session.html", "meetings/_session_card.html", error.status, **context
        )
    if wants_fragment():
        context = _session_context(series_id, number, done=done)
        return render("meetings/session.html", "meetings/_session_card.html", **context)
    flash(done, "success")
    return redirect_after_post(url_for("meetings.session", series_id=series_id, number=number))


@bp.post("/sessions/<int:series_id>/<int:number>/cancel")
def cancel(series_id: int, number: int):
    """Cancel this session, with a reason the others read."""
    reason = request.form.get("reason", "")
    return _session_action(
        series_id,
        number,
        "cancel",
        lambda: service.cancel_session(_me(), series_id, number, reason),
        _("The session is cancelled; we told the others."),
        typed_reason=reason,
    )


@bp.post("/sessions/<int:series_id>/<int:number>/restore")
def restore(series_id: int, number: int):
    """Take the cancellation back: the session takes place."""
    return _session_action(
        series_id,
        number,
        "restore",
        lambda: service.restore_session(_me(), series_id, number),
        _("The session takes place after all; we told the others."),
    )


@bp.post("/sessions/<int:series_id>/<int:number>/move")
def move(series_id: int, number: int):
    """Move this session to another time (given in the member's own zone)."""
    day, clock = _day(request.form.get("date")), (request.form.get("time") or "").strip()

    def action():
        start = _moment(day, clock, _me().timezone)
        service.move_session(_me(), series_id, number, start)

    return _session_action(
        series_id,
        number,
        "move",
        action,
        _("The session is moved; we told the others."),
        move_date=request.form.get("date", ""),
        move_time=clock,
    )


def _moment(day: date | None, clock: str, zone: str) -> datetime:
    """A date and an HH:MM in `zone` as a UTC instant; raises Invalid."""
    match = CLOCK.fullmatch(clock)
    if day is None:
        raise Invalid(_("Please give a date."), "date")
    if match is None:
        raise Invalid(_("Give the start time as hours and minutes, such as 18:00."), "time")
    return local_instant(day, int(match[1]) * 60 + int(match[2]), zone)


@bp.post("/sessions/<int:series_id>/<int:number>/attendance")
def attendance(series_id: int, number: int):
    """Record that the session was held and who did not come."""
    absent = [int(v) for v in request.form.getlist("absent") if v.isdigit()]
    return _session_action(
        series_id,
        number,
        "attendance",
        lambda: service.record_attendance(_me(), series_id, number, absent),
        _("Thank you: who came is recorded."),
    )


@bp.post("/sessions/<int:series_id>/<int:number>/notes")
def notes(series_id: int, number: int):
    """Save the shared notes (htmx: in place; a stale save shows both texts, 409)."""
    parts = {part: request.form.get(part, "") for part in NOTE_PARTS}
    base = request.form.get("base", type=int) or 0
    try:
        service.save_notes(_me(), series_id, number, parts, base)
    except NotFound:
        abort(404)
    except service.StaleNotes as stale:
        db.session.rollback()
        context = _session_context(series_id, number, stale=stale)
        return render("meetings/session.html", "meetings/_session_notes.html", 409, **context)
    except DomainError as error:
        db.session.rollback()
        context = _session_context(series_id, number, notes_error=error, notes=parts)
        context["notes_version"] = base
        return render(
            "meetings/session.html", "meetings/_session_notes.html", error.status, **context
        )
    if wants_fragment():
        context = _session_context(series_id, number, notes_saved=True)
        return render("meetings/session.html", "meetings/_session_notes.html", **context)
    flash(_("Your notes are saved."), "success")
    return redirect_after_post(
        url_for("meetings.session", series_id=series_id, number=number) + "#notes"
    )


@bp.post("/sessions/<int:series_id>/<int:number>/feedback")
def feedback(series_id: int, number: int):
    """Quick, kind feedback after the session, for the others (htmx: in place)."""
    helped, wish = request.form.get("helped", ""), request.form.get("wish", "")
    try:
        service.give_feedback(_me(), series_id, number, helped, wish)
    except NotFound:
        abort(404)
    except DomainError as error:
        db.session.rollback()
        context = _session_context(
            series_id, number, feedback_error=error, typed_feedback={"helped": helped, "wish": wish}
        )
        return render(
            "meetings/session.html", "meetings/_session_feedback.html", error.status, **context
        )
    done = _("Thank you: the others can read your feedback.")
    if wants_fragment():
        context = _session_context(series_id, number, feedback_done=done)
        return render("meetings/session.html", "meetings/_session_feedback.html", **context)
    flash(done, "success")
    return redirect_after_post(
        url_for("meetings.session", series_id=series_id, number=number) + "#feedback"
    )
