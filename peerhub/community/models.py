"""The community's sign-up settings (one row), invite links, and the privacy notice and
imprint texts, one append-only row per version and language."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from peerhub.extensions import UTCDateTime, db, utcnow

SIGNUP_MODES = ("open", "invitation", "domains")
POLICY_KINDS = ("privacy", "imprint")
POLICY_LANGUAGES = ("de", "en")
LABEL_MAX = 120
DOMAINS_MAX = 4000
DOMAINS_COUNT_MAX = 100
INVITE_USES_MAX = 500
INVITE_DAYS_MAX = 365
VERSION_MAX = 32  # as Consent.policy_version
POLICY_TEXT_MAX = 50_000
SETTINGS_ID = 1


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class CommunitySettings(db.Model):
    """Who may sign up: everyone, holders of an invite link, or addresses at some domains.
    One row (id 1); while it does not exist, sign-up is open."""

    __tablename__ = "community_settings"
    __table_args__ = (
        CheckConstraint(f"id = {SETTINGS_ID}", name="single_row"),
        CheckConstraint(f"signup_mode IN ({_in(SIGNUP_MODES)})", name="signup_mode"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    signup_mode: Mapped[str] = mapped_column(String(16), default="open")
    # the allowed domains, one per line, normalised (lower case, ASCII/punycode)
    domains: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )

    @property
    def domain_list(self) -> list[str]:
        return [line for line in (self.domains or "").splitlines() if line]


class InviteLink(db.Model):
    """A link `/join/<token>` an admin hands out: it admits `max_uses` sign-ups until
    `expires_at`, unless revoked. Only the token's SHA-256 is stored; `uses` rises in the
    same transaction as each sign-up, conditionally, so a link is never used once too often."""

    __tablename__ = "invite_link"
    __table_args__ = (
        CheckConstraint(f"max_uses >= 1 AND max_uses <= {INVITE_USES_MAX}", name="max_uses"),
        CheckConstraint("uses >= 0 AND uses <= max_uses", name="uses"),
        Index("ix_invite_link_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(LABEL_MAX), default="")
    max_uses: Mapped[int] = mapped_column(Integer, default=1)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )

    @property
    def uses_left(self) -> int:
        return max(self.max_uses - self.uses, 0)

    def state(self, now: datetime) -> str:
        """'revoked', 'used_up', 'expired' or 'active' (in this order of precedence)."""
        if self.revoked_at is not None:
            return "revoked"
        if self.uses >= self.max_uses:
            return "used_up"
        if self.expires_at <= now:
            return "expired"
        return "active"


class PolicyText(db.Model):
    """One version of the privacy notice or the imprint in one language. Append-only: a save
    adds a version (label: the date and a counter, "2026-11-20.2"); triggers refuse changes
    to what was published, so what a member agreed to can always be shown."""

    __tablename__ = "policy_text"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_in(POLICY_KINDS)})", name="kind"),
        CheckConstraint(f"language IN ({_in(POLICY_LANGUAGES)})", name="language"),
        UniqueConstraint("kind", "language", "version"),
        Index("ix_policy_text_kind", "kind", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(2))
    version: Mapped[str] = mapped_column(String(VERSION_MAX))
    text: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
