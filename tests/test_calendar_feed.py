"""The personal calendar feed and the download of a tandem's sessions (CALENDAR.md 19–22,
SECURITY.md 17): the secret URL, its rotation, the validators and 304s, what the feed holds
over time, and the settings card that makes the URL."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from icalendar import Calendar
from sqlalchemy import select

from peerhub.accounts.models import User
from peerhub.calendar import feed as feeds
from peerhub.calendar import service as calendar
from peerhub.calendar.lint import lint
from peerhub.calendar.models import CalendarFeed
from peerhub.calendar.views import _HideFeedTokens
from peerhub.extensions import db
from peerhub.intros import service as intros
from peerhub.meetings import service as meetings
from peerhub.meetings.models import Series
from peerhub.tandems import service as tandems
from tests.conftest import HX_PARTIAL, make_user
from tests.intro_factories import ready, scheduled
from tests.session_factories import FIRST, NOW, active_tandem, sessions_of, user

TOKEN_URL = re.compile(r">https://peerhub\.test(/calendar/([A-Za-z0-9_-]+)\.ics)</textarea>")


def make_feed(client) -> tuple[str, str]:
    """The signed-in member makes (or replaces) their feed URL: (path, token)."""
    page = client.post("/settings/calendar")
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    found = TOKEN_URL.search(page.get_data(as_text=True))
    return found[1], found[2]


@pytest.fixture
def tandem_id(app, alice, bob) -> int:
    return active_tandem(app, alice, bob)


@pytest.fixture
def feed_path(client, auth, alice, tandem_id) -> str:
    auth.login(alice)
    return make_feed(client)[0]


def events(raw: bytes) -> list:
    return Calendar.from_ical(raw).walk("VEVENT")


# --- the secret URL ----------------------------------------------------------------------------


def test_the_token_is_random_stored_only_as_a_hash_and_shown_once(app, client, feed_path):
    token = feed_path.removeprefix("/calendar/").removesuffix(".ics")
    # secrets.token_urlsafe(32): 256 random bits in 43 URL-safe characters
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    with app.app_context():
        [row] = db.session.scalars(select(CalendarFeed)).all()
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in repr([getattr(row, c.key) for c in CalendarFeed.__table__.columns])
    page = client.get("/settings").get_data(as_text=True)
    assert token not in page and "Your calendar address has been on since" in page
    second, third = make_feed(client)[1], make_feed(client)[1]
    assert len({token, second, third}) == 3


def test_a_new_address_ends_the_old_one(client, feed_path, caplog):
    assert client.get(feed_path).status_code == 200
    with caplog.at_level(logging.INFO, logger="peerhub.security"):
        new_path, new_token = make_feed(client)
    assert client.get(feed_path).status_code == 404
    assert client.get(new_path).status_code == 200
    assert "feed_token_rotated" in caplog.text and new_token not in caplog.text


def test_turning_the_feed_off_makes_it_404(client, feed_path):
    page = client.post("/settings/calendar/off")
    assert page.status_code == 200 and "turned off" in page.get_data(as_text=True)
    assert client.get(feed_path).status_code == 404
    assert client.post("/settings/calendar/off").status_code == 200  # again: harmless


@pytest.mark.parametrize("token", ["short", "x" * 43, "a" * 42 + "!", "../../etc/passwd"])
def test_an_unknown_or_malformed_token_is_404(client, token):
    assert client.get(f"/calendar/{token}.ics").status_code == 404


def test_the_feed_stops_for_a_suspended_member(app, client, feed_path, alice):
    with app.app_context():
        db.session.get(User, alice.id).status = "suspended"
        db.session.commit()
    assert client.get(feed_path).status_code == 404


def test_a_password_reset_revokes_the_feed(app, client, feed_path, alice, outbox):
    client.post("/password/forgot", data={"email": alice.email})
    reset = outbox.path(alice.email)
    answer = client.post(reset, data={"password": "a brand new sentence of words"})
    assert answer.status_code in (200, 303)
    assert client.get(feed_path).status_code == 404


def test_making_the_address_needs_a_recent_login(client, auth, alice, tandem_id):
    auth.login(alice)
    with client.session_transaction() as session:
        session["auth_at"] = (datetime.now(UTC) - timedelta(hours=1)).timestamp()
    page = client.get("/settings").get_data(as_text=True)
    assert 'name="password"' in page and 'id="feed-password"' in page
    refused = client.post("/settings/calendar", data={"password": "wrong"}, headers=HX_PARTIAL)
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert "Please enter your current password." in body and "<html" not in body
    assert not TOKEN_URL.search(body)
    made = client.post("/settings/calendar", data={"password": alice.password}, headers=HX_PARTIAL)
    assert made.status_code == 200 and TOKEN_URL.search(made.get_data(as_text=True))
    assert made.headers["Referrer-Policy"] == "no-referrer"
    assert made.get_data(as_text=True).lstrip().startswith('<article id="calendar"')
    # confirmed just now: the next replacement asks no password
    assert client.post("/settings/calendar").status_code == 200


def test_the_settings_explain_every_calendar_program_in_german(client, auth, carol):
    auth.login(carol)
    page = client.get("/settings", headers={"Accept-Language": "de"}).get_data(as_text=True)
    for program in ("Google Kalender", "Apple Kalender", "Outlook", "Thunderbird"):
        assert f"<summary>{program}</summary>" in page
    assert "Dein Kalender" in page and "Kalenderadresse" in page


def test_the_new_address_comes_as_https_and_webcal(client, auth, alice):
    auth.login(alice)
    page = client.post("/settings/calendar").get_data(as_text=True)
    https = re.search(r">(https://peerhub\.test/calendar/[^<]+)<", page)[1]
    webcal = re.search(r">(webcal://peerhub\.test/calendar/[^<]+)<", page)[1]
    assert webcal == "webcal://" + https.removeprefix("https://")


def test_access_logs_never_show_the_token():
    record = logging.LogRecord(
        "werkzeug", logging.INFO, "", 0, '%s - - "%s" %s %s', (
            "127.0.0.1", "GET /calendar/" + "A" * 43 + ".ics HTTP/1.1", "200", "-",
        ), None,
    )  # fmt: skip
    assert _HideFeedTokens().filter(record)
    assert "A" * 43 not in record.getMessage() and "/calendar/….ics" in record.getMessage()


# --- over HTTP ---------------------------------------------------------------------------------


def test_the_feed_answers_any_client_with_a_private_calendar(app, client, feed_path):
    response = client.get(feed_path, headers={"Accept": ""})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert "private" in response.headers["Cache-Control"]
    assert "no-store" not in response.headers["Cache-Control"]
    assert "Content-Disposition" not in response.headers
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert not response.headers["ETag"].startswith("W/")
    assert lint(response.data) == []
    with app.app_context():
        [series] = db.session.scalars(select(Series)).all()
        # the last change (the series was made at NOW), never the moment of the request
        assert response.last_modified == series.updated_at.replace(microsecond=0) == NOW
    [event] = events(response.data)
    assert str(event["SUMMARY"]) == "Peer coaching with Bob"
    assert event["DTSTART"].dt == FIRST.astimezone(event["DTSTART"].dt.tzinfo)
    assert client.head(feed_path).status_code == 200


def test_a_revalidation_answers_304_without_building_the_calendar(client, feed_path, monkeypatch):
    first = client.get(feed_path)
    etag = first.headers["ETag"]

    def must_not_build(state):
        raise AssertionError("a revalidation built the calendar")

    monkeypatch.setattr(feeds, "feed_bytes", must_not_build)
    again = client.get(feed_path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag and "private" in again.headers["Cache-Control"]
    since = client.get(feed_path, headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status_code == 304
    assert client.get(feed_path, headers={"If-None-Match": f'"x", {etag}'}).status_code == 304
    assert client.get(feed_path, headers={"If-None-Match": "*"}).status_code == 304


def test_if_none_match_wins_over_if_modified_since(client, feed_path):
    later = format_datetime(datetime.now(UTC) + timedelta(days=1), usegmt=True)
    answer = client.get(feed_path, headers={"If-None-Match": '"other"', "If-Modified-Since": later})
    assert answer.status_code == 200 and answer.data.startswith(b"BEGIN:VCALENDAR")


def test_validators_move_with_every_change_and_only_then(app, client, auth, alice, bob):
    # on the real clock: the tandem began three weeks ago, and now things change
    now = datetime.now(UTC)
    tandem_id = active_tandem(app, alice, bob, now=now - timedelta(days=21))
    auth.login(alice)
    path, _token = make_feed(client)
    first = client.get(path)
    assert client.get(path).headers["ETag"] == first.headers["ETag"]  # nothing changed
    assert client.get(path).data == first.data  # the same bytes
    time.sleep(1.05)  # HTTP dates tell whole seconds apart: let one pass before each change
    with app.app_context():
        coming = next(s for s in sessions_of(tandem_id) if s.start > now + timedelta(days=2))
        meetings.cancel_session(user(bob), coming.series.id, coming.number, "Ill")
    changed = client.get(path)
    assert changed.headers["ETag"] != first.headers["ETag"]
    assert changed.last_modified > first.last_modified
    old = client.get(path, headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert old.status_code == 200 and b"EXDATE;TZID=Europe/Berlin:" in old.data
    assert client.get(path, headers={"If-None-Match": first.headers["ETag"]}).status_code == 200
    # a partner's new name is in the calendar's words: the validators move with it
    time.sleep(1.05)
    with app.app_context():
        db.session.get(User, bob.id).display_name = "Robert"
        db.session.commit()
        renamed_at = db.session.get(User, bob.id).details_changed_at
    renamed = client.get(path)
    assert renamed.headers["ETag"] != changed.headers["ETag"]
    assert renamed.last_modified == renamed_at.replace(microsecond=0) > changed.last_modified
    assert "Peer coaching with Robert" in str(events(renamed.data)[0]["SUMMARY"])


# --- what the feed holds over time --------------------------------------------------------------


def state_at(app, persona, now):
    with app.app_context():
        viewer = db.session.get(User, persona.id)
        state = feeds.feed_state(viewer, now)
        return state, feeds.feed_bytes(state)


def test_the_feed_keeps_90_days_of_the_past_and_everything_to_come(app, alice, tandem_id):
    last_end = datetime(2027, 3, 9, 18, 0, tzinfo=UTC)  # the term's last session ends then
    state, raw = state_at(app, alice, last_end + timedelta(days=89))
    assert len(state.series) == 1 and lint(raw) == []
    gone, raw = state_at(app, alice, last_end + timedelta(days=92))
    assert gone.series == [] and b"BEGIN:VEVENT" not in raw
    # leaving the window is a change: Last-Modified is the moment it left, not the request
    assert state.last_modified < gone.last_modified <= last_end + timedelta(days=92)


def test_after_the_tandem_ends_the_feed_keeps_the_past_and_drops_the_future(
    app, alice, bob, tandem_id
):
    ended = datetime(2027, 1, 7, 9, 0, tzinfo=UTC)
    before, _raw = state_at(app, alice, ended)
    with app.app_context():
        tandems.end_early(user(bob), tandem_id, "no_time", now=ended)
    for persona in (alice, bob):
        _state, raw = state_at(app, persona, ended + timedelta(minutes=1))
        [event] = events(raw)
        assert "UNTIL=20270105T170000Z" in raw.decode()  # the last session held
        assert event["SEQUENCE"] > before.series[0].series.sequence
        assert str(event["STATUS"]) == "CONFIRMED"
        assert lint(raw) == []


def test_a_series_called_off_stays_cancelled_for_a_month_then_leaves(app, alice, tandem_id):
    with app.app_context():
        tandems.end_early(user(alice), tandem_id, "circumstances", now=NOW + timedelta(days=1))
    _state, raw = state_at(app, alice, NOW + timedelta(days=2))
    [event] = events(raw)
    assert str(event["STATUS"]) == "CANCELLED" and event["SEQUENCE"] >= 1
    assert "RRULE" in raw.decode() and lint(raw) == []
    later, raw = state_at(app, alice, NOW + timedelta(days=32))
    assert later.series == [] and b"BEGIN:VEVENT" not in raw


def test_a_member_who_leaves_a_group_sees_its_series_cancelled_for_a_while(app, alice, bob, carol):
    group = active_tandem(app, alice, bob, carol)
    left = NOW + timedelta(days=20)
    with app.app_context():
        tandems.leave_group(user(carol), group, now=left)
    state, raw = state_at(app, carol, left + timedelta(days=1))
    [event] = events(raw)
    assert str(event["STATUS"]) == "CANCELLED"
    assert event["SEQUENCE"] == state.series[0].series.sequence + 1
    _others, raw = state_at(app, alice, left + timedelta(days=1))
    assert str(events(raw)[0]["STATUS"]) == "CONFIRMED"
    gone, _raw = state_at(app, carol, left + timedelta(days=31))
    assert gone.series == []


def test_intro_calls_are_in_the_feed_and_a_cancelled_one_says_so(app, alice, bob, mallory):
    ready(app, alice, bob, mallory)
    call = scheduled(app, alice, bob)
    other = scheduled(app, mallory, alice)
    with app.app_context():
        intros.cancel_call(user(mallory), other, now=NOW)
    _state, raw = state_at(app, alice, NOW + timedelta(hours=1))
    found = {str(e["UID"]): str(e["STATUS"]) for e in events(raw)}
    assert found == {
        f"intro-{call}@peerhub.test": "CONFIRMED",
        f"intro-{other}@peerhub.test": "CANCELLED",
    }
    assert lint(raw) == []


def test_a_busy_feed_stays_well_under_a_megabyte(app, alice, bob, carol):
    tandem_ids = [active_tandem(app, alice, partner) for partner in (bob, carol)]
    with app.app_context():
        for tandem_id in tandem_ids:
            for session in sessions_of(tandem_id)[1:12:2]:
                meetings.cancel_session(user(alice), session.series.id, session.number, "Sorry")
            for session in sessions_of(tandem_id)[2:12:2]:
                later = session.start + timedelta(hours=1)
                meetings.move_session(user(alice), session.series.id, session.number, later)
    state, raw = state_at(app, alice, NOW)
    assert len(state.series) == 2 and raw.count(b"RECURRENCE-ID") == 10
    assert raw.count(b"\r\nEXDATE") == 12
    assert len(raw) < 100_000 and lint(raw) == []


def test_the_download_is_an_attachment_that_lints_clean(client, auth, alice, tandem_id):
    auth.login(alice)
    response = client.get(f"/tandems/{tandem_id}/sessions.ics")
    assert response.status_code == 200
    assert (
        response.headers["Content-Disposition"]
        == f'attachment; filename="sessions-{tandem_id}.ics"'
    )
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert lint(response.data) == [] and len(events(response.data)) == 1


def test_someone_elses_feed_is_not_reachable_with_your_login(client, auth, mallory, feed_path):
    auth.logout()
    auth.login(mallory)
    mine, _token = make_feed(client)
    assert mine != feed_path
    raw = client.get(mine).data
    assert b"Bob" not in raw and b"BEGIN:VEVENT" not in raw


def test_the_call_download_and_the_feed_agree(app, alice, bob, client, auth):
    ready(app, alice, bob)
    call = scheduled(app, alice, bob)
    auth.login(alice)
    download = client.get(f"/intros/{call}/call.ics")
    path, _token = make_feed(client)
    feed_event = next(e for e in events(client.get(path).data) if "intro" in str(e["UID"]))
    [download_event] = events(download.data)
    for prop in ("UID", "DTSTART", "DTEND", "SEQUENCE", "STATUS", "SUMMARY"):
        assert download_event[prop] == feed_event[prop] or str(download_event[prop]) == str(
            feed_event[prop]
        )


def test_a_member_without_sessions_has_an_empty_valid_feed(app):
    persona = make_user(app, "empty@example.org", "Empty")
    state, raw = state_at(app, persona, NOW)
    assert state.series == [] and state.calls == [] and lint(raw) == []
    with app.app_context():
        token = calendar.new_token(db.session.get(User, persona.id))
        assert calendar.member_for(token).id == persona.id
