"""Matching rounds: opting in, the moderator's preview, adjustments and publishing, answers."""

from __future__ import annotations

from contextlib import contextmanager
from itertools import combinations

import pytest
from flask_babel import force_locale
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from peerhub.accounts.models import User
from peerhub.errors import Conflict, Invalid, NotAllowed, NotFound
from peerhub.extensions import db
from peerhub.matching import service
from peerhub.matching.candidates import load_candidates, pair_rules
from peerhub.matching.models import MatchingRound, PairPause, Proposal, ProposalMember, RoundEntry
from peerhub.matching.scoring import pair_violations
from peerhub.notifications.models import Notification
from tests.conftest import HX_PARTIAL, make_user
from tests.profile_factories import fill_profile, random_community, random_member


@contextmanager
def english(app):
    """Services outside a request speak the community's default language; tests read English."""
    with app.app_context(), force_locale("en"):
        yield


def user(user_id: int) -> User:
    return db.session.get(User, user_id)


@pytest.fixture
def community(app, alice, bob, carol, mallory, mod):
    """Alice and Carol offer Scrum and seek Rhetorik; Bob and Mallory the other way round."""
    for persona in (alice, carol):
        fill_profile(app, persona, offers=("Scrum",), seeks=("Rhetorik",))
    for persona in (bob, mallory):
        fill_profile(app, persona, offers=("Rhetorik",), seeks=("Scrum",))
    return alice, bob, carol, mallory, mod


def open_and_join(app, mod, *people, group=()):
    with english(app):
        round_ = service.start_round(user(mod.id))
        for persona in people:
            service.join_round(user(persona.id), wants_group=persona in group)
        return round_.id


def drafts(round_id: int) -> list[list[int]]:
    proposals = db.session.scalars(select(Proposal).where(Proposal.round_id == round_id)).all()
    return sorted(sorted(m.user_id for m in p.members) for p in proposals)


def test_preview_pairs_everyone_once_with_figures(app, community, alice, bob, carol, mallory, mod):
    round_id = open_and_join(app, mod, alice, bob, carol, mallory)
    with english(app):
        service.preview_round(user(mod.id), round_id)
        pairs = drafts(round_id)
        assert len(pairs) == 2
        members = [m for pair in pairs for m in pair]
        assert sorted(members) == sorted({alice.id, bob.id, carol.id, mallory.id})
        for pair in pairs:  # each pair complementary: one Scrum offerer, one Rhetorik offerer
            assert len({alice.id, carol.id} & set(pair)) == 1
        figures = service.round_figures(db.session.get(MatchingRound, round_id))
        assert (figures.entrants, figures.matched, figures.proposals) == (4, 4, 2)
        assert figures.mean_score is not None and figures.unmatched == []


def test_unmatched_members_come_with_a_reason(app, community, alice, bob, carol, mallory, mod):
    fill_profile(app, mallory, languages=("fr",), offers=(), seeks=())
    round_id = open_and_join(app, mod, alice, bob, carol, mallory)
    with english(app):
        service.preview_round(user(mod.id), round_id)
        figures = service.round_figures(db.session.get(MatchingRound, round_id))
        reasons = {u.id: e.unmatched_reason for u, e in figures.unmatched}
        # Mallory speaks French only; Alice or Carol lost to the other for Bob
        assert reasons[mallory.id] == "language"
        assert set(reasons.values()) - {"language"} == {"outscored"}
        assert figures.matched == 2


def test_no_past_pairing_repeats_in_a_later_round(app, community, alice, bob, carol, mallory, mod):
    round_id = open_and_join(app, mod, alice, bob)
    with english(app):
        service.preview_round(user(mod.id), round_id)
        assert drafts(round_id) == [sorted([alice.id, bob.id])]
        version = db.session.get(MatchingRound, round_id).version
        service.publish_round(user(mod.id), round_id, version)
    second = open_and_join(app, mod, alice, bob, carol, mallory)
    assert second != round_id
    with english(app):
        service.preview_round(user(mod.id), second)
        pairs = drafts(second)
        assert sorted([alice.id, bob.id]) not in pairs
        # Alice and Bob still have a proposal waiting: "together" keeps them apart as well
        assert all(alice.id not in p or bob.id not in p for p in pairs)


