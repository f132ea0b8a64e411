"""The sessions pages over HTTP: every action with and without htmx, refusals as 4xx with
the message in place, the dashboard and the tandem page, in English and German.

The tandem began three weeks before the real clock's now, so it has sessions behind it
(to record who came) and ahead of it (to cancel and move).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from peerhub.extensions import db
from peerhub.meetings import service as meetings
from peerhub.meetings.models import Series, SessionRecord
from peerhub.notifications.models import Notification
from tests.conftest import HX_BOOSTED, HX_PARTIAL
from tests.session_factories import active_tandem, record_of, sessions_of, user

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def tandem_id(app, alice, bob) -> int:
    return active_tandem(app, alice, bob, now=datetime.now(UTC) - timedelta(days=21))


@pytest.fixture
def sessions(app, tandem_id):
    with app.app_context():
        found = sessions_of(tandem_id)
        db.session.expunge_all()
        return found


def coming(sessions, n: int = 0):
    now = datetime.now(UTC)
    return [s for s in sessions if s.start > now + timedelta(days=2)][n]


def past(sessions):
    return [s for s in sessions if s.start < datetime.now(UTC)][-1]


def url(session, action: str = "") -> str:
    base = f"/sessions/{session.series.id}/{session.number}"
    return f"{base}/{action}" if action else base


def record(app, session) -> SessionRecord | None:
    return record_of(app, session)


@pytest.fixture
def signed_in(client, auth, alice, tandem_id):
    auth.login(alice)
    return client


def test_the_sessions_page_lists_coming_and_past_sessions(signed_in, tandem_id, sessions):
    page = signed_in.get(f"/tandems/{tandem_id}/sessions")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Your sessions with Bob" in body
    assert "Every week on Tuesdays at 18:00 (Europe/Berlin), 60 minutes" in body
    assert body.count('href="/sessions/') == len(sessions)
    assert "Download the sessions (.ics)" in body and "Change your sessions" in body
    assert signed_in.get(f"/tandems/{tandem_id}/sessions", headers=HX_BOOSTED).data.startswith(
        b"<!doctype html>"
    )


def test_a_session_page_shows_its_time_in_the_viewers_zone_with_both_zones(
    client, auth, bob, sessions
):
    auth.login(bob)  # Bob lives in New York; the series is Berlin's
    session = coming(sessions)
    body = client.get(url(session)).get_data(as_text=True)
    new_york = session.start.astimezone(ZoneInfo("America/New_York"))
    assert f"{new_york:%H:%M}" in body and "America/New_York · 18:00 Europe/Berlin" in body
    assert "Cancel this session" in body and "Move this session" in body


def test_cancelling_without_javascript_redirects_and_tells_bob(
    app, signed_in, sessions, bob, outbox
):
    session = coming(sessions)
    answer = signed_in.post(url(session, "cancel"), data={"reason": "A work trip, sorry"})
    assert answer.status_code == 303 and answer.headers["Location"].endswith(url(session))
    page = signed_in.get(url(session)).get_data(as_text=True)
    assert "The session is cancelled; we told the others." in page
    assert "Alice cancelled this session." in page and "A work trip, sorry" in page
    assert "Take the cancellation back" in page
    assert record(app, session).cancelled
    assert [m.template for m in outbox(bob.email)][-1] == "session_cancelled"
    # a second click (or a second tab) changes nothing and tells nobody twice
    assert signed_in.post(url(session, "cancel"), data={"reason": "again"}).status_code == 303
    assert [m.template for m in outbox(bob.email)].count("session_cancelled") == 1


def test_cancelling_with_htmx_answers_the_card_in_place(app, signed_in, sessions):
    session = coming(sessions)
    answer = signed_in.post(url(session, "cancel"), data={"reason": "Ill"}, headers=HX_PARTIAL)
    assert answer.status_code == 200
    body = answer.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="session-card"') and "<html" not in body
    assert "The session is cancelled; we told the others." in body
    restored = signed_in.post(url(session, "restore"), headers=HX_PARTIAL)
    assert restored.status_code == 200
    assert "The session takes place after all" in restored.get_data(as_text=True)
    assert not record(app, session).cancelled


@pytest.mark.parametrize("headers", [{}, HX_PARTIAL], ids=["page", "htmx"])
def test_a_cancellation_needs_a_reason(app, signed_in, sessions, headers):
    session = coming(sessions)
    answer = signed_in.post(url(session, "cancel"), data={"reason": "  "}, headers=headers)
    assert answer.status_code == 422
    body = answer.get_data(as_text=True)
    assert "Tell the others why, in a few words." in body
    assert ('aria-invalid="true"' in body) and (("<html" in body) == (not headers))
    assert record(app, session) is None


def test_a_late_cancellation_is_marked_and_said(app, signed_in, sessions, alice):
    session = coming(sessions)
    # three hours before: within the agreement's 24 hours of notice
    with app.app_context():
        soon = session.start - timedelta(hours=3)
        meetings.cancel_session(user(alice), session.series.id, session.number, "Sick", now=soon)
    page = signed_in.get(url(session)).get_data(as_text=True)
    assert "later than your agreement's notice" in page
    assert "cancelled at short notice" in signed_in.get(
        f"/tandems/{session.series.tandem_id}/sessions"
    ).get_data(as_text=True)


def test_a_session_that_took_place_cannot_be_cancelled(signed_in, sessions):
    answer = signed_in.post(url(past(sessions), "cancel"), data={"reason": "late"})
    assert answer.status_code == 409
    assert "it can no longer be cancelled" in answer.get_data(as_text=True)


@pytest.mark.parametrize("headers", [{}, HX_PARTIAL], ids=["page", "htmx"])
def test_moving_a_session(app, signed_in, sessions, headers):
    session = coming(sessions)
    local = (session.start + timedelta(days=1, hours=1)).astimezone(BERLIN)
    data = {"date": local.date().isoformat(), "time": f"{local:%H:%M}"}
    answer = signed_in.post(url(session, "move"), data=data, headers=headers)
    assert answer.status_code == (200 if headers else 303)
    moved = record(app, session)
    assert moved.moved_start == session.start + timedelta(days=1, hours=1)
    assert moved.moved_end - moved.moved_start == timedelta(minutes=60)
    page = signed_in.get(url(session)).get_data(as_text=True)
    assert "Moved from" in page


@pytest.mark.parametrize(
    "data, message",
    [
        ({"date": "", "time": "18:00"}, "Please give a date."),
        ({"date": "2027-13-01", "time": "18:00"}, "Please give a date."),
        ({"date": "2027-01-01", "time": "25:00"}, "hours and minutes"),
    ],
)
def test_a_move_with_bad_input_is_refused_in_place(app, signed_in, sessions, data, message):
    session = coming(sessions)
    answer = signed_in.post(url(session, "move"), data=data, headers=HX_PARTIAL)
    assert answer.status_code == 422 and message in answer.get_data(as_text=True)
    assert record(app, session) is None


def test_a_session_cannot_move_onto_the_next_one(app, signed_in, sessions):
    session, following = coming(sessions), coming(sessions, 1)
    local = following.start.astimezone(BERLIN)
    data = {"date": local.date().isoformat(), "time": f"{local:%H:%M}"}
    answer = signed_in.post(url(session, "move"), data=data)
    assert answer.status_code == 422
    assert "runs into the next session" in answer.get_data(as_text=True)
    assert record(app, session) is None


def test_who_came_is_recorded_after_the_session(app, signed_in, sessions, bob):
    session = past(sessions)
    form = signed_in.get(url(session)).get_data(as_text=True)
    assert "Who did not come, without cancelling?" in form
    answer = signed_in.post(url(session, "attendance"), data={"absent": str(bob.id)})
    assert answer.status_code == 303
    page = signed_in.get(url(session)).get_data(as_text=True)
    assert "Did not come: Bob." in page and "Correct who came" in page
    assert [a.user_id for a in record(app, session).absences] == [bob.id]
    again = signed_in.post(url(session, "attendance"), data={}, headers=HX_PARTIAL)
    assert again.status_code == 200 and "Held." in again.get_data(as_text=True)
    assert record(app, session).absences == []


def test_who_came_waits_for_the_session_and_for_members(signed_in, sessions, mallory):
    future = signed_in.post(url(coming(sessions), "attendance"), data={})
    assert future.status_code == 409
    outsider = signed_in.post(url(past(sessions), "attendance"), data={"absent": str(mallory.id)})
    assert outsider.status_code == 422
    assert "Choose among the members of your tandem." in outsider.get_data(as_text=True)


def test_notes_are_saved_in_place_and_a_stale_save_shows_both(app, client, auth, bob, sessions):
    session = coming(sessions)
    auth.login(bob)
    words = {"update": "New job", "topic": "Saying no", "next_steps": "Try it twice", "base": "0"}
    saved = client.post(url(session, "notes"), data=words, headers=HX_PARTIAL)
    assert saved.status_code == 200
    body = saved.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="notes"') and "Your notes are saved." in body
    assert 'name="base" value="1"' in body
    stale = client.post(url(session, "notes"), data={**words, "topic": "Mine"}, headers=HX_PARTIAL)
    assert stale.status_code == 409
    body = stale.get_data(as_text=True)
    assert "Bob saved these notes while you were writing" in body and "Mine" in body
    assert record(app, session).notes["topic"] == "Saying no"
    plain = client.post(url(session, "notes"), data={**words, "topic": "Mine", "base": "1"})
    assert plain.status_code == 303 and plain.headers["Location"].endswith("#notes")
    too_long = client.post(url(session, "notes"), data={**words, "update": "x" * 4001, "base": "2"})
    assert too_long.status_code == 422 and "at most 4000 characters" in too_long.get_data(
        as_text=True
    )


def test_changing_the_time_from_a_day_on(app, signed_in, tandem_id, sessions, bob, outbox):
    session = coming(sessions, 1)
    day = session.start.astimezone(BERLIN).date()
    data = {
        "from": day.isoformat(),
        "frequency": "biweekly",
        "weekday": "3",
        "start": "19:30",
        "zone": "Europe/Berlin",
        "length": "90",
    }
    answer = signed_in.post(f"/tandems/{tandem_id}/sessions/change", data=data)
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/sessions")
    with app.app_context():
        series = db.session.scalars(select(Series).order_by(Series.id)).all()
        assert [s.state for s in series] == ["ended", "active"]
        assert (series[1].weekday, series[1].start_minute, series[1].interval_weeks) == (3, 1170, 2)
    page = signed_in.get(f"/tandems/{tandem_id}/sessions").get_data(as_text=True)
    assert "Every two weeks on Thursdays at 19:30 (Europe/Berlin), 90 minutes" in page
    assert [m.template for m in outbox(bob.email)][-1] == "series_changed"


def test_a_refused_change_answers_the_forms_in_place(signed_in, tandem_id):
    data = {"from": "2001-01-01", "frequency": "weekly", "weekday": "1", "start": "18:00",
            "zone": "Europe/Berlin", "length": "60"}  # fmt: skip
    answer = signed_in.post(f"/tandems/{tandem_id}/sessions/change", data=data, headers=HX_PARTIAL)
    assert answer.status_code == 422
    body = answer.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="series-changes"')
    assert "Choose today or a later day." in body and '<details class="series-change" open>' in body
    bad_zone = signed_in.post(
        f"/tandems/{tandem_id}/sessions/change", data={**data, "zone": "Mars/Olympus"}
    )
    assert bad_zone.status_code == 422
    assert "Choose a time zone from the list." in bad_zone.get_data(as_text=True)


def test_with_htmx_a_change_of_the_series_sends_the_member_to_the_page(signed_in, tandem_id):
    answer = signed_in.post(
        f"/tandems/{tandem_id}/sessions/end",
        data={"last": datetime.now(UTC).date().isoformat()},
        headers=HX_PARTIAL,
    )
    assert answer.status_code == 200
    assert answer.headers["HX-Location"].endswith(f"/tandems/{tandem_id}/sessions")


def test_pausing_and_ending_the_pause(app, signed_in, tandem_id, sessions):
    first = coming(sessions)
    day = first.start.astimezone(BERLIN).date()
    paused = signed_in.post(
        f"/tandems/{tandem_id}/sessions/pause", data={"from": day.isoformat(), "weeks": "2"}
    )
    assert paused.status_code == 303
    page = signed_in.get(f"/tandems/{tandem_id}/sessions").get_data(as_text=True)
    assert "Paused: the sessions up to" in page and page.count(">paused<") == 2
    assert "End the pause now" in page
    assert (
        signed_in.post(f"/tandems/{tandem_id}/sessions/pause", data={"weeks": "9"}).status_code
        == 422
    )
    assert signed_in.post(f"/tandems/{tandem_id}/sessions/resume").status_code == 303
    page = signed_in.get(f"/tandems/{tandem_id}/sessions").get_data(as_text=True)
    assert ">paused<" not in page


def test_ending_the_sessions_early_keeps_the_tandem(app, signed_in, tandem_id):
    today = datetime.now(UTC).date().isoformat()
    assert (
        signed_in.post(f"/tandems/{tandem_id}/sessions/end", data={"last": today}).status_code
        == 303
    )
    page = signed_in.get(f"/tandems/{tandem_id}/sessions").get_data(as_text=True)
    assert "No session is planned. Set a new time below to meet again." in page
    assert "A new time or rhythm" in page
    assert (
        signed_in.post(f"/tandems/{tandem_id}/sessions/end", data={"last": ""}).status_code == 422
    )


def test_the_tandem_page_and_the_dashboard_show_the_next_sessions(signed_in, tandem_id, sessions):
    page = signed_in.get(f"/tandems/{tandem_id}").get_data(as_text=True)
    assert "Next sessions" in page and "Recent sessions" in page
    assert "All sessions, and changes to them" in page
    home = signed_in.get("/").get_data(as_text=True)
    assert "Your next sessions" in home and "with Bob" in home
    next_one = next(s for s in sessions if s.start > datetime.now(UTC))
    assert f'href="{url(next_one)}"' in home


def test_repeated_no_shows_prompt_the_tandem_to_talk(app, client, auth, alice, bob):
    tandem_id = active_tandem(app, alice, bob, now=datetime.now(UTC) - timedelta(days=35))
    with app.app_context():
        held = [s for s in sessions_of(tandem_id) if s.start < datetime.now(UTC)][:2]
        db.session.expunge_all()
    auth.login(alice)
    for session in held:
        assert (
            client.post(url(session, "attendance"), data={"absent": str(bob.id)}).status_code == 303
        )
    page = client.get(f"/tandems/{tandem_id}").get_data(as_text=True)
    assert "Time to talk about missed sessions" in page
    assert "Sessions Bob missed without cancelling: 2" in page
    with app.app_context():
        kinds = db.session.scalars(
            select(Notification.kind).where(Notification.user_id == bob.id)
        ).all()
        assert "no_shows_you" in kinds


def test_a_forming_tandem_has_no_sessions_yet(app, client, auth, alice, bob):
    from peerhub.tandems.service import start_tandem
    from tests.intro_factories import ready

    ready(app, alice, bob)
    with app.app_context():
        tandem = start_tandem([alice.id, bob.id])
        db.session.commit()
        tandem_id = tandem.id
    auth.login(alice)
    page = client.get(f"/tandems/{tandem_id}/sessions").get_data(as_text=True)
    assert "Your sessions begin once everyone has signed the agreement." in page
    assert "Change your sessions" not in page


def test_the_pages_speak_german(client, auth, alice, carol, app):
    tandem_id = active_tandem(app, carol, alice, now=datetime.now(UTC) - timedelta(days=21))
    auth.login(carol)
    german = {"Accept-Language": "de"}
    page = client.get(f"/tandems/{tandem_id}/sessions", headers=german).get_data(as_text=True)
    assert "Deine Sitzungen mit Alice" in page and "Vergangene Sitzungen" in page
    with app.app_context():
        session = coming(sessions_of(tandem_id))
    one = client.get(url(session), headers=german).get_data(as_text=True)
    assert "Diese Sitzung absagen" in one and "Gemeinsame Notizen" in one
    assert re.search(r"\b(Di|Dienstag)\.?,", one)


def test_double_submitted_cancellations_make_one_row(app, signed_in, sessions):
    session = coming(sessions)
    for _ in range(2):
        assert signed_in.post(url(session, "cancel"), data={"reason": "x"}).status_code == 303
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(SessionRecord))
        series = db.session.get(Series, session.series.id)
        assert count == 1 and series.sequence == 1


def test_tick_mails_each_member_the_day_before_once(app, runner, alice, bob, tandem_id, sessions):
    soon = (datetime.now(UTC) + timedelta(hours=5)).replace(second=0, microsecond=0)
    following = next(s for s in sessions if s.start > datetime.now(UTC))
    with app.app_context():
        meetings.move_session(user(alice), following.series.id, following.number, soon)
    result = runner.invoke(args=["tick"])
    assert result.exit_code == 0 and "sessions: 2 reminders sent" in result.output, result.output
    assert "sessions: 0 reminders sent" in runner.invoke(args=["tick"]).output
    with app.app_context():
        from tests.records import mails

        for persona in (alice, bob):
            [reminder] = [m for m in mails(persona.email) if m.template == "session_reminder"]
            assert f"/sessions/{following.series.id}/{following.number}" in reminder.text_body
