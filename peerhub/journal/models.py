"""A member's learning journal: entries only their author reads, unless the author shares a
single entry with one of their tandems (and takes it back whenever they like)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from peerhub.extensions import UTCDateTime, db, utcnow

TITLE_MAX = 200
BODY_MAX = 20000
TOKEN_MAX = 32


class JournalEntry(db.Model):
    """One entry: a title and a text with simple formatting (rendered through an allow-list
    sanitiser), optionally about one session and some goals of a tandem.

    `client_token` comes from the form that wrote the entry, so a double click or a form sent
    twice makes one entry, not two. `version` rises with every edit; a save based on an older
    version is refused (two tabs cannot overwrite each other unseen). `shared_at` is set while
    the entry is shared with the members of `tandem_id`.
    """

    __tablename__ = "journal_entry"
    __table_args__ = (
        UniqueConstraint("author_id", "client_token", name="uq_journal_entry_token"),
        Index("ix_journal_entry_author", "author_id", "created_at"),
        Index("ix_journal_entry_shared", "tandem_id", "shared_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    client_token: Mapped[str] = mapped_column(String(TOKEN_MAX))
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    body: Mapped[str] = mapped_column(Text, default="")
    tandem_id: Mapped[int | None] = mapped_column(ForeignKey("tandem.id", ondelete="SET NULL"))
    series_id: Mapped[int | None] = mapped_column(ForeignKey("series.id", ondelete="SET NULL"))
    session_number: Mapped[int | None] = mapped_column(Integer)
    # keys of the tandem's agreement goals this entry is about (goal keys never change)
    goal_keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(Integer, default=1)
    shared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def shared(self) -> bool:
        return self.shared_at is not None and self.tandem_id is not None