@pytest.fixture
def group_round(app, alice, bob, carol, mod):
    """Alice, Bob and Carol each seek what the next offers, and all three asked for a group."""
    fill_profile(app, alice, offers=("Scrum",), seeks=("Rhetorik",))
    fill_profile(app, bob, offers=("Rhetorik",), seeks=("Kanban",))
    fill_profile(app, carol, offers=("Kanban",), seeks=("Scrum",))
    return open_and_join(app, mod, alice, bob, carol, group=(alice, bob, carol))


def test_groups_form_for_members_who_asked(app, group_round, alice, bob, carol, mod):
    round_id = group_round
    with english(app):
        service.preview_round(user(mod.id), round_id)
        assert drafts(round_id) == [sorted([alice.id, bob.id, carol.id])]


def test_moderator_takes_apart_and_pairs_by_hand(app, community, alice, bob, carol, mallory, mod):
    round_id = open_and_join(app, mod, alice, bob, carol, mallory)
    with english(app):
        service.preview_round(user(mod.id), round_id)
        round_ = db.session.get(MatchingRound, round_id)
        for proposal in db.session.scalars(select(Proposal).where(Proposal.round_id == round_id)):
            service.dissolve_proposal(user(mod.id), proposal.id, round_.version)
            db.session.refresh(round_)
        assert drafts(round_id) == []
        # Alice and Carol both seek Rhetorik and offer Scrum: no complement, but no rule broken
        with pytest.raises(Invalid):
            service.pair_by_hand(user(mod.id), round_id, [alice.id], round_.version)
        proposal = service.pair_by_hand(
            user(mod.id), round_id, [alice.id, mallory.id], round_.version
        )
        assert proposal.origin == "moderator"
        db.session.refresh(round_)
        with pytest.raises(Invalid, match="already in a proposal"):
            service.pair_by_hand(user(mod.id), round_id, [alice.id, bob.id], round_.version)


def test_pairing_by_hand_keeps_the_hard_rules(app, community, alice, bob, mallory, mod):
    fill_profile(app, mallory, languages=("fr",))
    round_id = open_and_join(app, mod, alice, mallory)
    with english(app):
        version = db.session.get(MatchingRound, round_id).version
        with pytest.raises(Invalid, match="no language in common"):
            service.pair_by_hand(user(mod.id), round_id, [alice.id, mallory.id], version)
        with pytest.raises(Invalid, match="opted in"):
            service.pair_by_hand(user(mod.id), round_id, [alice.id, bob.id], version)


def test_stale_version_is_refused(app, community, alice, bob, mod):
    round_id = open_and_join(app, mod, alice, bob)
    with english(app):
        service.preview_round(user(mod.id), round_id)
        version = db.session.get(MatchingRound, round_id).version
        service.preview_round(user(mod.id), round_id)  # another moderator computed again
        with pytest.raises(Conflict, match="Another moderator"):
            service.publish_round(user(mod.id), round_id, version)
        fresh = db.session.get(MatchingRound, round_id).version
        service.publish_round(user(mod.id), round_id, fresh)
        with pytest.raises(Conflict, match="already published"):
            service.publish_round(user(mod.id), round_id, fresh + 1)
        with pytest.raises(Conflict):
            service.preview_round(user(mod.id), round_id)


def test_publish_needs_a_preview_and_a_moderator(app, community, alice, bob, mod):
    round_id = open_and_join(app, mod, alice, bob)
    with english(app):
        version = db.session.get(MatchingRound, round_id).version
        with pytest.raises(Conflict, match="Preview"):
            service.publish_round(user(mod.id), round_id, version)
        with pytest.raises(NotAllowed):
            service.preview_round(user(alice.id), round_id)
        with pytest.raises(NotAllowed):
            service.start_round(user(alice.id))


def test_only_one_round_is_open(app, mod):
    with english(app):
        first = service.start_round(user(mod.id))
        again = service.start_round(user(mod.id))
        assert first.id == again.id
        assert db.session.scalar(select(func.count()).select_from(MatchingRound)) == 1


