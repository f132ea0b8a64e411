"""The tandem page and the agreement: edit a section in place, sign, read the history and
print it; end early, decide at the end of the term; invitations into a group."""

from __future__ import annotations

from datetime import timedelta

from babel.dates import get_day_names
from flask import Blueprint, Response, abort, flash, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from peerhub.accounts.models import User
from peerhub.errors import DomainError, NotFound
from peerhub.extensions import db, utcnow
from peerhub.intros.models import IntroRequest
from peerhub.journal import service as journal
from peerhub.meetings import service as meetings
from peerhub.tandems import agreement as texts
from peerhub.tandems import history, progress, service
from peerhub.tandems.models import END_REASONS, GROUP_MAX, Tandem
from peerhub.web.htmx import redirect_after_post, render, wants_fragment
from peerhub.web.timefmt import timezone_names

bp = Blueprint("tandems", __name__)


@bp.before_request
@login_required
def _members_only():
    """Tandems are for signed-in members only."""


def _me() -> User:
    return current_user._get_current_object()


def _tandem(tandem_id: int) -> Tandem:
    try:
        return service.tandem_for(_me(), tandem_id)
    except NotFound:
        abort(404)


# --- the tandem page ------------------------------------------------------------------------


def _page_context(tandem: Tandem, **extra) -> dict:
    me = _me()
    agreement = service.agreement_of(tandem)
    sessions = meetings.overview(tandem)
    no_shows = []
    if tandem.state == "active" and agreement.in_force_version:
        limit = meetings.no_show_limit(tandem)
        counts = meetings.no_show_counts(tandem, sessions.sessions)
        no_shows = [(uid, n) for uid, n in sorted(counts.items()) if n >= limit]
    intro = (
        db.session.get(IntroRequest, tandem.intro_request_id) if tandem.intro_request_id else None
    )
    # The term that is ending is the one in force; a draft may hold the next one already.
    in_force = (
        service.version_content(agreement, agreement.in_force_version)
        if agreement.in_force_version
        else None
    )
    return {
        "tandem": tandem,
        "me": me,
        "partners": service.partners(tandem, me.id),
        "names": service.names_of(tandem),
        "agreement": agreement,
        "content": agreement.content,
        "agreement_status": service.status_of(tandem, agreement),
        "sessions": sessions,
        "no_shows": no_shows,
        "no_show_rule": meetings.in_force(tandem)["cancellation"]["repeated"] if no_shows else "",
        "term_ending": service.term_ending(tandem, agreement, utcnow().date()),
        "term_end": in_force["term"]["end"] if in_force else None,
        "intro": intro,
        "note": intro.feedback_for(me.id) if intro else None,
        "note_author": db.session.get(User, intro.other_id(me.id)) if intro else None,
        "invitations": service.pending_invitations(tandem),
        "end_reasons": END_REASONS,
        "group_max": GROUP_MAX,
        "texts": texts,
        "open_check_in": progress.open_check_in(tandem),
        "feedback_due": _feedback_due(tandem, sessions, me),
        "shared_entries": journal.shared_in(tandem, me),
        **progress_views.goals_context(tandem),
        **extra,
    }


def _feedback_due(tandem: Tandem, sessions, me: User):
    """The last session, held in the past week, that the member has not given feedback on:
    the tandem page asks, once, quietly."""
    if tandem.state not in meetings.RUNNING:
        return None
    held = [s for s in sessions.past if not s.cancelled]
    if not held or held[-1].end < sessions.now - timedelta(days=7):
        return None
    last = held[-1]
    if any(f.user_id == me.id for f in meetings.feedback_on(last)):
        return None
    return last


@bp.get("/tandems/<int:tandem_id>")
def show(tandem_id: int):
    """A tandem's page: members, the agreement's state, next sessions, goals, what is next."""
    return render("tandems/show.html", None, **_page_context(_tandem(tandem_id)))


def _refused_on_page(tandem_id: int, action) -> Response | None:
    """Run an action of the tandem page: 404 for what the member may not see; a refusal
    re-renders the page with its message and status. None when the action succeeded."""
    try:
        action()
    except NotFound:
        abort(404)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return render("tandems/show.html", None, error.status, **_page_context(_tandem(tandem_id)))
    return None


@bp.post("/tandems/<int:tandem_id>/end")
def end(tandem_id: int):
    """End the tandem early, with a reason and optional private feedback."""
    reason, note = request.form.get("reason", ""), request.form.get("note", "")
    refused = _refused_on_page(tandem_id, lambda: service.end_early(_me(), tandem_id, reason, note))
    if refused:
        return refused
    flash(_("Your tandem has ended. Thank you for the time you gave each other."), "success")
    return redirect_after_post(url_for("tandems.show", tandem_id=tandem_id))


