"""Members as scoring sees them, and who may be suggested to whom, read from the database.

The suggestions page never scores everyone: an indexed query over `profile_tag` finds the
members who offer what I seek or seek what I offer, already filtered by the hard
constraints the database can check (language, meeting mode, status, blocks, pauses), and
orders them by how complementary they are; only the best `CANDIDATES` are scored in full.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta
from typing import NamedTuple

from sqlalchemy import Integer, and_, case, func, literal, or_, select, union, union_all

from peerhub.accounts.models import User
from peerhub.extensions import db, utcnow
from peerhub.matching.models import PairPause, Proposal, ProposalMember
from peerhub.matching.scoring import CAN_MEET, CAN_VIDEO, Candidate, PairRules
from peerhub.profiles.models import AvailabilityWindow, Block, Profile, ProfileTag
from peerhub.profiles.search import blocked_either_way, bound_count, has_room_condition

# How many of the most complementary members are scored in full for one member's page.
CANDIDATES = 200
# How many members per tag (newest first) are considered.
SAMPLE_PER_TAG = 2000
PAUSE = timedelta(days=90)


def unavailable_reason(user, profile) -> str | None:
    """Why a member cannot be matched now (a code), or None when they can.

    `user` and `profile` are anything with the models' attribute names (rows or objects).
    """
    if user.status != "active":
        return "suspended"
    if user.email_verified_at is None:
        return "unconfirmed"
    if profile.visibility != "members":
        return "hidden"
    if profile.status != "open":
        return "paused"
    if profile.capacity <= profile.bound:
        return "full"
    return None


def load_candidates(user_ids: Iterable[int]) -> dict[int, Candidate]:
    """Candidates for `user_ids` (those without a profile are left out), in three queries.

    Plain rows, not ORM objects: a suggestions page loads a few hundred members at once.
    """
    ids = list(dict.fromkeys(user_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        select(
            User.id,
            User.display_name,
            User.timezone,
            User.status,
            User.email_verified_at,
            Profile.visibility,
            Profile.hidden_by_moderator_at,
            Profile.status.label("profile_status"),
            Profile.capacity,
            bound_count(User.id).label("bound"),
            Profile.language_mask,
            Profile.meeting_mode,
            Profile.city_key,
            Profile.rhythm,
            Profile.session_length,
        )
        .join(Profile, Profile.user_id == User.id)
        .where(User.id.in_(ids))
    ).all()
    tags: dict[tuple[int, str], set[int]] = defaultdict(set)
    for user_id, tag_id, kind in db.session.execute(
        select(ProfileTag.user_id, ProfileTag.tag_id, ProfileTag.kind).where(
            ProfileTag.user_id.in_(ids)
        )
    ):
        tags[user_id, kind].add(tag_id)
    windows: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for user_id, weekday, start, end in db.session.execute(
        select(
            AvailabilityWindow.user_id,
            AvailabilityWindow.weekday,
            AvailabilityWindow.start_minute,
            AvailabilityWindow.end_minute,
        )
        .where(AvailabilityWindow.user_id.in_(ids))
        .order_by(AvailabilityWindow.weekday, AvailabilityWindow.start_minute)
    ):
        windows[user_id].append((weekday, start, end))
    out = {}
    for row in rows:
        visibility = "hidden" if row.hidden_by_moderator_at is not None else row.visibility
        profile = _ProfileFacts(visibility, row.profile_status, row.capacity, row.bound)
        reason = unavailable_reason(row, profile)
        out[row.id] = Candidate(
            user_id=row.id,
            name=row.display_name,
            zone=row.timezone,
            offers=frozenset(tags[row.id, "offer"]),
            seeks=frozenset(tags[row.id, "seek"]),
            interests=frozenset(tags[row.id, "interest"]),
            language_mask=row.language_mask,
            meeting_mode=row.meeting_mode,
            city_key=row.city_key,
            rhythm=row.rhythm,
            session_length=row.session_length,
            windows=tuple(windows[row.id]),
            available=reason is None,
            unavailable_reason=reason,
        )
    return out


class _ProfileFacts(NamedTuple):
    visibility: str
    status: str
    capacity: int
    bound: int  # forming or active tandems


# --- pairs that must not meet ------------------------------------------------------


def _pairs(rows) -> frozenset[tuple[int, int]]:
    return frozenset((a, b) if a < b else (b, a) for a, b in rows)


def pair_rules(user_ids: Iterable[int] | None = None, with_past: bool = False) -> PairRules:
    """Blocks, active pauses and existing matches among `user_ids` (None: involving anyone);
    `with_past`: also the pairs earlier rounds proposed, which a round must not repeat.

    Rounds ask for their entrants; a single member's page asks `excluded_for` instead.
    """
    ids = None if user_ids is None else list(user_ids)

    def among(column_a, column_b):
        if ids is None:
            return []
        return [column_a.in_(ids), column_b.in_(ids)]

    blocked = db.session.execute(
        select(Block.blocker_id, Block.blocked_id).where(*among(Block.blocker_id, Block.blocked_id))
    )
    paused = db.session.execute(
        select(PairPause.low_id, PairPause.high_id).where(
            PairPause.until > utcnow(), *among(PairPause.low_id, PairPause.high_id)
        )
    )
    return PairRules(
        blocked=_pairs(blocked),
        paused=_pairs(paused),
        together=_proposal_pairs(ids, ("proposed", "accepted"), without_declined=True)
        | _working_pairs(ids),
        # whatever came of it: proposed, accepted or declined (drafts were never seen)
        past=(
            _proposal_pairs(ids, ("proposed", "accepted", "declined"), without_declined=False)
            if with_past
            else frozenset()
        ),
    )


def _sharing(link, group: str, state, states: tuple[str, ...], ids: list[int] | None):
    """Pairs of members (among `ids`, or anyone) linked through `link` rows to the same
    `group` whose `state` is one of `states`; a group of 3–4 gives every pair in it.
    Returns the select and the two aliases of `link`, for further conditions."""
    first, second = link.__table__.alias(), link.__table__.alias()
    query = (
        select(first.c.user_id, second.c.user_id)
        .join(second, second.c[group] == first.c[group])
        .join(state.class_, state.class_.id == first.c[group])
        .where(first.c.user_id < second.c.user_id, state.in_(states))
    )
    if ids is not None:
        query = query.where(first.c.user_id.in_(ids), second.c.user_id.in_(ids))
    return query, first, second


def _proposal_pairs(
    ids: list[int] | None, states: tuple[str, ...], without_declined: bool
) -> frozenset[tuple[int, int]]:
    """Pairs of members (among `ids`, or anyone) who share a proposal in one of `states`.
    `without_declined`: leave out who said no."""
    query, first, second = _sharing(ProposalMember, "proposal_id", Proposal.status, states, ids)
    if without_declined:
        query = query.where(first.c.answer != "declined", second.c.answer != "declined")
    return _pairs(db.session.execute(query))


def _working_pairs(ids: list[int] | None) -> frozenset[tuple[int, int]]:
    """Pairs (among `ids`, or anyone) with an open intro request or a tandem together."""
    from peerhub.intros.models import OPEN_STATES, IntroRequest
    from peerhub.tandems.models import BINDING_STATES, Tandem, TandemMember

    intro = select(IntroRequest.low_id, IntroRequest.high_id).where(
        IntroRequest.state.in_(OPEN_STATES)
    )
    if ids is not None:
        intro = intro.where(IntroRequest.low_id.in_(ids), IntroRequest.high_id.in_(ids))
    tandem, _first, _second = _sharing(TandemMember, "tandem_id", Tandem.state, BINDING_STATES, ids)
    return _pairs(db.session.execute(intro)) | _pairs(db.session.execute(tandem))


def working_with(user_id: int) -> set[int]:
    """Members `user_id` has an open intro request or a forming or active tandem with."""
    from peerhub.intros.models import OPEN_STATES, IntroRequest
    from peerhub.tandems.models import BINDING_STATES, Tandem, TandemMember

    mine = select(TandemMember.tandem_id).where(TandemMember.user_id == user_id)
    return set(
        db.session.scalars(
            union(
                select(IntroRequest.recipient_id).where(
                    IntroRequest.requester_id == user_id, IntroRequest.state.in_(OPEN_STATES)
                ),
                select(IntroRequest.requester_id).where(
                    IntroRequest.recipient_id == user_id, IntroRequest.state.in_(OPEN_STATES)
                ),
                select(TandemMember.user_id)
                .join(Tandem, Tandem.id == TandemMember.tandem_id)
                .where(
                    TandemMember.tandem_id.in_(mine),
                    Tandem.state.in_(BINDING_STATES),
                    TandemMember.user_id != user_id,
                ),
            )
        )
    )


def excluded_for(user_id: int) -> set[int]:
    """Members never suggested to `user_id`: blocked either way, paused, already matched."""
    now = utcnow()
    out = set(db.session.scalars(blocked_either_way(user_id)))
    out.update(
        db.session.scalars(
            union(
                select(PairPause.high_id).where(PairPause.low_id == user_id, PairPause.until > now),
                select(PairPause.low_id).where(PairPause.high_id == user_id, PairPause.until > now),
            )
        )
    )
    mine = select(ProposalMember.proposal_id).where(ProposalMember.user_id == user_id)
    out.update(
        db.session.scalars(
            select(ProposalMember.user_id)
            .join(Proposal, Proposal.id == ProposalMember.proposal_id)
            .where(
                ProposalMember.proposal_id.in_(mine),
                Proposal.status.in_(("proposed", "accepted")),
                ProposalMember.user_id != user_id,
            )
        )
    )
    out.update(working_with(user_id))
    out.add(user_id)
    return out


# --- the candidate query for one member ---------------------------------------------


def _meeting_condition(me: Candidate):
    """Which profiles `me` can meet: by video, or in person in the same city."""
    ways = []
    if me.meeting_mode in CAN_VIDEO:
        ways.append(Profile.meeting_mode.in_(sorted(CAN_VIDEO)))
    if me.meeting_mode in CAN_MEET and me.city_key:
        ways.append(
            and_(Profile.meeting_mode.in_(sorted(CAN_MEET)), Profile.city_key == me.city_key)
        )
    return or_(*ways) if ways else literal(False)


def candidate_ids(
    me: Candidate, limit: int = CANDIDATES, excluded: set[int] | None = None
) -> list[int]:
    """The members who complement `me` most, under the database-checked hard constraints.

    Mutual complementarity first, then how many tags meet either way (up to three each),
    then the newest members. Work is bounded: each of my tags contributes its newest
    SAMPLE_PER_TAG members, and counts are taken only above the id where every sample is
    complete, so they are exact there. The hard constraints are then checked in the
    database, in the same query.
    """
    if not (me.seeks or me.offers) or not me.language_mask:
        return []
    branches = [
        (kind, tag_id)
        for kind, tags in (("offer", me.seeks), ("seek", me.offers))
        for tag_id in sorted(tags)
    ]
    offer_branches = len(me.seeks)  # the first branches sample offerers, the rest seekers
    # Each branch walks the index (tag_id, kind, user_id) backwards and stops after
    # SAMPLE_PER_TAG rows, so a tag half the community uses costs no more than a rare one.
    samples = union_all(
        *(
            select(sample.c.user_id, sample.c.branch)
            for sample in (
                select(ProfileTag.user_id, literal(n, Integer).label("branch"))
                .where(ProfileTag.tag_id == tag_id, ProfileTag.kind == kind)
                .order_by(ProfileTag.user_id.desc())
                .limit(SAMPLE_PER_TAG)
                .subquery()
                for n, (kind, tag_id) in enumerate(branches)
            )
        )
    ).cte("samples")
    # Below the lowest id of a full sample, that tag's members are not all there: count
    # only above the highest such id, where every sample is complete.
    full = (
        select(func.min(samples.c.user_id).label("lowest"))
        .group_by(samples.c.branch)
        .having(func.count() == SAMPLE_PER_TAG)
        .subquery()
    )
    cutoff = select(func.coalesce(func.max(full.c.lowest), 0)).scalar_subquery()
    gives = func.sum(case((samples.c.branch < offer_branches, 1), else_=0))
    wants = func.sum(case((samples.c.branch >= offer_branches, 1), else_=0))
    smaller = func.min if db.engine.dialect.name == "sqlite" else func.least  # scalar min
    counted = (
        select(
            samples.c.user_id,
            gives.label("gives"),
            wants.label("wants"),
        )
        .where(samples.c.user_id >= cutoff)
        .group_by(samples.c.user_id)
        .subquery()
    )
    excluded = sorted(excluded_for(me.user_id) if excluded is None else excluded)
    query = (
        select(counted.c.user_id)
        .join(Profile, Profile.user_id == counted.c.user_id)
        .join(User, User.id == counted.c.user_id)
        .where(
            counted.c.user_id.not_in(excluded),
            Profile.visibility == "members",
            Profile.hidden_by_moderator_at.is_(None),
            has_room_condition(),
            User.status == "active",
            User.email_verified_at.is_not(None),
            Profile.language_mask.op("&")(me.language_mask) != 0,
            _meeting_condition(me),
        )
        .order_by(
            case((and_(counted.c.gives > 0, counted.c.wants > 0), 0), else_=1),
            (smaller(counted.c.gives, 3) + smaller(counted.c.wants, 3)).desc(),
            counted.c.user_id.desc(),
        )
        .limit(limit)
    )
    return list(db.session.connection().execute(query).scalars())