def publish(app, mod, *people):
    round_id = open_and_join(app, mod, *people)
    with english(app):
        service.preview_round(user(mod.id), round_id)
        round_ = service.publish_round(
            user(mod.id), round_id, db.session.get(MatchingRound, round_id).version
        )
        proposal = db.session.scalars(select(Proposal).where(Proposal.round_id == round_id)).first()
        return round_.id, proposal.id if proposal else None


def kinds(user_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(Notification.kind)
            .where(Notification.user_id == user_id)
            .order_by(Notification.id)
        )
    )


def test_both_accept_and_are_invited_to_an_intro_call(app, community, outbox, alice, bob, mod):
    _round, proposal_id = publish(app, mod, alice, bob)
    assert [m.subject for m in outbox(alice.email)] == ["The matching round has a proposal for you"]
    with english(app):
        assert kinds(alice.id) == ["round_proposal"]
        service.answer_proposal(user(alice.id), proposal_id, accept=True)
        service.answer_proposal(user(alice.id), proposal_id, accept=True)  # double click
        assert db.session.get(Proposal, proposal_id).status == "proposed"
        service.answer_proposal(user(bob.id), proposal_id, accept=True)
        assert db.session.get(Proposal, proposal_id).status == "accepted"
        assert kinds(bob.id)[-1] == "proposal_accepted"
        # the settled proposal cannot be turned around
        with pytest.raises(Conflict):
            service.answer_proposal(user(alice.id), proposal_id, accept=False)
    assert "intro call" in outbox(bob.email)[-1].text_body


def test_a_no_is_kind_and_keeps_the_pair_apart(app, community, alice, bob, mallory, mod):
    _round, proposal_id = publish(app, mod, alice, bob)
    with english(app):
        service.answer_proposal(user(bob.id), proposal_id, accept=False)
        assert db.session.get(Proposal, proposal_id).status == "declined"
        pause = db.session.get(PairPause, (alice.id, bob.id))
        assert pause.reason == "declined"
        assert kinds(alice.id)[-1] == "proposal_declined"
        told = db.session.scalars(
            select(Notification).where(Notification.user_id == alice.id).order_by(Notification.id)
        ).all()[-1]
        assert told.params == {"names": "Bob"}
        with pytest.raises(Conflict):
            service.answer_proposal(user(alice.id), proposal_id, accept=True)
        assert [s.user_id for s in service.suggestions_for(alice.id, "UTC")] == [mallory.id]


def test_group_goes_on_when_one_of_three_declines(app, group_round, alice, bob, carol, mod):
    round_id = group_round
    with english(app):
        service.preview_round(user(mod.id), round_id)
        service.publish_round(
            user(mod.id), round_id, db.session.get(MatchingRound, round_id).version
        )
        proposal = db.session.scalars(select(Proposal)).one()
        service.answer_proposal(user(carol.id), proposal.id, accept=False)
        assert "proposal_declined" not in kinds(alice.id)  # the group of two goes on
        service.answer_proposal(user(alice.id), proposal.id, accept=True)
        assert db.session.get(Proposal, proposal.id).status == "proposed"
        service.answer_proposal(user(bob.id), proposal.id, accept=True)
        assert db.session.get(Proposal, proposal.id).status == "accepted"


def test_others_cannot_answer_or_see_a_proposal(app, community, alice, bob, mallory, mod):
    _round, proposal_id = publish(app, mod, alice, bob)
    with english(app):
        with pytest.raises(NotFound):
            service.answer_proposal(user(mallory.id), proposal_id, accept=True)
        with pytest.raises(NotFound):
            service.answer_proposal(user(mallory.id), 999_999, accept=True)


def test_drafts_are_invisible_to_members(app, community, alice, bob, mod):
    round_id = open_and_join(app, mod, alice, bob)
    with english(app):
        service.preview_round(user(mod.id), round_id)
        proposal = db.session.scalars(select(Proposal)).one()
        with pytest.raises(NotFound):
            service.answer_proposal(user(alice.id), proposal.id, accept=True)
        assert service.proposals_for(user(alice.id), "UTC") == []


