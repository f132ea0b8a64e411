"""Domain errors raised by services; views turn them into form errors, flashes or statuses."""

from __future__ import annotations


class DomainError(Exception):
    """A service refused; `message` is already in the member's language."""

    status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Invalid(DomainError):
    """The input breaks a rule (422)."""

    status = 422


class NotAllowed(DomainError):
    """The acting member may not do this (403; access to objects answers 404 instead)."""

    status = 403


class NotFound(DomainError):
    """Nothing the acting member may see goes by this id (404)."""

    status = 404


class Conflict(DomainError):
    """The state changed under the request, or it would duplicate something (409)."""

    status = 409
