"""Members and their recorded consents."""

from __future__ import annotations

import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String, Text, event, inspect
from sqlalchemy.orm import Mapped, mapped_column, relationship

from peerhub.extensions import UTCDateTime, db, utcnow

ROLES = ("member", "moderator", "admin")
STATUSES = ("active", "suspended", "banned")

EMAIL_MAX = 254
DISPLAY_NAME_MAX = 60
PASSWORD_MIN = 10
PASSWORD_MAX = 128


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


class User(UserMixin, db.Model):
    """A member of the community (moderators and admins are members with a role)."""

    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint("role IN ('member', 'moderator', 'admin')", name="role"),
        CheckConstraint("status IN ('active', 'suspended', 'banned')", name="status"),
        CheckConstraint("language IN ('de', 'en')", name="language"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX), unique=True)
    display_name: Mapped[str] = mapped_column(String(DISPLAY_NAME_MAX))
    password_hash: Mapped[str] = mapped_column(String(255))
    language: Mapped[str] = mapped_column(String(2), default="de")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Berlin")
    role: Mapped[str] = mapped_column(String(16), default="member")
    status: Mapped[str] = mapped_column(String(16), default="active")
    # Flask-Login's alternative id: rotating it ends every session and remember cookie.
    session_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_session_token)
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # When the name, language or zone last changed: what others' calendar feeds show of a
    # member (their Last-Modified must move with it). None: never since signing up.
    details_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A suspension ends at `suspended_until`; the reason is shown when login is refused.
    suspended_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status_reason: Mapped[str | None] = mapped_column(Text)

    consents: Mapped[list[Consent]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="Consent.given_at"
    )

    def get_id(self) -> str:
        return self.session_token

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def is_moderator(self) -> bool:
        return self.role in ("moderator", "admin")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"

    @property
    def details_since(self) -> datetime:
        """When what calendars show of the member last changed."""
        return self.details_changed_at or self.created_at


CALENDAR_DETAILS = ("display_name", "language", "timezone")


@event.listens_for(User, "before_update")
def _details_changed(mapper, connection, user: User) -> None:
    """Every change of name, language or zone, wherever it is made, moves the timestamp."""
    state = inspect(user)
    if any(state.attrs[name].history.has_changes() for name in CALENDAR_DETAILS):
        user.details_changed_at = utcnow()


class Consent(db.Model):
    """A member's consent to a purpose under one version of a policy; withdrawal is kept."""

    __tablename__ = "consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(32))
    policy_version: Mapped[str] = mapped_column(String(32))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(back_populates="consents")
