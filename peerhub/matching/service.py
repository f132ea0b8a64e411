"""Matching rules: a member's suggestions, "not now", and moderated matching rounds.

No request here: views, the CLI and the tests call these functions alike.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from itertools import combinations

from flask_babel import gettext as _
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from peerhub.accounts.models import User
from peerhub.errors import Conflict, Invalid, NotAllowed, NotFound
from peerhub.extensions import db, transaction, utcnow
from peerhub.matching import candidates as found
from peerhub.matching.explain import Span, explain, fit_tags, tag_names
from peerhub.matching.models import (
    MatchingRound,
    PairPause,
    Proposal,
    ProposalMember,
    RoundEntry,
    pair_key,
)
from peerhub.matching.pairing import best_pairing, group_score
from peerhub.matching.scoring import Candidate, Fit, PairRules, fit, pair_violations
from peerhub.notifications.service import notify, queue_mail
from peerhub.profiles import service as profiles
from peerhub.profiles.models import Profile
from peerhub.tandems import service as tandems
from peerhub.web.urls import absolute_url, site_path

SUGGESTIONS_SHOWN = 10
# In a round, each member keeps their best this many edges (and those that name them):
# enough for a near-optimal pairing, few enough to score 2,000 members in seconds.
ROUND_EDGES_PER_MEMBER = 40
GROUP_MIN, GROUP_MAX = 3, 4


# --- suggestions -----------------------------------------------------------------


@dataclass
class Suggestion:
    """One suggested member as the viewer sees them."""

    fit: Fit
    headline: str
    names: dict[int, str]
    spans: list[Span]
    sentence: str

    @property
    def user_id(self) -> int:
        return self.fit.other.user_id


def missing_for_suggestions(me: Candidate | None) -> list[str]:
    """What the member's profile lacks before anyone can be suggested (codes)."""
    if me is None:
        return ["offers", "seeks", "languages", "availability"]
    missing = []
    if not me.offers:
        missing.append("offers")
    if not me.seeks:
        missing.append("seeks")
    if not me.language_mask:
        missing.append("languages")
    if not me.windows:
        missing.append("availability")
    return missing


def suggestions_for(
    user_id: int,
    viewer_zone: str,
    day: date | None = None,
    limit: int = SUGGESTIONS_SHOWN,
    me: Candidate | None = None,
) -> list[Suggestion]:
    """The member's best matches, best first, each explained (`me`: the member, if loaded).

    Candidates come from the indexed query (`candidates.candidate_ids`); the hard
    constraints are checked again here on the full profiles, so the page never shows a
    pair the rules forbid even if the query and the rules ever disagree.
    """
    day = day or utcnow().date()
    if me is None:
        me = found.load_candidates([user_id]).get(user_id)
    if me is None or missing_for_suggestions(me)[:2] == ["offers", "seeks"]:
        return []
    excluded = found.excluded_for(user_id)
    others = found.load_candidates(found.candidate_ids(me, excluded=excluded))
    fits = [
        fit(me, other, day)
        for other in others.values()
        if other.user_id not in excluded and not pair_violations(me, other, PairRules())
    ]
    fits.sort(key=lambda f: (-f.score.total, f.other.user_id))
    fits = fits[:limit]
    names = tag_names(set().union(*(fit_tags(f) for f in fits)))
    headlines = dict(
        db.session.execute(
            select(Profile.user_id, Profile.headline).where(
                Profile.user_id.in_([f.other.user_id for f in fits])
            )
        ).all()
    )
    out = []
    for f in fits:
        _names, spans, sentence = explain(f, day, viewer_zone, names=names)
        out.append(Suggestion(f, headlines.get(f.other.user_id, ""), names, spans, sentence))
    return out


def _other_member(viewer_id: int, user_id: int) -> User:
    """Another member the viewer may see (the directory's rule). Raises NotFound."""
    user, _profile = profiles.member_for(viewer_id, user_id)
    return user


def pause_pair(a: int, b: int, reason: str, by_id: int, now: datetime | None = None) -> None:
    """Keep two members apart for 90 days, in the caller's transaction (longest pause wins)."""
    low, high = pair_key(a, b)
    now = now or utcnow()
    until = now + found.PAUSE
    pause = db.session.get(PairPause, (low, high))
    if pause is None:
        db.session.add(PairPause(low_id=low, high_id=high, reason=reason, by_id=by_id, until=until))
    elif pause.until < until:
        pause.reason, pause.by_id, pause.until, pause.created_at = reason, by_id, until, now


