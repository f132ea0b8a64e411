"""Moderator pages for members and the audit log (the blueprint's role check covers them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.routing import BuildError

from peerhub.accounts.models import User
from peerhub.errors import DomainError, NotFound
from peerhub.extensions import db
from peerhub.moderation import members
from peerhub.moderation.audit import AuditFilters
from peerhub.moderation.models import REASON_MAX
from peerhub.moderation.views import bp
from peerhub.web.htmx import redirect_after_post, render, wants_fragment
from peerhub.web.ids import db_id, page_number
from peerhub.web.reauth import confirm_recent_login

FILTER_MAX = 60

# How the log names what was done; an action without a label here shows its code.
AUDIT_LABELS = {
    members.RESEND_VERIFICATION: _l("confirmation mail sent again"),
    members.FORCE_RESET: _l("password reset forced"),
    members.ROLE_GRANTED: _l("made moderator"),
    members.ROLE_REVOKED: _l("moderator role taken back"),
    "report_dismissed": _l("reports dismissed"),
    "member_warned": _l("warned"),
    "content_hidden": _l("hidden"),
    "member_suspended": _l("suspended"),
    "member_banned": _l("banned"),
    "suspension_lifted": _l("suspension lifted"),
    "ban_lifted": _l("ban lifted"),
    "suspension_ended": _l("suspension ran out"),
    "appeal_approved": _l("appeal approved"),
    "appeal_rejected": _l("appeal rejected"),
}
# What a moderator action on a member was (ModerationAction.kind).
ACTION_KIND_LABELS = {
    "dismiss": _l("reports dismissed"),
    "warn": _l("warning"),
    "hide": _l("hidden"),
    "suspend": _l("suspension"),
    "ban": _l("ban"),
    "lift": _l("suspension or ban lifted"),
}
KIND_LABELS = {
    "member": _l("member"),
    "profile": _l("profile"),
    "message": _l("message"),
    "case": _l("case"),
    "appeal": _l("appeal"),
}
ROLE_LABELS = {"member": _l("member"), "moderator": _l("moderator"), "admin": _l("admin")}
STATUS_LABELS = {"active": _l("active"), "suspended": _l("suspended"), "banned": _l("banned")}
CASE_STATE_LABELS = {"open": _l("open"), "resolved": _l("resolved")}
# The review queue's case page, when that part of moderation is installed.
CASE_ENDPOINTS = ("moderation.case", "moderation.case_detail")


def _actor():
    return current_user._get_current_object()


def _case_url(case_id: int) -> str | None:
    for endpoint in CASE_ENDPOINTS:
        try:
            return url_for(endpoint, case_id=case_id)
        except BuildError:
            continue
    return None


def _labels() -> dict[str, Any]:
    return {
        "audit_label": lambda code: AUDIT_LABELS.get(code, code),
        "action_label": lambda code: ACTION_KIND_LABELS.get(code, code),
        "kind_label": lambda code: KIND_LABELS.get(code, code),
        "role_labels": ROLE_LABELS,
        "status_labels": STATUS_LABELS,
        "case_state_labels": CASE_STATE_LABELS,
    }


def _id_arg(name: str) -> int | None:
    try:
        return db_id(request.args.get(name, ""))
    except ValueError:
        return None


@bp.get("/members")
def members_list():
    """Find members by name or e-mail address: status, role, confirmed, joined, last login."""
    text = request.args.get("q", "")[: members.SEARCH_MAX].strip()
    results = members.search(_actor(), text, page_number(request.args.get("page")))
    return render(
        "moderation/members.html",
        "moderation/_member_results.html",
        results=results,
        q=text,
        page_url=lambda n: url_for("moderation.members_list", q=text or None, page=n),
        **_labels(),
    )


def _member_context(user_id: int, **extra: Any) -> dict[str, Any]:
    """Everything the member page and its actions piece show (one source for both)."""
    record = members.record_for(_actor(), user_id)
    return {
        "record": record,
        "member": record.member,
        "refusal": members.refusal(_actor(), record.member),
        "case_url": _case_url,
        "reason_max": REASON_MAX,
        "grantable_roles": members.GRANTABLE_ROLES,
        "inline_flashes": wants_fragment(),  # the page shows them atop; a swap only here
        "failed": None,
        "error": None,
        "typed": "",
        **_labels(),
        **extra,
    }


@bp.get("/members/<int:user_id>")
def member(user_id: int):
    """A member's status, reports by and about them, actions on them, and what to do."""
    try:
        context = _member_context(user_id)
    except NotFound:
        abort(404)
    return render("moderation/member.html", "moderation/_member_actions.html", **context)


