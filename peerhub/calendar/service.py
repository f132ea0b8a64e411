"""The member's secret feed address: made, replaced and revoked; found by its token.

Only the SHA-256 of a token is stored. The token is shown once, when it is made; a new one
replaces the old hash, so the old address answers 404 from then on.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from sqlalchemy import delete, select

from peerhub.accounts.models import User
from peerhub.calendar.models import CalendarFeed
from peerhub.extensions import db, transaction, utcnow
from peerhub.web.seclog import security_event

# secrets.token_urlsafe(32): 32 random bytes (256 bits), 43 URL-safe characters.
TOKEN_BYTES = 32
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def feed_of(user_id: int) -> CalendarFeed | None:
    """The member's feed, if they made one."""
    return db.session.get(CalendarFeed, user_id)


def new_token(user: User) -> str:
    """Make the member's feed address, or replace it: returns the new token (shown once);
    any older address stops working at once."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with transaction():
        feed = db.session.get(CalendarFeed, user.id, with_for_update=True)
        if feed is None:
            feed_row = CalendarFeed(user_id=user.id, token_hash=_hash(token), created_at=utcnow())
            db.session.add(feed_row)
        else:
            feed.token_hash, feed.created_at = _hash(token), utcnow()
    security_event("feed_token_rotated" if feed else "feed_token_created", actor=user.id)
    return token


def revoke(user_id: int) -> None:
    """Turn the member's feed off (in the caller's transaction): the address answers 404."""
    db.session.execute(delete(CalendarFeed).where(CalendarFeed.user_id == user_id))


def turn_off(user: User) -> None:
    """The member turns their feed off."""
    with transaction():
        revoke(user.id)
    security_event("feed_token_revoked", actor=user.id)


def member_for(token: str) -> User | None:
    """The active member whose feed this token opens, or None (also for a malformed token)."""
    if not TOKEN_SHAPE.fullmatch(token or ""):
        return None
    digest = _hash(token)
    feed = db.session.scalar(select(CalendarFeed).where(CalendarFeed.token_hash == digest))
    # The index finds the row; the comparison itself takes the same time wherever it differs.
    if feed is None or not hmac.compare_digest(feed.token_hash, digest):
        return None
    user = db.session.get(User, feed.user_id)
    return user if user is not None and user.is_active else None
