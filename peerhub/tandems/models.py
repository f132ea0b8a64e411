"""A tandem (two members) or a group (three or four), and who belongs to it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from peerhub.extensions import UTCDateTime, db, utcnow

TANDEM_STATES = ("forming", "active", "completed", "ended")
# A tandem in these states takes up a place of each member's capacity.
BINDING_STATES = ("forming", "active")


class Tandem(db.Model):
    """Members who decided to work together: forming until everyone signed the agreement.

    A tandem that grew out of an intro call names it; the unique column makes "one tandem
    per intro call" a rule of the schema, so two clicks can never make two.
    """

    __tablename__ = "tandem"
    __table_args__ = (
        CheckConstraint("state IN ('forming', 'active', 'completed', 'ended')", name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="forming")
    intro_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("intro_request.id", ondelete="SET NULL"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    members: Mapped[list[TandemMember]] = relationship(
        cascade="all, delete-orphan", order_by="TandemMember.user_id", back_populates="tandem"
    )


class TandemMember(db.Model):
    """One member of a tandem (once each)."""

    __tablename__ = "tandem_member"
    __table_args__ = (Index("ix_tandem_member_user", "user_id", "tandem_id"),)

    tandem_id: Mapped[int] = mapped_column(
        ForeignKey("tandem.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    tandem: Mapped[Tandem] = relationship(back_populates="members")