def dismiss(viewer: User, user_id: int) -> None:
    """ "Not now": neither is suggested to the other for 90 days (again is harmless).

    Raises NotFound for an unknown member or oneself.
    """
    _other_member(viewer.id, user_id)
    try:
        with transaction():
            pause_pair(viewer.id, user_id, "dismissed", viewer.id)
    except IntegrityError:
        db.session.rollback()  # the other tab's click made the same pause


def dismissed_by(viewer_id: int, user_id: int) -> bool:
    """Whether the viewer said "not now" to this member and the pause still holds."""
    low, high = pair_key(viewer_id, user_id)
    pause = db.session.get(PairPause, (low, high))
    return (
        pause is not None
        and pause.by_id == viewer_id
        and pause.reason == "dismissed"
        and pause.until > utcnow()
    )


def undo_dismiss(viewer: User, user_id: int) -> None:
    """Take back one's own "not now" (declines and other pauses stay). Raises NotFound."""
    _other_member(viewer.id, user_id)
    low, high = pair_key(viewer.id, user_id)
    with transaction():
        db.session.execute(
            delete(PairPause).where(
                PairPause.low_id == low,
                PairPause.high_id == high,
                PairPause.by_id == viewer.id,
                PairPause.reason == "dismissed",
            )
        )


# --- rounds: members ------------------------------------------------------------


def open_round() -> MatchingRound | None:
    """The round members can opt in to now, if a moderator opened one."""
    return db.session.scalar(select(MatchingRound).where(MatchingRound.status == "open"))


def entry_for(round_: MatchingRound | None, user_id: int) -> RoundEntry | None:
    if round_ is None:
        return None
    return db.session.get(RoundEntry, (round_.id, user_id))


def join_round(user: User, wants_group: bool) -> RoundEntry:
    """Opt in to the open round (again only updates the group wish).

    Raises Conflict when no round is open, Invalid when the profile cannot be matched.
    """
    round_ = open_round()
    if round_ is None:
        raise Conflict(_("No matching round is open right now. You will hear when the next opens."))
    me = found.load_candidates([user.id]).get(user.id)
    missing = missing_for_suggestions(me)
    if missing:
        raise Invalid(
            _(
                "Complete your profile first: a round needs your offers, what you seek, "
                "your languages and your free times."
            )
        )
    if not me.available:
        raise Invalid(_("Your profile is paused or hidden. Open it to be matched."))
    entry = db.session.get(RoundEntry, (round_.id, user.id))
    try:
        with transaction():
            if entry is None:
                entry = RoundEntry(round_id=round_.id, user_id=user.id, wants_group=wants_group)
                db.session.add(entry)
            else:
                entry.wants_group = wants_group
    except IntegrityError:
        db.session.rollback()  # a second click already opted in
        entry = db.session.get(RoundEntry, (round_.id, user.id))
    return entry


def leave_round(user: User) -> None:
    """Opt out of the open round; a draft proposal with the member is dissolved."""
    round_ = open_round()
    if round_ is None:
        return
    with transaction():
        _drop_from_drafts(round_, [user.id])
        db.session.execute(
            delete(RoundEntry).where(
                RoundEntry.round_id == round_.id, RoundEntry.user_id == user.id
            )
        )


def _drop_from_drafts(round_: MatchingRound, user_ids: list[int]) -> None:
    """Dissolve the draft proposals holding any of `user_ids`; their members go unmatched."""
    proposal_ids = list(
        db.session.scalars(
            select(ProposalMember.proposal_id)
            .join(Proposal, Proposal.id == ProposalMember.proposal_id)
            .where(
                Proposal.round_id == round_.id,
                Proposal.status == "draft",
                ProposalMember.user_id.in_(user_ids),
            )
            .distinct()
        )
    )
    if not proposal_ids:
        return
    members = select(ProposalMember.user_id).where(ProposalMember.proposal_id.in_(proposal_ids))
    db.session.execute(
        update(RoundEntry)
        .where(RoundEntry.round_id == round_.id, RoundEntry.user_id.in_(members))
        .values(unmatched_reason="moderator")
        .execution_options(synchronize_session=False)
    )
    # the members go with their proposal (ON DELETE CASCADE)
    db.session.execute(
        delete(Proposal)
        .where(Proposal.id.in_(proposal_ids))
        .execution_options(synchronize_session=False)
    )
    db.session.expire_all()
    round_.version += 1