def test_unmatched_entrants_hear_it_when_published(app, community, alice, bob, carol, mod):
    publish(app, mod, alice, bob, carol)
    with english(app):
        told = {p.id: kinds(p.id) for p in (alice, bob, carol)}
        assert sorted(k[-1] for k in told.values()) == [
            "round_proposal",
            "round_proposal",
            "round_unmatched",
        ]


def test_joining_rules(app, community, alice, bob, mod):
    newcomer = make_user(app, "new@example.org", "New")
    with english(app):
        with pytest.raises(Conflict, match="No matching round"):
            service.join_round(user(alice.id), wants_group=False)
        service.start_round(user(mod.id))
        service.join_round(user(alice.id), wants_group=False)
        service.join_round(user(alice.id), wants_group=True)  # again: only the wish changes
        [entry] = db.session.scalars(select(RoundEntry)).all()
        assert entry.wants_group is True
        with pytest.raises(Invalid, match="Complete your profile"):
            service.join_round(user(newcomer.id), wants_group=False)
        db.session.execute(
            update(service.Profile).where(service.Profile.user_id == bob.id).values(status="paused")
        )
        db.session.commit()
        with pytest.raises(Invalid, match="paused or hidden"):
            service.join_round(user(bob.id), wants_group=False)
        service.leave_round(user(alice.id))
        service.leave_round(user(alice.id))  # again: harmless
        assert db.session.scalars(select(RoundEntry)).all() == []


def test_leaving_after_the_preview_dissolves_the_draft(app, community, alice, bob, mod):
    round_id = open_and_join(app, mod, alice, bob)
    with english(app):
        service.preview_round(user(mod.id), round_id)
        service.leave_round(user(alice.id))
        assert drafts(round_id) == []
        assert db.session.get(RoundEntry, (round_id, bob.id)).unmatched_reason == "moderator"


def test_a_member_is_in_one_proposal_per_round_by_schema(app, community, alice, bob, carol, mod):
    round_id = open_and_join(app, mod, alice, bob, carol)
    with english(app):
        service.preview_round(user(mod.id), round_id)
        taken = db.session.scalars(select(ProposalMember)).first()
        extra = Proposal(round_id=round_id, score=10)
        extra.members = [ProposalMember(user_id=taken.user_id, round_id=round_id)]
        db.session.add(extra)
        with pytest.raises(Exception, match=r"(?i)unique"):
            db.session.commit()
        db.session.rollback()


# --- pages ----------------------------------------------------------------------------


def test_member_round_page_join_and_leave(app, client, auth, community, alice, mod):
    auth.login(alice)
    page = client.get("/matching/round").get_data(as_text=True)
    assert "No matching round is open right now." in page
    with english(app):
        service.start_round(user(mod.id))
    response = client.post("/matching/round/join", data={"group": "1"})
    assert response.status_code == 303
    page = client.get("/matching/round").get_data(as_text=True)
    assert "You are in the next round" in page and "small group" in page
    response = client.post("/matching/round/leave", headers=HX_PARTIAL)
    assert response.status_code == 200 and response.headers["HX-Location"] == "/matching/round"


def test_joining_with_an_empty_profile_answers_422_in_place(app, client, auth, mod):
    newcomer = make_user(app, "new@example.org", "New")
    with english(app):
        service.start_round(user(mod.id))
    auth.login(newcomer)
    response = client.post("/matching/round/join", data={}, headers=HX_PARTIAL)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="round-entry"') and "<html" not in body


def test_member_answers_from_the_page(app, client, auth, community, alice, bob, mallory, mod):
    _round, proposal_id = publish(app, mod, alice, bob)
    auth.login(alice)
    page = client.get("/matching/round").get_data(as_text=True)
    assert "Bob" in page and "Yes, let's get to know each other" in page
    response = client.post(f"/matching/proposals/{proposal_id}/accept")
    assert response.status_code == 303
    assert "You said yes" in client.get("/matching/round").get_data(as_text=True)
    assert client.post("/matching/proposals/999999/accept").status_code == 404
    auth.logout()
    auth.login(mallory)
    assert client.post(f"/matching/proposals/{proposal_id}/decline").status_code == 404


