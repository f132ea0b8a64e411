"""Suggestions with "not now", and the member's side of matching rounds."""

from __future__ import annotations

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from peerhub.errors import DomainError, NotFound
from peerhub.intros import service as intros
from peerhub.matching import service
from peerhub.matching.candidates import load_candidates
from peerhub.web.htmx import redirect_after_post, render, wants_fragment

bp = Blueprint("matching", __name__)


@bp.before_request
@login_required
def _members_only():
    """Matching is for signed-in members only."""


def _me():
    return current_user._get_current_object()


# --- suggestions ----------------------------------------------------------------


@bp.get("/suggestions")
def suggestions():
    """The member's best matches, each with its score in parts and a sentence on why."""
    me = load_candidates([current_user.id]).get(current_user.id)
    # after "Not now" without JavaScript: the note with its undo, where the card was
    dismissed = request.args.get("dismissed", type=int)
    if dismissed is not None and not service.dismissed_by(current_user.id, dismissed):
        dismissed = None
    return render(
        "matching/suggestions.html",
        None,
        dismissed=dismissed,
        suggestions=service.suggestions_for(current_user.id, current_user.timezone, me=me),
        missing=service.missing_for_suggestions(me),
        unavailable=me.unavailable_reason if me else None,
        round_open=service.open_round() is not None,
    )


@bp.post("/suggestions/<int:user_id>/dismiss")
def dismiss(user_id: int):
    """ "Not now": the suggestion goes away for 90 days; htmx swaps the card for a note."""
    try:
        service.dismiss(_me(), user_id)
    except NotFound:
        abort(404)
    if wants_fragment():
        return render("matching/suggestions.html", "matching/_dismissed.html", user_id=user_id)
    return redirect_after_post(url_for("matching.suggestions", dismissed=user_id))


@bp.post("/suggestions/<int:user_id>/undo")
def undo_dismiss(user_id: int):
    """Take back a "not now"."""
    try:
        service.undo_dismiss(_me(), user_id)
    except NotFound:
        abort(404)
    flash(_("The suggestion is back."), "success")
    return redirect_after_post(url_for("matching.suggestions"))


# --- rounds ------------------------------------------------------------------------


def _round_context() -> dict:
    round_ = service.open_round()
    proposals = service.proposals_for(_me(), current_user.timezone)
    partner_ids = [p.id for view in proposals for p in view.partners]
    return {
        "open_round": round_,
        "entry": service.entry_for(round_, current_user.id),
        "proposals": proposals,
        "intro_with": intros.open_requests_with(current_user.id, partner_ids),
    }


@bp.get("/matching/round")
def round_page():
    """The next matching round (opt in or out) and the member's proposals to answer."""
    return render("matching/round.html", None, **_round_context())


@bp.post("/matching/round/join")
def join_round():
    """Opt in to the open round, as a pair or in a small group."""
    try:
        service.join_round(_me(), wants_group=request.form.get("group") == "1")
    except DomainError as error:
        flash(error.message, "error")
        return render(
            "matching/round.html", "matching/_round_entry.html", error.status, **_round_context()
        )
    flash(_("You are in the next matching round. We will let you know the proposal."), "success")
    return redirect_after_post(url_for("matching.round_page"))


@bp.post("/matching/round/leave")
def leave_round():
    """Opt out of the open round."""
    service.leave_round(_me())
    flash(_("You are no longer in the next matching round."), "success")
    return redirect_after_post(url_for("matching.round_page"))


@bp.post("/matching/proposals/<int:proposal_id>/<any(accept, decline):answer>")
def answer(proposal_id: int, answer: str):
    """Say yes or no to a round's proposal."""
    try:
        service.answer_proposal(_me(), proposal_id, accept=answer == "accept")
    except NotFound:
        abort(404)
    except DomainError as error:
        flash(error.message, "error")
        return render("matching/round.html", None, error.status, **_round_context())
    if answer == "accept":
        flash(
            _(
                "Thank you for your yes. When everyone has said yes, "
                "you can meet for an intro call."
            ),
            "success",
        )
    else:
        flash(
            _("Thank you for letting us know. You will not be proposed to each other for 90 days."),
            "success",
        )
    return redirect_after_post(url_for("matching.round_page") + f"#proposal-{proposal_id}")
