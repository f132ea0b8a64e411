"""Two members, two tabs, two servers: racing signatures, saves, answers and endings give
one consistent result and no 500.

Runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL (the constraints and row locks
differ in kind, so both are tested).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from peerhub.accounts.models import User
from peerhub.errors import Conflict
from peerhub.extensions import db
from peerhub.meetings.models import Series
from peerhub.notifications.models import Notification
from peerhub.profiles.models import Profile
from peerhub.tandems import service
from peerhub.tandems.models import (
    Agreement,
    AgreementVersion,
    Signature,
    Tandem,
    TandemInvitation,
)
from tests.conftest import make_user
from tests.intro_factories import ready
from tests.records import race

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # a Monday; the term runs 14 Dec – 13 Mar
LAST_TWO_WEEKS = datetime(2027, 3, 5, 9, 0, tzinfo=UTC)


def user(persona) -> User:
    return db.session.get(User, persona.id)


def _count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _in_app(app, call: Callable[[], object]) -> object:
    """Run `call` in its own app context and commit; returns its result's id."""
    with app.app_context(), force_locale("en"):
        outcome = call()
        db.session.commit()
        made = getattr(outcome, "id", outcome)
        db.session.remove()
    return made


def _read(app, call: Callable[[], object]) -> object:
    with app.app_context():
        return call()


def start(app, *personas) -> int:
    return _in_app(app, lambda: service.start_tandem([p.id for p in personas], now=NOW))


def sign(persona, tandem_id: int, version: int = 1, now=NOW):
    return lambda: service.sign(user(persona), tandem_id, version, persona.name, True, now=now)


def save(persona, tandem_id: int, section: str, words: str, base: int = 1):
    return lambda: service.save_section(
        user(persona), tandem_id, section, {"text": words}, base, now=NOW
    )


def _state(app, tandem_id: int) -> tuple[str, int, int | None]:
    """The tandem's state, its agreement's latest version and the version in force."""
    with app.app_context():
        tandem = db.session.get(Tandem, tandem_id)
        agreement = service.agreement_of(tandem)
        return tandem.state, agreement.version, agreement.in_force_version


def _kind_count(app, kind: str) -> int:
    return _count(app, Notification, Notification.kind == kind)


@pytest.fixture
def pair(app, alice, bob):
    ready(app, alice, bob)
    return alice, bob


@pytest.fixture
def tandem_id(app, pair) -> int:
    return start(app, *pair)


@pytest.fixture
def active_id(app, pair, tandem_id) -> int:
    for persona in pair:
        _in_app(app, sign(persona, tandem_id))
    return tandem_id


def test_two_members_signing_at_the_same_moment_bring_it_into_force_once(app, pair, tandem_id):
    alice, bob = pair
    results = race(app, sign(alice, tandem_id), sign(bob, tandem_id))
    assert all(isinstance(r, int) for r in results) and results[0] != results[1], results
    assert _state(app, tandem_id) == ("active", 1, 1)
    assert _count(app, Signature) == 2 and _count(app, Series) == 1
    for persona in pair:
        mine = (Notification.user_id == persona.id, Notification.kind == "tandem_active")
        assert _count(app, Notification, *mine) == 1


def test_a_double_click_on_sign_is_one_signature(app, pair, tandem_id):
    alice, _bob = pair
    results = race(app, sign(alice, tandem_id), sign(alice, tandem_id))
    assert results[0] == results[1] and isinstance(results[0], int), results
    assert _count(app, Signature) == 1 and _kind_count(app, "agreement_signed") == 1
    assert _state(app, tandem_id) == ("forming", 1, None)


def test_a_group_of_three_signing_at_once_is_active_once(app, pair, carol):
    ready(app, carol)
    group_id = start(app, *pair, carol)
    results = race(app, *[sign(p, group_id) for p in (*pair, carol)])
    assert all(isinstance(r, int) for r in results), results
    assert _state(app, group_id) == ("active", 1, 1)
    assert _count(app, Series) == 1 and _kind_count(app, "tandem_active") == 3


def test_an_edit_racing_a_signature_never_counts_a_signature_for_unsigned_words(
    app, pair, tandem_id
):
    alice, bob = pair
    _in_app(app, sign(alice, tandem_id))
    signed, saved = race(app, sign(bob, tandem_id), save(alice, tandem_id, "rules", "New rules."))
    assert isinstance(saved, int), saved  # the edit always goes through
    with app.app_context():
        agreement = db.session.get(Agreement, saved)
        assert agreement.version == 2 and agreement.content["rules"] == {"text": "New rules."}
        assert service.signatures_of(agreement, 2) == []
        hashes = {v.number: v.content_hash for v in service.versions_of(agreement)}
        for signature in service.signatures_of(agreement):
            assert signature.version == 1 and signature.content_hash == hashes[1]
    if isinstance(signed, Conflict):
        # the edit came first: Bob is asked to read version 2, and nothing is in force
        assert _state(app, tandem_id) == ("forming", 2, None)
        assert _count(app, Signature) == 1 and _count(app, Series) == 0
    else:
        # the signature came first: version 1 is in force, version 2 waits for both
        assert isinstance(signed, int), signed
        assert _state(app, tandem_id) == ("active", 2, 1)
        assert _count(app, Signature) == 2 and _count(app, Series) == 1


