"""Blocking is mutual invisibility; unblocking lifts only one's own block."""

from __future__ import annotations

from sqlalchemy import func, select

from peerhub.accounts.models import User
from peerhub.extensions import db
from peerhub.profiles import service
from peerhub.profiles.models import Block
from peerhub.profiles.search import DirectoryQuery, search_members
from tests.profile_factories import fill_profile


def test_block_hides_both_ways_and_unblock_restores(app, client, alice, bob, auth):
    fill_profile(app, alice)
    fill_profile(app, bob, offers=("Zeitmanagement",), seeks=("Agiles Projektmanagement",))
    auth.login(alice)
    assert client.get(f"/members/{bob.id}").status_code == 200
    assert client.post(f"/members/{bob.id}/block").status_code == 303
    assert client.post(f"/members/{bob.id}/block").status_code in (303, 404)  # second click
    assert client.get(f"/members/{bob.id}").status_code == 404
    assert "Bob" not in client.get("/members").text
    assert "Bob" in client.get("/profile").text  # listed under blocked members, to unblock
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Block)) == 1
        assert search_members(bob.id, DirectoryQuery()).total == 0
    bob_client = app.test_client()
    auth.login(bob, client=bob_client)
    assert bob_client.get(f"/members/{alice.id}").status_code == 404
    assert bob_client.post(f"/members/{alice.id}/block").status_code == 404
    # Bob cannot lift Alice's block
    bob_client.post(f"/members/{alice.id}/unblock")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Block)) == 1
    client.post(f"/members/{bob.id}/unblock")
    assert client.get(f"/members/{bob.id}").status_code == 200
    assert bob_client.get(f"/members/{alice.id}").status_code == 200


def test_block_service_is_idempotent(ctx, alice, bob):
    viewer = db.session.get(User, alice.id)
    service.block(viewer, bob.id)
    service.block(viewer, bob.id)
    assert service.blocked_between(alice.id, bob.id) and service.blocked_between(bob.id, alice.id)
    assert [u.id for u in service.blocked_by(alice.id)] == [bob.id]
    service.unblock(viewer, bob.id)
    service.unblock(viewer, bob.id)
    assert not service.blocked_between(alice.id, bob.id)


def test_blocking_needs_post(client, alice, bob, auth):
    auth.login(alice)
    assert client.get(f"/members/{bob.id}/block").status_code == 405
