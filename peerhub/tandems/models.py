"""A tandem (two members) or a group (three or four), who belongs to it, and the agreement
they write together and every member signs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from peerhub.extensions import UTCDateTime, db, utcnow

TANDEM_STATES = ("forming", "active", "completed", "ended")
# A tandem in these states takes up a place of each member's capacity.
BINDING_STATES = ("forming", "active")
GROUP_MAX = 4
END_REASONS = ("goals_reached", "no_time", "not_working", "circumstances", "other")
TERM_CHOICES = ("continue", "complete")
INVITATION_STATES = ("pending", "accepted", "declined", "withdrawn")
NOTE_MAX = 1000
ACHIEVEMENT_KINDS = ("goal", "milestone")
REFLECTION_MAX = 1000
STORY_MAX = 600


class Tandem(db.Model):
    """Members who decided to work together: forming until everyone signed the agreement.

    A tandem that grew out of an intro call names it; the unique column makes "one tandem
    per intro call" a rule of the schema, so two clicks can never make two.
    """

    __tablename__ = "tandem"
    __table_args__ = (
        # what `tick` reads to open the check-ins that are due
        Index("ix_tandem_check_in_due", "state", "next_check_in_on"),
        CheckConstraint("state IN ('forming', 'active', 'completed', 'ended')", name="state"),
        CheckConstraint(
            "end_reason IS NULL OR end_reason IN "
            "('goals_reached', 'no_time', 'not_working', 'circumstances', 'other')",
            name="end_reason",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="forming")
    intro_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("intro_request.id", ondelete="SET NULL"), unique=True
    )
    # A group formed by a matching round names its proposal (once, like the intro call).
    proposal_id: Mapped[int | None] = mapped_column(
        ForeignKey("round_proposal.id", ondelete="SET NULL"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    end_reason: Mapped[str | None] = mapped_column(String(16))
    # The check-ins the agreement's review interval asks for (the check-in issue holds them).
    next_check_in_on: Mapped[date | None] = mapped_column(Date)
    term_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    members: Mapped[list[TandemMember]] = relationship(
        cascade="all, delete-orphan", order_by="TandemMember.position", back_populates="tandem"
    )

    @property
    def is_group(self) -> bool:
        return len(self.members) > 2

    def member_ids(self) -> list[int]:
        return [m.user_id for m in self.members]


class TandemMember(db.Model):
    """One member of a tandem (once each), in the order that group roles rotate by."""

    __tablename__ = "tandem_member"
    __table_args__ = (
        Index("ix_tandem_member_user", "user_id", "tandem_id"),
        CheckConstraint(
            "term_choice IS NULL OR term_choice IN ('continue', 'complete')", name="term_choice"
        ),
    )

    tandem_id: Mapped[int] = mapped_column(
        ForeignKey("tandem.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # At the end of the term: continue or complete, and a farewell note for the others;
    # on ending early, the note is the private feedback for the others.
    term_choice: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)

    tandem: Mapped[Tandem] = relationship(back_populates="members")


class Agreement(db.Model):
    """What a tandem agrees on: the latest text (a draft until everyone signs it) and the
    version in force (the latest one every member signed).

    `version` rises with every change; a save based on an older version is refused when the
    same section changed meanwhile, so nobody overwrites another member's change unseen.
    """

    __tablename__ = "agreement"

    id: Mapped[int] = mapped_column(primary_key=True)
    tandem_id: Mapped[int] = mapped_column(ForeignKey("tandem.id", ondelete="CASCADE"), unique=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    in_force_version: Mapped[int | None] = mapped_column(Integer)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )


class AgreementVersion(db.Model):
    """One version of an agreement, exactly as it was: its canonical text and its SHA-256.

    Written once and never changed (a trigger refuses updates), so a signature always
    points at the words that were signed.
    """

    __tablename__ = "agreement_version"
    __table_args__ = (UniqueConstraint("agreement_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    canonical: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    changed_section: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )


class Signature(db.Model):
    """A member signed one version: who, when, the name they typed, and the version's hash."""

    __tablename__ = "agreement_signature"
    __table_args__ = (
        UniqueConstraint("agreement_id", "version", "user_id"),
        Index("ix_agreement_signature_user", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    # Kept with the signature so it outlives an account ("former member" after deletion).
    typed_name: Mapped[str] = mapped_column(String(120))
    content_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TandemInvitation(db.Model):
    """A tandem invites a further member into a group of at most four; they accept or not.

    One pending invitation per tandem and member (a partial unique index).
    """

    __tablename__ = "tandem_invitation"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'accepted', 'declined', 'withdrawn')", name="state"),
        Index(
            "uq_tandem_invitation_pending",
            "tandem_id",
            "user_id",
            unique=True,
            sqlite_where=text("state = 'pending'"),
            postgresql_where=text("state = 'pending'"),
        ),
        Index("ix_tandem_invitation_user", "user_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tandem_id: Mapped[int] = mapped_column(ForeignKey("tandem.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    message: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TandemDeparture(db.Model):
    """A member who left a group while the others go on, and when: their calendar feed
    still carries the group's series for a while, cancelled, so it leaves their calendar
    instead of lingering there."""

    __tablename__ = "tandem_departure"

    tandem_id: Mapped[int] = mapped_column(
        ForeignKey("tandem.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    left_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CheckIn(db.Model):
    """A check-in on the goals, at the interval the agreement names (opened by `tick`, or
    early by a member). Each member rates every goal and says what helped and what to
    change; nobody sees the others' answers before everyone answered ("no peeking").

    The goals to rate are copied when it opens, so its answers keep their words after the
    agreement changes. At most one check-in per tandem is open (a partial unique index);
    the next one closes it.
    """

    __tablename__ = "check_in"
    __table_args__ = (
        UniqueConstraint("tandem_id", "number"),
        Index(
            "uq_check_in_open",
            "tandem_id",
            unique=True,
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
        Index(
            "ix_check_in_remind",
            "opened_at",
            sqlite_where=text("closed_at IS NULL AND reminded_at IS NULL"),
            postgresql_where=text("closed_at IS NULL AND reminded_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tandem_id: Mapped[int] = mapped_column(ForeignKey("tandem.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[date] = mapped_column(Date)
    goals: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    opened_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    answers: Mapped[list[CheckInAnswer]] = relationship(
        cascade="all, delete-orphan", order_by="CheckInAnswer.answered_at"
    )


class CheckInAnswer(db.Model):
    """One member's answer to a check-in: what helped, what to change, and a rating per goal."""

    __tablename__ = "check_in_answer"

    check_in_id: Mapped[int] = mapped_column(
        ForeignKey("check_in.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    helped: Mapped[str] = mapped_column(Text, default="")
    change: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    ratings: Mapped[list[GoalRating]] = relationship(cascade="all, delete-orphan")

    def progress(self) -> dict[str, int]:
        return {r.goal_key: r.progress for r in self.ratings}


class GoalRating(db.Model):
    """How far one member feels along one goal at one check-in, from 0 to 100 %."""

    __tablename__ = "goal_rating"
    __table_args__ = (
        CheckConstraint("progress BETWEEN 0 AND 100", name="progress"),
        ForeignKeyConstraint(
            ["check_in_id", "user_id"],
            ["check_in_answer.check_in_id", "check_in_answer.user_id"],
            ondelete="CASCADE",
        ),
    )

    check_in_id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(primary_key=True)
    goal_key: Mapped[str] = mapped_column(String(16), primary_key=True)
    progress: Mapped[int] = mapped_column(Integer)


class Achievement(db.Model):
    """A goal or milestone of the agreement that the tandem marked as reached (once each: the
    unique key). Its title is copied, so the celebration keeps its words."""

    __tablename__ = "achievement"
    __table_args__ = (
        UniqueConstraint("tandem_id", "kind", "key"),
        CheckConstraint("kind IN ('goal', 'milestone')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tandem_id: Mapped[int] = mapped_column(ForeignKey("tandem.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    reached_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    marked_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )


class SuccessStory(db.Model):
    """A short story of an achievement for the community's successes page. It appears there
    only while every member of the tandem consents to its current words (`version`)."""

    __tablename__ = "success_story"
    __table_args__ = (
        Index("ix_success_story_published", "published_at"),
        Index("ix_success_story_tandem", "tandem_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    achievement_id: Mapped[int] = mapped_column(
        ForeignKey("achievement.id", ondelete="CASCADE"), unique=True
    )
    tandem_id: Mapped[int] = mapped_column(ForeignKey("tandem.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    written_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    consents: Mapped[list[StoryConsent]] = relationship(cascade="all, delete-orphan")


class StoryConsent(db.Model):
    """A member agrees that one version of the story appears, with or without their name."""

    __tablename__ = "story_consent"

    story_id: Mapped[int] = mapped_column(
        ForeignKey("success_story.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer)
    show_name: Mapped[bool] = mapped_column(Boolean, default=False)
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
