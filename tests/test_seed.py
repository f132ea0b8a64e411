"""`flask seed` and seed_members: many complete, varied, deterministic profiles; `seed-demo`."""

from __future__ import annotations

from collections import Counter, defaultdict
from itertools import pairwise

import pytest
from sqlalchemy import func, select

from peerhub.accounts.models import User
from peerhub.accounts.passwords import hash_password, verify_password
from peerhub.demo import DEMO_CROWD, DEMO_PASSWORD
from peerhub.extensions import db
from peerhub.moderation.models import ReportCase
from peerhub.profiles import seed
from peerhub.profiles.models import (
    CONTEXTS,
    GOAL_MAX,
    HEADLINE_MAX,
    LANGUAGE_CODES,
    AvailabilityWindow,
    Goal,
    Profile,
    ProfileLanguage,
    ProfileTag,
    Tag,
)
from peerhub.profiles.text import search_document, tag_key

SEED_PASSWORD = "seeded members sentence"


@pytest.fixture(scope="module")
def password_hash() -> str:
    return hash_password(SEED_PASSWORD)


def with_seed_command(app):
    if "seed" not in app.cli.commands:
        app.register_blueprint(seed.bp)
    return app


def seeded_profiles(prefix: str) -> dict[str, dict]:
    """Everything about the members whose e-mail starts with `prefix`, by e-mail."""
    users = db.session.scalars(
        select(User).where(User.email.like(f"{prefix}%")).order_by(User.id)
    ).all()
    by_id = {u.id: u for u in users}
    profiles = {p.user_id: p for p in db.session.scalars(select(Profile)) if p.user_id in by_id}
    tags: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for user_id, kind, name in db.session.execute(
        select(ProfileTag.user_id, ProfileTag.kind, Tag.name).join(Tag)
    ):
        tags[user_id][kind].append(name)
    goals: dict[int, list[str]] = defaultdict(list)
    for goal in db.session.scalars(select(Goal).order_by(Goal.user_id, Goal.position)):
        goals[goal.user_id].append(goal.text)
    languages: dict[int, list[str]] = defaultdict(list)
    for row in db.session.scalars(select(ProfileLanguage).order_by(ProfileLanguage.code)):
        languages[row.user_id].append(row.code)
    windows: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for w in db.session.scalars(select(AvailabilityWindow)):
        windows[w.user_id].append((w.weekday, w.start_minute, w.end_minute))
    return {
        u.email: {
            "user": u,
            "profile": profiles.get(u.id),
            "tags": tags[u.id],
            "goals": goals[u.id],
            "languages": languages[u.id],
            "windows": sorted(windows[u.id]),
        }
        for u in users
    }


def test_seed_members_makes_complete_valid_profiles(ctx, password_hash):
    assert seed.seed_members(300, seed=7, password_hash=password_hash) == 300
    members = seeded_profiles("member-7-")
    assert len(members) == 300
    assert db.session.scalar(select(func.count()).select_from(Profile)) == 300
    emails = [email for email in members]
    assert len(set(emails)) == 300
    assert set(emails) == {seed.member_email(7, i) for i in range(1, 301)}

    for email, m in members.items():
        user, profile, tags = m["user"], m["profile"], m["tags"]
        assert user.status == "active" and user.role == "member", email
        assert user.email_verified_at is not None and user.language in ("de", "en")
        assert user.password_hash == password_hash
        assert profile is not None and profile.onboarded_at is not None, email
        assert profile.context in CONTEXTS
        assert 0 < len(profile.headline) <= HEADLINE_MAX
        assert 2 <= profile.about.count(".") + profile.about.count("!") <= 5, profile.about
        assert 1 <= profile.capacity <= 3
        # the directory searches this document, built as the profile service builds it
        names = [*tags["offer"], *tags["seek"], *tags["interest"]]
        expected = search_document(profile.headline, profile.about, *m["goals"], *names)
        assert profile.search_document
        assert set(profile.search_document.split()) == set(expected.split())
        if profile.meeting_mode == "video":
            assert profile.city is None and profile.city_key is None
        else:
            assert profile.city and profile.city_key == tag_key(profile.city)
        # tags: 2-6 offers, 1-4 seeks, 0-4 interests, never the same tag offered and sought
        assert 2 <= len(tags["offer"]) <= 6 and 1 <= len(tags["seek"]) <= 4
        assert len(tags["interest"]) <= 4
        assert not set(tags["offer"]) & set(tags["seek"]), email
        assert 1 <= len(m["goals"]) <= 5 and all(len(g) <= GOAL_MAX for g in m["goals"])
        assert m["languages"] and set(m["languages"]) <= set(LANGUAGE_CODES)
        # windows: 1-4, inside the day, start before end, never overlapping on a weekday
        assert 1 <= len(m["windows"]) <= 4
        by_day = defaultdict(list)
        for weekday, start, end in m["windows"]:
            assert 0 <= weekday <= 6 and 0 <= start < end <= 24 * 60
            by_day[weekday].append((start, end))
        for day in by_day.values():
            day.sort()
            assert all(a_end <= b_start for (_a, a_end), (b_start, _b) in pairwise(day))