def test_moderator_pages_are_404_for_members(client, auth, alice):
    auth.login(alice)
    assert client.get("/moderation/rounds").status_code == 404
    assert client.post("/moderation/rounds").status_code == 404


def test_moderator_runs_a_round_from_the_pages(
    app, client, auth, community, alice, bob, carol, mallory, mod
):
    auth.login(mod)
    assert "No rounds yet" in client.get("/moderation/rounds").get_data(as_text=True)
    response = client.post("/moderation/rounds")
    assert response.status_code == 303
    round_url = response.headers["Location"]
    with english(app):
        for persona in (alice, bob, carol, mallory):
            service.join_round(user(persona.id), wants_group=False)
    page = client.get(round_url).get_data(as_text=True)
    assert "Preview the best pairing" in page
    fragment = client.post(round_url + "/preview", headers=HX_PARTIAL)
    assert fragment.status_code == 200
    body = fragment.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="round"') and "<html" not in body
    assert "Alice seeks Rhetorik" in body or "Bob seeks Scrum" in body
    with english(app):
        round_ = db.session.scalars(select(MatchingRound)).one()
        version = round_.version
    stale = client.post(round_url + "/publish", data={"version": version - 1}, headers=HX_PARTIAL)
    assert stale.status_code == 409 and "Another moderator" in stale.get_data(as_text=True)
    response = client.post(round_url + "/publish", data={"version": version})
    assert response.status_code == 303
    page = client.get(round_url).get_data(as_text=True)
    assert "Published" in page and "waiting for answers" in page


def test_pair_by_hand_error_shows_in_place(app, client, auth, community, alice, carol, mod):
    round_id = open_and_join(app, mod, alice, carol)
    auth.login(mod)
    with english(app):
        version = db.session.get(MatchingRound, round_id).version
    response = client.post(
        f"/moderation/rounds/{round_id}/pair",
        data={"member": [str(alice.id)], "version": version},
        headers=HX_PARTIAL,
    )
    assert response.status_code == 422
    assert "Choose two members" in response.get_data(as_text=True)


def test_after_publishing_the_draft_cannot_change(app, community, alice, bob, carol, mod):
    round_id, proposal_id = publish(app, mod, alice, bob, carol)
    with english(app):
        version = db.session.get(MatchingRound, round_id).version
        with pytest.raises(Conflict, match="already published"):
            service.dissolve_proposal(user(mod.id), proposal_id, version)
        with pytest.raises(Conflict, match="already published"):
            service.pair_by_hand(user(mod.id), round_id, [alice.id, carol.id], version)


def test_matched_members_are_not_suggested_to_each_other(app, community, alice, bob, mod):
    _round, proposal_id = publish(app, mod, alice, bob)
    with english(app):
        assert bob.id not in [s.user_id for s in service.suggestions_for(alice.id, "UTC")]
        service.answer_proposal(user(alice.id), proposal_id, accept=True)
        service.answer_proposal(user(bob.id), proposal_id, accept=True)
        assert bob.id not in [s.user_id for s in service.suggestions_for(alice.id, "UTC")]


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(random_member, min_size=3, max_size=8), st.integers(0, 7))
def test_a_round_never_proposes_a_pair_that_breaks_a_hard_constraint(app, specs, pause):
    members = random_community(app, specs)
    moderator = make_user(app, "mo@example.org", "Mo", role="moderator")
    with english(app):
        if pause < len(members) - 1:  # one "not now" between neighbours
            a, b = members[pause].id, members[pause + 1].id
            service.pause_pair(a, b, "dismissed", a)
            db.session.commit()
        round_ = service.start_round(user(moderator.id))
        for persona, spec in zip(members, specs, strict=True):
            if spec["status"] == "open":
                service.join_round(user(persona.id), wants_group=spec["group"])
        service.preview_round(user(moderator.id), round_.id)
        everyone = load_candidates(p.id for p in members)
        rules = pair_rules()
        seen = []
        for group in drafts(round_.id):
            seen.extend(group)
            for a, b in combinations(group, 2):
                assert pair_violations(everyone[a], everyone[b], rules) == []
        assert len(seen) == len(set(seen))  # nobody twice
