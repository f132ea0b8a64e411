"""Profiles: guided steps, completeness, bad input, escaping, the member page."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from peerhub.accounts.models import User
from peerhub.errors import Invalid
from peerhub.extensions import db
from peerhub.profiles import service
from peerhub.profiles.availability import overlap_minutes
from peerhub.profiles.models import AvailabilityWindow, Profile, ProfileLanguage
from tests.conftest import HX_PARTIAL
from tests.profile_factories import fill_profile

PRACTICAL = {
    "context": "leader",
    "languages": ["de", "en"],
    "meeting_mode": "video",
    "city": "",
    "rhythm": "weekly",
    "session_length": "90",
    "capacity": "2",
    "status": "open",
    "visibility": "members",
    "d1_0_from": "18:00",
    "d1_0_to": "19:30",
}


def me(persona) -> User:
    return db.session.get(User, persona.id)


def test_onboarding_walks_four_steps_and_completes_the_profile(app, client, alice, auth):
    response = auth.login(alice)
    assert response.headers["Location"] == "/onboarding"
    assert client.get("/onboarding").headers["Location"] == "/onboarding/strengths"
    page = client.get("/onboarding/strengths").text
    assert "Profile 0% complete" in page and "Think of moments" in page
    step = client.post("/onboarding/strengths", data={"headline": "Scrum master"})
    assert step.headers["Location"] == "/onboarding/support"
    client.post("/profile/tags/offer", data={"offer-name": "Agiles Projektmanagement"})
    client.post("/profile/tags/seek", data={"seek-name": "Zeitmanagement"})
    client.post("/profile/tags/interest", data={"interest-name": "Bouldern"})
    goals = client.post(
        "/onboarding/goals",
        data={"goal_1": "End meetings on time", "goal_2": "", "about": "Hello"},
    )
    assert goals.headers["Location"] == "/onboarding/practicalities"
    done = client.post("/onboarding/practicalities", data=PRACTICAL)
    assert done.headers["Location"] == "/profile"
    own = client.get("/profile").text
    assert "Profile 100% complete" in own
    assert "Agiles Projektmanagement" in own and "Zeitmanagement" in own
    with app.app_context():
        profile = db.session.get(Profile, alice.id)
        assert profile.onboarded_at is not None and profile.session_length == 90
        assert [(w.weekday, w.start_minute, w.end_minute) for w in profile.windows] == [
            (1, 1080, 1170)
        ]
        assert "zeitmanagement" in profile.search_document
    assert client.get("/").text.count("Complete your profile") == 0


def test_incomplete_profile_is_nudged_not_blocked(client, alice, auth):
    auth.login(alice)
    home = client.get("/").text
    assert "Complete your profile" in home and "Profile 0% complete" in home
    assert client.get("/members").status_code == 200
    assert client.get("/settings").status_code == 200


def test_completeness_counts_the_parts(ctx, alice):
    profile = service.profile_view(alice.id)
    assert service.completeness(profile).percent == 0
    assert service.completeness(profile).next_step == "strengths"
    service.save_headline(me(alice), "Hello")
    service.add_tag(me(alice), "offer", "Python")
    result = service.completeness(service.profile_view(alice.id))
    assert result.percent == 33 and result.next_step == "support"


def test_reading_a_profile_writes_nothing(app, client, alice, auth):
    auth.login(alice)
    for path in ("/profile", "/onboarding/strengths", "/onboarding/practicalities", "/"):
        assert client.get(path).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Profile)) == 0


@pytest.mark.parametrize(
    ("changes", "field_message"),
    [
        ({"languages": []}, "at least one language"),
        ({"languages": ["de", "xx"]}, "languages from the list"),
        ({"city": "Berlin"}, "city only matters when you meet in person"),
        ({"meeting_mode": "in_person", "city": ""}, "name the city"),
        ({"meeting_mode": "teleport"}, "how you want to meet"),
        ({"capacity": "7"}, "between 1 and 3"),
        ({"session_length": "45"}, "60 or 90"),
        ({"session_length": "lots"}, "from the options"),
        ({"visibility": "everyone"}, "who can find you"),
        ({"d2_0_from": "20:00", "d2_0_to": "18:00"}, "end after it starts"),
        (
            {"d2_0_from": "18:00", "d2_0_to": "20:00", "d2_1_from": "19:00", "d2_1_to": "21:00"},
            "overlap",
        ),
        ({"d2_0_from": "18:00", "d2_0_to": ""}, "both a start and an end"),
        ({"d2_0_from": "25:00", "d2_0_to": "26:00"}, "HH:MM"),
        ({"city": "x" * 81, "meeting_mode": "either"}, "at most 80 characters"),
    ],
)
def test_bad_practicalities_are_refused_whole(app, client, alice, auth, changes, field_message):
    auth.login(alice)
    response = client.post("/profile/edit/practicalities", data={**PRACTICAL, **changes})
    assert response.status_code == 422
    assert field_message in response.text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ProfileLanguage)) == 0
        assert db.session.scalar(select(func.count()).select_from(AvailabilityWindow)) == 0


def test_bad_practicalities_in_german(client, carol, auth):
    auth.login(carol)  # Carol's language is German
    response = client.post("/profile/edit/practicalities", data={**PRACTICAL, "languages": []})
    assert response.status_code == 422 and "Sprache" in response.text


def test_over_long_text_and_too_many_goals(ctx, alice):
    with pytest.raises(Invalid, match="120"):
        service.save_headline(me(alice), "x" * 121)
    with pytest.raises(Invalid):
        service.save_goals(me(alice), ["a"] * 6, "")
    with pytest.raises(Invalid):
        service.save_goals(me(alice), ["g" * 201], "")
    with pytest.raises(Invalid):
        service.save_goals(me(alice), ["ok"], "x" * 2001)
    assert db.session.get(Profile, alice.id) is None or not db.session.get(Profile, alice.id).goals


def test_over_long_headline_over_http_is_422(client, alice, auth):
    auth.login(alice)
    response = client.post("/profile/edit/strengths", data={"headline": "x" * 121})
    assert response.status_code == 422 and "at most 120 characters" in response.text


def test_profile_text_is_escaped_everywhere(app, client, alice, bob, auth):
    evil = '<script>alert("x")</script>'
    fill_profile(app, alice, headline=evil, about=evil, goals=(evil,), offers=(evil,))
    auth.login(bob)
    for path in (f"/members/{alice.id}", "/members", "/members?q=alert"):
        page = client.get(path).text
        assert "<script>alert" not in page
    assert "&lt;script&gt;alert" in client.get(f"/members/{alice.id}").text


def test_member_page_shows_what_a_partner_needs(app, client, alice, bob, auth):
    fill_profile(app, alice, windows=((1, 18 * 60, 20 * 60),))
    auth.login(bob)  # Bob lives in New York
    page = client.get(f"/members/{alice.id}").text
    assert "Agiles Projektmanagement" in page and "Lead meetings that end on time" in page
    assert "12:00" in page and "America/New_York" in page  # Tuesday 18:00 Berlin for Bob
    assert client.get(f"/members/{alice.id}", headers=HX_PARTIAL).status_code == 200


@pytest.mark.parametrize("who", ["suspended", "unverified", "self", "missing"])
def test_member_page_is_404_for_who_may_not_be_seen(app, client, alice, auth, who):
    from tests.conftest import make_user

    target = {
        "suspended": lambda: make_user(app, "s@example.org", "S", status="suspended").id,
        "unverified": lambda: make_user(app, "u@example.org", "U", verified=False).id,
        "self": lambda: alice.id,
        "missing": lambda: 987654,
    }[who]()
    auth.login(alice)
    assert client.get(f"/members/{target}").status_code == 404


def test_unknown_step_is_404(client, alice, auth):
    auth.login(alice)
    assert client.get("/onboarding/nonsense").status_code == 404
    assert client.get("/profile/edit/nonsense").status_code == 404


def test_profiles_are_for_signed_in_members_only(client, alice):
    for path in ("/profile", "/members", f"/members/{alice.id}", "/onboarding/strengths"):
        assert client.get(path).status_code == 302


def test_availability_overlap_is_exact_across_zones_and_dst():
    berlin = [(1, 18 * 60, 20 * 60)]  # Tuesday 18:00-20:00 Berlin
    new_york = [(1, 12 * 60, 14 * 60)]  # Tuesday 12:00-14:00 New York
    assert (
        overlap_minutes(berlin, "Europe/Berlin", new_york, "America/New_York", date(2026, 6, 2))
        == 120
    )
    # US clocks moved on 8 March 2026, Europe's on 29 March: one hour apart less
    assert (
        overlap_minutes(berlin, "Europe/Berlin", new_york, "America/New_York", date(2026, 3, 17))
        == 60
    )
    # a window that crosses midnight in the other zone still meets
    tokyo = [(2, 1 * 60, 3 * 60)]  # Wednesday 01:00-03:00 Tokyo = Tuesday 18:00-20:00 Berlin (CEST)
    assert overlap_minutes(berlin, "Europe/Berlin", tokyo, "Asia/Tokyo", date(2026, 6, 2)) == 120


def test_saving_windows_keeps_local_wall_time(ctx, alice):
    fill = service.Practicalities(
        context=None, languages=("de",), meeting_mode="video", city=None, rhythm="weekly",
        session_length=60, capacity=2, status="open", visibility="members",
        windows=((0, 7 * 60, 8 * 60), (0, 18 * 60, 19 * 60)),
    )  # fmt: skip
    service.save_practicalities(me(alice), fill)
    windows = db.session.scalars(
        select(AvailabilityWindow).order_by(AvailabilityWindow.start_minute)
    ).all()
    assert [(w.weekday, w.start_minute) for w in windows] == [(0, 420), (0, 1080)]


def test_directory_page_and_fragment(app, client, alice, bob, carol, auth, monkeypatch):
    from peerhub.profiles import search

    fill_profile(
        app, bob, headline="Calendar whisperer", offers=("Zeitmanagement",), seeks=("Python",)
    )
    fill_profile(app, carol, headline="Team lead", offers=("Moderation",))
    auth.login(alice)
    page = client.get("/members?q=calendar&language=de")
    assert page.status_code == 200 and "<html" in page.text and "Calendar whisperer" in page.text
    assert "Team lead" not in page.text and "1 member found" in page.text
    fragment = client.get("/members?q=calendar", headers=HX_PARTIAL)
    assert fragment.text.lstrip().startswith('<section id="directory-results"')
    assert "<html" not in fragment.text
    # bad filter values are dropped, never an error
    assert client.get("/members?day=9&mode=teleport&language=xx&page=-3").status_code == 200
    monkeypatch.setattr(search, "TOTAL_CAP", 1)
    assert "More than 1 members found" in client.get("/members").text
