"""What members see of moderation: reporting a profile, a message or a member; their reports
and what became of them; what moderators decided about them, and appealing it (signed in,
or from the signed link a suspended member gets at the login and by mail)."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    has_request_context,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, user_logged_in

from peerhub.accounts.models import User
from peerhub.errors import DomainError, Invalid, NotFound
from peerhub.extensions import db, limiter
from peerhub.moderation import cases
from peerhub.moderation.models import CATEGORIES, DETAILS_MAX
from peerhub.web.htmx import redirect_after_post, render, wants_fragment
from peerhub.web.seclog import security_event

bp = Blueprint("reports", __name__)


def _limit(setting: str):
    return lambda: current_app.config[setting]


def _member_key() -> str:
    """Reports and appeals are counted per member (per address before login)."""
    user_id = getattr(current_user, "id", None) if current_user.is_authenticated else None
    return f"member:{user_id}" if user_id else f"address:{get_remote_address()}"


def _me() -> User:
    return current_user._get_current_object()


# --- reporting --------------------------------------------------------------------------------


def _report_context(target: cases.Target, kinds: tuple[str, ...], **extra) -> dict:
    typed = extra.pop("typed", {})
    return {
        "target": target,
        "kinds": kinds,
        "about": typed.get("about") or kinds[0],
        "category": typed.get("category", ""),
        "details": typed.get("details", ""),
        "categories": [(c, cases.CATEGORY_LABELS[c]) for c in CATEGORIES],
        "details_max": DETAILS_MAX,
        "action_url": request.path,
        "error": None,
        "done": None,
        **extra,
    }


def _target(kind: str, target_id: int) -> cases.Target:
    try:
        return cases.report_target(_me(), kind, target_id)
    except NotFound:
        abort(404)


def _report(kinds: tuple[str, ...], target_id: int):
    """Show the report form, or file the report (fragment for htmx, else back to the list)."""
    target = _target(kinds[0], target_id)
    if request.method == "GET":
        return render("reports/report.html", None, **_report_context(target, kinds))
    typed = {
        "about": request.form.get("about", kinds[0]),
        "category": request.form.get("category", ""),
        "details": request.form.get("details", "")[: DETAILS_MAX * 2],
    }
    kind = typed["about"] if typed["about"] in kinds else None
    try:
        if kind is None:
            raise Invalid(_("Please choose what you are reporting."), "about")
        filed = cases.report(_me(), kind, target_id, typed["category"], typed["details"])
    except NotFound:
        abort(404)
    except DomainError as error:
        db.session.rollback()
        context = _report_context(_target(kinds[0], target_id), kinds, typed=typed, error=error)
        return render("reports/report.html", "reports/_report_form.html", error.status, **context)
    security_event("report_filed", actor=current_user.id, target=f"{kind}:{target_id}")
    done = (
        _("You had reported this already: we added what you wrote to your report.")
        if filed.again
        else _(
            "Thank you. The moderators will look at your report; we let you know when they have."
        )
    )
    if wants_fragment():
        context = _report_context(_target(kinds[0], target_id), kinds, done=done)
        return render("reports/report.html", "reports/_report_form.html", **context)
    flash(done, "success")
    return redirect_after_post(url_for("reports.mine"))


@bp.route("/members/<int:user_id>/report", methods=["GET", "POST"])
@login_required
@limiter.limit(_limit("REPORT_LIMIT"), methods=["POST"], key_func=_member_key)
def report_member(user_id: int):
    """Report another member's profile, or the member for how they behave."""
    return _report(("profile", "member"), user_id)


@bp.route("/messages/<int:message_id>/report", methods=["GET", "POST"])
@login_required
@limiter.limit(_limit("REPORT_LIMIT"), methods=["POST"], key_func=_member_key)
def report_message(message_id: int):
    """Report a message the other member wrote in an intro thread."""
    return _report(("message",), message_id)


