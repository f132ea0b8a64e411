"""Rate limits, CSRF, access walk over the URL map, security log."""

from __future__ import annotations

import logging
import re
import socket
import uuid

import pytest

from peerhub.extensions import db, utcnow
from peerhub.notifications import service as notifications
from tests.conftest import make_user


def login_attempt(client, email="alice@example.org", address="10.0.0.1"):
    return client.post(
        "/login",
        data={"email": email, "password": "wrong password!"},
        environ_base={"REMOTE_ADDR": address},
    )


def test_login_is_throttled_per_address(make_app):
    app = make_app(LOGIN_LIMIT_PER_ADDRESS="3 per 5 minutes")
    client = app.test_client()
    codes = [login_attempt(client, f"user{i}@example.org").status_code for i in range(4)]
    assert codes == [422, 422, 422, 429]
    limited = login_attempt(client, "other@example.org")
    assert limited.status_code == 429 and "too often" in limited.text
    # another address is not affected
    assert login_attempt(client, address="10.0.0.2").status_code == 422


def test_login_is_throttled_per_account_across_addresses(make_app):
    app = make_app(LOGIN_LIMIT_PER_ACCOUNT="3 per hour")
    client = app.test_client()
    codes = [login_attempt(client, address=f"10.0.1.{i}").status_code for i in range(4)]
    assert codes == [422, 422, 422, 429]
    assert login_attempt(client, email="ALICE@example.org ", address="10.0.2.1").status_code == 429
    assert login_attempt(client, email="bob@example.org", address="10.0.2.1").status_code == 422


def test_reset_and_signup_are_throttled(make_app):
    app = make_app(RESET_LIMIT="2 per 30 minutes", SIGNUP_LIMIT="2 per hour")
    client = app.test_client()
    resets = [
        client.post("/password/forgot", data={"email": "a@example.org"}).status_code
        for _ in range(3)
    ]
    assert resets == [303, 303, 429]
    signups = [client.post("/signup", data={"email": "bad"}).status_code for _ in range(3)]
    assert signups == [422, 422, 429]


def test_rate_limit_in_german(make_app):
    app = make_app(LOGIN_LIMIT_PER_ADDRESS="1 per minute")
    client = app.test_client()
    login_attempt(client)
    response = client.post(
        "/login",
        data={"email": "a@example.org", "password": "x"},
        headers={"Accept-Language": "de"},
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
    )
    assert response.status_code == 429 and 'lang="de"' in response.text


def redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not redis_up(), reason="Redis is not running on 127.0.0.1:6379")
def test_limits_are_shared_through_redis(make_app):
    """Two app instances (two server processes) count against the same limit."""
    prefix = f"peerhub-test-{uuid.uuid4().hex}"
    settings = {
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379",
        "RATELIMIT_KEY_PREFIX": prefix,
        "LOGIN_LIMIT_PER_ADDRESS": "2 per minute",
    }
    first = make_app(**settings).test_client()
    assert login_attempt(first).status_code == 422
    assert login_attempt(first).status_code == 422
    second = make_app(**settings).test_client()
    assert login_attempt(second).status_code == 429


