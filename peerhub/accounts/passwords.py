"""Password hashing (Argon2id) and the rules a new password must meet."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext as _

from peerhub.accounts.models import PASSWORD_MAX, PASSWORD_MIN

_hasher = PasswordHasher()  # argon2-cffi's defaults: Argon2id, RFC 9106 low-memory profile
_DUMMY_HASH = _hasher.hash("not a real password, only for constant-time misses")

# German and community words the English-centred list lacks.
_EXTRA_COMMON = (
    "passwort123",
    "passwort1234",
    "hallo12345",
    "hallo123456",
    "geheim1234",
    "geheim12345",
    "schatz12345",
    "sommer2026",
    "winter2026",
    "peerhub123",
    "peerhub2026",
    "coaching123",
    "mentoring123",
    "qwertzuiop",
    "1q2w3e4r5t",
    "0123456789",
    "1234567890",
    "9876543210",
)


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"]) | frozenset(_EXTRA_COMMON)


def normalise(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def hash_password(password: str) -> str:
    return _hasher.hash(normalise(password))


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; without a hash, spends the same time and says no."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, normalise(password)) and bool(
            password_hash
        )
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_problem(password: str, *personal: str) -> str | None:
    """Why `password` may not be used, in the current language; None when it is fine."""
    password = normalise(password)
    if len(password) < PASSWORD_MIN:
        return _("Use at least %(min)d characters.", min=PASSWORD_MIN)
    if len(password) > PASSWORD_MAX:
        return _("Use at most %(max)d characters.", max=PASSWORD_MAX)
    lowered = password.lower()
    if lowered in _common_passwords() or len(set(lowered)) <= 2:
        return _("This password is too common. Please choose another one.")
    for value in personal:
        value = (value or "").strip().lower()
        if value and (lowered == value or lowered == value.split("@")[0]):
            return _("Your password must not be your name or e-mail address.")
    return None