@bp.post("/tandems/<int:tandem_id>/leave")
def leave(tandem_id: int):
    """Leave a group of three or four; the others go on."""
    note = request.form.get("note", "")
    refused = _refused_on_page(tandem_id, lambda: service.leave_group(_me(), tandem_id, note))
    if refused:
        return refused
    flash(_("You have left the group. Thank you for the time you gave each other."), "success")
    return redirect_after_post(url_for("web.home"))


@bp.post("/tandems/<int:tandem_id>/term")
def term(tandem_id: int):
    """At the end of the term: continue or complete."""
    choice, note = request.form.get("choice", ""), request.form.get("note", "")
    refused = _refused_on_page(
        tandem_id, lambda: service.choose_at_term_end(_me(), tandem_id, choice, note)
    )
    if refused:
        return refused
    if choice == "continue":
        flash(_("Thank you. The next term is in your agreement: read it and sign it."), "success")
        return redirect_after_post(url_for("tandems.agreement", tandem_id=tandem_id))
    flash(_("Thank you for your farewell note."), "success")
    return redirect_after_post(url_for("tandems.show", tandem_id=tandem_id))


# --- the agreement ----------------------------------------------------------------------------


def _agreement_context(tandem: Tandem, **extra) -> dict:
    me = _me()
    agreement = service.agreement_of(tandem)
    return {
        "tandem": tandem,
        "me": me,
        "partners": service.partners(tandem, me.id),
        "names": service.names_of(tandem),
        "agreement": agreement,
        "content": agreement.content,
        "agreement_status": service.status_of(tandem, agreement),
        "sections": texts.SECTIONS,
        "titles": texts.SECTION_TITLES,
        "texts": texts,
        "editable": tandem.state in ("forming", "active"),
        "zones": timezone_names(),
        "weekday_names": get_day_names("wide", locale=get_locale()),
        **extra,
    }


@bp.get("/tandems/<int:tandem_id>/agreement")
def agreement(tandem_id: int):
    """The agreement: every section, who signed, and the signing box."""
    return render("tandems/agreement.html", None, **_agreement_context(_tandem(tandem_id)))


@bp.get("/tandems/<int:tandem_id>/agreement/<any(" + ", ".join(texts.SECTIONS) + "):section>")
def section(tandem_id: int, section: str):
    """One section as it reads (htmx: to leave the editor without saving)."""
    context = _agreement_context(_tandem(tandem_id), section=section)
    return render("tandems/agreement.html", "tandems/_section.html", **context)


@bp.get("/tandems/<int:tandem_id>/agreement/<any(" + ", ".join(texts.SECTIONS) + "):section>/edit")
def edit_section(tandem_id: int, section: str):
    """The editor of one section (htmx swaps it in place; without JavaScript, its own page)."""
    tandem = _tandem(tandem_id)
    if tandem.state not in ("forming", "active"):
        flash(_("This tandem has ended; its agreement can no longer change."), "error")
        context = _agreement_context(tandem, section=section)
        return render("tandems/edit_section.html", "tandems/_section.html", 409, **context)
    context = _agreement_context(tandem, section=section, editing=True)
    context["value"] = context["content"].get(section)
    context["base"] = context["agreement"].version
    return render("tandems/edit_section.html", "tandems/_section.html", **context)


@bp.post("/tandems/<int:tandem_id>/agreement/<any(" + ", ".join(texts.SECTIONS) + "):section>")
def save_section(tandem_id: int, section: str):
    """Save one section as a new version; a save over someone's newer change of the same
    section is refused with both texts (409); bad input is a 422 with the form."""
    tandem = _tandem(tandem_id)
    base = request.form.get("base", type=int) or 0
    try:
        service.save_section(_me(), tandem_id, section, request.form.to_dict(), base)
    except NotFound:
        abort(404)
    except service.StaleSave as stale:
        db.session.rollback()
        context = _agreement_context(
            tandem,
            section=section,
            editing=True,
            stale=stale,
            value=stale.yours,
            base=stale.version,
        )
        return render("tandems/edit_section.html", "tandems/_section_saved.html", 409, **context)
    except DomainError as error:
        db.session.rollback()
        context = _agreement_context(
            tandem,
            section=section,
            editing=True,
            error=error,
            value=_submitted(section, request.form),
            base=base,
        )
        return render("tandems/edit_section.html", "tandems/_section.html", error.status, **context)
    tandem = _tandem(tandem_id)
    if wants_fragment():
        context = _agreement_context(tandem, section=section, saved=True)
        return render("tandems/agreement.html", "tandems/_section_saved.html", **context)
    return redirect_after_post(
        url_for("tandems.agreement", tandem_id=tandem_id, saved=section) + f"#section-{section}"
    )