@dataclass
class ProposalView:
    """A proposal as one of its members sees it."""

    proposal: Proposal
    mine: ProposalMember
    partners: list[User]
    fits: list[Suggestion]


def proposals_for(user: User, viewer_zone: str, day: date | None = None) -> list[ProposalView]:
    """The member's published proposals that still matter (newest round first)."""
    day = day or utcnow().date()
    rows = db.session.execute(
        select(Proposal, ProposalMember)
        .join(ProposalMember, ProposalMember.proposal_id == Proposal.id)
        .where(ProposalMember.user_id == user.id, Proposal.status != "draft")
        .order_by(Proposal.round_id.desc(), Proposal.id.desc())
        .limit(5)
    ).all()
    out = []
    for proposal, mine in rows:
        # who stepped out of a group is no longer shown to those who stayed
        others = [
            m.user_id
            for m in proposal.members
            if m.user_id != user.id and (mine.answer == "declined" or m.answer != "declined")
        ]
        people = found.load_candidates([user.id, *others])
        partners = [db.session.get(User, uid) for uid in others]
        fits = []
        if user.id in people:
            for uid in others:
                if uid in people:
                    f = fit(people[user.id], people[uid], day)
                    fits.append(Suggestion(f, "", *explain(f, day, viewer_zone)))
        out.append(ProposalView(proposal, mine, [p for p in partners if p], fits))
    return out


def _proposal_for_member(user: User, proposal_id: int) -> tuple[Proposal, ProposalMember]:
    proposal = db.session.get(Proposal, proposal_id, with_for_update=True)
    if proposal is None or proposal.status == "draft":
        raise NotFound("proposal")
    mine = next((m for m in proposal.members if m.user_id == user.id), None)
    if mine is None:
        raise NotFound("proposal")
    return proposal, mine


def answer_proposal(user: User, proposal_id: int, accept: bool) -> Proposal:
    """Say yes or no to a proposal. The same answer again is harmless.

    When every remaining member said yes, the proposal is accepted and all are invited to
    book an intro call; a no keeps that pair apart for 90 days, and the proposal ends when
    fewer than two remain. Raises NotFound, or Conflict when the answer can no longer change.
    """
    with transaction():
        proposal, mine = _proposal_for_member(user, proposal_id)
        wanted = "accepted" if accept else "declined"
        if mine.answer == wanted:
            return proposal
        if mine.answer != "pending" or proposal.status != "proposed":
            raise Conflict(_("This proposal is already settled; your answer can no longer change."))
        mine.answer, mine.answered_at = wanted, utcnow()
        remaining = [m for m in proposal.members if m.answer != "declined"]
        if not accept:
            for other in proposal.members:
                if other.user_id != user.id:
                    pause_pair(user.id, other.user_id, "declined", user.id)
            if len(remaining) < 2:
                proposal.status, proposal.decided_at = "declined", utcnow()
                for other in remaining:
                    _tell(other.user_id, "proposal_declined", proposal, with_declined=True)
        if len(remaining) >= 2 and all(m.answer == "accepted" for m in remaining):
            proposal.status, proposal.decided_at = "accepted", utcnow()
            group = tandems.group_from_proposal(proposal) if len(remaining) > 2 else None
            for member in remaining:
                if group is not None and member.user_id in group.member_ids():
                    tandems.tell_group_formed(member.user_id, group)
                else:
                    _tell(member.user_id, "proposal_accepted", proposal, mail="proposal_accepted")
    return proposal


def _tell(
    user_id: int,
    kind: str,
    proposal: Proposal,
    mail: str | None = None,
    with_declined: bool = False,
) -> None:
    """Notify a member of their proposal, in their language, in the caller's transaction.

    The partners named are those still in it, or everyone when `with_declined`.
    """
    user = db.session.get(User, user_id)
    partners = [
        db.session.get(User, m.user_id).display_name
        for m in proposal.members
        if m.user_id != user_id and (with_declined or m.answer != "declined")
    ]
    names = ", ".join(sorted(partners, key=str.casefold))
    link = site_path("matching.round_page")
    notify(user_id, kind, link=link, names=names)
    if mail:
        queue_mail(
            user.email,
            mail,
            user.language,
            name=user.display_name,
            names=names,
            link=absolute_url("matching.round_page"),
        )


