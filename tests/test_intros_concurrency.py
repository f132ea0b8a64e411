"""Two tabs, two clicks, two servers: racing intro-call actions give one result and no 500.

Runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL (the constraints and row locks
differ in kind, so both are tested).
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from peerhub.errors import Conflict, DomainError
from peerhub.extensions import db
from peerhub.intros import service
from peerhub.intros.models import IntroRequest
from peerhub.tandems.models import Tandem
from tests.conftest import make_user
from tests.intro_factories import NOW, after_call, ask, ready, scheduled, slot, user
from tests.records import race


def _count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _intro(app, request_id: int) -> IntroRequest:
    with app.app_context():
        intro = db.session.get(IntroRequest, request_id)
        db.session.expunge(intro)
        return intro


@pytest.fixture
def pair(app, alice, bob):
    ready(app, alice, bob)
    return alice, bob


def test_two_accepts_of_different_times_schedule_one(app, pair):
    alice, bob = pair
    request_id = ask(app, alice, bob)
    with app.app_context():
        first, second = (s.id for s in db.session.get(IntroRequest, request_id).open_slots)
    results = race(
        app,
        lambda: service.accept_time(user(bob), request_id, first, now=NOW),
        lambda: service.accept_time(user(bob), request_id, second, now=NOW),
    )
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "int"], results
    intro = _intro(app, request_id)
    assert intro.state == "scheduled" and intro.sequence == 1
    assert _count(app, IntroRequest) == 1


def test_a_double_click_on_accept_is_harmless(app, pair):
    alice, bob = pair
    request_id = ask(app, alice, bob)
    with app.app_context():
        first = db.session.get(IntroRequest, request_id).open_slots[0].id
    results = race(app, *[lambda: service.accept_time(user(bob), request_id, first, now=NOW)] * 2)
    assert results == [request_id, request_id]
    assert _intro(app, request_id).sequence == 1


def test_both_continue_at_once_and_one_tandem_is_born(app, pair):
    alice, bob = pair
    request_id = scheduled(app, alice, bob)
    later = after_call()
    results = race(
        app,
        lambda: service.record_outcome(user(alice), request_id, "continue", now=later),
        lambda: service.record_outcome(user(bob), request_id, "continue", now=later),
    )
    assert results == [request_id, request_id]
    assert _intro(app, request_id).state == "continued"
    assert _count(app, Tandem) == 1


def test_accept_racing_withdraw_leaves_one_consistent_state(app, pair):
    alice, bob = pair
    request_id = ask(app, alice, bob)
    with app.app_context():
        first = db.session.get(IntroRequest, request_id).open_slots[0].id
    results = race(
        app,
        lambda: service.accept_time(user(bob), request_id, first, now=NOW),
        lambda: service.withdraw(user(alice), request_id, now=NOW),
    )
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], Conflict)
    assert _intro(app, request_id).state in ("scheduled", "withdrawn")


def test_the_same_request_sent_twice_at_once_is_one_request(app, pair):
    alice, bob = pair
    results = race(app, *[lambda: ask(app, alice, bob)] * 2)
    assert results[0] == results[1] and isinstance(results[0], int), results
    assert _count(app, IntroRequest) == 1


def test_asking_each_other_at_once_gives_one_request(app, pair):
    alice, bob = pair
    results = race(app, lambda: ask(app, alice, bob), lambda: ask(app, bob, alice))
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "int"], results
    assert _count(app, IntroRequest) == 1


def test_requests_sent_at_once_never_exceed_five(app, alice):
    others = [make_user(app, f"r{n}@example.org", f"R{n}") for n in range(7)]
    ready(app, alice, *others)
    for other in others[:3]:
        ask(app, alice, other)
    results = race(app, *[lambda o=o: ask(app, alice, o) for o in others[3:]])
    assert sum(isinstance(r, int) for r in results) == 2
    assert all(isinstance(r, DomainError) for r in results if not isinstance(r, int)), results
    assert _count(app, IntroRequest, IntroRequest.requester_id == alice.id) == 5


def test_tick_twice_at_once_expires_and_tells_once(app, pair):
    from datetime import timedelta

    from peerhub.notifications.models import Notification

    alice, bob = pair
    ask(app, alice, bob, starts=[slot(NOW, 1)])
    later = NOW + timedelta(days=8)
    results = race(app, lambda: service.tick(now=later), lambda: service.tick(now=later))
    assert sum(r.expired for r in results) == 1
    assert _count(app, Notification, Notification.kind == "intro_expired") == 2