def _submitted(section: str, form) -> object:
    """What the member typed, shaped like the section, to show it again with the error."""
    data = form.to_dict()
    if section in ("goals", "milestones"):
        prefix, fields = (
            ("goal", ("title", "measure"))
            if section == "goals"
            else (
                "milestone",
                ("title", "target"),
            )
        )
        rows = []
        for n in range(12):
            row = {f: data.get(f"{prefix}_{f}_{n}", "") for f in fields}
            row["key"] = data.get(f"{prefix}_key_{n}", "")
            if any(row[f] for f in fields):
                rows.append(row)
        return rows
    return data


@bp.post("/tandems/<int:tandem_id>/agreement/sign")
def sign(tandem_id: int):
    """Sign the latest version by typing one's full name and confirming."""
    tandem = _tandem(tandem_id)
    try:
        service.sign(
            _me(),
            tandem_id,
            request.form.get("version", type=int) or 0,
            request.form.get("full_name", ""),
            request.form.get("confirm") == "yes",
        )
    except NotFound:
        abort(404)
    except DomainError as error:
        db.session.rollback()
        context = _agreement_context(
            tandem, sign_error=error, typed=request.form.get("full_name", "")
        )
        if not wants_fragment():
            flash(error.message, "error")
        return render("tandems/agreement.html", "tandems/_signing.html", error.status, **context)
    tandem = _tandem(tandem_id)
    status = service.status_of(tandem, service.agreement_of(tandem))
    message = (
        _("Everyone has signed: your agreement is in force.")
        if status.complete
        else _("Signed. We let the others know.")
    )
    if wants_fragment():
        context = _agreement_context(tandem, notice=message)
        return render("tandems/agreement.html", "tandems/_signing.html", **context)
    flash(message, "success")
    return redirect_after_post(url_for("tandems.agreement", tandem_id=tandem_id) + "#signing")


@bp.get("/tandems/<int:tandem_id>/agreement/history")
def agreement_history(tandem_id: int):
    """Every version with who changed what, the signatures, and a readable comparison."""
    tandem = _tandem(tandem_id)
    agreement = service.agreement_of(tandem)
    return render(
        "tandems/history.html",
        None,
        tandem=tandem,
        partners=service.partners(tandem, _me().id),
        entries=history.history(agreement),
    )


@bp.get("/tandems/<int:tandem_id>/agreement/print")
def agreement_print(tandem_id: int):
    """The agreement to print: content, signatures and their hashes."""
    tandem = _tandem(tandem_id)
    agreement = service.agreement_of(tandem)
    return render(
        "tandems/print.html",
        None,
        tandem=tandem,
        names=service.names_of(tandem),
        printable=history.printable(agreement),
    )


# --- invitations ------------------------------------------------------------------------------


@bp.post("/members/<int:user_id>/invite")
def invite(user_id: int):
    """Invite a member into one of one's tandems (which one: the form says)."""
    tandem_id = request.form.get("tandem", type=int) or 0
    try:
        service.invite(_me(), tandem_id, user_id, request.form.get("message", ""))
    except NotFound:
        abort(404)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect_after_post(url_for("profiles.member", user_id=user_id))
    flash(_("Your invitation is on its way."), "success")
    return redirect_after_post(url_for("tandems.show", tandem_id=tandem_id))


@bp.get("/invitations/<int:invitation_id>")
def invitation(invitation_id: int):
    """An invitation into a group: who invites, into which group, and the answer."""
    try:
        invite_ = service.invitation_for(_me(), invitation_id)
    except NotFound:
        abort(404)
    tandem = db.session.get(Tandem, invite_.tandem_id)
    return render(
        "tandems/invitation.html",
        None,
        invitation=invite_,
        tandem=tandem,
        names=service.names_of(tandem),
        inviter=db.session.get(User, invite_.invited_by_id) if invite_.invited_by_id else None,
        mine=invite_.user_id == _me().id,
    )


@bp.post("/invitations/<int:invitation_id>/<any(accept, decline, withdraw):answer>")
def answer_invitation(invitation_id: int, answer: str):
    """Join the group, say no thanks, or (a member of the tandem) take the invitation back."""
    try:
        if answer == "withdraw":
            invite_ = service.withdraw_invitation(_me(), invitation_id)
        else:
            invite_ = service.answer_invitation(_me(), invitation_id, accept=answer == "accept")
    except NotFound:
        abort(404)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect_after_post(url_for("tandems.invitation", invitation_id=invitation_id))
    if answer == "accept":
        flash(_("Welcome to the group! Read your agreement and sign it."), "success")
        return redirect_after_post(url_for("tandems.agreement", tandem_id=invite_.tandem_id))
    if answer == "withdraw":
        flash(_("The invitation is withdrawn."), "success")
        return redirect_after_post(url_for("tandems.show", tandem_id=invite_.tandem_id))
    flash(_("Thank you for answering. We let them know."), "success")
    return redirect_after_post(url_for("web.home"))


# The reflection pages join this blueprint (they import it, so they come last).
from peerhub.tandems import progress_views  # noqa: E402
