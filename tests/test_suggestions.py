"""Suggestions: the service (candidates, hard constraints, explanations) and the page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask_babel import force_locale
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from peerhub.accounts.models import User
from peerhub.extensions import db, utcnow
from peerhub.matching import service
from peerhub.matching.candidates import load_candidates, pair_rules
from peerhub.matching.models import PairPause
from peerhub.matching.scoring import pair_violations
from peerhub.profiles import service as profiles
from peerhub.profiles.models import Block
from tests.conftest import HX_PARTIAL
from tests.profile_factories import fill_profile, random_community, random_member

BERLIN_TUESDAY = ((1, 18 * 60, 20 * 60),)
NEW_YORK_TUESDAY = ((1, 12 * 60, 14 * 60),)  # 18–20 in Berlin in November


@pytest.fixture
def tandem(app, alice, bob):
    """Alice and Bob: the textbook complementary pair, free at the same time."""
    fill_profile(
        app,
        alice,
        offers=("Agiles Projektmanagement",),
        seeks=("Zeitmanagement",),
        windows=BERLIN_TUESDAY,
    )
    fill_profile(
        app,
        bob,
        offers=("Zeitmanagement",),
        seeks=("Agiles Projektmanagement",),
        windows=NEW_YORK_TUESDAY,
    )
    return alice, bob


def ids(app, user_id, zone="Europe/Berlin"):
    with app.app_context():
        return [s.user_id for s in service.suggestions_for(user_id, zone)]


def test_complementary_members_suggest_each_other_with_reasons(app, tandem):
    alice, bob = tandem
    with app.app_context(), force_locale("en"):
        [s] = service.suggestions_for(alice.id, "Europe/Berlin")
        assert s.user_id == bob.id
        assert s.fit.score.complementary == 27 and s.fit.score.time == 17  # 2 of 3 hours
        assert s.sentence == (
            "You seek Zeitmanagement – Bob offers it; Bob seeks Agiles Projektmanagement – "
            "you offer it; you are both free on Tuesdays 18:00–20:00."
        )
        [back] = service.suggestions_for(bob.id, "America/New_York")
        assert back.fit.score == s.fit.score  # same score from both sides
        assert "on Tuesdays 12:00–14:00" in back.sentence  # Bob's own zone


def test_explanation_in_german(app, tandem):
    alice, _bob = tandem
    with app.app_context(), force_locale("de"):
        [s] = service.suggestions_for(alice.id, "Europe/Berlin")
        assert s.sentence == (
            "Du suchst Zeitmanagement – Bob bietet es an; Bob sucht Agiles Projektmanagement – "
            "das bietest du an; ihr habt beide dienstags 18:00–20:00 Zeit."
        )


def test_several_tags_shared_interests_and_no_common_time(app, alice, bob):
    fill_profile(
        app,
        alice,
        offers=("Scrum", "Kanban"),
        seeks=("Rhetorik",),
        interests=("Yoga",),
        windows=((0, 8 * 60, 9 * 60),),
    )
    fill_profile(
        app,
        bob,
        offers=("Rhetorik",),
        seeks=("Scrum", "Kanban"),
        interests=("Yoga",),
        windows=((4, 20 * 60, 21 * 60),),
    )
    with app.app_context(), force_locale("en"):
        [s] = service.suggestions_for(alice.id, "Europe/Berlin")
        assert "Bob seeks Kanban and Scrum – you offer them" in s.sentence
        assert "you share an interest in Yoga" in s.sentence
        assert s.sentence.endswith("you have no free time in common yet.")
        assert s.fit.score.time == 0


def test_the_mutual_match_ranks_above_the_one_sided(app, alice, bob, carol):
    fill_profile(app, alice, offers=("Scrum",), seeks=("Rhetorik",))
    fill_profile(app, bob, offers=("Rhetorik",), seeks=("Yoga",))  # gives, wants nothing of hers
    fill_profile(app, carol, offers=("Rhetorik",), seeks=("Scrum",))
    assert ids(app, alice.id) == [carol.id, bob.id]


def test_nobody_without_complement_is_suggested(app, alice, bob):
    fill_profile(app, alice, offers=("Scrum",), seeks=("Rhetorik",))
    fill_profile(app, bob, offers=("Yoga",), seeks=("Kochen",))
    assert ids(app, alice.id) == []


# --- each hard constraint ------------------------------------------------------------


def test_no_common_language(app, alice, bob):
    fill_profile(app, alice, languages=("de",), offers=("Scrum",), seeks=("Rhetorik",))
    fill_profile(app, bob, languages=("fr",), offers=("Rhetorik",), seeks=("Scrum",))
    assert ids(app, alice.id) == []


@pytest.mark.parametrize(
    ("mine", "theirs", "suggested"),
    [
        (("in_person", "Berlin"), ("in_person", "Hamburg"), False),
        (("in_person", "Berlin"), ("in_person", "berlin"), True),
        (("in_person", "Berlin"), ("video", None), False),
        (("either", "Berlin"), ("video", None), True),
        (("in_person", "Berlin"), ("either", "Berlin"), True),
    ],
)
def test_meeting_mode_and_city(app, alice, bob, mine, theirs, suggested):
    fill_profile(
        app, alice, offers=("Scrum",), seeks=("Rhetorik",), meeting_mode=mine[0], city=mine[1]
    )
    fill_profile(
        app, bob, offers=("Rhetorik",), seeks=("Scrum",), meeting_mode=theirs[0], city=theirs[1]
    )
    assert (ids(app, alice.id) == [bob.id]) is suggested
    assert (ids(app, bob.id) == [alice.id]) is suggested


@pytest.mark.parametrize(
    "change",
    ["paused", "hidden", "suspended", "unconfirmed", "capacity"],
)
def test_unavailable_members_are_never_suggested(app, tandem, change):
    alice, bob = tandem
    with app.app_context():
        if change in ("paused", "hidden"):
            column = "status" if change == "paused" else "visibility"
            db.session.execute(
                update(profiles.Profile)
                .where(profiles.Profile.user_id == bob.id)
                .values({column: change})
            )
        elif change == "suspended":
            db.session.execute(update(User).where(User.id == bob.id).values(status="suspended"))
        elif change == "unconfirmed":
            db.session.execute(update(User).where(User.id == bob.id).values(email_verified_at=None))
        else:
            # capacity 0 cannot be stored: a full member is one whose capacity is used up;
            # until tandems exist, "open" is what has_room_condition asks.
            db.session.execute(
                update(profiles.Profile)
                .where(profiles.Profile.user_id == bob.id)
                .values(status="paused")
            )
        db.session.commit()
    assert ids(app, alice.id) == []


@pytest.mark.parametrize("who_blocks", ["alice", "bob"])
def test_blocked_either_way(app, tandem, who_blocks):
    alice, bob = tandem
    blocker, blocked = (alice, bob) if who_blocks == "alice" else (bob, alice)
    with app.app_context():
        db.session.add(Block(blocker_id=blocker.id, blocked_id=blocked.id))
        db.session.commit()
    assert ids(app, alice.id) == [] and ids(app, bob.id, "America/New_York") == []


def test_dismissed_pair_is_apart_for_90_days_both_ways(app, tandem):
    alice, bob = tandem
    with app.app_context():
        service.dismiss(db.session.get(User, alice.id), bob.id)
        service.dismiss(db.session.get(User, alice.id), bob.id)  # again: harmless
        assert db.session.scalar(select(db.func.count()).select_from(PairPause)) == 1
    assert ids(app, alice.id) == [] and ids(app, bob.id, "America/New_York") == []
    with app.app_context():
        db.session.execute(update(PairPause).values(until=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert ids(app, alice.id) == [bob.id]


def test_undo_only_takes_back_ones_own_not_now(app, tandem):
    alice, bob = tandem
    with app.app_context():
        service.dismiss(db.session.get(User, alice.id), bob.id)
        service.undo_dismiss(db.session.get(User, bob.id), alice.id)  # not Bob's to undo
    assert ids(app, alice.id) == []
    with app.app_context():
        service.undo_dismiss(db.session.get(User, alice.id), bob.id)
    assert ids(app, alice.id) == [bob.id]


def test_dismiss_unknown_member_or_self_is_not_found(app, alice):
    with app.app_context():
        me = db.session.get(User, alice.id)
        for other in (alice.id, 999_999):
            with pytest.raises(service.NotFound):
                service.dismiss(me, other)


# --- never a pair that breaks a hard constraint (property test over real queries) -------


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(random_member, min_size=3, max_size=6))
def test_suggestions_never_break_a_hard_constraint(app, specs):
    people = random_community(app, specs)
    with app.app_context():
        everyone = load_candidates(p.id for p in people)
        rules = pair_rules()
        for persona in people:
            for s in service.suggestions_for(persona.id, "UTC"):
                assert pair_violations(everyone[persona.id], everyone[s.user_id], rules) == []
                assert s.fit.i_get or s.fit.they_get


# --- the page ---------------------------------------------------------------------


def test_page_shows_suggestions_with_parts_tags_and_times(app, client, auth, tandem):
    alice, _bob = tandem
    auth.login(alice)
    page = client.get("/suggestions").get_data(as_text=True)
    assert "Bob" in page and "Fit 54 of 100" in page
    assert '<mark class="chip complement">Zeitmanagement</mark>' in page
    assert "Tuesday 18:00–20:00" in page and "Europe/Berlin" in page
    assert "Complement each other" in page and "27 of 45" in page


def test_page_in_german(app, client, auth, tandem):
    alice, _bob = tandem
    auth.login(alice)
    with app.app_context():
        db.session.execute(update(User).where(User.id == alice.id).values(language="de"))
        db.session.commit()
    page = client.get("/suggestions").get_data(as_text=True)
    assert "Vorschläge" in page and "Du suchst Zeitmanagement" in page and "Nicht jetzt" in page


def test_empty_state_names_what_is_missing(app, client, auth, alice):
    auth.login(alice)
    page = client.get("/suggestions").get_data(as_text=True)
    assert "We need a little more about you" in page
    assert "what you can offer" in page and "when you are usually free" in page


def test_empty_state_when_nobody_fits(app, client, auth, alice):
    fill_profile(app, alice)
    auth.login(alice)
    page = client.get("/suggestions").get_data(as_text=True)
    assert "No suggestions right now." in page


def test_not_now_in_place_with_htmx_and_undo(app, client, auth, tandem):
    alice, bob = tandem
    auth.login(alice)
    response = client.post(f"/suggestions/{bob.id}/dismiss", headers=HX_PARTIAL)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith(
        f'<li class="suggestion-card dismissed" id="suggestion-{bob.id}"'
    )
    assert "<html" not in body
    assert ids(app, alice.id) == []
    response = client.post(f"/suggestions/{bob.id}/undo")
    assert response.status_code == 303
    assert ids(app, alice.id) == [bob.id]


def test_not_now_without_javascript_shows_the_note_with_undo(app, client, auth, tandem):
    alice, bob = tandem
    auth.login(alice)
    response = client.post(f"/suggestions/{bob.id}/dismiss")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/suggestions?dismissed={bob.id}"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f'id="suggestion-{bob.id}"' in page and "90 days" in page
    assert f"/suggestions/{bob.id}/undo" in page and "Calendar" not in page
    assert "No suggestions right now." in page
    # a made-up "dismissed" shows nothing
    assert "90 days" not in client.get("/suggestions?dismissed=424242").get_data(as_text=True)


def test_dismissing_someone_unknown_is_404(app, client, auth, alice):
    auth.login(alice)
    assert client.post("/suggestions/999999/dismiss").status_code == 404
    assert client.post(f"/suggestions/{alice.id}/dismiss").status_code == 404


def test_signed_out_visitors_are_sent_to_login(client):
    response = client.get("/suggestions")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