def _member_action(
    user_id: int, name: str, action: Callable[[str], str], reauth: bool = False
) -> Response:
    """Run one action with the posted reason; answer the actions piece again (htmx), or the
    page; a refusal is shown in the form that asked, with its status. `reauth`: the action
    needs a recent login (or the password, posted with it)."""
    reason = request.form.get("reason", "")[: REASON_MAX + 1]
    status, extra = 200, {}
    try:
        if reauth:
            if db.session.get(User, user_id) is None:
                raise NotFound("member")
            confirm_recent_login(request.form.get("password"), "moderation_reauth_failed")
        flash(action(reason), "success")
    except NotFound:
        abort(404)
    except DomainError as error:
        db.session.rollback()
        status = error.status
        extra = {"failed": name, "error": error, "typed": reason}
    if not wants_fragment() and status == 200:
        return redirect_after_post(url_for("moderation.member", user_id=user_id))
    db.session.expire_all()
    try:
        context = _member_context(user_id, **extra)
    except NotFound:
        abort(404)
    return render("moderation/member.html", "moderation/_member_actions.html", status, **context)


@bp.post("/members/<int:user_id>/verification")
def resend_member_verification(user_id: int):
    """Mail an unverified member a fresh confirmation link (a second click sends nothing)."""

    def action(reason: str) -> str:
        members.resend_verification(_actor(), user_id, reason)
        return _("A fresh confirmation link is on its way.")

    return _member_action(user_id, "verification", action)


@bp.post("/members/<int:user_id>/password-reset")
def force_member_password_reset(user_id: int):
    """End the member's password and sessions, and mail them a reset link."""

    def action(reason: str) -> str:
        members.force_password_reset(_actor(), user_id, reason)
        member = db.session.get(User, user_id)
        if member is not None and not member.is_active:
            return _(
                "The password and every session are ended. No link was sent: the account "
                "is suspended or banned; once it may log in, the member asks for a new one."
            )
        return _("The password and every session are ended; a reset link is on its way.")

    return _member_action(user_id, "reset", action, reauth=True)


@bp.post("/members/<int:user_id>/role")
def set_member_role(user_id: int):
    """Admins only: make a member a moderator, or a moderator a member again."""
    role = request.form.get("role", "")[:16]

    def action(reason: str) -> str:
        changed = members.set_role(_actor(), user_id, role, reason)
        member = db.session.get(User, user_id)
        name = member.display_name if member else ""
        if not changed:
            return _("%(name)s has this role already.", name=name)
        if role == "moderator":
            return _("%(name)s is a moderator now.", name=name)
        return _("%(name)s is no longer a moderator.", name=name)

    return _member_action(user_id, "role", action, reauth=True)


@bp.get("/audit")
def audit_log():
    """Every moderator and admin action, newest first, filtered; times in the viewer's zone."""
    filters = AuditFilters(
        actor_id=_id_arg("actor"),
        action=request.args.get("action", "")[:32],
        target_kind=request.args.get("kind", "")[:16],
        target_id=_id_arg("target"),
        text=request.args.get("q", "")[:FILTER_MAX].strip(),
    )
    query = {
        "actor": filters.actor_id,
        "action": filters.action or None,
        "kind": filters.target_kind or None,
        "target": filters.target_id,
        "q": filters.text or None,
    }
    results = members.audit_page(_actor(), filters, page_number(request.args.get("page")))
    return render(
        "moderation/audit.html",
        "moderation/_audit_results.html",
        results=results,
        filters=filters,
        choices=members.audit_choices(_actor()),
        page_url=lambda n: url_for("moderation.audit_log", **query, page=n),
        known_members=members.existing_members(
            [e.target_id for e in results.items if e.target_kind == "member" and e.target_id]
        ),
        **_labels(),
    )
