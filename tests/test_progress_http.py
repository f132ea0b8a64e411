"""Reflection in a tandem over HTTP: check-ins (nobody peeks), goals and milestones marked
reached, success stories and the successes page, the review of a term, and feedback after a
session. Every form with and without htmx, refusals as 4xx with the message in place, and
the pages in German.

The tandem began three weeks before the real clock's now (the views use it), so it has
sessions behind it (for feedback) and ahead of it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from peerhub.extensions import db
from peerhub.journal import service as journal
from peerhub.meetings.models import SessionFeedback
from peerhub.tandems import progress
from peerhub.tandems.models import CheckInAnswer, SuccessStory, Tandem
from tests.conftest import HX_BOOSTED, HX_PARTIAL, make_user
from tests.intro_factories import ready
from tests.session_factories import active_tandem, sessions_of, user

GOAL = "Lead meetings that end on time"  # the profiles' goal: the agreement's goal g1
MILESTONE = "Halfway: what has changed so far?"
GERMAN = {"Accept-Language": "de"}
BOTH = pytest.mark.parametrize("headers", [{}, HX_PARTIAL], ids=["page", "htmx"])


def weeks_ago(weeks: int = 3) -> datetime:
    return datetime.now(UTC) - timedelta(weeks=weeks)


def html(response) -> str:
    return response.get_data(as_text=True)


def alert(body: str) -> str:
    """The text of the first error message on the page or fragment."""
    found = re.search(r'class="flash flash-error" role="alert"[^>]*>(.*?)</p>', body, re.S)
    assert found, body
    return found.group(1)


def is_fragment(body: str, root: str) -> bool:
    return body.lstrip().startswith(f'<section id="{root}"') and "<html" not in body


@pytest.fixture
def tandem_id(app, alice, bob) -> int:
    return active_tandem(app, alice, bob, now=weeks_ago())


@pytest.fixture
def signed_in(client, auth, alice, tandem_id):
    auth.login(alice)
    return client


def open_check_in(app, persona, tandem_id: int) -> int:
    with app.app_context():
        return progress.start_check_in(user(persona), tandem_id).id


def answer(app, persona, check_in_id: int, rating: int = 40, helped: str = "", change: str = ""):
    with app.app_context():
        progress.answer(user(persona), check_in_id, {"g1": rating}, helped, change)


def reach(app, persona, tandem_id: int, kind: str = "goal", key: str = "g1") -> int:
    with app.app_context():
        return progress.mark_reached(user(persona), tandem_id, kind, key).id


def write_story(app, persona, achievement_id: int, text: str, show_name: bool) -> int:
    with app.app_context():
        return progress.write_story(user(persona), achievement_id, text, show_name).id


def signed_in_as(app, auth, persona):
    """A second browser, signed in as `persona`."""
    other = app.test_client()
    auth.login(persona, client=other)
    return other


def past_session(tandem_id: int):
    return [s for s in sessions_of(tandem_id) if s.start < datetime.now(UTC)][-1]


def coming_session(tandem_id: int):
    return next(s for s in sessions_of(tandem_id) if s.start > datetime.now(UTC))


def session_url(session, action: str = "") -> str:
    base = f"/sessions/{session.series.id}/{session.number}"
    return f"{base}/{action}" if action else base


# --- check-ins --------------------------------------------------------------------------------


def test_the_check_ins_page_offers_to_check_in_now(signed_in, tandem_id):
    page = signed_in.get(f"/tandems/{tandem_id}/check-ins")
    assert page.status_code == 200
    body = html(page)
    assert "<h1>Check-ins</h1>" in body and "No check-in is open" in body
    assert "Check in now" in body and "Goals and milestones" in body
    assert "Your check-ins draw this goal's progress here." in body
    boosted = signed_in.get(f"/tandems/{tandem_id}/check-ins", headers=HX_BOOSTED)
    assert boosted.data.startswith(b"<!doctype html>")
    # the page has no fragment of its own: a partial request gets it whole too
    assert "<html" in html(signed_in.get(f"/tandems/{tandem_id}/check-ins", headers=HX_PARTIAL))


def test_checking_in_now_without_javascript_goes_to_the_check_in(app, signed_in, tandem_id):
    answer_ = signed_in.post(f"/tandems/{tandem_id}/check-ins")
    assert answer_.status_code == 303
    location = answer_.headers["Location"]
    assert location.startswith("/check-ins/")
    page = html(signed_in.get(location))
    assert "Check-in 1," in page and "Send my answer" in page
    assert "Waiting for: you, Bob." in page
    # a second click opens no second check-in
    assert signed_in.post(f"/tandems/{tandem_id}/check-ins").headers["Location"] == location
    overview = html(signed_in.get(f"/tandems/{tandem_id}/check-ins"))
    assert 'id="check-in"' in overview and "No check-in is open" not in overview


def test_checking_in_now_with_htmx_sends_the_member_to_the_check_in(signed_in, tandem_id):
    answer_ = signed_in.post(f"/tandems/{tandem_id}/check-ins", headers=HX_PARTIAL)
    assert answer_.status_code == 200 and answer_.headers["HX-Location"].startswith("/check-ins/")


def test_a_forming_tandem_cannot_check_in(app, client, auth, alice, bob):
    from peerhub.tandems.service import start_tandem

    ready(app, alice, bob)
    with app.app_context():
        tandem = start_tandem([alice.id, bob.id])
        db.session.commit()
        tandem_id = tandem.id
    auth.login(alice)
    refused = client.post(f"/tandems/{tandem_id}/check-ins")
    assert refused.status_code == 409
    assert "Check-ins begin once everyone has signed the agreement." in html(refused)
    assert client.get(f"/tandems/{tandem_id}/review").status_code == 404


def test_a_check_in_page_shows_the_answer_form(app, signed_in, tandem_id, alice):
    check_in_id = open_check_in(app, alice, tandem_id)
    page = signed_in.get(f"/check-ins/{check_in_id}")
    assert page.status_code == 200
    body = html(page)
    assert f'<label for="goal_g1">{GOAL}</label>' in body
    assert "Nobody sees the answers before everyone has answered." in body
    assert "All check-ins of your tandem" in body


def test_answering_without_javascript_redirects_with_a_flash(app, signed_in, tandem_id, alice):
    check_in_id = open_check_in(app, alice, tandem_id)
    data = {"goal_g1": "40", "helped": "Timeboxing", "change": "Start on time"}
    answered = signed_in.post(f"/check-ins/{check_in_id}", data=data)
    assert answered.status_code == 303
    assert answered.headers["Location"].endswith(f"/check-ins/{check_in_id}")
    page = html(signed_in.get(answered.headers["Location"]))
    assert "Thank you: your answer is saved. You read the others&#39; once everyone" in page
    assert "Change my answer" in page and 'value="40"' in page and "Timeboxing" in page
    assert "Waiting for: Bob." in page


def test_answering_with_htmx_answers_the_check_in_in_place(app, signed_in, tandem_id, alice):
    check_in_id = open_check_in(app, alice, tandem_id)
    data = {"goal_g1": "55 %", "helped": "Timeboxing"}
    answered = signed_in.post(f"/check-ins/{check_in_id}", data=data, headers=HX_PARTIAL)
    assert answered.status_code == 200
    body = html(answered)
    assert is_fragment(body, "check-in")
    assert "Thank you: your answer is saved." in body and 'value="55"' in body
    # changing it is allowed until everyone answered
    again = signed_in.post(f"/check-ins/{check_in_id}", data={"goal_g1": "60"}, headers=HX_PARTIAL)
    assert again.status_code == 200 and 'value="60"' in html(again)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CheckInAnswer)) == 1


@BOTH
@pytest.mark.parametrize("rating", ["101", "", "-5", "lots"])
def test_a_rating_out_of_range_is_refused_in_place(
    app, signed_in, tandem_id, alice, headers, rating
):
    check_in_id = open_check_in(app, alice, tandem_id)
    data = {"goal_g1": rating, "helped": "kept words"}
    refused = signed_in.post(f"/check-ins/{check_in_id}", data=data, headers=headers)
    assert refused.status_code == 422
    body = html(refused)
    assert f"Rate “{GOAL}” from 0 to 100 %." in body
    assert 'aria-invalid="true" aria-describedby="check-in-error"' in body
    assert "kept words" in body  # what was typed stays
    assert is_fragment(body, "check-in") == bool(headers)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CheckInAnswer)) == 0


def test_a_rating_in_unicode_digits_is_refused_not_a_server_error(app, signed_in, tandem_id, alice):
    """ "²".isdigit() is true but int("²") fails: bad input must be a 422, never a 500."""
    check_in_id = open_check_in(app, alice, tandem_id)
    refused = signed_in.post(f"/check-ins/{check_in_id}", data={"goal_g1": "²"})
    assert refused.status_code == 422


def test_a_check_in_refusal_speaks_german(app, client, auth, carol, bob):
    tandem_id = active_tandem(app, carol, bob, now=weeks_ago())
    check_in_id = open_check_in(app, carol, tandem_id)
    auth.login(carol)  # Carol's language is German
    for rating in ("101", ""):
        refused = client.post(
            f"/check-ins/{check_in_id}", data={"goal_g1": rating}, headers=HX_PARTIAL
        )
        assert refused.status_code == 422
        message = alert(html(refused))
        # needs the German catalogue: "Rate “%(goal)s” from 0 to 100 %%."
        assert GOAL in message and message != f"Rate “{GOAL}” from 0 to 100 %.", message
        assert " bis 100" in message, message


def test_a_check_in_page_speaks_german(app, client, auth, carol, bob):
    tandem_id = active_tandem(app, carol, bob, now=weeks_ago())
    check_in_id = open_check_in(app, carol, tandem_id)
    auth.login(carol)
    page = html(client.get(f"/check-ins/{check_in_id}", headers=GERMAN))
    assert 'lang="de"' in page
    # needs the German catalogue: "Send my answer", "Check-in %(num)d, %(date)s"
    assert "Antwort" in page and "Check-in 1" in page


def test_nobody_reads_the_others_answers_before_answering(app, auth, alice, bob, tandem_id):
    check_in_id = open_check_in(app, alice, tandem_id)
    answer(app, alice, check_in_id, 40, helped="Alice's timebox trick", change="Shorter intros")
    bobs = signed_in_as(app, auth, bob)
    before = html(bobs.get(f"/check-ins/{check_in_id}"))
    assert "Alice&#39;s timebox trick" not in before and "Shorter intros" not in before
    assert "Answered so far: Alice." in before and "Waiting for: you." in before
    overview = html(bobs.get(f"/tandems/{tandem_id}/check-ins"))
    assert "timebox trick" not in overview
    review = html(bobs.get(f"/tandems/{tandem_id}/review"))
    assert "timebox trick" not in review
    done = bobs.post(
        f"/check-ins/{check_in_id}",
        data={"goal_g1": "70", "helped": "Bob's agenda"},
        headers=HX_PARTIAL,
    )
    assert done.status_code == 200
    body = html(done)
    assert "Thank you: everyone has answered, so you can read each other&#39;s answers now." in body
    assert "Alice&#39;s timebox trick" in body and "Bob&#39;s agenda" in body
    alices = signed_in_as(app, auth, alice)
    page = html(alices.get(f"/check-ins/{check_in_id}"))
    assert "Everyone has answered." in page
    assert "Alice&#39;s timebox trick" in page and "Bob&#39;s agenda" in page
    assert "Adjust the agreement" in page
    # once everyone answered, the answers stay as they are
    late = alices.post(f"/check-ins/{check_in_id}", data={"goal_g1": "90"}, headers=HX_PARTIAL)
    assert late.status_code == 409
    assert "Everyone has answered this check-in; the answers stay as they are." in html(late)
    # the journeys chart both members' ratings now
    review = html(alices.get(f"/tandems/{tandem_id}/review"))
    assert "Bob&#39;s agenda" in review and "everyone answered" in review


def test_a_closed_check_in_refuses_answers(app, signed_in, auth, alice, bob, tandem_id):
    first = open_check_in(app, alice, tandem_id)
    answer(app, alice, first, helped="Alice before closing")
    with app.app_context():
        # the next check-in opened (the tick's, say): it closes the first, Bob never answered
        tandem = db.session.get(Tandem, tandem_id)
        progress._open(tandem, tandem.next_check_in_on, None, datetime.now(UTC))
        db.session.commit()
    page = html(signed_in.get(f"/tandems/{tandem_id}/check-ins"))
    assert "Earlier check-ins" in page and f'href="/check-ins/{first}"' in page
    assert "1 of 2 answered" in page
    closed = html(signed_in.get(f"/check-ins/{first}"))
    assert "This check-in closed before everyone answered." in closed
    assert "Alice before closing" in closed and "Send my answer" not in closed
    bobs = signed_in_as(app, auth, bob)
    late = bobs.post(f"/check-ins/{first}", data={"goal_g1": "50"}, headers=HX_PARTIAL)
    assert late.status_code == 409
    assert "This check-in is closed: a newer one has opened." in html(late)
    unanswered = html(bobs.get(f"/check-ins/{first}"))
    assert "You did not answer this check-in, so its answers stay private" in unanswered
    assert "Alice before closing" not in unanswered


# --- reached ----------------------------------------------------------------------------------


def test_marking_a_goal_reached_without_javascript(app, signed_in, tandem_id, bob, auth):
    marked = signed_in.post(f"/tandems/{tandem_id}/reached", data={"kind": "goal", "key": "g1"})
    assert marked.status_code == 303
    assert marked.headers["Location"].endswith(f"/tandems/{tandem_id}#goals")
    page = html(signed_in.get(f"/tandems/{tandem_id}"))
    assert "Congratulations! We told the others." in page
    assert f"You reached a goal: {GOAL}" in page and "Not reached after all" in page
    assert "Share it with the community (if everyone agrees)" in page
    # a second click marks nothing twice
    again = signed_in.post(f"/tandems/{tandem_id}/reached", data={"kind": "goal", "key": "g1"})
    assert again.status_code == 303
    assert html(signed_in.get(f"/tandems/{tandem_id}")).count(f"You reached a goal: {GOAL}") == 1
    bobs = signed_in_as(app, auth, bob)
    assert f"You reached a goal: {GOAL}" in html(bobs.get(f"/tandems/{tandem_id}"))


def test_marking_and_unmarking_with_htmx_answers_the_goals_in_place(app, signed_in, tandem_id):
    marked = signed_in.post(
        f"/tandems/{tandem_id}/reached",
        data={"kind": "milestone", "key": "m1"},
        headers=HX_PARTIAL,
    )
    assert marked.status_code == 200
    body = html(marked)
    assert is_fragment(body, "goals")
    assert "Congratulations! We told the others." in body
    assert f"You reached a milestone: {MILESTONE}" in body
    with app.app_context():
        [achievement] = progress.achievements_of(db.session.get(Tandem, tandem_id))
        achievement_id = achievement.id
    unmarked = signed_in.post(f"/achievements/{achievement_id}/unmark", headers=HX_PARTIAL)
    assert unmarked.status_code == 200
    body = html(unmarked)
    assert is_fragment(body, "goals") and "It is no longer marked as reached." in body
    assert "You reached a milestone" not in body
    # taken back already: nothing goes by that id any more
    assert signed_in.post(f"/achievements/{achievement_id}/unmark").status_code == 404


def test_unmarking_without_javascript_redirects_with_a_flash(app, signed_in, alice, tandem_id):
    achievement_id = reach(app, alice, tandem_id)
    unmarked = signed_in.post(f"/achievements/{achievement_id}/unmark")
    assert unmarked.status_code == 303 and unmarked.headers["Location"].endswith("#goals")
    page = html(signed_in.get(unmarked.headers["Location"]))
    assert "It is no longer marked as reached." in page and "You reached a goal" not in page


@BOTH
def test_marking_what_is_not_in_the_agreement_is_refused_in_place(signed_in, tandem_id, headers):
    refused = signed_in.post(
        f"/tandems/{tandem_id}/reached", data={"kind": "goal", "key": "g9"}, headers=headers
    )
    assert refused.status_code == 422
    body = html(refused)
    assert "This goal or milestone is not in your agreement." in body
    assert is_fragment(body, "goals") == bool(headers)
    wrong_kind = signed_in.post(
        f"/tandems/{tandem_id}/reached", data={"kind": "dream", "key": "g1"}, headers=headers
    )
    assert wrong_kind.status_code == 422
    assert "Choose a goal or a milestone." in html(wrong_kind)


# --- stories and the successes page -----------------------------------------------------------


def test_the_story_page_invites_to_write(app, signed_in, alice, tandem_id):
    achievement_id = reach(app, alice, tandem_id)
    page = signed_in.get(f"/achievements/{achievement_id}/story")
    assert page.status_code == 200
    body = html(page)
    assert f"Your success: {GOAL}" in body and "Write the story" in body
    assert "Save the story" in body


@BOTH
def test_an_empty_story_is_refused_with_the_message(app, signed_in, alice, tandem_id, headers):
    achievement_id = reach(app, alice, tandem_id)
    refused = signed_in.post(
        f"/achievements/{achievement_id}/story", data={"text": "   "}, headers=headers
    )
    assert refused.status_code == 422
    body = html(refused)
    assert "Write a few sentences about what you reached." in body
    assert 'aria-invalid="true" aria-describedby="story-error"' in body
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SuccessStory)) == 0


def test_a_too_long_story_is_refused(app, signed_in, alice, tandem_id):
    from peerhub.tandems.models import STORY_MAX

    achievement_id = reach(app, alice, tandem_id)
    refused = signed_in.post(
        f"/achievements/{achievement_id}/story", data={"text": "x" * (STORY_MAX + 1)}
    )
    assert refused.status_code == 422
    assert f"at most {STORY_MAX} characters" in html(refused)


def test_an_empty_story_is_refused_in_german(app, client, auth, carol, bob):
    tandem_id = active_tandem(app, carol, bob, now=weeks_ago())
    achievement_id = reach(app, carol, tandem_id)
    auth.login(carol)
    refused = client.post(f"/achievements/{achievement_id}/story", data={"text": ""})
    assert refused.status_code == 422
    message = alert(html(refused))
    # needs the German catalogue: "Write a few sentences about what you reached."
    assert message != "Write a few sentences about what you reached.", message
    assert "erreicht" in message, message


def test_a_story_appears_only_once_everyone_agreed_and_names_only_who_chose(
    app, client, signed_in, auth, alice, bob, tandem_id
):
    achievement_id = reach(app, alice, tandem_id)
    words = "Our meetings end on time now: the timebox did it."
    saved = signed_in.post(
        f"/achievements/{achievement_id}/story", data={"text": words, "show_name": "1"}
    )
    assert saved.status_code == 303
    assert saved.headers["Location"].endswith(f"/achievements/{achievement_id}/story")
    page = html(signed_in.get(saved.headers["Location"]))
    assert "Your story is saved. It appears on the successes page once everyone agrees." in page
    assert "not shown: waiting for everyone to agree" in page
    assert "agrees, with name" in page
    assert "has not agreed yet" in page  # Bob
    successes = html(signed_in.get("/successes"))
    assert words not in successes and "No stories yet." in successes
    bobs = signed_in_as(app, auth, bob)
    story_page = html(bobs.get(f"/achievements/{achievement_id}/story"))
    assert words in story_page and "I agree that this story appears" in story_page
    with app.app_context():
        story = db.session.scalar(select(SuccessStory))
        story_id, version = story.id, story.version
    agreed = bobs.post(f"/stories/{story_id}/consent", data={"version": str(version)})
    assert agreed.status_code == 303
    after = html(bobs.get(agreed.headers["Location"]))
    assert "Thank you: you agreed to share this story." in after
    assert "on the successes page since" in after and "Take my consent back" in after
    successes = html(bobs.get("/successes"))
    assert words in successes and GOAL in successes
    # Alice chose her name, Bob did not: he is counted, not named
    assert "Alice and 1 more member" in successes and "Bob" not in successes.split("<main")[-1]
    withdrawn = bobs.post(f"/stories/{story_id}/withdraw")
    assert withdrawn.status_code == 303
    after = html(bobs.get(withdrawn.headers["Location"]))
    assert "You took your consent back; the story is not shown on the successes page." in after
    assert words not in html(bobs.get("/successes"))
    # with htmx (boosted forms), the client is sent to the story page
    again = bobs.post(f"/stories/{story_id}/consent", data={"version": "1"}, headers=HX_PARTIAL)
    assert again.status_code == 200 and again.headers["HX-Location"].endswith("/story")
    assert words in html(bobs.get("/successes"))


def test_new_words_need_everyones_consent_again(app, signed_in, auth, alice, bob, tandem_id):
    achievement_id = reach(app, alice, tandem_id)
    story_id = write_story(app, alice, achievement_id, "First words.", True)
    bobs = signed_in_as(app, auth, bob)
    assert bobs.post(f"/stories/{story_id}/consent", data={"version": "1"}).status_code == 303
    assert "First words." in html(signed_in.get("/successes"))
    changed = bobs.post(
        f"/achievements/{achievement_id}/story", data={"text": "Better words.", "show_name": "1"}
    )
    assert changed.status_code == 303
    successes = html(signed_in.get("/successes"))
    assert "First words." not in successes and "Better words." not in successes
    # Alice read version 1: her consent to it is stale now
    stale = signed_in.post(f"/stories/{story_id}/consent", data={"version": "1"})
    assert stale.status_code == 409
    assert "The story changed while you were reading it: please read it again." in html(stale)
    assert signed_in.post(f"/stories/{story_id}/consent", data={"version": "2"}).status_code == 303
    successes = html(signed_in.get("/successes"))
    assert "Better words." in successes and "Bob" in successes and "Alice" not in successes


def test_the_successes_page_for_members(app, client, auth, mallory):
    visitor = client.get("/successes")
    assert visitor.status_code in (302, 303) and "/login" in visitor.headers["Location"]
    auth.login(mallory)
    page = client.get("/successes")
    assert page.status_code == 200
    assert "<h1>Successes</h1>" in html(page)
    assert client.get("/successes", headers=HX_BOOSTED).data.startswith(b"<!doctype html>")


def test_the_successes_page_speaks_german(app, client, auth, carol):
    auth.login(carol)
    page = html(client.get("/successes"))
    assert 'lang="de"' in page
    # needs the German catalogue: "Successes", "No stories yet. …"
    assert "Erfolge" in page, page


# --- the review of a term ---------------------------------------------------------------------


def test_the_review_shows_the_term(app, signed_in, alice, bob, tandem_id):
    check_in_id = open_check_in(app, alice, tandem_id)
    answer(app, alice, check_in_id, 30, helped="Alice's notes")
    answer(app, bob, check_in_id, 50, helped="Bob's notes")
    reach(app, alice, tandem_id, "milestone", "m1")
    with app.app_context():
        entry = journal.write(user(bob), "t1", "Bob's shared insight", "text", tandem_id=tandem_id)
        journal.share(user(bob), entry.id)
        journal.write(user(bob), "t2", "Bob's private insight", "text", tandem_id=tandem_id)
    page = signed_in.get(f"/tandems/{tandem_id}/review")
    assert page.status_code == 200
    body = html(page)
    assert "Your term in review" in body and re.search(r"[Ww]ith Bob\b", body)
    assert "held" in body and "still to come" in body
    assert GOAL in body and "<svg" in body
    assert "Milestones reached" in body and MILESTONE in body
    assert "Alice&#39;s notes" in body and "Bob&#39;s notes" in body
    assert 'aria-labelledby="shared-review"' in body and "Bob&#39;s shared insight" in body
    assert "Bob&#39;s private insight" not in body
    assert signed_in.get(f"/tandems/{tandem_id}/review", headers=HX_BOOSTED).data.startswith(
        b"<!doctype html>"
    )


def test_the_review_speaks_german(app, client, auth, carol, bob):
    tandem_id = active_tandem(app, carol, bob, now=weeks_ago())
    auth.login(carol)
    page = html(client.get(f"/tandems/{tandem_id}/review"))
    assert 'lang="de"' in page
    # needs the German catalogue: "Your term in review"
    assert "Rückblick" in page, page


# --- feedback after a session -----------------------------------------------------------------


def test_feedback_without_javascript_redirects_and_the_others_read_it(
    app, signed_in, auth, bob, tandem_id
):
    with app.app_context():
        session = past_session(tandem_id)
    form = html(signed_in.get(session_url(session)))
    assert 'id="feedback"' in form and "Send my feedback" in form
    sent = signed_in.post(
        session_url(session, "feedback"), data={"helped": "Your questions", "wish": "More pauses"}
    )
    assert sent.status_code == 303
    assert sent.headers["Location"].endswith(session_url(session) + "#feedback")
    page = html(signed_in.get(sent.headers["Location"]))
    assert "Thank you: the others can read your feedback." in page
    assert "Change my feedback" in page and "Your questions" in page
    assert "From Alice" not in page  # one's own is in the form, not shown as received
    bobs = signed_in_as(app, auth, bob)
    received = html(bobs.get(session_url(session)))
    assert "From Alice" in received and "Your questions" in received and "More pauses" in received
    # sending the same words again changes nothing and makes no second row
    assert (
        signed_in.post(
            session_url(session, "feedback"),
            data={"helped": "Your questions", "wish": "More pauses"},
        ).status_code
        == 303
    )
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SessionFeedback)) == 1


def test_feedback_with_htmx_answers_in_place(app, signed_in, tandem_id):
    with app.app_context():
        session = past_session(tandem_id)
    sent = signed_in.post(
        session_url(session, "feedback"), data={"wish": "Start on time"}, headers=HX_PARTIAL
    )
    assert sent.status_code == 200
    body = html(sent)
    assert is_fragment(body, "feedback")
    assert "Thank you: the others can read your feedback." in body and "Start on time" in body


@BOTH
def test_empty_feedback_is_refused_in_place(app, signed_in, tandem_id, headers):
    with app.app_context():
        session = past_session(tandem_id)
    refused = signed_in.post(
        session_url(session, "feedback"), data={"helped": " ", "wish": ""}, headers=headers
    )
    assert refused.status_code == 422
    body = html(refused)
    assert "Write what helped you, or one wish, or both." in body
    assert 'aria-invalid="true" aria-describedby="feedback-error"' in body
    assert is_fragment(body, "feedback") == bool(headers)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SessionFeedback)) == 0


def test_feedback_waits_for_the_session(app, signed_in, tandem_id):
    with app.app_context():
        session = coming_session(tandem_id)
    page = html(signed_in.get(session_url(session)))
    assert "After the session you can leave each other quick feedback here." in page
    refused = signed_in.post(
        session_url(session, "feedback"), data={"helped": "Early"}, headers=HX_PARTIAL
    )
    assert refused.status_code == 409
    assert "Feedback opens once the session has begun." in html(refused)


def test_empty_feedback_is_refused_in_german(app, client, auth, carol, bob):
    tandem_id = active_tandem(app, carol, bob, now=weeks_ago())
    with app.app_context():
        session = past_session(tandem_id)
    auth.login(carol)
    refused = client.post(session_url(session, "feedback"), data={}, headers=HX_PARTIAL)
    assert refused.status_code == 422
    message = alert(html(refused))
    # needs the German catalogue: "Write what helped you, or one wish, or both."
    assert "Wunsch" in message, message


# --- only members --------------------------------------------------------------------------


def test_an_outsider_gets_404_on_every_reflection_page(app, client, auth, alice, bob, tandem_id):
    check_in_id = open_check_in(app, alice, tandem_id)
    achievement_id = reach(app, alice, tandem_id)
    story_id = write_story(app, alice, achievement_id, "Ours.", True)
    with app.app_context():
        session = past_session(tandem_id)
    outsider = make_user(app, "eve@example.org", "Eve")
    auth.login(outsider)
    for method, path, data in [
        ("GET", f"/tandems/{tandem_id}/check-ins", None),
        ("POST", f"/tandems/{tandem_id}/check-ins", None),
        ("GET", f"/check-ins/{check_in_id}", None),
        ("POST", f"/check-ins/{check_in_id}", {"goal_g1": "50"}),
        ("POST", f"/tandems/{tandem_id}/reached", {"kind": "milestone", "key": "m1"}),
        ("POST", f"/achievements/{achievement_id}/unmark", None),
        ("GET", f"/achievements/{achievement_id}/story", None),
        ("POST", f"/achievements/{achievement_id}/story", {"text": "Mine now"}),
        ("POST", f"/achievements/{achievement_id}/story", {"text": ""}),
        ("POST", f"/stories/{story_id}/consent", {"version": "1"}),
        ("POST", f"/stories/{story_id}/withdraw", None),
        ("GET", f"/tandems/{tandem_id}/review", None),
        ("POST", session_url(session, "feedback"), {"helped": "x"}),
        ("POST", session_url(session, "feedback"), {}),
    ]:
        for headers in ({}, HX_PARTIAL):
            answer_ = client.open(path, method=method, data=data, headers=headers)
            assert answer_.status_code == 404, (method, path, headers, answer_.status_code)
    with app.app_context():
        assert db.session.scalar(select(SuccessStory.text)) == "Ours."


@pytest.mark.parametrize("page", ["2", "0", "x", "9999999999999999999"])
def test_any_page_of_successes_is_answered_not_a_server_error(signed_in, page):
    """A number too large for the database's integers must not become a 500."""
    answer = signed_in.get(f"/successes?page={page}")
    assert answer.status_code == 200, answer.status_code
