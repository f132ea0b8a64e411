"""A tandem's recurring series of sessions, stored as local wall time and an IANA zone, and
what happened to single sessions (cancelled, moved, attendance, notes).

Sessions are computed from their series; a row exists only for a session something happened
to (`SessionRecord`), so a three-month weekly series is one row until it is lived in.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from peerhub.extensions import UTCDateTime, db, utcnow

SERIES_STATES = ("active", "ended", "cancelled")  # cancelled: called off before it met
RECORD_STATES = ("scheduled", "cancelled")
CANCEL_KINDS = ("single", "pause")
NOTE_PARTS = ("update", "topic", "next_steps")
NOTE_MAX = 4000
REASON_MAX = 300
FEEDBACK_MAX = 500


class Series(db.Model):
    """Sessions every week or every two weeks, on a weekday at a local time in a zone, from
    `starts_on` to `ends_on` (both local dates, inclusive).

    Made from the agreement in force, or by a member changing the time or rhythm from a
    given day on: the running series then ends before that day and a new one starts there,
    so the past stays as it was. `sequence` is the iCalendar SEQUENCE: it rises with every
    change of time, rule, exclusions or status, and `updated_at` moves with it.

    `ended` means the series' end was set (early, or by a new series); it may still have
    sessions before `ends_on`. `next_session_at` is the start of the next session the
    reminders have not looked at yet, so an idle `tick` reads one index and nothing else.
    """

    __tablename__ = "series"
    __table_args__ = (
        CheckConstraint("state IN ('active', 'ended', 'cancelled')", name="state"),
        CheckConstraint("interval_weeks IN (1, 2)", name="interval"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint("start_minute BETWEEN 0 AND 1439", name="start_minute"),
        CheckConstraint("length_minutes IN (60, 90)", name="length"),
        CheckConstraint("starts_on <= ends_on", name="dates"),
        Index("ix_series_tandem", "tandem_id", "state"),
        Index(
            "ix_series_next_session",
            "next_session_at",
            sqlite_where=text("next_session_at IS NOT NULL"),
            postgresql_where=text("next_session_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tandem_id: Mapped[int] = mapped_column(ForeignKey("tandem.id", ondelete="CASCADE"))
    agreement_version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="active")
    interval_weeks: Mapped[int] = mapped_column(Integer, default=1)
    weekday: Mapped[int] = mapped_column(Integer)  # 0 = Monday
    start_minute: Mapped[int] = mapped_column(Integer)  # local wall time
    zone: Mapped[str] = mapped_column(String(64))
    length_minutes: Mapped[int] = mapped_column(Integer, default=60)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    next_session_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    records: Mapped[list[SessionRecord]] = relationship(
        cascade="all, delete-orphan", order_by="SessionRecord.number", back_populates="series"
    )


class SessionRecord(db.Model):
    """What happened to one session of a series (its `number`, counted from 0): cancelled
    (alone, or as part of a pause), moved to another time, attendance, shared notes.

    One row per session at most (a unique pair), so two tabs cannot write two; the notes
    carry a version, so a save over someone else's newer notes is refused, not lost.
    """

    __tablename__ = "session_record"
    __table_args__ = (
        UniqueConstraint("series_id", "number"),
        CheckConstraint("state IN ('scheduled', 'cancelled')", name="state"),
        CheckConstraint(
            "cancel_kind IS NULL OR cancel_kind IN ('single', 'pause')", name="cancel_kind"
        ),
        CheckConstraint("state <> 'cancelled' OR cancel_kind IS NOT NULL", name="cancelled_kind"),
        CheckConstraint(
            "(moved_start IS NULL) = (moved_end IS NULL) AND "
            "(moved_start IS NULL OR moved_start < moved_end)",
            name="moved",
        ),
        CheckConstraint("number >= 0", name="number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    # Where the rule put the session (UTC), kept so a record always names its own session.
    planned_start: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(16), default="scheduled")
    cancel_kind: Mapped[str | None] = mapped_column(String(16))
    cancel_reason: Mapped[str] = mapped_column(String(REASON_MAX), default="")
    cancelled_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Cancelled later than the agreement's notice period asks.
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    moved_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    moved_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    moved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    attendance_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attendance_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    notes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    notes_version: Mapped[int] = mapped_column(Integer, default=0)
    notes_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    notes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    series: Mapped[Series] = relationship(back_populates="records")
    absences: Mapped[list[SessionAbsence]] = relationship(
        cascade="all, delete-orphan", order_by="SessionAbsence.user_id"
    )

    @property
    def cancelled(self) -> bool:
        return self.state == "cancelled"

    @property
    def moved(self) -> bool:
        return self.moved_start is not None


class SessionAbsence(db.Model):
    """A member did not come to a session they had not cancelled (a no-show)."""

    __tablename__ = "session_absence"
    __table_args__ = (Index("ix_session_absence_user", "user_id"),)

    record_id: Mapped[int] = mapped_column(
        ForeignKey("session_record.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )


class SessionReminder(db.Model):
    """The mail the day before a session went to this member: once per session and member,
    held by the primary key however many `tick`s run at once."""

    __tablename__ = "session_reminder"

    series_id: Mapped[int] = mapped_column(
        ForeignKey("series.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SessionFeedback(db.Model):
    """After a session, a member's quick, kind feedback for the others: what helped me, and
    one wish. Optional; one per member and session (edited, never doubled); read by the
    other members of the tandem only."""

    __tablename__ = "session_feedback"

    series_id: Mapped[int] = mapped_column(
        ForeignKey("series.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    helped: Mapped[str] = mapped_column(Text, default="")
    wish: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
