"""A recent login (SECURITY 6): replacing the feed URL, exporting one's data and destructive
moderator actions ask for the password again when the last login is older than a few
minutes. A right password counts as a fresh login for the next few minutes."""

from __future__ import annotations

from datetime import timedelta

from flask import session
from flask_babel import gettext as _
from flask_login import current_user

from peerhub.accounts.models import PASSWORD_MAX
from peerhub.accounts.passwords import verify_password
from peerhub.errors import Invalid
from peerhub.extensions import utcnow
from peerhub.web.seclog import security_event

RECENT_LOGIN = timedelta(minutes=15)
PASSWORD_FIELD = "password"  # noqa: S105 - the form field's name


def recently_logged_in() -> bool:
    """Whether the member logged in (or confirmed their password) in the last minutes."""
    at = session.get("auth_at")
    try:
        return at is not None and utcnow().timestamp() - float(at) < RECENT_LOGIN.total_seconds()
    except (TypeError, ValueError):
        return False


def mark_recent_login() -> None:
    session["auth_at"] = utcnow().timestamp()


def confirm_recent_login(password: str | None, event: str) -> None:
    """Pass when the login is recent or `password` is the member's; raise Invalid on the
    password field otherwise (and log `event` as a security event)."""
    if recently_logged_in():
        return
    if password and verify_password(current_user.password_hash, password[:PASSWORD_MAX]):
        mark_recent_login()
        return
    security_event(event, actor=current_user.id)
    if password:
        raise Invalid(_("Your current password is not correct."), PASSWORD_FIELD)
    raise Invalid(
        _("Please enter your password: this needs a login from the last few minutes."),
        PASSWORD_FIELD,
    )