@bp.get("/reports")
@login_required
def mine():
    """The member's reports and what became of each, in general words."""
    return render(
        "reports/mine.html",
        None,
        reports=cases.reports_by(_me()),
        categories=cases.CATEGORY_LABELS,
        has_actions=bool(cases.actions_about(_me())),
    )


# --- decisions about me, and appeals ----------------------------------------------------------


def _actions_context(**extra) -> dict:
    return {
        "actions": cases.actions_about(_me()),
        "labels": cases.ACTION_LABELS,
        "appeal_max": cases.APPEAL_MAX,
        "appeal_days": cases.APPEAL_DAYS,
        "me": _me(),
        **extra,
    }


@bp.get("/account/moderation")
@login_required
def my_actions():
    """What moderators decided about the member and why, with an appeal for each that
    allows one."""
    return render("reports/my_actions.html", None, **_actions_context())


@bp.post("/account/moderation/<int:action_id>/appeal")
@login_required
@limiter.limit(_limit("APPEAL_LIMIT"), key_func=_member_key)
def appeal(action_id: int):
    """Appeal a decision (once, within 20 days); htmx re-renders its card."""
    text = request.form.get("text", "")[: cases.APPEAL_MAX * 2]
    try:
        cases.appeal(_me(), action_id, text)
    except NotFound:
        abort(404)
    except DomainError as error:
        db.session.rollback()
        view = _own_action(action_id)
        context = _actions_context(item=view, error=error, typed=text, failed=action_id)
        return render("reports/my_actions.html", "reports/_action.html", error.status, **context)
    security_event("appeal_filed", actor=current_user.id, target=f"action:{action_id}")
    done = _("Your appeal is with the moderators. We let you know what they decide.")
    if wants_fragment():
        context = _actions_context(item=_own_action(action_id), done=done, done_for=action_id)
        return render("reports/my_actions.html", "reports/_action.html", **context)
    flash(done, "success")
    return redirect_after_post(url_for("reports.my_actions") + f"#action-{action_id}")


def _own_action(action_id: int) -> cases.ActionView:
    try:
        return cases.action_about(_me(), action_id)
    except NotFound:
        abort(404)


@bp.route("/appeal/<token>", methods=["GET", "POST"])
@limiter.limit(_limit("APPEAL_LIMIT"), methods=["POST"], key_func=_member_key)
def appeal_by_link(token: str):
    """A suspended member's appeal, from the signed link at the login or in the mail (they
    cannot log in); the link names one suspension and lasts the 20 days of the appeal."""
    try:
        member, view = cases.action_for_link(token)
    except Invalid as error:
        return render("accounts/link_problem.html", None, status=400, message=error.message)
    context = {
        "member": member,
        "item": view,
        "labels": cases.ACTION_LABELS,
        "appeal_max": cases.APPEAL_MAX,
        "token": token,
        "error": None,
        "typed": "",
        "done": None,
    }
    if request.method == "GET":
        return render("reports/appeal.html", None, **context)
    text = request.form.get("text", "")[: cases.APPEAL_MAX * 2]
    try:
        cases.appeal_by_link(token, text)
    except DomainError as error:
        db.session.rollback()
        member, view = cases.action_for_link(token)
        context.update(member=member, item=view, error=error, typed=text)
        return render("reports/appeal.html", None, error.status, **context)
    security_event("appeal_filed", actor=member.id, target=f"action:{view.action.id}")
    member, view = cases.action_for_link(token)
    context.update(
        member=member,
        item=view,
        done=_("Your appeal is with the moderators. We write to you when they have decided."),
    )
    return render("reports/appeal.html", None, **context)


# --- a warning shows once, at the next login ------------------------------------------------


def _warnings_at_login(sender, user: User, **extra) -> None:
    """Show the member the warnings they have not read yet (each once), at their login."""
    if not has_request_context():
        return
    for reason in cases.warnings_to_show(user):
        flash(_("A moderator has warned you: %(reason)s", reason=reason), "warning")


user_logged_in.connect(_warnings_at_login)