def test_seeded_community_is_varied(ctx, password_hash):
    seed.seed_members(300, seed=11, password_hash=password_hash)
    members = seeded_profiles("member-11-")
    users = [m["user"] for m in members.values()]
    profiles = [m["profile"] for m in members.values()]
    assert len({u.display_name for u in users}) > 150
    assert all(u.display_name.endswith(".") and " " in u.display_name for u in users)
    languages = Counter(u.language for u in users)
    assert languages["de"] > languages["en"] > 20
    zones = Counter(u.timezone for u in users)
    assert zones.most_common(1)[0][0] == "Europe/Berlin" and len(zones) >= 4
    modes = Counter(p.meeting_mode for p in profiles)
    assert modes["video"] > modes["either"] > 0 and modes["in_person"] > 0
    assert {p.context for p in profiles} == set(CONTEXTS)
    assert Counter(p.status for p in profiles)["open"] > 240
    assert Counter(p.visibility for p in profiles)["members"] > 270
    spoken = Counter(code for m in members.values() for code in m["languages"])
    assert spoken["de"] > 270 and spoken["en"] > 150 and len(spoken) >= 5
    assert Counter(m["profile"].capacity for m in members.values()).most_common(1)[0][0] == 2
    # evenings mostly
    starts = [start for m in members.values() for _d, start, _e in m["windows"]]
    assert sum(17 * 60 <= s <= 20 * 60 for s in starts) > len(starts) / 2
    # both languages write goals; tag popularity is skewed
    goals = [g for m in members.values() for g in m["goals"]]
    assert any(g.startswith("Bis Ende des Quartals möchte ich") for g in goals)
    assert any(g.startswith("By the end of the quarter I want to") for g in goals)
    offered = Counter(name for m in members.values() for name in m["tags"]["offer"])
    counts = sorted(offered.values(), reverse=True)
    assert counts[0] > 5 * counts[len(counts) // 2]
    assert db.session.scalar(select(func.count()).select_from(Tag)) == len(seed.TAGS)


def test_same_seed_same_members(ctx, password_hash):
    """Member i of seed S derives from (S, i) alone: what is stored is what is derived."""
    seed.seed_members(40, seed=5, password_hash=password_hash)
    members = seeded_profiles("member-5-")
    for i in (1, 2, 17, 40):
        derived = seed.generate_member(5, i)
        stored = members[derived.email]
        spec = derived.profile
        assert stored["user"].display_name == derived.display_name
        assert stored["user"].timezone == derived.timezone
        assert stored["user"].language == derived.language
        assert stored["profile"].headline == spec.headline
        assert stored["profile"].about == spec.about
        assert stored["profile"].city == spec.city
        assert stored["goals"] == list(spec.goals)
        assert sorted(stored["tags"]["offer"]) == sorted(spec.offers)
        assert sorted(stored["tags"]["seek"]) == sorted(spec.seeks)
        assert stored["languages"] == list(spec.languages)
        assert stored["windows"] == list(spec.windows)
    assert seed.generate_member(5, 3) == seed.generate_member(5, 3)
    assert seed.generate_member(5, 3).profile != seed.generate_member(6, 3).profile


def test_seeding_again_adds_more_without_collisions(ctx, password_hash):
    seed.seed_members(50, seed=1, password_hash=password_hash)
    seed.seed_members(30, seed=2, password_hash=password_hash)
    seed.seed_members(20, seed=1, password_hash=password_hash)  # the same seed continues
    emails = db.session.scalars(select(User.email)).all()
    assert len(emails) == len(set(emails)) == 100
    assert seed.member_email(1, 70) in emails and seed.member_email(2, 30) in emails
    assert db.session.scalar(select(func.count()).select_from(Profile)) == 100
    # the tag vocabulary is shared, not duplicated
    assert db.session.scalar(select(func.count()).select_from(Tag)) == len(seed.TAGS)


def test_existing_tags_are_reused_by_key(ctx, password_hash):
    db.session.add(Tag(name="zeit management", key=tag_key("Zeitmanagement")))
    db.session.commit()
    seed.seed_members(30, seed=3, password_hash=password_hash)
    tags = db.session.scalars(select(Tag).where(Tag.key == "zeitmanagement")).all()
    assert [t.name for t in tags] == ["zeit management"]
    assert db.session.scalar(select(func.count()).select_from(Tag)) == len(seed.TAGS)


def test_seeded_members_can_sign_in(app, client, password_hash):
    with app.app_context():
        seed.seed_members(3, seed=9, password_hash=password_hash)
    response = client.post(
        "/login", data={"email": seed.member_email(9, 2), "password": SEED_PASSWORD}
    )
    assert response.status_code == 303


def test_seed_command_prints_progress_and_summary(app):
    with_seed_command(app)
    result = app.test_cli_runner().invoke(
        args=["seed", "--members", "120", "--seed", "4", "--password", SEED_PASSWORD]
    )
    assert result.exit_code == 0, result.output
    assert "Seeding members" in result.output
    assert "Seeded 120 members (seed 4)" in result.output
    assert seed.member_email(4, 1) in result.output and seed.member_email(4, 120) in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Profile)) == 120
        user = db.session.scalar(select(User).where(User.email == seed.member_email(4, 7)))
        assert verify_password(user.password_hash, SEED_PASSWORD)


