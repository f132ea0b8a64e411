"""Moderation in a real browser, with and without JavaScript, in three browser contexts.

Bob answers Alice's intro request with an insult. Alice reports the message from the
thread; Mo finds the case in the review queue and suspends Bob from its card (in place where
JavaScript runs); Bob's login is refused with the reason and the end of the suspension, and
the refusal links to the appeal form; Alice reads on her reports page that the moderators
took action. axe checks every page on the way.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from flask_babel import force_locale
from playwright.sync_api import expect
from sqlalchemy import select

from peerhub.accounts.models import User
from peerhub.extensions import db
from peerhub.intros import service as intros
from peerhub.moderation.models import ReportCase
from tests.browser.conftest import new_context
from tests.browser.test_matching_journey import login
from tests.conftest import PASSWORD, make_user
from tests.intro_factories import ask, ready

INSULT = "You are useless. Nobody wants to be your tandem."
REASON = "Insults in an intro thread are not OK here."


def same_document(page) -> None:
    page.evaluate("() => { window.__sameDocument = true }")


def still_same_document(page) -> None:
    assert page.evaluate("() => window.__sameDocument === true")


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_report_suspend_refuse_and_tell(browser, live, a11y, javascript):
    variant = "js" if javascript else "nojs"
    alice = make_user(live.app, f"alice-m{variant}@example.org", "Alice")
    bob = make_user(live.app, f"bob-m{variant}@example.org", "Bob", timezone="America/New_York")
    mod = make_user(live.app, f"mod-m{variant}@example.org", "Mo", role="moderator")
    ready(live.app, alice, bob)
    request_id = ask(live.app, alice, bob, now=datetime.now(UTC))
    with live.app.app_context(), force_locale("en"):
        message_id = intros.post_message(db.session.get(User, bob.id), request_id, INSULT).id
        db.session.remove()

    # 1. Alice reports Bob's message from their thread
    alice_context = new_context(browser, javascript, locale="en-GB", timezone_id="Europe/Berlin")
    page = alice_context.new_page()
    login(page, live, alice.email)
    page.goto(f"{live.url}/intros/{request_id}")
    thread = page.locator("#thread-messages")
    expect(thread).to_contain_text(INSULT)
    a11y.check(page, javascript)
    thread.get_by_role("link", name="Report").click()
    expect(page).to_have_url(f"{live.url}/messages/{message_id}/report")
    form = page.locator("#report-form")
    expect(form.get_by_role("heading", level=1)).to_have_text("Report a message from Bob")
    expect(form.locator("blockquote")).to_have_text(INSULT)
    a11y.check(page, javascript)
    # sending without a category is refused in place, with the message
    form.get_by_role("button", name="Send the report").click()
    form = page.locator("#report-form")
    expect(form.get_by_role("alert")).to_have_text("Please choose what the problem is.")
    a11y.check(page, javascript)
    if javascript:
        same_document(page)
    form.get_by_label("Harassment or bullying").check()
    form.get_by_label(re.compile("^What happened")).fill("He wrote this when I asked about times.")
    form.get_by_role("button", name="Send the report").click()
    if javascript:  # the form became its thank-you, in place
        expect(page.locator("#report-form").get_by_role("status")).to_contain_text("Thank you.")
        still_same_document(page)
        page.locator("#report-form").get_by_role("link", name=re.compile("^Your reports")).click()
    else:
        expect(page.get_by_role("status")).to_contain_text("Thank you.")
    expect(page).to_have_url(f"{live.url}/reports")
    expect(page.get_by_role("main")).to_contain_text("A message from Bob")
    expect(page.get_by_role("main")).to_contain_text("Being reviewed")
    a11y.check(page, javascript)
    with live.app.app_context():
        case_id = db.session.scalar(select(ReportCase.id).where(ReportCase.target_id == message_id))

    # 2. Mo suspends Bob from the case's card in the queue
    mod_context = new_context(browser, javascript, locale="en-GB", timezone_id="Europe/Berlin")
    mod_page = mod_context.new_page()
    login(mod_page, live, mod.email)
    mod_page.get_by_role("navigation", name="Main").get_by_role("link", name="Moderation").click()
    expect(mod_page).to_have_url(f"{live.url}/moderation/queue")
    card = mod_page.locator(f"#case-{case_id}")
    expect(card).to_contain_text(INSULT)
    expect(card).to_contain_text("He wrote this when I asked about times.")
    expect(card).to_contain_text("Harassment or bullying")
    a11y.check(mod_page, javascript)
    if javascript:
        same_document(mod_page)
    card.get_by_label("Suspend Bob until the day below").check()
    card.get_by_label(re.compile("^Reason")).fill(REASON)
    until = date.today() + timedelta(days=14)
    card.get_by_label(re.compile("^Suspended until")).fill(until.isoformat())
    card.get_by_role("button", name="Decide").click()
    card = mod_page.locator(f"#case-{case_id}")
    notice = (card if javascript else mod_page).get_by_role("status")
    expect(notice).to_have_text("Bob is suspended; every session of theirs has ended.")
    if javascript:
        expect(card).to_contain_text("Resolved")
        expect(card).to_contain_text(REASON)
        still_same_document(mod_page)
    else:
        expect(mod_page).to_have_url(f"{live.url}/moderation/queue")
        expect(mod_page.get_by_role("main")).to_contain_text("No open cases.")
    restricted = mod_page.get_by_role("region", name="Suspended and banned members")
    if not javascript:
        expect(restricted).to_contain_text("Bob")
    a11y.check(mod_page, javascript)
    with live.app.app_context():
        assert db.session.get(User, bob.id).status == "suspended"

    # 3. Bob's login is refused: he reads why and until when, and may appeal
    bob_context = new_context(browser, javascript, locale="en-US", timezone_id="America/New_York")
    bob_page = bob_context.new_page()
    bob_page.goto(live.url + "/login")
    bob_page.get_by_label("E-mail address").fill(bob.email)
    bob_page.get_by_label("Password").fill(PASSWORD)
    bob_page.get_by_role("button", name="Log in").click()
    refusal = bob_page.get_by_role("alert")
    expect(refusal).to_contain_text("This account is suspended until")
    expect(refusal).to_contain_text("(America/New_York)")
    expect(refusal).to_contain_text(REASON)
    expect(bob_page.get_by_role("button", name="Log out")).to_have_count(0)
    a11y.check(bob_page, javascript)
    bob_page.get_by_role("link", name="Appeal the suspension").click()
    expect(bob_page.get_by_role("heading", level=1)).to_have_text("Appeal your suspension")
    expect(bob_page.get_by_role("main")).to_contain_text(REASON)
    a11y.check(bob_page, javascript)
    bob_page.get_by_label("Why do you think it was wrong?").fill("It was a bad joke. Sorry.")
    bob_page.get_by_role("button", name="Send the appeal").click()
    expect(bob_page.get_by_role("status")).to_contain_text("Your appeal is with the moderators")
    a11y.check(bob_page, javascript)

    # 4. Alice reads the outcome, in general words
    page.goto(f"{live.url}/reports")
    expect(page.get_by_role("main")).to_contain_text("Reviewed: we took action")
    a11y.check(page, javascript)
    page.goto(f"{live.url}/notifications/")
    expect(page.get_by_role("main")).to_contain_text(
        "Your report about Bob was reviewed: we took action."
    )
    page.goto(f"{live.url}/intros/{request_id}")
    expect(page.locator("#thread-messages")).to_contain_text(INSULT)  # suspended, not hidden

    for context in (alice_context, mod_context, bob_context):
        context.close()