def test_csrf_is_required_for_forms_and_htmx(make_app, alice):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    missing = client.post("/login", data={"email": alice.email, "password": alice.password})
    assert missing.status_code == 400 and "form expired" in missing.text
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    ok = client.post(
        "/login", data={"email": alice.email, "password": alice.password, "csrf_token": token}
    )
    assert ok.status_code == 303
    # the session (and its CSRF secret) was renewed at login: the old token is void
    stale = client.post("/logout", headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert stale.status_code == 400
    home = client.get("/").text
    header_token = re.search(r'"X-CSRFToken": "([^"]+)"', home).group(1)
    # htmx sends the token as a header (configured once on <body>)
    logout = client.post("/logout", headers={"X-CSRFToken": header_token, "HX-Request": "true"})
    assert logout.status_code == 200 and logout.headers["HX-Redirect"] == "/"
    language = client.post("/language", data={"language": "en"})
    assert language.status_code == 400


def test_get_never_changes_state(app, client, alice, auth):
    auth.login(alice)
    with app.app_context():
        notification = notifications.notify(alice.id, "password_changed")
        db.session.commit()
        notification_id = notification.id
    assert client.get(f"/notifications/{notification_id}/read").status_code == 405
    assert client.get("/notifications/read-all").status_code == 405
    assert client.get("/language?language=en").status_code == 405


# Every URL that names an object, requested by another member: 404.
ID_FACTORIES = {
    "notification_id": lambda app, owner: _notification_for(app, owner),
    "user_id": lambda app, owner: _member_who_blocked(app, owner),
    "kind": lambda app, owner: "offer",
    "step": lambda app, owner: "strengths",
    "tag_id": lambda app, owner: _tag(app),
    "proposal_id": lambda app, owner: _proposal_of_others(app),
    "answer": lambda app, owner: "accept",
    "round_id": lambda app, owner: _proposal_of_others(app, round_only=True),
    "request_id": lambda app, owner: _intro_of_others(app),
    "tandem_id": lambda app, owner: _intro_of_others(app, tandem=True),
    "section": lambda app, owner: "rules",
    "invitation_id": lambda app, owner: _invitation_of_others(app),
    "series_id": lambda app, owner: _series_of_others(app),
    "number": lambda app, owner: 0,
    "entry_id": lambda app, owner: _entry_of_others(app),
    "check_in_id": lambda app, owner: _check_in_of_others(app),
    "achievement_id": lambda app, owner: _achievement_of_others(app),
    "story_id": lambda app, owner: _story_of_others(app),
    "message_id": lambda app, owner: _message_of_others(app),
    "case_id": lambda app, owner: _moderation_about(app, owner, "case"),
    "action_id": lambda app, owner: _moderation_about(app, owner, "action"),
    "appeal_id": lambda app, owner: _moderation_about(app, owner, "appeal"),
    "invite_id": lambda app, owner: _invite_link(app),
}


def _invite_link(app) -> int:
    """An invite link an admin made (admin pages answer 404 to members)."""
    from datetime import timedelta

    from peerhub.community.models import InviteLink

    with app.app_context():
        invite = InviteLink(
            token_hash=uuid.uuid4().hex, max_uses=1, expires_at=utcnow() + timedelta(days=1)
        )
        db.session.add(invite)
        db.session.commit()
        return invite.id


def _message_of_others(app) -> int:
    """A message in an intro thread of two other members."""
    from peerhub.accounts.models import User
    from peerhub.intros import service as intros
    from peerhub.intros.models import IntroRequest

    request_id = _intro_of_others(app)
    with app.app_context():
        author = db.session.get(User, db.session.get(IntroRequest, request_id).requester_id)
        return intros.post_message(author, request_id, "Not yours to read").id


def _moderation_about(app, owner, what: str) -> int:
    """A case about `owner`, a moderator's warning of them, and their appeal against it."""
    from peerhub.moderation.models import Appeal, ModerationAction, ReportCase

    with app.app_context():
        case = ReportCase(
            target_kind="member",
            target_id=owner.id,
            subject_id=owner.id,
            subject_name="X",
            state="resolved",  # one open case per target: each call makes a closed one
        )
        db.session.add(case)
        db.session.flush()
        action = ModerationAction(
            kind="warn", subject_id=owner.id, subject_name="X", case_id=case.id, reason="Kind."
        )
        db.session.add(action)
        db.session.flush()
        appeal = Appeal(action_id=action.id, user_id=owner.id, text="Sorry.")
        db.session.add(appeal)
        db.session.commit()
        return {"case": case.id, "action": action.id, "appeal": appeal.id}[what]


def _active_tandem_of_others(app) -> int:
    """An active tandem of two others (both signed its first agreement)."""
    from peerhub.accounts.models import User
    from peerhub.tandems import service
    from peerhub.tandems.models import Tandem

    tandem_id = _intro_of_others(app, tandem=True)
    with app.app_context():
        for member_id in db.session.get(Tandem, tandem_id).member_ids():
            member = db.session.get(User, member_id)
            service.sign(member, tandem_id, 1, member.display_name, True)
    return tandem_id


def _first_member(tandem_id: int):
    from peerhub.accounts.models import User
    from peerhub.tandems.models import Tandem

    return db.session.get(User, db.session.get(Tandem, tandem_id).member_ids()[0])


def _entry_of_others(app) -> int:
    """A journal entry another member shared with their tandem (the walker is not in it)."""
    from peerhub.journal import service as journal

    tandem_id = _active_tandem_of_others(app)
    with app.app_context():
        author = _first_member(tandem_id)
        entry = journal.write(author, uuid.uuid4().hex, "Not yours", "Text", tandem_id=tandem_id)
        return journal.share(author, entry.id).id


def _check_in_of_others(app) -> int:
    """The open check-in of an active tandem of two others."""
    from peerhub.tandems import progress

    tandem_id = _active_tandem_of_others(app)
    with app.app_context():
        return progress.start_check_in(_first_member(tandem_id), tandem_id).id


def _achievement_of_others(app, story: bool = False) -> int:
    """A goal an active tandem of two others reached (and the story one of them wrote)."""
    from peerhub.tandems import progress

    tandem_id = _active_tandem_of_others(app)
    with app.app_context():
        member = _first_member(tandem_id)
        achievement = progress.mark_reached(member, tandem_id, "milestone", "m1")
        if not story:
            return achievement.id
        return progress.write_story(member, achievement.id, "We did it.", True).id


def _story_of_others(app) -> int:
    return _achievement_of_others(app, story=True)


def _series_of_others(app) -> int:
    """The session series of an active tandem of two others (its session 0 exists)."""
    from peerhub.accounts.models import User
    from peerhub.tandems import service
    from peerhub.tandems.models import Tandem

    tandem_id = _intro_of_others(app, tandem=True)
    with app.app_context():
        for member_id in db.session.get(Tandem, tandem_id).member_ids():
            member = db.session.get(User, member_id)
            service.sign(member, tandem_id, 1, member.display_name, True)
        [series] = service.series_of(db.session.get(Tandem, tandem_id))
        return series.id


def _invitation_of_others(app) -> int:
    """An invitation from a tandem of two others to a third."""
    from tests.intro_factories import ready

    tandem_id = _intro_of_others(app, tandem=True)
    third = make_user(app, f"i3{uuid.uuid4().hex[:8]}@example.org", "I3")
    ready(app, third)
    from peerhub.accounts.models import User
    from peerhub.tandems import service
    from peerhub.tandems.models import Tandem

    with app.app_context():
        inviter = db.session.get(User, db.session.get(Tandem, tandem_id).member_ids()[0])
        return service.invite(inviter, tandem_id, third.id).id


def _intro_of_others(app, tandem: bool = False) -> int:
    """A scheduled intro call between two other members (or the tandem it became)."""
    from tests.intro_factories import ready, scheduled

    tag = uuid.uuid4().hex[:8]
    first = make_user(app, f"i1{tag}@example.org", "I1")
    second = make_user(app, f"i2{tag}@example.org", "I2")
    ready(app, first, second)
    request_id = scheduled(app, first, second, now=utcnow())
    if not tandem:
        return request_id
    from peerhub.tandems.service import start_tandem

    with app.app_context():
        made = start_tandem([first.id, second.id])
        db.session.commit()
        return made.id


def _proposal_of_others(app, round_only: bool = False) -> int:
    """A published proposal between two other members (and its round)."""
    from peerhub.matching.models import MatchingRound, Proposal, ProposalMember

    tag = uuid.uuid4().hex[:8]
    first = make_user(app, f"p1{tag}@example.org", "P1")
    second = make_user(app, f"p2{tag}@example.org", "P2")
    with app.app_context():
        round_ = MatchingRound(status="published")
        db.session.add(round_)
        db.session.flush()
        proposal = Proposal(round_id=round_.id, score=50, status="proposed")
        proposal.members = [
            ProposalMember(user_id=first.id, round_id=round_.id),
            ProposalMember(user_id=second.id, round_id=round_.id),
        ]
        db.session.add(proposal)
        db.session.commit()
        return round_.id if round_only else proposal.id


def _tag(app) -> int:
    from peerhub.profiles.models import Tag

    with app.app_context():
        tag = Tag(name="Walker", key=f"walker{uuid.uuid4().hex[:8]}")
        db.session.add(tag)
        db.session.commit()
        return tag.id


# Routes whose ids name nothing private: they act on the member's own rows only, and an id
# that is not theirs changes nothing (so a double click stays harmless).
OWN_ROWS_ONLY = {
    "profiles.remove_tag": "removes the tag from the member's own profile only",
    "profiles.unblock": "lifts the member's own block only",
    "profiles.add_tag": "adds to the member's own profile",
    "profiles.onboarding": "the member's own profile",
    "profiles.edit": "the member's own profile",
}


def _member_who_blocked(app, mallory) -> int:
    """A member who blocked the walker: invisible to her."""
    from peerhub.profiles.models import Block

    walled = make_user(app, f"walled{uuid.uuid4().hex[:8]}@example.org", "Walled")
    with app.app_context():
        db.session.add(Block(blocker_id=walled.id, blocked_id=mallory.id))
        db.session.commit()
    return walled.id


def _notification_for(app, owner) -> int:
    with app.app_context():
        notification = notifications.notify(owner.id, "password_changed")
        db.session.commit()
        return notification.id


def test_every_route_with_an_id_answers_404_to_another_member(app, client, alice, mallory, auth):
    auth.login(mallory)
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.arguments or rule.endpoint == "static":
            continue
        if all(arg == "token" for arg in rule.arguments):
            continue  # signed links, tested with forged tokens in the account tests
        if rule.endpoint in OWN_ROWS_ONLY:
            continue
        values = {}
        for argument in rule.arguments:
            assert argument in ID_FACTORIES, f"{rule} names {argument}: add it to ID_FACTORIES"
            owner = mallory if argument == "user_id" else alice
            values[argument] = ID_FACTORIES[argument](app, owner)
        path = rule.build(values)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method)
            assert response.status_code == 404, f"{method} {path} gave {response.status_code}"
            checked += 1
    assert checked >= 1