# --- rounds: moderators -----------------------------------------------------------


def _require_moderator(actor: User) -> None:
    if not actor.is_moderator:
        raise NotAllowed(_("Only moderators can run matching rounds."))


def start_round(actor: User) -> MatchingRound:
    """Open a round for opt-ins; if one is open already, that one. Raises NotAllowed."""
    _require_moderator(actor)
    existing = open_round()
    if existing is not None:
        return existing
    try:
        with transaction():
            round_ = MatchingRound(opened_by_id=actor.id)
            db.session.add(round_)
    except IntegrityError:
        db.session.rollback()  # another moderator opened it a moment ago
        return open_round()
    return round_


def round_for_moderator(actor: User, round_id: int) -> MatchingRound:
    _require_moderator(actor)
    round_ = db.session.get(MatchingRound, round_id)
    if round_ is None:
        raise NotFound("round")
    return round_


def _require_draft(round_: MatchingRound, version: int | None) -> None:
    if round_.status != "open":
        raise Conflict(_("This round is already published; it cannot change any more."))
    if version is not None and version != round_.version:
        raise Conflict(
            _("Another moderator changed this round a moment ago. Here is how it looks now.")
        )


@dataclass
class RoundGraph:
    """The entrants of a round, who may meet whom, and the edges worth considering."""

    people: dict[int, Candidate]
    rules: PairRules
    edges: dict[tuple[int, int], int]
    feasible: Counter
    blocked_by: dict[int, Counter]


def round_graph(entrant_ids: list[int], day: date) -> RoundGraph:
    """Score every complementary pair of entrants under the hard constraints.

    Candidates come from an index of tags (who offers / seeks what) over the entrants, as
    on the suggestions page; each member keeps their best ROUND_EDGES_PER_MEMBER edges.
    """
    people = found.load_candidates(entrant_ids)
    rules = found.pair_rules(people, with_past=True)
    offering: dict[int, list[int]] = defaultdict(list)
    seeking: dict[int, list[int]] = defaultdict(list)
    for person in people.values():
        for tag in person.offers:
            offering[tag].append(person.user_id)
        for tag in person.seeks:
            seeking[tag].append(person.user_id)
    best: dict[int, list[tuple[int, int]]] = defaultdict(list)
    feasible: Counter = Counter()
    why_not: dict[int, Counter] = defaultdict(Counter)
    for a in people.values():
        near = {b for tag in a.seeks for b in offering[tag]}
        near.update(b for tag in a.offers for b in seeking[tag])
        for b_id in near:
            if b_id <= a.user_id:
                continue  # each pair once, from its lower id
            b = people[b_id]
            broken = pair_violations(a, b, rules)
            if broken:
                for person in (a.user_id, b_id):
                    why_not[person][broken[0]] += 1
                continue
            value = max(fit(a, b, day).score.total, 1)
            feasible[a.user_id] += 1
            feasible[b_id] += 1
            best[a.user_id].append((value, b_id))
            best[b_id].append((value, a.user_id))
    edges: dict[tuple[int, int], int] = {}
    for a_id, options in best.items():
        options.sort(key=lambda pair: (-pair[0], pair[1]))
        for value, b_id in options[:ROUND_EDGES_PER_MEMBER]:
            edges[pair_key(a_id, b_id)] = value
    return RoundGraph(people, rules, edges, feasible, why_not)


def _unmatched_reason(user_id: int, graph: RoundGraph) -> str:
    person = graph.people.get(user_id)
    if person is None:
        return "no_profile"
    if not person.available:
        return person.unavailable_reason or "paused"
    if graph.feasible[user_id]:
        return "outscored"
    counts = graph.blocked_by.get(user_id)
    if not counts:
        return "no_complement"
    code = counts.most_common(1)[0][0]
    return {"paused": "paused_pair", "unavailable": "outscored"}.get(code, code)


