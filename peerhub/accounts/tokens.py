"""Signed, expiring, single-use links: each token binds the state it changes."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

VERIFY_EMAIL = ("verify-email", 48 * 3600)
RESET_PASSWORD = ("reset-password", 3600)
CHANGE_EMAIL = ("change-email", 48 * 3600)


class TokenExpired(Exception):
    pass


class TokenInvalid(Exception):
    pass


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"peerhub.{purpose}")


def fingerprint(value: str) -> str:
    """A short digest of state the token must still match (so it works once)."""
    return hashlib.sha256(value.encode()).hexdigest()[:24]


def make_token(kind: tuple[str, int], payload: dict[str, Any]) -> str:
    return _serializer(kind[0]).dumps(payload)


def read_token(kind: tuple[str, int], token: str) -> dict[str, Any]:
    """The payload of a valid, unexpired token. Raises TokenExpired or TokenInvalid."""
    try:
        payload = _serializer(kind[0]).loads(token, max_age=kind[1])
    except SignatureExpired as error:
        raise TokenExpired from error
    except BadSignature as error:
        raise TokenInvalid from error
    if not isinstance(payload, dict):
        raise TokenInvalid
    return payload
