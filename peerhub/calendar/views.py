"""Calendar files over HTTP: the personal feed (a secret URL, no login), the download of a
tandem's sessions, and the feed's card in the settings (make, replace or turn off the URL)."""

from __future__ import annotations

import logging
import re

from flask import Blueprint, Response, abort, current_app, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from peerhub.accounts.passwords import verify_password
from peerhub.calendar import feed as feeds
from peerhub.calendar import service
from peerhub.calendar.ics import ICS_CONTENT_TYPE
from peerhub.errors import NotFound
from peerhub.extensions import utcnow
from peerhub.tandems import service as tandems
from peerhub.web.htmx import render
from peerhub.web.reauth import mark_recent_login, recently_logged_in
from peerhub.web.seclog import security_event

bp = Blueprint("calendar", __name__)

FEED_PATH = re.compile(r"(/calendar/)[A-Za-z0-9_-]+(\.ics)")


# --- the feed -----------------------------------------------------------------------------------


@bp.get("/calendar/<token>.ics")
def feed(token: str):
    """A member's sessions and intro calls (the past 90 days and all to come). No login: the
    token is the key. Answers 304 when the client's copy is current, without building it."""
    user = service.member_for(token)
    if user is None:
        abort(404)
    now = utcnow()
    state = feeds.feed_state(user, now)
    response = Response(status=200)
    response.set_etag(state.etag)
    response.last_modified = state.last_modified
    # If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).
    if request.if_none_match:
        fresh = request.if_none_match.contains(state.etag)
    elif request.if_modified_since is not None:
        fresh = state.last_modified <= request.if_modified_since
    else:
        fresh = False
    if fresh:
        response.status_code = 304
    else:
        response.set_data(feeds.feed_bytes(state))
        response.content_type = ICS_CONTENT_TYPE
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


class _HideFeedTokens(logging.Filter):
    """Access logs show /calendar/…ics, never the token (SECURITY.md 17)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                FEED_PATH.sub(r"\1…\2", arg) if isinstance(arg, str) else arg for arg in record.args
            )
        if isinstance(record.msg, str):
            record.msg = FEED_PATH.sub(r"\1…\2", record.msg)
        return True


def init_app(app) -> None:
    """Keep feed tokens out of the development server's access log."""
    logging.getLogger("werkzeug").addFilter(_HideFeedTokens())


# --- downloads ---------------------------------------------------------------------------------


@bp.get("/tandems/<int:tandem_id>/sessions.ics")
@login_required
def download(tandem_id: int):
    """The tandem's sessions as a calendar file to import (it does not update itself; the
    feed does)."""
    try:
        tandem = tandems.tandem_for(current_user, tandem_id)
    except NotFound:
        abort(404)
    body = feeds.tandem_bytes(tandem, current_user._get_current_object(), utcnow())
    response = Response(body, content_type=ICS_CONTENT_TYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="sessions-{tandem_id}.ics"'
    return response


# --- the feed's card in the settings ----------------------------------------------------------


def feed_context(token: str | None = None, **extra) -> dict:
    """What the settings' calendar card shows: whether a feed exists, its URL right after
    it was made (only then), and whether replacing it needs the password again."""
    urls = None
    if token:
        https = current_app.config["PEERHUB_BASE_URL"] + url_for("calendar.feed", token=token)
        urls = {"https": https, "webcal": re.sub(r"^https?://", "webcal://", https)}
    return {
        "feed": service.feed_of(current_user.id),
        "feed_urls": urls,
        "needs_password": not recently_logged_in(),
        "feed_error": None,
        **extra,
    }


def _settings_page(status: int = 200, **context) -> Response:
    from peerhub.accounts.views import settings_context

    response = render(
        "accounts/settings.html",
        "calendar/_feed_settings.html",
        status,
        **{**settings_context(), **context},
    )
    # The page shows a secret URL: no Referer may carry it anywhere.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.post("/settings/calendar")
@login_required
def make_feed():
    """Make the feed URL, or replace it (the old one stops working). Asks for the password
    when the last login is not recent. The new URL is shown once, in this answer."""
    if not recently_logged_in():
        if not verify_password(current_user.password_hash, request.form.get("password", "")):
            security_event("feed_token_reauth_failed", actor=current_user.id)
            message = _("Please enter your current password.")
            return _settings_page(422, **feed_context(feed_error=message))
        mark_recent_login()
    token = service.new_token(current_user._get_current_object())
    return _settings_page(**feed_context(token))


@bp.post("/settings/calendar/off")
@login_required
def turn_off_feed():
    """Turn the feed off: its URL answers 404 from now on."""
    service.turn_off(current_user._get_current_object())
    return _settings_page(**feed_context(turned_off=True))
