"""An intro call in a real browser, with and without JavaScript, in two browser contexts.

Alice asks Bob for an intro call from his member page and offers two of the times when
both are free; Bob finds the request under "What to do next", writes in the thread (in
place where JavaScript runs) and accepts a time; both get the calendar file. After the
call both say "let's continue", and the tandem is formed.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from peerhub.extensions import db, utcnow
from peerhub.intros.models import IntroRequest
from tests.browser.conftest import new_context
from tests.browser.test_matching_journey import login
from tests.conftest import make_user
from tests.intro_factories import ready

# PEERHUB_SHOTS=/tmp/shots keeps a screenshot of each step (for looking, not for asserting).
SHOTS = os.environ.get("PEERHUB_SHOTS")


def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def call_took_place(live, request_id: int) -> None:
    """Move the scheduled call an hour into the past: deciding needs the call behind you."""
    with live.app.app_context():
        db.session.execute(
            update(IntroRequest)
            .where(IntroRequest.id == request_id)
            .values(
                scheduled_start=utcnow() - timedelta(hours=1),
                scheduled_end=utcnow() - timedelta(minutes=30),
            )
        )
        db.session.commit()
        db.session.remove()


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_request_to_lets_continue(browser, live, a11y, javascript):
    variant = "js" if javascript else "nojs"
    alice = make_user(live.app, f"alice-i{variant}@example.org", "Alice", timezone="Europe/Berlin")
    bob = make_user(live.app, f"bob-i{variant}@example.org", "Bob", timezone="America/New_York")
    ready(live.app, alice, bob)
    alice_context = new_context(browser, javascript, locale="en-GB")
    bob_context = new_context(browser, javascript, locale="en-GB")
    alice_page, bob_page = alice_context.new_page(), bob_context.new_page()
    login(alice_page, live, alice.email)
    login(bob_page, live, bob.email)

    # Alice asks Bob from his member page, offering two of the times when both are free
    page = alice_page
    page.goto(f"{live.url}/members/{bob.id}")
    page.get_by_role("link", name="Ask Bob for an intro call").click()
    expect(page.get_by_role("heading", name="Ask Bob for an intro call")).to_be_visible()
    a11y.check(page, javascript)
    shot(page, f"{variant}-1-request-form")
    page.get_by_label("Your message").fill("Hi Bob, I would love to learn how you plan a week.")
    times = page.get_by_role("group", name="Propose one to three times").get_by_role("checkbox")
    expect(times.nth(1)).to_be_visible()
    times.nth(0).check()
    times.nth(1).check()
    page.get_by_role("button", name="Send the request").click()
    expect(page).to_have_url(re.compile(r"/intros/\d+$"))
    expect(page.get_by_text("Your request is on its way to Bob.")).to_be_visible()
    intro = page.locator("#intro")
    expect(intro.locator(".state-badge")).to_have_text("Finding a time")
    expect(intro.locator(".slot-list li")).to_have_count(2)
    request_url = page.url
    request_id = int(request_url.rsplit("/", 1)[1])
    a11y.check(page, javascript)
    shot(page, f"{variant}-2-request-pending")

    # Bob finds it under "What to do next" and writes in the thread
    page = bob_page
    page.goto(live.url + "/")
    next_steps = page.get_by_role("region", name="What to do next")
    answer = next_steps.get_by_role("link", name=re.compile(r"\bAlice\b"))
    expect(answer).to_have_text(re.compile(r"^\s*Answer\b"))  # "Answer the intro request from …"
    answer.click()
    expect(page).to_have_url(request_url)
    expect(page.get_by_text("Alice writes:")).to_be_visible()
    expect(page.get_by_text("I would love to learn how you plan a week.")).to_be_visible()
    a11y.check(page, javascript)
    thread = page.locator("#thread")
    if javascript:
        page.evaluate("() => { window.__sameDocument = true }")
    thread.get_by_label("Your message").fill("Hello Alice! Tuesday works well for me.")
    thread.get_by_role("button", name="Send").click()
    expect(page.locator("#thread-messages")).to_contain_text(
        "Hello Alice! Tuesday works well for me."
    )
    if javascript:
        assert page.url == request_url  # the thread was swapped in place
        assert page.evaluate("() => window.__sameDocument === true")
        expect(thread.get_by_label("Your message")).to_have_value("")
    else:
        expect(page).to_have_url(request_url + "#thread")
    a11y.check(page, javascript)

    # Alice sees Bob's message
    alice_page.reload()
    expect(alice_page.locator("#thread-messages")).to_contain_text(
        "Hello Alice! Tuesday works well for me."
    )

    # Bob accepts the first time: the call is scheduled, with a calendar file
    page.goto(request_url)
    page.get_by_role("button", name="Accept this time").click()
    expect(page.locator("#intro .state-badge")).to_have_text("Scheduled")
    expect(page.get_by_text("The call is scheduled.")).to_be_visible()
    calendar = page.get_by_role("link", name="Add to your calendar (.ics)")
    with page.expect_download() as info:
        calendar.click()
    download = info.value
    assert download.suggested_filename == f"intro-call-{request_id}.ics"
    ics = Path(download.path()).read_text()
    assert ics.startswith("BEGIN:VCALENDAR")
    assert "STATUS:CONFIRMED" in ics
    a11y.check(page, javascript)
    shot(page, f"{variant}-3-scheduled")

    # the call took place; Alice wants to continue and leaves Bob a note
    call_took_place(live, request_id)
    page = alice_page
    page.reload()
    expect(page.get_by_role("heading", name="How do you want to go on?")).to_be_visible()
    a11y.check(page, javascript)
    shot(page, f"{variant}-4-decision")
    page.get_by_label("Let's continue").check()
    page.get_by_label("Private feedback for the other (optional)").fill(
        "Thank you, Bob! Your weekly review idea is gold."
    )
    page.get_by_role("button", name="Send my decision").click()
    expect(page.get_by_text("We are waiting for Bob to decide.")).to_be_visible()
    a11y.check(page, javascript)

    # Bob wants to continue too: they are a tandem, and he reads Alice's note
    page = bob_page
    page.reload()
    page.get_by_label("Let's continue").check()
    page.get_by_role("button", name="Send my decision").click()
    # he is taken straight to the tandem, where Alice's note waits for him
    expect(page.get_by_role("heading", level=1)).to_have_text("Your tandem with Alice")
    expect(page.get_by_text("you are a tandem now")).to_be_visible()
    expect(page.get_by_text("Alice left you a note after your intro call:")).to_be_visible()
    expect(page.get_by_text("Thank you, Bob! Your weekly review idea is gold.")).to_be_visible()
    expect(page.get_by_text("Next step: your agreement")).to_be_visible()
    a11y.check(page, javascript)
    shot(page, f"{variant}-6-tandem")

    # Alice's home page asks her for the agreement next
    page = alice_page
    page.goto(live.url + "/")
    next_steps = page.get_by_role("region", name="What to do next")
    expect(next_steps.get_by_role("link", name="Write your agreement with Bob")).to_be_visible()
    a11y.check(page, javascript)
    shot(page, f"{variant}-7-home")
    alice_context.close()
    bob_context.close()
