"""Reports and their cases, moderator actions and appeals, and the append-only audit log.

A case gathers every report of one target (a profile, a message or a member) while it is
open: a partial unique index holds "one open case per target". An action concerns a member
(the subject); its name is copied, like every audit entry's names, so the record outlives
an account deletion. Audit entries are never changed or deleted: database triggers refuse
both (`migrations/`), and they name people by id without foreign keys, so no cascade can
touch them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from peerhub.extensions import UTCDateTime, db, utcnow

TARGET_KINDS = ("profile", "message", "member")
CATEGORIES = ("spam", "harassment", "inappropriate", "safety", "other")
CASE_STATES = ("open", "resolved")
ACTION_KINDS = ("dismiss", "warn", "hide", "suspend", "ban", "lift")
APPEALABLE = ("warn", "hide", "suspend")
APPEAL_STATES = ("pending", "approved", "rejected")
DETAILS_MAX = 2000
REASON_MAX = 1000
NAME_MAX = 120


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class ReportCase(db.Model):
    """Everything reported about one target while the case is open; resolved by a moderator
    action (on the case, or on its member: that resolves all of the member's open cases).
    `version` rises with every change, so two moderators acting at once cannot both win."""

    __tablename__ = "report_case"
    __table_args__ = (
        CheckConstraint(f"target_kind IN ({_in(TARGET_KINDS)})", name="target_kind"),
        CheckConstraint(f"state IN ({_in(CASE_STATES)})", name="state"),
        Index(
            "uq_report_case_open",
            "target_kind",
            "target_id",
            unique=True,
            sqlite_where=text("state = 'open'"),
            postgresql_where=text("state = 'open'"),
        ),
        Index("ix_report_case_subject", "subject_id", "state"),
        Index("ix_report_case_queue", "state", "opened_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    target_kind: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int] = mapped_column(Integer)
    # the member the case is about (the profile's or message's author, or the member)
    subject_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    subject_name: Mapped[str] = mapped_column(String(NAME_MAX))
    state: Mapped[str] = mapped_column(String(16), default="open")
    report_count: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_report_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    action_id: Mapped[int | None] = mapped_column(
        ForeignKey("moderation_action.id", ondelete="SET NULL")
    )

    reports: Mapped[list[Report]] = relationship(
        back_populates="case", order_by="Report.created_at", cascade="all, delete-orphan"
    )


class Report(db.Model):
    """One member's report: a category, their words, and a snapshot of what they saw. The
    reported member never learns who reported; the reporter sees the case's outcome."""

    __tablename__ = "report"
    __table_args__ = (
        CheckConstraint(f"category IN ({_in(CATEGORIES)})", name="category"),
        Index("ix_report_reporter", "reporter_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("report_case.id", ondelete="CASCADE"))
    reporter_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    category: Mapped[str] = mapped_column(String(16))
    details: Mapped[str] = mapped_column(Text, default="")
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    case: Mapped[ReportCase] = relationship(back_populates="reports")


class ModerationAction(db.Model):
    """What a moderator did about a member, and why: dismiss (a case), warn (a message the
    member reads at their next login), hide (the reported content or profile), suspend
    until a date, ban, or lift a suspension. Appealable once (warn, hide, suspend)."""

    __tablename__ = "moderation_action"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_in(ACTION_KINDS)})", name="kind"),
        Index("ix_moderation_action_subject", "subject_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    subject_name: Mapped[str] = mapped_column(String(NAME_MAX))
    moderator_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    case_id: Mapped[int | None] = mapped_column(Integer)  # no FK: the case points here
    reason: Mapped[str] = mapped_column(Text)
    # what was hidden ("profile" or "message" and its id), for hide actions
    target_kind: Mapped[str | None] = mapped_column(String(16))
    target_id: Mapped[int | None] = mapped_column(Integer)
    until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # a warning is shown at the member's next login, once
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lifted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )


class Appeal(db.Model):
    """A member's appeal against one action (once: the unique key), within 20 days. Another
    moderator than the one who acted approves it (the action is lifted) or rejects it."""

    __tablename__ = "appeal"
    __table_args__ = (
        CheckConstraint(f"state IN ({_in(APPEAL_STATES)})", name="state"),
        Index("ix_appeal_state", "state", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(
        ForeignKey("moderation_action.id", ondelete="CASCADE"), unique=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str | None] = mapped_column(Text)


class AuditEntry(db.Model):
    """One moderator or admin action: who, what, on whom (with copies of both names), why,
    when. Append-only: triggers refuse UPDATE and DELETE on this table."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_created", "created_at"),
        Index("ix_audit_entry_actor", "actor_id", "created_at"),
        Index("ix_audit_entry_target", "target_kind", "target_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(Integer)  # no FK: nothing may cascade here
    actor_name: Mapped[str] = mapped_column(String(NAME_MAX))
    action: Mapped[str] = mapped_column(String(32))
    target_kind: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int | None] = mapped_column(Integer)
    target_name: Mapped[str] = mapped_column(String(NAME_MAX), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
