"""A tandem's recurring series of sessions, stored as local wall time and an IANA zone."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from peerhub.extensions import UTCDateTime, db, utcnow

SERIES_STATES = ("active", "ended", "cancelled")  # cancelled: called off before it met


class Series(db.Model):
    """Sessions every week or every two weeks, on a weekday at a local time in a zone, from
    `starts_on` to `ends_on` (both local dates, inclusive).

    Made from the agreement in force: a change of rhythm or term ends the running series
    before its next session and starts a new one from there, so the past stays as it was.
    `sequence` is the iCalendar SEQUENCE and rises with every change.
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
