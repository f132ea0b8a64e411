"""Security events (SECURITY.md 28): actor, target, address, UTC time; never secrets."""

from __future__ import annotations

import logging

from flask import has_request_context, request

from peerhub.extensions import utcnow

log = logging.getLogger("peerhub.security")


def security_event(action: str, actor: int | None = None, target: str | None = None) -> None:
    """Log one security event with the client's address when there is a request."""
    address = request.remote_addr if has_request_context() else "-"
    log.info(
        "%s actor=%s target=%s address=%s at=%s",
        action,
        actor if actor is not None else "-",
        target or "-",
        address,
        utcnow().isoformat(timespec="seconds"),
    )
