"""The review queue: open cases with their context, acted on in place (dismiss, warn, hide,
suspend, ban); suspended and banned members, to lift; appeals, decided by another moderator.
The moderation blueprint checks the role for all of these (404 for everyone else)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from peerhub.accounts.models import User
from peerhub.errors import DomainError, Invalid, NotFound
from peerhub.extensions import db, utcnow
from peerhub.moderation import cases
from peerhub.moderation.models import REASON_MAX
from peerhub.moderation.views import bp
from peerhub.profiles.availability import local_instant
from peerhub.web.htmx import redirect_after_post, render, wants_fragment
from peerhub.web.reauth import confirm_recent_login

DAY = timedelta(days=1)

# Actions that take something away from a member ask for a recent login (SECURITY 6).
REAUTH_ACTIONS = frozenset({"hide", "suspend", "ban"})


def _me() -> User:
    return current_user._get_current_object()


def _labels() -> dict:
    return {
        "categories": cases.CATEGORY_LABELS,
        "labels": cases.ACTION_LABELS,
        "targets": cases.TARGET_LABELS,
        "reason_max": REASON_MAX,
        "me": _me(),
        "now": utcnow(),
        "min_until": (utcnow().astimezone(ZoneInfo(_me().timezone)).date() + DAY).isoformat(),
        "moment": datetime.fromisoformat,
    }


def _queue_context(**extra) -> dict:
    order = request.args.get("order", "oldest")
    order = order if order in cases.QUEUE_ORDERS else "oldest"
    views, total = cases.queue(_me(), order)
    return {
        "cases": views,
        "total": total,
        "order": order,
        "restricted": cases.restricted_members(_me()),
        "pending_appeals": cases.pending_appeals(_me()),
        **_labels(),
        **extra,
    }


@bp.get("/queue")
def queue():
    """Open cases, oldest (or most reported) first, each with its reports and the member's
    history, and the actions in place."""
    return render("moderation/queue.html", None, **_queue_context())


def _case(case_id: int) -> cases.CaseView:
    try:
        return cases.case_for(_me(), case_id)
    except NotFound:
        abort(404)


@bp.get("/cases/<int:case_id>")
def case(case_id: int):
    """One case, open or resolved, with everything the queue shows of it."""
    return render("moderation/case.html", "moderation/_case.html", item=_case(case_id), **_labels())


def _until(value: str | None) -> date | None:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        return None


@bp.post("/cases/<int:case_id>/act")
def act(case_id: int):
    """Dismiss the case, hide its content, or warn, suspend or ban its member (which resolves
    all of their open cases); htmx re-renders the card, and the other cards it resolved.
    (The audit log's `record` writes the security event of every action.)"""
    form = request.form
    kind = form.get("action", "")
    typed = {
        "action": kind,
        "reason": form.get("reason", "")[: REASON_MAX * 2],
        "until": form.get("until", ""),
    }
    version = form.get("version", type=int)
    try:
        until = None
        if kind == "suspend":
            day = _until(typed["until"])
            if day is None:
                raise Invalid(_("Please choose the day the suspension ends."), "until")
            until = local_instant(day, 0, _me().timezone)
        if kind in REAUTH_ACTIONS:
            cases.case_for(_me(), case_id)  # an unknown case answers 404 before the password
            confirm_recent_login(form.get("password"), "moderation_reauth_failed")
        action = cases.act(_me(), case_id, kind, typed["reason"], version, until)
    except NotFound:
        abort(404)
    except DomainError as error:
        db.session.rollback()
        if isinstance(error, cases.StaleCase):
            typed = {}  # the case is shown as it is now; what was typed does not fit it
        context = {"item": _case(case_id), "error": error, "typed": typed, **_labels()}
        if not wants_fragment():
            flash(error.message, "error")
        return render("moderation/case.html", "moderation/_case.html", error.status, **context)
    done = _done_text(action)
    if wants_fragment():
        item = _case(case_id)
        others = [_case(other) for other in action_cases(action) if other != case_id]
        return render(
            "moderation/case.html",
            "moderation/_case.html",
            item=item,
            done=done,
            also=others,
            **_labels(),
        )
    flash(done, "success")
    return redirect_after_post(url_for("moderation.queue"))


def action_cases(action) -> list[int]:
    """The cases an action resolved (its audit entry lists them)."""
    from sqlalchemy import select

    from peerhub.moderation.models import ReportCase

    return list(
        db.session.scalars(
            select(ReportCase.id).where(ReportCase.action_id == action.id).order_by(ReportCase.id)
        )
    )


def _done_text(action) -> str:
    name = action.subject_name
    if action.kind == "dismiss":
        return _("The case is dismissed; the reporters are told no action was needed.")
    if action.kind == "hide":
        return _("Hidden. %(name)s and the reporters are told.", name=name)
    if action.kind == "warn":
        return _("%(name)s is warned and reads it at their next login.", name=name)
    if action.kind == "suspend":
        return _("%(name)s is suspended; every session of theirs has ended.", name=name)
    return _("%(name)s is banned; every session of theirs has ended.", name=name)


@bp.post("/members/<int:user_id>/lift")
def lift(user_id: int):
    """Lift a member's suspension or ban, with a reason."""
    try:
        cases.lift(_me(), user_id, request.form.get("reason", "")[: REASON_MAX * 2])
    except NotFound:
        abort(404)
    except DomainError as error:
        db.session.rollback()
        if not wants_fragment():
            flash(error.message, "error")
        context = _queue_context(lift_error=error, lift_failed=user_id)
        return render(
            "moderation/queue.html", "moderation/_restricted.html", error.status, **context
        )
    done = _("The member can log in again; we told them by mail.")
    if wants_fragment():
        return render(
            "moderation/queue.html", "moderation/_restricted.html", **_queue_context(lift_done=done)
        )
    flash(done, "success")
    return redirect_after_post(url_for("moderation.queue") + "#restricted")


# --- appeals ------------------------------------------------------------------------------------


@bp.get("/appeals")
def appeals():
    """Appeals waiting for a decision, and the latest decided ones."""
    pending, decided = cases.appeals(_me())
    return render("moderation/appeals.html", None, pending=pending, decided=decided, **_labels())


def _appeal(appeal_id: int) -> cases.AppealView:
    try:
        return cases.appeal_for(_me(), appeal_id)
    except NotFound:
        abort(404)


@bp.post("/appeals/<int:appeal_id>/decide")
def decide_appeal(appeal_id: int):
    """Approve an appeal (the decision is lifted) or reject it with a reason."""
    decision = request.form.get("decision", "")
    reason = request.form.get("reason", "")[: REASON_MAX * 2]
    try:
        if decision not in ("approve", "reject"):
            _appeal(appeal_id)
            raise Invalid(_("Please choose to approve or to reject the appeal."), "decision")
        cases.decide_appeal(_me(), appeal_id, decision == "approve", reason)
    except NotFound:
        abort(404)
    except DomainError as error:
        db.session.rollback()
        if not wants_fragment():
            flash(error.message, "error")
        context = {
            "item": _appeal(appeal_id),
            "error": error,
            "typed": {"decision": decision, "reason": reason},
            "failed": appeal_id,
            **_labels(),
        }
        if wants_fragment():
            return render(
                "moderation/appeals.html", "moderation/_appeal.html", error.status, **context
            )
        pending, decided = cases.appeals(_me())
        return render(
            "moderation/appeals.html",
            None,
            error.status,
            pending=pending,
            decided=decided,
            **context,
        )
    done = (
        _("Approved: the decision is lifted and the member is told.")
        if decision == "approve"
        else _("Rejected: the member is told your reason.")
    )
    if wants_fragment():
        return render(
            "moderation/appeals.html",
            "moderation/_appeal.html",
            item=_appeal(appeal_id),
            done=done,
            **_labels(),
        )
    flash(done, "success")
    return redirect_after_post(url_for("moderation.appeals"))
