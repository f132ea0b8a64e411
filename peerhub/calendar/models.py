"""A member's secret calendar feed address, kept only as a hash."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from peerhub.extensions import UTCDateTime, db, utcnow


class CalendarFeed(db.Model):
    """The member's feed: the SHA-256 of the token in its URL (the token itself is shown
    once, when it is made, and never stored). Making a new one replaces the hash, so the
    old URL answers 404 from then on."""

    __tablename__ = "calendar_feed"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