def test_two_saves_of_the_same_section_at_once_keep_one_and_show_the_other_both(
    app, pair, tandem_id
):
    alice, bob = pair
    results = race(
        app,
        save(alice, tandem_id, "rules", "Alice's rules."),
        save(bob, tandem_id, "rules", "Bob's rules."),
    )
    stale = [r for r in results if isinstance(r, service.StaleSave)]
    assert len(stale) == 1 and sum(isinstance(r, int) for r in results) == 1, results
    with app.app_context():
        agreement = service.agreement_of(db.session.get(Tandem, tandem_id))
        assert agreement.version == 2
        assert stale[0].theirs == agreement.content["rules"] != stale[0].yours
    assert _count(app, AgreementVersion) == 2


def test_two_saves_of_different_sections_at_once_keep_both(app, pair, tandem_id):
    alice, bob = pair
    results = race(
        app,
        save(alice, tandem_id, "rules", "Alice's rules."),
        save(bob, tandem_id, "feedback", "Bob's feedback."),
    )
    assert all(isinstance(r, int) for r in results), results
    with app.app_context():
        agreement = service.agreement_of(db.session.get(Tandem, tandem_id))
        assert agreement.version == 3
        assert agreement.content["rules"] == {"text": "Alice's rules."}
        assert agreement.content["feedback"] == {"text": "Bob's feedback."}
    assert _count(app, AgreementVersion) == 3


def test_accepting_two_invitations_at_once_keeps_to_the_capacity(app, pair, carol):
    alice, bob = pair
    dave = make_user(app, "dave@example.org", "Dave")
    eve = make_user(app, "eve@example.org", "Eve")
    ready(app, dave, eve)
    ready(app, carol, capacity=1)
    first = start(app, alice, bob)
    second = start(app, dave, eve)
    invitations = [
        _in_app(app, lambda: service.invite(user(alice), first, carol.id, now=NOW)),
        _in_app(app, lambda: service.invite(user(dave), second, carol.id, now=NOW)),
    ]
    results = race(
        app,
        *[
            lambda i=i: service.answer_invitation(user(carol), i, accept=True, now=NOW)
            for i in invitations
        ],
    )
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "int"], results
    assert _read(app, lambda: service.binding_count(carol.id)) == 1
    assert _read(app, lambda: db.session.get(Profile, carol.id).capacity) == 1


def test_two_invitations_at_once_never_make_a_fifth_member(app, pair, carol):
    dave = make_user(app, "dave@example.org", "Dave")
    eve = make_user(app, "eve@example.org", "Eve")
    ready(app, carol, dave, eve)
    group_id = start(app, *pair, carol)
    alice, bob = pair
    results = race(
        app,
        lambda: service.invite(user(alice), group_id, dave.id, now=NOW),
        lambda: service.invite(user(bob), group_id, eve.id, now=NOW),
    )
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "int"], results
    assert _count(app, TandemInvitation, TandemInvitation.state == "pending") == 1


def test_both_completing_at_once_completes_once(app, pair, active_id):
    alice, bob = pair
    results = race(
        app,
        lambda: service.choose_at_term_end(user(alice), active_id, "complete", now=LAST_TWO_WEEKS),
        lambda: service.choose_at_term_end(user(bob), active_id, "complete", now=LAST_TWO_WEEKS),
    )
    assert results == [active_id, active_id]
    assert _state(app, active_id)[0] == "completed"
    assert _kind_count(app, "tandem_completed") == 2


def test_both_continuing_at_once_draft_the_next_term_once(app, pair, active_id):
    alice, bob = pair
    results = race(
        app,
        lambda: service.choose_at_term_end(user(alice), active_id, "continue", now=LAST_TWO_WEEKS),
        lambda: service.choose_at_term_end(user(bob), active_id, "continue", now=LAST_TWO_WEEKS),
    )
    assert results == [active_id, active_id]
    assert _state(app, active_id) == ("active", 2, 1)
    assert _count(app, AgreementVersion) == 2


def test_both_ending_at_once_end_it_once(app, pair, active_id):
    alice, bob = pair
    results = race(
        app,
        lambda: service.end_early(user(alice), active_id, "no_time", now=NOW),
        lambda: service.end_early(user(bob), active_id, "other", now=NOW),
    )
    assert results == [active_id, active_id]
    assert _state(app, active_id)[0] == "ended"
    assert _kind_count(app, "tandem_ended") == 1
    assert _count(app, Series, Series.state == "active") == 0


def test_tick_twice_at_once_asks_once(app, pair, active_id):
    results = race(
        app, lambda: service.tick(now=LAST_TWO_WEEKS), lambda: service.tick(now=LAST_TWO_WEEKS)
    )
    assert sorted(results) == [0, 1]
    assert _kind_count(app, "term_ending") == 2


def test_two_members_joining_at_once_get_their_own_places_in_the_rotation(app, pair):
    alice, bob = pair
    dave = make_user(app, "dave@example.org", "Dave")
    eve = make_user(app, "eve@example.org", "Eve")
    ready(app, dave, eve)
    tandem_id = start(app, alice, bob)
    invitations = {
        p: _in_app(app, lambda p=p: service.invite(user(alice), tandem_id, p.id, now=NOW))
        for p in (dave, eve)
    }
    results = race(
        app,
        *[
            lambda p=p, i=i: service.answer_invitation(user(p), i, accept=True, now=NOW)
            for p, i in invitations.items()
        ],
    )
    assert results == list(invitations.values())
    with app.app_context():
        members = db.session.get(Tandem, tandem_id).members
        assert sorted(m.position for m in members) == [0, 1, 2, 3]
