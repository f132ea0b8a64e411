"""Intro-call requests, the times proposed for them, and the short thread between the two."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import (
    CheckConstraint,
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

# pending: the member whose turn it is picks a time, proposes others, or says no;
# scheduled: a time is agreed (after it, both decide how to go on);
# the rest are closed: declined, withdrawn, expired, cancelled, continued, not_a_fit.
STATES = (
    "pending",
    "scheduled",
    "declined",
    "withdrawn",
    "expired",
    "cancelled",
    "continued",
    "not_a_fit",
)
OPEN_STATES = ("pending", "scheduled")
DECLINE_REASONS = ("no_capacity", "goals_differ", "other")
OUTCOMES = ("continue", "not_a_fit")
MODES = ("video", "in_person")
SOURCES = ("profile", "suggestion", "round")
LENGTHS = (20, 30)
OPEN_OUTGOING_MAX = 5
MESSAGE_MAX = 1000
PLACE_MAX = 300
FEEDBACK_MAX = 1000
EXPIRY = timedelta(days=7)  # a pending request closes this long after its turn began
REMINDER_AFTER = timedelta(days=3)  # the member whose turn it is is reminded once
DECIDE_WITHIN = timedelta(days=14)  # after the call; then the request closes undecided

_OPEN = "state IN ('pending', 'scheduled')"


def _in(values) -> str:
    return ", ".join(f"'{v}'" if isinstance(v, str) else str(v) for v in values)


class IntroRequest(db.Model):
    """One member asks another for a short, non-binding intro call.

    The schema holds the rules two tabs could otherwise break: one open request per pair
    (a partial unique index on the pair), at most five open requests per sender (each open
    request takes one of five numbered places, unique per sender), and the states.
    """

    __tablename__ = "intro_request"
    __table_args__ = (
        CheckConstraint(f"state IN ({_in(STATES)})", name="state"),
        CheckConstraint("low_id < high_id", name="ordered_pair"),
        CheckConstraint(
            "(requester_id = low_id AND recipient_id = high_id)"
            " OR (requester_id = high_id AND recipient_id = low_id)",
            name="pair_is_members",
        ),
        CheckConstraint(f"sender_slot BETWEEN 1 AND {OPEN_OUTGOING_MAX}", name="sender_slot_range"),
        CheckConstraint(f"length_minutes IN ({_in(LENGTHS)})", name="length"),
        CheckConstraint(f"mode IN ({_in(MODES)})", name="mode"),
        CheckConstraint(f"source IN ({_in(SOURCES)})", name="source"),
        CheckConstraint(
            f"decline_reason IS NULL OR decline_reason IN ({_in(DECLINE_REASONS)})",
            name="decline_reason",
        ),
        CheckConstraint(
            f"requester_outcome IS NULL OR requester_outcome IN ({_in(OUTCOMES)})",
            name="requester_outcome",
        ),
        CheckConstraint(
            f"recipient_outcome IS NULL OR recipient_outcome IN ({_in(OUTCOMES)})",
            name="recipient_outcome",
        ),
        CheckConstraint("state <> 'pending' OR turn_id IS NOT NULL", name="pending_has_turn"),
        CheckConstraint(
            "state <> 'scheduled' OR (scheduled_start IS NOT NULL AND scheduled_end IS NOT NULL)",
            name="scheduled_has_time",
        ),
        CheckConstraint(
            "scheduled_start IS NULL OR scheduled_start < scheduled_end", name="time_order"
        ),
        Index(
            "uq_intro_request_open_pair",
            "low_id",
            "high_id",
            unique=True,
            sqlite_where=text(_OPEN),
            postgresql_where=text(_OPEN),
        ),
        Index(
            "uq_intro_request_open_sender_slot",
            "requester_id",
            "sender_slot",
            unique=True,
            sqlite_where=text(_OPEN),
            postgresql_where=text(_OPEN),
        ),
        Index("ix_intro_request_pair", "low_id", "high_id", "created_at"),
        Index("ix_intro_request_requester", "requester_id", "state"),
        Index("ix_intro_request_recipient", "recipient_id", "state"),
        # What `tick` looks for, each a partial index so that an idle tick reads nothing.
        Index(
            "ix_intro_request_pending_since",
            "awaiting_since",
            sqlite_where=text("state = 'pending'"),
            postgresql_where=text("state = 'pending'"),
        ),
        Index(
            "ix_intro_request_unreminded",
            "awaiting_since",
            sqlite_where=text("state = 'pending' AND reminded_at IS NULL"),
            postgresql_where=text("state = 'pending' AND reminded_at IS NULL"),
        ),
        Index(
            "ix_intro_request_scheduled_end",
            "scheduled_end",
            sqlite_where=text("state = 'scheduled'"),
            postgresql_where=text("state = 'scheduled'"),
        ),
        Index(
            "ix_intro_request_unprompted",
            "scheduled_end",
            sqlite_where=text("state = 'scheduled' AND outcome_prompted_at IS NULL"),
            postgresql_where=text("state = 'scheduled' AND outcome_prompted_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    # The pair without direction (lower id first), for "one open request per pair".
    low_id: Mapped[int] = mapped_column(Integer)
    high_id: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    source: Mapped[str] = mapped_column(String(16), default="profile")
    sender_slot: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text, default="")
    length_minutes: Mapped[int] = mapped_column(Integer, default=30)
    mode: Mapped[str] = mapped_column(String(16), default="video")
    # A video link (http or https) or, in person, a public meeting place.
    place: Mapped[str] = mapped_column(String(PLACE_MAX), default="")

    # Whose answer the pending request waits for, since when, and whether they were reminded.
    turn_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    awaiting_since: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Each new set of proposed times is a round; the latest round's times are the ones open.
    slot_round: Mapped[int] = mapped_column(Integer, default=1)

    scheduled_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    scheduled_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # iCalendar SEQUENCE of the call: raised whenever its time or status changes.
    sequence: Mapped[int] = mapped_column(Integer, default=0)

    decline_reason: Mapped[str | None] = mapped_column(String(16))
    closed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    requester_outcome: Mapped[str | None] = mapped_column(String(16))
    recipient_outcome: Mapped[str | None] = mapped_column(String(16))
    # Private feedback for the other member only, given with the decision after the call.
    requester_feedback: Mapped[str | None] = mapped_column(Text)
    recipient_feedback: Mapped[str | None] = mapped_column(Text)
    outcome_prompted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The last change anyone can see: the calendar file's DTSTAMP and LAST-MODIFIED.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    slots: Mapped[list[IntroSlot]] = relationship(
        cascade="all, delete-orphan", order_by="(IntroSlot.round, IntroSlot.start)"
    )

    def other_id(self, user_id: int) -> int:
        """The other member of the pair."""
        return self.recipient_id if user_id == self.requester_id else self.requester_id

    def outcome_of(self, user_id: int) -> str | None:
        return self.requester_outcome if user_id == self.requester_id else self.recipient_outcome

    def feedback_for(self, user_id: int) -> str | None:
        """The private feedback the other member left for `user_id`."""
        return self.recipient_feedback if user_id == self.requester_id else self.requester_feedback

    @property
    def expires_at(self) -> datetime:
        """When the pending request closes without an answer."""
        return self.awaiting_since + EXPIRY

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def open_slots(self) -> list[IntroSlot]:
        """The times of the latest proposal (those the member whose turn it is can pick)."""
        return [slot for slot in self.slots if slot.round == self.slot_round]


class IntroSlot(db.Model):
    """One proposed time for the call (UTC instants; shown in each member's own zone)."""

    __tablename__ = "intro_slot"
    __table_args__ = (
        UniqueConstraint("request_id", "round", "start"),
        CheckConstraint('start < "end"', name="order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("intro_request.id", ondelete="CASCADE"))
    round: Mapped[int] = mapped_column(Integer)
    proposed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    start: Mapped[datetime] = mapped_column(UTCDateTime())
    end: Mapped[datetime] = mapped_column(UTCDateTime())


class IntroMessage(db.Model):
    """A short plain-text message in a request's thread, between its two members only."""

    __tablename__ = "intro_message"
    __table_args__ = (Index("ix_intro_message_request", "request_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("intro_request.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # hidden by a moderator: its words no longer show in the thread
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
