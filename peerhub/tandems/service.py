"""Tandems: who works with whom, capacity, and the members' access to their tandem."""

from __future__ import annotations

from sqlalchemy import func, select

from peerhub.accounts.models import User
from peerhub.errors import NotFound
from peerhub.extensions import db
from peerhub.tandems.models import BINDING_STATES, Tandem, TandemMember


def binding_count(user_id: int) -> int:
    """How many forming or active tandems the member is in (what capacity counts)."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(TandemMember)
            .join(Tandem, Tandem.id == TandemMember.tandem_id)
            .where(TandemMember.user_id == user_id, Tandem.state.in_(BINDING_STATES))
        )
        or 0
    )


def binding_tandems_subquery():
    """Per member, the number of forming or active tandems (for "has room" in queries)."""
    return (
        select(func.count())
        .select_from(TandemMember)
        .join(Tandem, Tandem.id == TandemMember.tandem_id)
        .where(Tandem.state.in_(BINDING_STATES))
    )


def start_tandem(user_ids: list[int], intro_request_id: int | None = None) -> Tandem:
    """A new tandem in the state forming, in the caller's transaction."""
    tandem = Tandem(intro_request_id=intro_request_id, state="forming")
    tandem.members = [TandemMember(user_id=uid) for uid in sorted(set(user_ids))]
    db.session.add(tandem)
    db.session.flush()
    return tandem


def tandem_for(user: User, tandem_id: int) -> Tandem:
    """A tandem the member belongs to. Raises NotFound for anyone else, moderators included."""
    tandem = db.session.get(Tandem, tandem_id)
    if tandem is None or all(m.user_id != user.id for m in tandem.members):
        raise NotFound("tandem")
    return tandem


def tandems_of(user_id: int, states: tuple[str, ...] = BINDING_STATES) -> list[Tandem]:
    """The member's tandems in `states`, newest first."""
    return list(
        db.session.scalars(
            select(Tandem)
            .join(TandemMember, TandemMember.tandem_id == Tandem.id)
            .where(TandemMember.user_id == user_id, Tandem.state.in_(states))
            .order_by(Tandem.created_at.desc(), Tandem.id.desc())
        )
    )


def partners(tandem: Tandem, user_id: int) -> list[User]:
    """The other members of the tandem, by name."""
    others = [db.session.get(User, m.user_id) for m in tandem.members if m.user_id != user_id]
    return sorted((u for u in others if u is not None), key=lambda u: u.display_name.casefold())
