"""Pauses between two members, matching rounds, opt-ins and the proposals a round makes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from peerhub.extensions import UTCDateTime, db, utcnow

PAUSE_REASONS = ("dismissed", "declined", "not_a_fit")
ROUND_STATES = ("open", "published")
PROPOSAL_STATES = ("draft", "proposed", "accepted", "declined")
ANSWERS = ("pending", "accepted", "declined")
PROPOSAL_ORIGINS = ("computed", "moderator")


def pair_key(a: int, b: int) -> tuple[int, int]:
    """A pair of members in one canonical order (lower id first): pairs have no direction."""
    return (a, b) if a < b else (b, a)


class PairPause(db.Model):
    """Two members are not suggested to each other until `until` (one row per pair).

    Written when one of them says "not now" to a suggestion, declines a round's proposal,
    or (later) finds an intro call was not a fit. Stored once per pair, lower id first,
    so the rule is symmetric like the score.
    """

    __tablename__ = "pair_pause"
    __table_args__ = (
        CheckConstraint("low_id < high_id", name="ordered"),
        CheckConstraint("reason IN ('dismissed', 'declined', 'not_a_fit')", name="reason"),
        Index("ix_pair_pause_high", "high_id", "low_id"),
    )

    low_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    high_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    reason: Mapped[str] = mapped_column(String(16))
    by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    until: Mapped[datetime] = mapped_column(UTCDateTime())


class MatchingRound(db.Model):
    """A round: members opt in while it is open; a moderator previews, adjusts and publishes.

    At most one round is open at a time (a partial unique index), so "the next round" is
    never ambiguous.
    """

    __tablename__ = "matching_round"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'published')", name="status"),
        Index(
            "uq_matching_round_open",
            "status",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    previewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Raised by every change to the draft, so two moderators cannot publish different drafts.
    version: Mapped[int] = mapped_column(Integer, default=1)


class RoundEntry(db.Model):
    """A member opted in to a round (once), and whether they would like a group of 3–4."""

    __tablename__ = "round_entry"

    round_id: Mapped[int] = mapped_column(
        ForeignKey("matching_round.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    wants_group: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Set by the preview: why no proposal (a code, see explain.UNMATCHED_REASONS), and how
    # many entrants could have been matched with them at all.
    unmatched_reason: Mapped[str | None] = mapped_column(String(16))
    partners: Mapped[int | None] = mapped_column(Integer)


class Proposal(db.Model):
    """Two members (or a group of 3–4) a round puts together: a draft until published."""

    __tablename__ = "round_proposal"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'proposed', 'accepted', 'declined')", name="status"),
        CheckConstraint("origin IN ('computed', 'moderator')", name="origin"),
        CheckConstraint("score BETWEEN 0 AND 100", name="score"),
        Index("ix_round_proposal_round_status", "round_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("matching_round.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    origin: Mapped[str] = mapped_column(String(16), default="computed")
    score: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    members: Mapped[list[ProposalMember]] = relationship(
        cascade="all, delete-orphan", order_by="ProposalMember.user_id", back_populates="proposal"
    )


class ProposalMember(db.Model):
    """One member of a proposal and their answer. A member is in one proposal per round."""

    __tablename__ = "round_proposal_member"
    __table_args__ = (
        CheckConstraint("answer IN ('pending', 'accepted', 'declined')", name="answer"),
        UniqueConstraint("round_id", "user_id"),
        Index("ix_round_proposal_member_user", "user_id", "proposal_id"),
    )

    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("round_proposal.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    # Repeated from the proposal so the schema itself refuses a member twice in one round.
    round_id: Mapped[int] = mapped_column(ForeignKey("matching_round.id", ondelete="CASCADE"))
    answer: Mapped[str] = mapped_column(String(16), default="pending")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    proposal: Mapped[Proposal] = relationship(back_populates="members")
