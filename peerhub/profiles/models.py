"""A member's profile, the shared tag vocabulary, weekly availability and blocks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from peerhub.extensions import UTCDateTime, db, utcnow

CONTEXTS = ("professional", "leader", "team", "student", "career_starter")
MEETING_MODES = ("video", "in_person", "either")
RHYTHMS = ("weekly", "biweekly")
SESSION_LENGTHS = (60, 90)
STATUSES = ("open", "paused")
VISIBILITIES = ("members", "hidden")
TAG_KINDS = ("offer", "seek", "interest")
# Languages members can speak with each other (ISO 639-1), in the order the form lists them.
LANGUAGE_CODES = (
    "de",
    "en",
    "fr",
    "es",
    "it",
    "nl",
    "pl",
    "pt",
    "tr",
    "ru",
    "uk",
    "ar",
    "fa",
    "sv",
    "da",
    "cs",
    "el",
    "ro",
    "hu",
    "hr",
    "zh",
    "ja",
    "hi",
)

HEADLINE_MAX = 120
ABOUT_MAX = 2000
GOAL_MAX = 200
GOALS_MAX = 5
TAGS_PER_KIND_MAX = 10
TAG_NAME_MAX = 40
CITY_MAX = 80


def language_mask(codes) -> int:
    """One bit per spoken language (LANGUAGE_CODES order), so the directory filters a column."""
    return sum(1 << LANGUAGE_CODES.index(code) for code in set(codes))


def weekday_mask(weekdays) -> int:
    """One bit per weekday (Monday = bit 0) with at least one availability window."""
    return sum(1 << day for day in set(weekdays))


def _in(values) -> str:
    return ", ".join(f"'{v}'" if isinstance(v, str) else str(v) for v in values)


class Profile(db.Model):
    """What a member tells others: the ground for a good match (one per member)."""

    __tablename__ = "profile"
    __table_args__ = (
        CheckConstraint(f"context IN ({_in(CONTEXTS)})", name="context"),
        CheckConstraint(f"meeting_mode IN ({_in(MEETING_MODES)})", name="meeting_mode"),
        CheckConstraint(f"rhythm IN ({_in(RHYTHMS)})", name="rhythm"),
        CheckConstraint(f"session_length IN ({_in(SESSION_LENGTHS)})", name="session_length"),
        CheckConstraint(f"status IN ({_in(STATUSES)})", name="status"),
        CheckConstraint(f"visibility IN ({_in(VISIBILITIES)})", name="visibility"),
        CheckConstraint("capacity BETWEEN 1 AND 3", name="capacity"),
        CheckConstraint("city IS NULL OR meeting_mode <> 'video'", name="city_needs_in_person"),
        Index("ix_profile_listing", "visibility", "status", "updated_at", "user_id"),
    )

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    headline: Mapped[str] = mapped_column(String(HEADLINE_MAX), default="")
    about: Mapped[str] = mapped_column(Text, default="")
    context: Mapped[str | None] = mapped_column(String(16))
    meeting_mode: Mapped[str] = mapped_column(String(16), default="video")
    city: Mapped[str | None] = mapped_column(String(CITY_MAX))
    city_key: Mapped[str | None] = mapped_column(String(CITY_MAX), index=True)
    rhythm: Mapped[str] = mapped_column(String(16), default="weekly")
    session_length: Mapped[int] = mapped_column(Integer, default=60)
    capacity: Mapped[int] = mapped_column(Integer, default=2)
    status: Mapped[str] = mapped_column(String(16), default="open")
    visibility: Mapped[str] = mapped_column(String(16), default="members")
    # hidden by a moderator: nobody else sees the profile until the action is lifted
    hidden_by_moderator_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Derived from `languages` and `windows` by the service, so the directory filters one row.
    language_mask: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    weekday_mask: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Stemmed German and English words of headline, about, goals and tags, for full-text search.
    search_document: Mapped[str] = mapped_column(Text, default="")
    onboarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    goals: Mapped[list[Goal]] = relationship(cascade="all, delete-orphan", order_by="Goal.position")
    tags: Mapped[list[ProfileTag]] = relationship(cascade="all, delete-orphan")
    languages: Mapped[list[ProfileLanguage]] = relationship(
        cascade="all, delete-orphan", order_by="ProfileLanguage.code"
    )
    windows: Mapped[list[AvailabilityWindow]] = relationship(
        cascade="all, delete-orphan",
        order_by="(AvailabilityWindow.weekday, AvailabilityWindow.start_minute)",
    )

    def tag_names(self, kind: str) -> list[str]:
        return sorted((t.tag.name for t in self.tags if t.kind == kind), key=str.casefold)


class Goal(db.Model):
    """One concrete learning goal (a member has up to five)."""

    __tablename__ = "profile_goal"
    __table_args__ = (UniqueConstraint("user_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("profile.user_id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(GOAL_MAX))


class Tag(db.Model):
    """A word of the shared vocabulary; `key` makes spellings of the same word meet."""

    __tablename__ = "tag"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(TAG_NAME_MAX))
    key: Mapped[str] = mapped_column(String(TAG_NAME_MAX), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ProfileTag(db.Model):
    """A tag on a profile as something offered, sought, or an interest."""

    __tablename__ = "profile_tag"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_in(TAG_KINDS)})", name="kind"),
        Index("ix_profile_tag_tag_kind", "tag_id", "kind", "user_id"),
    )

    user_id: Mapped[int] = mapped_column(
        ForeignKey("profile.user_id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)

    tag: Mapped[Tag] = relationship(lazy="joined")


class ProfileLanguage(db.Model):
    """A language the member can hold a session in."""

    __tablename__ = "profile_language"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("profile.user_id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(2), primary_key=True, index=True)


class AvailabilityWindow(db.Model):
    """A weekly window in the member's own zone: local wall time, so 18:00 stays 18:00 over DST.

    Overlaps with members elsewhere are computed by placing both in real weeks (see
    `availability.py`), not by storing a fixed UTC offset.
    """

    __tablename__ = "availability_window"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint("start_minute >= 0 AND end_minute <= 1440", name="day_bounds"),
        CheckConstraint("start_minute < end_minute", name="not_inverted"),
        UniqueConstraint("user_id", "weekday", "start_minute"),
        Index("ix_availability_window_weekday", "weekday", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("profile.user_id", ondelete="CASCADE"))
    weekday: Mapped[int] = mapped_column(Integer)  # 0 = Monday
    start_minute: Mapped[int] = mapped_column(Integer)
    end_minute: Mapped[int] = mapped_column(Integer)


class Block(db.Model):
    """`blocker` no longer sees `blocked`, and `blocked` no longer sees `blocker`."""

    __tablename__ = "block"
    __table_args__ = (
        CheckConstraint("blocker_id <> blocked_id", name="not_self"),
        Index("ix_block_blocked", "blocked_id", "blocker_id"),
    )

    blocker_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    blocked_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
