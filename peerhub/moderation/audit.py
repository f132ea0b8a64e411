"""The audit log: every moderator and admin action, written in the same transaction as the
action, and read with filters. Nothing here (or anywhere) changes or deletes an entry; the
database refuses it too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select

from peerhub.accounts.models import User
from peerhub.extensions import db, utcnow
from peerhub.moderation.models import NAME_MAX, AuditEntry
from peerhub.web.seclog import security_event


def record(
    actor: User,
    action: str,
    target_kind: str,
    target_id: int | None,
    target_name: str = "",
    reason: str = "",
    details: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction (and log the security event)."""
    entry = AuditEntry(
        actor_id=actor.id,
        actor_name=actor.display_name[:NAME_MAX],
        action=action,
        target_kind=target_kind,
        target_id=target_id,
        target_name=(target_name or "")[:NAME_MAX],
        reason=reason or "",
        details=details or {},
        created_at=now or utcnow(),
    )
    db.session.add(entry)
    security_event(f"moderation_{action}", actor=actor.id, target=f"{target_kind}:{target_id}")
    return entry


@dataclass(frozen=True)
class AuditFilters:
    actor_id: int | None = None
    action: str = ""
    target_kind: str = ""
    target_id: int | None = None
    text: str = ""  # a name, actor's or target's


def entries(filters: AuditFilters) -> Select:
    """The log, newest first, filtered (a query to paginate)."""
    query = select(AuditEntry)
    if filters.actor_id is not None:
        query = query.where(AuditEntry.actor_id == filters.actor_id)
    if filters.action:
        query = query.where(AuditEntry.action == filters.action)
    if filters.target_kind:
        query = query.where(AuditEntry.target_kind == filters.target_kind)
    if filters.target_id is not None:
        query = query.where(AuditEntry.target_id == filters.target_id)
    if filters.text:
        escaped = filters.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        query = query.where(
            AuditEntry.actor_name.ilike(pattern, escape="\\")
            | AuditEntry.target_name.ilike(pattern, escape="\\")
        )
    return query.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