def preview_round(actor: User, round_id: int, day: date | None = None) -> MatchingRound:
    """Compute the round's best pairing as drafts (replacing earlier drafts).

    Raises NotAllowed, NotFound, or Conflict when the round is published.
    """
    round_ = round_for_moderator(actor, round_id)
    _require_draft(round_, None)
    day = day or utcnow().date()
    entries = db.session.scalars(select(RoundEntry).where(RoundEntry.round_id == round_.id)).all()
    ids = [e.user_id for e in entries]
    graph = round_graph(ids, day)
    wanters = {e.user_id for e in entries if e.wants_group}
    pairing = best_pairing(sorted(graph.people), graph.edges, wanters)
    with transaction():
        db.session.execute(
            delete(Proposal).where(Proposal.round_id == round_.id, Proposal.status == "draft")
        )
        for group in pairing.groups:
            value = group_score(group, graph.edges)
            proposal = Proposal(round_id=round_.id, score=min(value, 100), status="draft")
            proposal.members = [ProposalMember(user_id=uid, round_id=round_.id) for uid in group]
            db.session.add(proposal)
        matched = {uid for group in pairing.groups for uid in group}
        for entry in entries:
            entry.unmatched_reason = (
                None if entry.user_id in matched else _unmatched_reason(entry.user_id, graph)
            )
            entry.partners = graph.feasible[entry.user_id]
        round_.previewed_at = utcnow()
        round_.version += 1
    return round_


def dissolve_proposal(actor: User, proposal_id: int, version: int) -> MatchingRound:
    """Take a draft pair or group apart by hand. Raises NotAllowed, NotFound, Conflict."""
    _require_moderator(actor)
    proposal = db.session.get(Proposal, proposal_id)
    if proposal is None:
        raise NotFound("proposal")
    round_ = db.session.get(MatchingRound, proposal.round_id)
    _require_draft(round_, version)
    if proposal.status != "draft":
        raise Conflict(_("This proposal is already published."))
    with transaction():
        _drop_from_drafts(round_, [m.user_id for m in proposal.members])
    return round_


def pair_by_hand(actor: User, round_id: int, user_ids: list[int], version: int) -> Proposal:
    """Put 2–4 unmatched entrants together by hand, under the same hard constraints.

    Raises NotAllowed, NotFound, Conflict (round changed or published), or Invalid naming
    the rule a pair would break.
    """
    round_ = round_for_moderator(actor, round_id)
    _require_draft(round_, version)
    ids = sorted(set(user_ids))
    if not GROUP_MIN - 1 <= len(ids) <= GROUP_MAX:
        raise Invalid(_("Choose two members for a pair, or three or four for a group."), "members")
    entries = {
        e.user_id: e
        for e in db.session.scalars(
            select(RoundEntry).where(RoundEntry.round_id == round_.id, RoundEntry.user_id.in_(ids))
        )
    }
    if len(entries) != len(ids):
        raise Invalid(_("Only members who opted in to this round can be matched."), "members")
    taken = db.session.scalar(
        select(func.count())
        .select_from(ProposalMember)
        .where(ProposalMember.round_id == round_.id, ProposalMember.user_id.in_(ids))
    )
    if taken:
        raise Invalid(_("Someone you chose is already in a proposal of this round."), "members")
    day = utcnow().date()
    people = found.load_candidates(ids)
    rules = found.pair_rules(ids, with_past=True)
    scores = []
    for a, b in combinations(ids, 2):
        if a not in people or b not in people:
            raise Invalid(_("Someone you chose has no profile to match."), "members")
        broken = pair_violations(people[a], people[b], rules)
        if broken:
            raise Invalid(
                _(
                    "%(a)s and %(b)s cannot be matched: %(rule)s",
                    a=people[a].name,
                    b=people[b].name,
                    rule=violation_text(broken[0]),
                ),
                "members",
            )
        scores.append(fit(people[a], people[b], day).score.total)
    with transaction():
        proposal = Proposal(
            round_id=round_.id,
            score=round(sum(scores) / len(scores)),
            status="draft",
            origin="moderator",
        )
        proposal.members = [ProposalMember(user_id=uid, round_id=round_.id) for uid in ids]
        db.session.add(proposal)
        for entry in entries.values():
            entry.unmatched_reason = None
        round_.version += 1
    return proposal


