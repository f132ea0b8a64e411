"""Which language and zone a request is served in."""

from __future__ import annotations

from flask import current_app, has_request_context, request, session
from flask_login import current_user

from peerhub.web.timefmt import is_timezone


def select_locale() -> str:
    """The member's setting, else this browser's choice, else Accept-Language, else German."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user.is_authenticated and current_user.language in languages:
        return current_user.language
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    return (
        request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
    )


def select_timezone() -> str:
    """The member's zone, else the one this browser reported, else the community's default."""
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_TIMEZONE"]
    if current_user.is_authenticated and is_timezone(current_user.timezone):
        return current_user.timezone
    chosen = session.get("tz")
    if is_timezone(chosen):
        return chosen
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]
