"""Intro calls over HTTP: pages and fragments, with and without htmx, in both languages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from peerhub.calendar.lint import lint
from peerhub.extensions import db, utcnow
from peerhub.intros.models import IntroRequest
from tests.conftest import HX_BOOSTED, HX_PARTIAL
from tests.intro_factories import ready, scheduled, slot


@pytest.fixture
def pair(app, alice, bob):
    ready(app, alice, bob)
    return alice, bob


def _times(*days: int) -> list[str]:
    return [slot(utcnow(), d).isoformat() for d in days]


def _send(client, recipient_id: int, headers=None, **data):
    form = {
        "message": "Hi Bob, shall we talk?",
        "times": _times(1, 2),
        "length": "30",
        "mode": "video",
    }
    form.update(data)
    return client.post(f"/members/{recipient_id}/intro", data=form, headers=headers or {})


def _request(app) -> IntroRequest:
    with app.app_context():
        intro = db.session.scalar(select(IntroRequest).order_by(IntroRequest.id.desc()))
        db.session.expunge(intro)
        return intro


def _slots(app, request_id: int) -> list[int]:
    with app.app_context():
        intro = db.session.get(IntroRequest, request_id)
        return [s.id for s in intro.open_slots]


def test_the_request_form_offers_times_in_both_zones(client, auth, pair):
    alice, bob = pair
    auth.login(alice)
    page = client.get(f"/members/{bob.id}/intro")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Ask Bob for an intro call" in html and "<html" in html
    assert "(Europe/Berlin)" in html and "for Bob" in html  # Alice's zone, and Bob's time
    fragment = client.get(f"/members/{bob.id}/intro", headers=HX_PARTIAL)
    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)
    assert 'id="request-form"' in fragment.get_data(as_text=True)
    assert "<html" in client.get(f"/members/{bob.id}/intro", headers=HX_BOOSTED).get_data(
        as_text=True
    )


def test_sending_without_and_with_javascript(client, auth, app, pair, carol):
    alice, bob = pair
    ready(app, carol)
    auth.login(alice)
    response = _send(client, bob.id)
    assert response.status_code == 303
    intro = _request(app)
    assert response.headers["Location"] == f"/intros/{intro.id}"
    assert intro.state == "pending" and len(_slots(app, intro.id)) == 2
    # the same form again (a double click) leads to the same request
    again = _send(client, bob.id)
    assert again.headers["Location"] == f"/intros/{intro.id}" and _request(app).id == intro.id
    response = _send(client, carol.id, headers=HX_PARTIAL)
    assert response.status_code == 200 and response.headers["HX-Location"].startswith("/intros/")


def test_a_typed_time_is_read_in_the_members_zone(client, auth, app, pair):
    alice, bob = pair
    auth.login(alice)
    day = (utcnow() + timedelta(days=3)).date()
    response = _send(client, bob.id, times=[], other_day=day.isoformat(), other_time="18:30")
    assert response.status_code == 303
    with app.app_context():
        start = db.session.get(IntroRequest, _request(app).id).open_slots[0].start
    from zoneinfo import ZoneInfo

    local = start.astimezone(ZoneInfo("Europe/Berlin"))
    assert (local.date(), local.hour, local.minute) == (day, 18, 30)


@pytest.mark.parametrize("headers", [{}, HX_PARTIAL])
def test_bad_input_is_a_422_with_the_message(client, auth, pair, headers):
    alice, bob = pair
    auth.login(alice)
    response = _send(client, bob.id, headers=headers, times=[])
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Choose one, two or three times" in html
    assert ("<html" in html) == (not headers)
    response = _send(client, bob.id, headers=headers, times=["yesterday"])
    assert response.status_code == 422 and "could not be read" in response.get_data(as_text=True)
    response = _send(client, bob.id, headers=headers, other_day="2026-13-45", other_time="18:00")
    assert response.status_code == 422


def test_messages_come_in_the_members_language(client, auth, app, alice, carol):
    ready(app, alice, carol)
    auth.login(carol)
    response = client.post(
        f"/members/{alice.id}/intro", data={"message": "", "times": _times(1), "mode": "video"}
    )
    assert response.status_code == 422
    assert "Schreib ein paar Worte" in response.get_data(as_text=True)


def test_who_may_not_be_asked(client, auth, app, pair, mallory):
    alice, bob = pair
    from peerhub.profiles.models import Block, Profile

    with app.app_context():
        db.session.add(Block(blocker_id=bob.id, blocked_id=mallory.id))
        db.session.commit()
    auth.login(mallory)
    assert client.get(f"/members/{bob.id}/intro").status_code == 404
    assert _send(client, bob.id).status_code == 404
    auth.logout()
    with app.app_context():
        db.session.get(Profile, bob.id).status = "paused"
        db.session.commit()
    auth.login(alice)
    page = client.get(f"/members/{bob.id}/intro")
    assert page.status_code == 200 and "paused their profile" in page.get_data(as_text=True)
    assert _send(client, bob.id).status_code == 422


def test_the_request_page_is_for_the_two_only(client, auth, app, pair, mallory):
    alice, bob = pair
    request_id = scheduled(app, alice, bob, now=utcnow())
    for person in (alice, bob):
        auth.login(person)
        assert client.get(f"/intros/{request_id}").status_code == 200
        auth.logout()
    auth.login(mallory)
    for path in (
        f"/intros/{request_id}",
        f"/intros/{request_id}/call.ics",
        f"/intros/{request_id}/messages",
    ):
        assert client.get(path).status_code == 404
    assert client.post(f"/intros/{request_id}/cancel").status_code == 404
    auth.logout()
    assert client.get(f"/intros/{request_id}").status_code == 302  # to the login


def test_picking_a_time_in_place_and_the_calendar_file(client, auth, app, pair):
    alice, bob = pair
    auth.login(alice)
    _send(client, bob.id)
    intro = _request(app)
    auth.logout()
    auth.login(bob)
    page = client.get(f"/intros/{intro.id}").get_data(as_text=True)
    assert "Hi Bob, shall we talk?" in page and "(America/New_York)" in page and "for Alice" in page
    assert client.get(f"/intros/{intro.id}/call.ics").status_code == 404  # nothing scheduled yet
    first = _slots(app, intro.id)[0]
    response = client.post(f"/intros/{intro.id}/accept", data={"slot": first}, headers=HX_PARTIAL)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="intro"') and "The call is scheduled" in html
    again = client.post(f"/intros/{intro.id}/accept", data={"slot": first})
    assert again.status_code == 303  # harmless
    ics = client.get(f"/intros/{intro.id}/call.ics")
    assert ics.status_code == 200 and ics.mimetype == "text/calendar"
    assert ics.headers["Content-Disposition"].startswith("attachment;")
    assert lint(ics.data) == []
    assert b"TZID=America/New_York" in ics.data  # Bob's file is in Bob's zone
    assert client.post(f"/intros/{intro.id}/accept", data={}).status_code == 422


@pytest.mark.parametrize("headers", [{}, HX_PARTIAL])
def test_illegal_steps_answer_4xx_with_a_message(client, auth, app, pair, headers):
    alice, bob = pair
    auth.login(alice)
    _send(client, bob.id)
    intro = _request(app)
    slot_id = _slots(app, intro.id)[0]
    # Alice proposed these times; she cannot pick one herself
    response = client.post(f"/intros/{intro.id}/accept", data={"slot": slot_id}, headers=headers)
    assert response.status_code == 403
    assert "Bob picks one" in response.get_data(as_text=True)
    assert client.post(f"/intros/{intro.id}/decline", headers=headers).status_code == 403
    client.post(f"/intros/{intro.id}/withdraw")
    auth.logout()
    auth.login(bob)
    response = client.post(f"/intros/{intro.id}/accept", data={"slot": slot_id}, headers=headers)
    assert response.status_code == 409
    assert "withdrawn" in response.get_data(as_text=True)
    assert ("<html" in response.get_data(as_text=True)) == (not headers)
    assert _request(app).state == "withdrawn"


def test_declining_shows_kind_words_to_the_requester(client, auth, app, pair):
    alice, bob = pair
    auth.login(alice)
    _send(client, bob.id)
    intro = _request(app)
    auth.logout()
    auth.login(bob)
    response = client.post(
        f"/intros/{intro.id}/decline", data={"reason": "goals_differ"}, headers=HX_PARTIAL
    )
    assert response.status_code == 200 and "You declined this request" in response.get_data(
        as_text=True
    )
    auth.logout()
    auth.login(alice)
    page = client.get(f"/intros/{intro.id}").get_data(as_text=True)
    assert "Bob feels that your goals point in different directions." in page
    assert "says nothing about you" in page


def test_other_times_then_moving_and_cancelling(client, auth, app, pair):
    alice, bob = pair
    auth.login(alice)
    _send(client, bob.id)
    intro = _request(app)
    auth.logout()
    auth.login(bob)
    response = client.post(
        f"/intros/{intro.id}/times",
        data={"times": _times(3), "note": "Thursday?"},
        headers=HX_PARTIAL,
    )
    assert response.status_code == 200 and "Thursday?" in response.get_data(as_text=True)
    bad = client.post(f"/intros/{intro.id}/times", data={"times": _times(4)}, headers=HX_PARTIAL)
    assert bad.status_code == 403  # Alice answers next
    auth.logout()
    auth.login(alice)
    client.post(f"/intros/{intro.id}/accept", data={"slot": _slots(app, intro.id)[0]})
    assert _request(app).state == "scheduled"
    response = client.post(f"/intros/{intro.id}/times", data={"times": _times(5)})
    assert response.status_code == 303 and _request(app).state == "pending"
    auth.logout()
    auth.login(bob)
    client.post(f"/intros/{intro.id}/accept", data={"slot": _slots(app, intro.id)[0]})
    response = client.post(
        f"/intros/{intro.id}/cancel", data={"note": "Sorry!"}, headers=HX_PARTIAL
    )
    assert response.status_code == 200 and _request(app).state == "cancelled"
    ics = client.get(f"/intros/{intro.id}/call.ics")
    assert b"STATUS:CANCELLED" in ics.data and b"SEQUENCE:4" in ics.data, ics.data.decode()


def test_deciding_after_the_call_leads_to_the_tandem(client, auth, app, pair, mallory):
    alice, bob = pair
    request_id = scheduled(app, alice, bob, now=utcnow())
    auth.login(alice)
    early = client.post(
        f"/intros/{request_id}/outcome", data={"outcome": "continue"}, headers=HX_PARTIAL
    )
    assert early.status_code == 409 and "once the call has taken place" in early.get_data(
        as_text=True
    )
    with app.app_context():  # the call took place
        db.session.execute(
            update(IntroRequest)
            .where(IntroRequest.id == request_id)
            .values(
                scheduled_start=utcnow() - timedelta(hours=1),
                scheduled_end=utcnow() - timedelta(minutes=30),
            )
        )
        db.session.commit()
    page = client.get(f"/intros/{request_id}").get_data(as_text=True)
    assert "How do you want to go on?" in page
    response = client.post(
        f"/intros/{request_id}/outcome", data={"outcome": "continue", "feedback": "Thanks!"}
    )
    assert response.status_code == 303
    assert "waiting for Bob to decide" in client.get(f"/intros/{request_id}").get_data(as_text=True)
    auth.logout()
    auth.login(bob)
    response = client.post(
        f"/intros/{request_id}/outcome", data={"outcome": "continue"}, headers=HX_PARTIAL
    )
    assert response.status_code == 200  # htmx is sent on to the tandem
    tandem_path = response.headers["HX-Location"].removeprefix("/tandems/")
    tandem = client.get(f"/tandems/{tandem_path}").get_data(as_text=True)
    assert "Your tandem with Alice" in tandem and "Thanks!" in tandem
    assert "you are a tandem now" in tandem
    assert "Open your tandem" in client.get(f"/intros/{request_id}").get_data(as_text=True)
    auth.logout()
    auth.login(mallory)
    assert client.get(f"/tandems/{tandem_path}").status_code == 404


def test_the_thread_updates_in_place(client, auth, app, pair):
    alice, bob = pair
    auth.login(alice)
    _send(client, bob.id)
    intro = _request(app)
    response = client.post(
        f"/intros/{intro.id}/messages",
        data={"body": "<script>alert(1)</script> Jitsi?"},
        headers=HX_PARTIAL,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<section id="thread"')
    assert "&lt;script&gt;" in html and "<script>alert" not in html
    assert (
        client.post(
            f"/intros/{intro.id}/messages", data={"body": ""}, headers=HX_PARTIAL
        ).status_code
        == 422
    )
    plain = client.post(f"/intros/{intro.id}/messages", data={"body": "Plain form"})
    assert plain.status_code == 303 and plain.headers["Location"].endswith("#thread")
    polled = client.get(f"/intros/{intro.id}/messages", headers=HX_PARTIAL).get_data(as_text=True)
    assert polled.lstrip().startswith('<div id="thread-messages"') and "Plain form" in polled


def test_the_home_page_shows_what_to_do_next(client, auth, app, pair):
    alice, bob = pair
    auth.login(alice)
    home = client.get("/").get_data(as_text=True)
    assert "Nothing waits for you right now." in home
    _send(client, bob.id)
    assert "waiting since" in client.get("/").get_data(as_text=True)
    auth.logout()
    auth.login(bob)
    home = client.get("/").get_data(as_text=True)
    assert "Answer the intro request from Alice" in home and "your answer is due" in home
    listing = client.get("/intros").get_data(as_text=True)
    assert "Answer the intro request from Alice" in listing and "Earlier requests" in listing


def test_buttons_lead_to_the_request(client, auth, app, alice, bob):
    ready(app, alice)
    ready(app, bob, offers=("Zeitmanagement",), seeks=("Agiles Projektmanagement",))
    auth.login(alice)
    member = client.get(f"/members/{bob.id}").get_data(as_text=True)
    assert f"/members/{bob.id}/intro" in member
    suggestions = client.get("/suggestions").get_data(as_text=True)
    assert f"/members/{bob.id}/intro?source=suggestion" in suggestions
    _send(client, bob.id)
    member = client.get(f"/members/{bob.id}").get_data(as_text=True)
    assert "Your intro call with Bob" in member


def test_tick_command_expires_what_waited_too_long(runner, app, pair):
    alice, bob = pair
    from tests.intro_factories import ask

    ask(app, alice, bob, now=utcnow() - timedelta(days=8))
    result = runner.invoke(args=["tick"])
    assert result.exit_code == 0 and "1 expired, 0 reminded" in result.output, result.output
    assert runner.invoke(args=["tick"]).output.startswith("intro requests: 0 expired")
    assert _request(app).state == "expired"
