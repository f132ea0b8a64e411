"""Error pages in the member's language: whole pages, or fragments for partial htmx swaps."""

from __future__ import annotations

import logging

from flask import Flask, Response, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from peerhub.extensions import db
from peerhub.web.htmx import render

security_log = logging.getLogger("peerhub.security")

TITLES = {
    400: _l("Bad request"),
    403: _l("Not allowed"),
    404: _l("Page not found"),
    405: _l("Method not allowed"),
    413: _l("Too much data"),
    422: _l("Please check your input"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong"),
}

EXPLANATIONS = {
    400: _l("The request could not be understood. Please go back and try again."),
    403: _l("You are not allowed to do this."),
    404: _l("There is nothing here, or you are not allowed to see it."),
    405: _l("This address does not accept this kind of request."),
    413: _l("What you sent is larger than we accept. Please shorten it and try again."),
    422: _l("Some of what you entered could not be processed."),
    429: _l("You tried this too often. Please wait a few minutes and try again."),
    500: _l("An error on our side stopped this request. Nothing was changed; please try again."),
}


def error_response(code: int, message: str | None = None) -> Response:
    """The error page (or fragment) for `code`, with an optional specific message."""
    known = code if code in TITLES else (500 if code >= 500 else 400)
    return render(
        "errors/error.html",
        "errors/_error.html",
        status=code,
        code=code,
        title=TITLES[known],
        message=message or EXPLANATIONS[known],
    )


def _http_error(error: HTTPException) -> Response:
    code = error.code or 500
    return error_response(code)


def _csrf_error(error: CSRFError) -> Response:
    security_log.warning("csrf_refused path=%s address=%s", request.path, request.remote_addr)
    from flask_babel import gettext as _

    return error_response(
        400,
        _("Your form expired or came from somewhere else. Please reload the page and try again."),
    )


def _rate_limited(error: HTTPException) -> Response:
    security_log.warning("rate_limited path=%s address=%s", request.path, request.remote_addr)
    response = error_response(429)
    return response


def _server_error(error: Exception) -> Response:
    db.session.rollback()
    return error_response(500)


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(429, _rate_limited)
    app.register_error_handler(InternalServerError, _server_error)
    app.register_error_handler(HTTPException, _http_error)