def test_seed_command_defaults_to_the_demo_password(app):
    with_seed_command(app)
    result = app.test_cli_runner().invoke(args=["seed", "--members", "2"])
    assert result.exit_code == 0, result.output
    assert "Seeded 2 members (seed 1)" in result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == seed.member_email(1, 2)))
        assert verify_password(user.password_hash, DEMO_PASSWORD)


def test_seed_command_refuses_production(app):
    with_seed_command(app)
    app.config["PEERHUB_ENV"] = "production"
    result = app.test_cli_runner().invoke(args=["seed", "--members", "5"])
    assert result.exit_code != 0 and "production" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_seed_demo_gives_the_demo_logins_matching_profiles(app, runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "alice@example.org" in result.output and DEMO_PASSWORD in result.output
    with app.app_context():
        demo = seeded_profiles("")
        assert len(demo) == 5 + DEMO_CROWD
        alice, bob, carol = (demo[f"{n}@example.org"] for n in ("alice", "bob", "carol"))
        assert "Agiles Projektmanagement" in alice["tags"]["offer"]
        assert "Zeitmanagement" in alice["tags"]["seek"]
        assert "Zeitmanagement" in bob["tags"]["offer"]
        assert "Agiles Projektmanagement" in bob["tags"]["seek"]
        assert "Kollegiale Fallberatung" in carol["tags"]["interest"]
        assert carol["profile"].context == "leader"
        for member in (alice, bob):
            assert member["languages"] == ["de", "en"]
            assert member["profile"].meeting_mode == "video"
            assert member["profile"].rhythm == "weekly"
            assert all(start >= 17 * 60 for _d, start, _e in member["windows"])
        for member in (alice, bob, carol):
            profile = member["profile"]
            assert profile.onboarded_at is not None and profile.visibility == "members"
            assert "zeitmanag" in profile.search_document or "fuehrung" in profile.search_document
            assert profile.city_key == (tag_key(profile.city) if profile.city else None)
        assert carol["profile"].city_key == "wien"
        assert demo["mod@example.org"]["profile"] is None  # staff need not be in the directory
        # the moderators' queue has work to show: one profile reported twice, one member once
        open_cases = db.session.scalars(select(ReportCase).where(ReportCase.state == "open"))
        assert sorted(case.report_count for case in open_cases) == [1, 2]
    again = runner.invoke(args=["seed-demo"])
    assert "Seeded" not in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 5 + DEMO_CROWD
