"""Intro calls: the request form, the request page with its actions and thread, the list,
and the calendar file."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask import Blueprint, abort, flash, make_response, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from peerhub.accounts.models import User
from peerhub.calendar.ics import ICS_CONTENT_TYPE
from peerhub.errors import DomainError, Invalid, NotFound
from peerhub.extensions import db, utcnow
from peerhub.intros import service
from peerhub.intros.forms import (
    CancelForm,
    DeclineForm,
    MessageForm,
    OutcomeForm,
    RequestForm,
    TimesForm,
)
from peerhub.intros.models import EXPIRY, OPEN_OUTGOING_MAX, IntroRequest
from peerhub.profiles.availability import local_instant
from peerhub.profiles.models import Profile
from peerhub.web.forms import attach_error
from peerhub.web.htmx import redirect_after_post, render, wants_fragment
from peerhub.web.timefmt import zoned

bp = Blueprint("intros", __name__)


@bp.before_request
@login_required
def _members_only():
    """Intro calls are for signed-in members only."""


def _me() -> User:
    return current_user._get_current_object()


def _time_choices(times: list[datetime], other: User) -> list[SelectChoice]:
    """Checkbox choices: each time in the viewer's zone, and in the other's when it differs."""
    me = _me()
    out = []
    for start in times:
        label = f"{zoned(start, me.timezone)}"
        if other.timezone != me.timezone:
            label += " · " + _(
                "%(when)s for %(name)s",
                when=zoned(start, other.timezone, "HH:mm"),
                name=other.display_name,
            )
        out.append(SelectChoice(start.astimezone(UTC).isoformat(), label))
    return out


def _chosen_times(form) -> list[datetime]:
    """The times ticked and the one typed in (the member's own zone). Raises Invalid."""
    out = []
    for value in form.times.data or []:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise Invalid(
                _("A chosen time could not be read. Please choose again."), "times"
            ) from None
        if moment.tzinfo is None:
            raise Invalid(_("A chosen time could not be read. Please choose again."), "times")
        out.append(moment.astimezone(UTC))
    day, clock = form.other_day.data, form.other_time.data
    if day or clock:
        if not (day and clock):
            raise Invalid(_("Give both a day and a time, or neither."), "other_day")
        out.append(local_instant(day, clock.hour * 60 + clock.minute, _me().timezone))
    return out


# --- asking ------------------------------------------------------------------------


def _new_context(other: User, form: RequestForm, problem: str | None = None) -> dict:
    me = _me()
    length = int(form.length.data) if form.length.data in ("20", "30") else 30
    offered = service.offered_times(me, other, length)
    form.times.choices = _time_choices(offered, other)
    return {
        "other": other,
        "form": form,
        "offered": offered,
        "problem": problem,
        "existing": service.open_between(me.id, other.id),
        "open_outgoing": service.open_outgoing(me.id),
        "open_max": OPEN_OUTGOING_MAX,
        "expiry_days": EXPIRY.days,
        "their_profile": db.session.get(Profile, other.id),
    }


@bp.route("/members/<int:user_id>/intro", methods=["GET", "POST"])
def new(user_id: int):
    """Ask a member for an intro call: a message, 1–3 times, and where to meet.

    404 for members one may not see; the reasons one may not ask (paused, full, five open
    requests …) are shown above the form, and the form answers 422 with them."""
    me = _me()
    try:
        other, _profile = service.recipient_for(me, user_id)
    except NotFound:
        abort(404)
    submitted = request.method == "POST"
    form = RequestForm() if submitted else RequestForm(formdata=None)
    if not submitted:
        form.source.data = request.args.get("source", "profile")
    problem = None
    existing = service.open_between(me.id, other.id)
    if existing is None:
        try:
            service.check_can_request(me, other.id)
        except DomainError as error:
            problem = error.message
    if submitted and existing is not None and existing.requester_id == me.id:
        return redirect_after_post(url_for("intros.show", request_id=existing.id))
    if submitted and form.validate_on_submit():
        try:
            intro = service.send_request(
                me,
                other.id,
                message=form.message.data or "",
                starts=_chosen_times(form),
                length=int(form.length.data or 30),
                mode=form.mode.data or "video",
                place=form.place.data or "",
                source=form.source.data or "profile",
            )
        except NotFound:
            abort(404)
        except DomainError as error:
            attach_error(form, error, {"note": "message"})
            context = _new_context(other, form)
            return render("intros/new.html", "intros/_request_form.html", error.status, **context)
        flash(
            _(
                "Your request is on its way to %(name)s. You will hear as soon as they answer.",
                name=other.display_name,
            ),
            "success",
        )
        return redirect_after_post(url_for("intros.show", request_id=intro.id))
    status = 422 if submitted else 200
    return render(
        "intros/new.html", "intros/_request_form.html", status, **_new_context(other, form, problem)
    )


# --- one request -------------------------------------------------------------------


@dataclass
class Forms:
    times: TimesForm = field(default_factory=lambda: TimesForm(formdata=None))
    decline: DeclineForm = field(default_factory=lambda: DeclineForm(formdata=None))
    cancel: CancelForm = field(default_factory=lambda: CancelForm(formdata=None))
    outcome: OutcomeForm = field(default_factory=lambda: OutcomeForm(formdata=None))
    message: MessageForm = field(default_factory=lambda: MessageForm(formdata=None))


def _intro(request_id: int) -> IntroRequest:
    try:
        return service.request_for(_me(), request_id)
    except NotFound:
        abort(404)


def _show_context(intro: IntroRequest, forms: Forms | None = None, **extra) -> dict:
    """Everything the request page and its fragments need (one builder for both)."""
    me = _me()
    forms = forms or Forms()
    other = db.session.get(User, intro.other_id(me.id))
    now = utcnow()
    if intro.is_open:
        forms.times.times.choices = _time_choices(
            service.offered_times(me, other, intro.length_minutes, now), other
        )
    return {
        "intro": intro,
        "me": me,
        "other": other,
        "forms": forms,
        "now": now,
        "my_turn": intro.state == "pending" and intro.turn_id == me.id,
        "i_asked": intro.requester_id == me.id,
        "started": service.call_started(intro, now),
        "my_outcome": intro.outcome_of(me.id),
        "messages": service.messages_of(intro),
        "names": {me.id: me.display_name, other.id: other.display_name},
        "decline_text": service.decline_text(intro.decline_reason, other.display_name)
        if intro.state == "declined"
        else None,
        "feedback_for_me": intro.feedback_for(me.id)
        if intro.state in ("continued", "not_a_fit")
        else None,
        "tandem": service.tandem_of(intro) if intro.state == "continued" else None,
        **extra,
    }


@bp.get("/intros/<int:request_id>")
def show(request_id: int):
    """One intro request: the times, the answer, the call, the decision and the thread."""
    intro = _intro(request_id)
    return render("intros/show.html", "intros/_intro.html", **_show_context(intro))


def _act(request_id: int, action, forms: Forms, success: str, anchor: str = "") -> object:
    """Run a service action; answer the component (htmx) or redirect (plain form).

    A refusal re-renders the component with the message and its status (4xx)."""
    try:
        action()
    except NotFound:
        abort(404)
    except DomainError as error:
        db.session.rollback()
        intro = _intro(request_id)
        context = _show_context(intro, forms, problem=error.message)
        if not wants_fragment():
            flash(error.message, "error")
        return render("intros/show.html", "intros/_intro.html", error.status, **context)
    intro = _intro(request_id)
    if wants_fragment():
        return render(
            "intros/show.html", "intros/_intro.html", **_show_context(intro, notice=success)
        )
    flash(success, "success")
    return redirect_after_post(url_for("intros.show", request_id=request_id) + anchor)


@bp.post("/intros/<int:request_id>/accept")
def accept(request_id: int):
    """Pick one of the proposed times: the call is scheduled."""
    slot_id = request.form.get("slot", type=int)
    if slot_id is None:
        forms = Forms()
        intro = _intro(request_id)
        return render(
            "intros/show.html",
            "intros/_intro.html",
            422,
            **_show_context(intro, forms, problem=_("Choose one of the times first.")),
        )
    return _act(
        request_id,
        lambda: service.accept_time(_me(), request_id, slot_id),
        Forms(),
        _("The call is scheduled. Add it to your calendar with the file below."),
    )


@bp.post("/intros/<int:request_id>/times")
def propose(request_id: int):
    """Propose other times (one's turn), or move a scheduled call."""
    forms = Forms(times=TimesForm())
    if not forms.times.validate_on_submit():
        intro = _intro(request_id)
        return render("intros/show.html", "intros/_intro.html", 422, **_show_context(intro, forms))

    def action():
        try:
            service.propose_times(
                _me(), request_id, _chosen_times(forms.times), note=forms.times.note.data or ""
            )
        except DomainError as error:
            attach_error(forms.times, error)
            raise

    return _act(request_id, action, forms, _("Your times are on their way."))


@bp.post("/intros/<int:request_id>/decline")
def decline(request_id: int):
    """Say no, kindly."""
    forms = Forms(decline=DeclineForm())
    reason = forms.decline.reason.data or ""
    return _act(
        request_id,
        lambda: service.decline(_me(), request_id, reason),
        forms,
        _("Thank you for answering. We let them know kindly."),
    )


@bp.post("/intros/<int:request_id>/withdraw")
def withdraw(request_id: int):
    """Take back one's own pending request."""
    return _act(
        request_id,
        lambda: service.withdraw(_me(), request_id),
        Forms(),
        _("Your request is withdrawn."),
    )


@bp.post("/intros/<int:request_id>/cancel")
def cancel(request_id: int):
    """Cancel a scheduled call before it begins."""
    forms = Forms(cancel=CancelForm())
    return _act(
        request_id,
        lambda: service.cancel_call(_me(), request_id, forms.cancel.note.data or ""),
        forms,
        _("The call is cancelled; the calendar file below takes it out of your calendar."),
    )


@bp.post("/intros/<int:request_id>/outcome")
def outcome(request_id: int):
    """After the call: let's continue, or not a fit."""
    forms = Forms(outcome=OutcomeForm())
    choice = forms.outcome.outcome.data or ""
    feedback = forms.outcome.feedback.data or ""

    def action():
        try:
            service.record_outcome(_me(), request_id, choice, feedback)
        except DomainError as error:
            attach_error(forms.outcome, error)
            raise

    message = (
        _("Thank you. When you both want to continue, you become a tandem.")
        if choice == "continue"
        else _("Thank you for being honest. We let them know kindly.")
    )
    response = _act(request_id, action, forms, message)
    if response.status_code < 400:
        # Both want to continue: take the member straight to the tandem and its agreement.
        tandem = service.tandem_of(_intro(request_id))
        if tandem is not None:
            session.pop("_flashes", None)
            flash(_("You both want to continue: you are a tandem now. Welcome!"), "success")
            return redirect_after_post(url_for("tandems.show", tandem_id=tandem.id))
    return response


@bp.get("/intros/<int:request_id>/messages")
def thread(request_id: int):
    """The thread alone (htmx refreshes it in place)."""
    intro = _intro(request_id)
    return render("intros/show.html", "intros/_messages.html", **_show_context(intro))


@bp.post("/intros/<int:request_id>/messages")
def post_message(request_id: int):
    """Write in the thread; htmx swaps the thread in place."""
    forms = Forms(message=MessageForm())
    try:
        service.post_message(_me(), request_id, forms.message.body.data or "")
    except NotFound:
        abort(404)
    except DomainError as error:
        db.session.rollback()
        attach_error(forms.message, error)
        intro = _intro(request_id)
        if not wants_fragment():
            flash(error.message, "error")
        return render(
            "intros/show.html", "intros/_thread.html", error.status, **_show_context(intro, forms)
        )
    if wants_fragment():
        return render(
            "intros/show.html", "intros/_thread.html", **_show_context(_intro(request_id))
        )
    return redirect_after_post(url_for("intros.show", request_id=request_id) + "#thread")


@bp.get("/intros/<int:request_id>/call.ics")
def calendar_file(request_id: int):
    """The call as a calendar file (scheduled or cancelled calls only)."""
    intro = _intro(request_id)
    if intro.scheduled_start is None and intro.state != "cancelled":
        abort(404)
    try:
        body = service.ics_for(intro, _me())
    except NotFound:
        abort(404)
    response = make_response(body)
    response.headers["Content-Type"] = ICS_CONTENT_TYPE
    response.headers["Content-Disposition"] = f'attachment; filename="intro-call-{intro.id}.ics"'
    return response


# --- all of mine ---------------------------------------------------------------------


@bp.get("/intros")
def index():
    """All of the member's intro requests: to answer, waiting, scheduled, to decide, past."""
    return render("intros/index.html", None, overview=service.overview(_me()))
