"""The bell, the notification list and marking read."""

from __future__ import annotations

from flask import Blueprint, abort, request, url_for
from flask_login import current_user, login_required

from peerhub.errors import NotFound
from peerhub.extensions import db
from peerhub.notifications import service
from peerhub.web.htmx import redirect_after_post, render, wants_fragment
from peerhub.web.seclog import security_event

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

PER_PAGE = 20


@bp.before_request
@login_required
def _members_only():
    """Every notification page is a member's own."""


def _list_context(oob: bool = False):
    """The list's context; `oob` adds the bell as an out-of-band piece for htmx swaps."""
    page = request.args.get("page", 1, type=int)
    pagination = db.paginate(
        service.notifications_for(current_user.id), page=page, per_page=PER_PAGE, error_out=False
    )
    return {
        "pagination": pagination,
        "unread": service.unread_count(current_user.id),
        "oob": oob,
    }


@bp.get("/")
def index():
    """The member's notifications, newest first, twenty a page."""
    return render("notifications/index.html", "notifications/_list.html", **_list_context())


@bp.get("/bell")
def bell():
    """The bell with the unread count (htmx refreshes it every minute)."""
    return render("notifications/_bell.html", None, unread=service.unread_count(current_user.id))


@bp.post("/<int:notification_id>/read")
def mark_read(notification_id: int):
    """Mark one notification read; another member's answers 404."""
    try:
        service.mark_read(current_user.id, notification_id)
    except NotFound:
        security_event(
            "access_refused", actor=current_user.id, target=f"notification:{notification_id}"
        )
        abort(404)
    if wants_fragment():
        return render("notifications/index.html", "notifications/_list.html", **_list_context(True))
    return redirect_after_post(url_for("notifications.index", page=request.args.get("page", 1)))


@bp.post("/read-all")
def mark_all_read():
    """Mark every notification read."""
    service.mark_all_read(current_user.id)
    if wants_fragment():
        return render("notifications/index.html", "notifications/_list.html", **_list_context(True))
    return redirect_after_post(url_for("notifications.index"))