def test_security_events_are_logged_without_secrets(client, alice, caplog):
    caplog.set_level(logging.INFO, logger="peerhub.security")
    client.post("/login", data={"email": alice.email, "password": "wrong password!"})
    client.post("/login", data={"email": alice.email, "password": alice.password})
    text = caplog.text
    assert "login_failed" in text and f"login actor={alice.id}" in text
    assert "address=127.0.0.1" in text
    assert "wrong password" not in text and alice.password not in text


def test_create_admin_cli(app, runner):
    result = runner.invoke(
        args=["create-admin", "root@example.org", "--password", "a long admin sentence"]
    )
    assert result.exit_code == 0, result.output
    from sqlalchemy import select

    from peerhub.accounts.models import User

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "root@example.org"))
        assert user.role == "admin" and user.is_verified


def test_create_admin_promotes_an_existing_member(app, runner):
    dana = make_user(app, "dana@example.org", "Dana")
    result = runner.invoke(args=["create-admin", "Dana@Example.org"])
    assert result.exit_code == 0, result.output
    from tests.conftest import user_row

    assert user_row(app, dana.id).role == "admin"


def test_create_admin_refuses_a_weak_password(runner):
    result = runner.invoke(args=["create-admin", "root@example.org", "--password", "12345"])
    # commands speak the community's default language, German
    assert result.exit_code != 0 and "mindestens 10 Zeichen" in result.output


def test_seed_demo_only_when_empty(app, runner):
    first = runner.invoke(args=["seed-demo"])
    assert "Seeded" in first.output and "alice@example.org" in first.output
    second = runner.invoke(args=["seed-demo"])
    assert "Seeded" not in second.output and "alice@example.org" in second.output


def test_every_moderation_page_is_404_for_members_and_visitors(app, client, mallory, auth):
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("moderation.")]
    assert rules
    paths = [(r, r.build({a: 1 for a in r.arguments})[1]) for r in rules]
    for rule, path in paths:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            assert client.open(path, method=method).status_code == 404
    auth.login(mallory)
    for rule, path in paths:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            assert client.open(path, method=method).status_code == 404, path