def violation_text(code: str) -> str:
    """A hard constraint in words (for moderators)."""
    texts = {
        "same_member": _("that is the same member"),
        "unavailable": _("a profile is paused, hidden or suspended"),
        "language": _("they have no language in common"),
        "meeting": _("their ways of meeting do not fit (in person only in the same city)"),
        "blocked": _("one blocked the other"),
        "paused": _("one of them said “not now” to the other in the last 90 days"),
        "together": _("they are already matched"),
        "past_pairing": _("an earlier round proposed them already"),
    }
    return texts.get(code, code)


def publish_round(actor: User, round_id: int, version: int) -> MatchingRound:
    """Publish the drafts: every member sees their proposal, the round closes to opt-ins.

    Two moderators publishing at once: only the first succeeds (the round's version must
    still be the one shown). Raises NotAllowed, NotFound, Conflict.
    """
    round_ = round_for_moderator(actor, round_id)
    _require_draft(round_, version)
    if round_.previewed_at is None:
        raise Conflict(_("Preview the round before publishing it."))
    with transaction():
        changed = db.session.execute(
            update(MatchingRound)
            .where(
                MatchingRound.id == round_.id,
                MatchingRound.status == "open",
                MatchingRound.version == version,
            )
            .values(
                status="published",
                published_at=utcnow(),
                published_by_id=actor.id,
                version=MatchingRound.version + 1,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        if not changed:
            raise Conflict(
                _("Another moderator changed this round a moment ago. Here is how it looks now.")
            )
        proposals = db.session.scalars(
            select(Proposal).where(Proposal.round_id == round_.id, Proposal.status == "draft")
        ).all()
        matched = set()
        for proposal in proposals:
            proposal.status = "proposed"
            for member in proposal.members:
                matched.add(member.user_id)
                _tell(member.user_id, "round_proposal", proposal, mail="round_proposal")
        for entry in db.session.scalars(select(RoundEntry).where(RoundEntry.round_id == round_.id)):
            if entry.user_id not in matched:
                notify(entry.user_id, "round_unmatched", link=site_path("matching.suggestions"))
    db.session.refresh(round_)
    return round_


@dataclass
class RoundFigures:
    entrants: int
    matched: int
    proposals: int
    groups: int
    mean_score: float | None
    unmatched: list[tuple[User, RoundEntry]]
    stale: int  # opted in after the preview


def round_figures(round_: MatchingRound) -> RoundFigures:
    """How many are matched, the mean score, who stayed unmatched and why."""
    entries = db.session.execute(
        select(RoundEntry, User)
        .join(User, User.id == RoundEntry.user_id)
        .where(RoundEntry.round_id == round_.id)
        .order_by(User.display_name)
    ).all()
    proposals = db.session.scalars(
        select(Proposal).where(Proposal.round_id == round_.id).order_by(Proposal.score.desc())
    ).all()
    matched = {m.user_id for p in proposals for m in p.members}
    scores = [p.score for p in proposals]
    stale = sum(
        1
        for entry, _user in entries
        if round_.previewed_at is not None and entry.created_at > round_.previewed_at
    )
    return RoundFigures(
        entrants=len(entries),
        matched=len(matched),
        proposals=len(proposals),
        groups=sum(1 for p in proposals if len(p.members) > 2),
        mean_score=round(sum(scores) / len(scores), 1) if scores else None,
        unmatched=[(user, entry) for entry, user in entries if entry.user_id not in matched],
        stale=stale,
    )


def round_explanations(
    proposals: list[Proposal], reader_zone: str, day: date | None = None
) -> dict[int, list[str]]:
    """For a moderator: per proposal, one sentence per pair in it (third person).

    All members and tag names are loaded at once: a large round has a thousand proposals.
    """
    day = day or utcnow().date()
    people = found.load_candidates(m.user_id for p in proposals for m in p.members)
    fits = {
        p.id: [
            fit(people[a], people[b], day)
            for a, b in combinations([m.user_id for m in p.members], 2)
            if a in people and b in people
        ]
        for p in proposals
    }
    names = tag_names(set().union(*(fit_tags(f) for pair in fits.values() for f in pair)))
    return {
        proposal_id: [explain(f, day, reader_zone, me_reads=False, names=names)[2] for f in pair]
        for proposal_id, pair in fits.items()
    }
