"""The agreement in a real browser, with and without JavaScript, in two browser contexts.

Alice and Bob are a new tandem. Alice finds "Write your agreement with Bob" under "What to
do next" and rewrites the conversation rules (in place where JavaScript runs); Bob adds a
goal. Bob and Alice then change the same section at once: Bob is shown both texts and
keeps his. Both sign the latest version, it comes into force, and the tandem turns active
with its next sessions; the history and the printable view show the signatures' SHA-256.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from peerhub.extensions import db
from peerhub.tandems.service import start_tandem
from tests.browser.conftest import new_context
from tests.browser.test_matching_journey import login
from tests.conftest import make_user
from tests.intro_factories import ready

# PEERHUB_SHOTS=/tmp/shots keeps a screenshot of each step, on a phone and on a desktop
# (for looking, not for asserting).
SHOTS = os.environ.get("PEERHUB_SHOTS")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
SHA256 = re.compile(r"^[0-9a-f]{64}$")

RULES = "We listen first and ask before we advise. Phones stay away during a session."
ALICE_FEEDBACK = "We ask before we give feedback and keep it to what we saw."
BOB_FEEDBACK = "Every fourth session we spend ten minutes on how our tandem is going."


def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/{name}-phone.png", full_page=True)
        page.set_viewport_size(DESKTOP)
        page.screenshot(path=f"{SHOTS}/{name}-desktop.png", full_page=True)
        page.set_viewport_size(PHONE)


def open_editor(page, title: str, javascript: bool):
    """Follow a section's "Edit" link; returns the section (JS) or the editor page's section."""
    section = page.get_by_role("region", name=title, exact=True)
    url = page.url
    # "Edit" and a visually hidden ": <title>" (Chromium reads "Edit : <title>")
    section.get_by_role("link", name=re.compile(rf"^Edit\s*:\s*{re.escape(title)}$")).click()
    section = page.get_by_role("region", name=title, exact=True)
    expect(section.get_by_role("button", name="Save")).to_be_visible()
    if javascript:
        assert page.url == url  # the editor took the section's place
    else:
        expect(page).to_have_url(re.compile(r"/agreement/\w+/edit$"))
        expect(page.get_by_role("link", name="← Back to the agreement")).to_be_visible()
    return section


def same_document(page) -> None:
    page.evaluate("() => { window.__sameDocument = true }")


def still_same_document(page, url: str) -> None:
    assert page.url == url
    assert page.evaluate("() => window.__sameDocument === true")


def sign(page, name: str, version: int) -> None:
    signing = page.get_by_role("region", name="Signatures")
    signing.get_by_label(f"Type your full name to sign: {name}").fill(name)
    signing.get_by_label(f"I have read version {version} of our agreement").check()
    signing.get_by_role("button", name=f"Sign version {version}").click()


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_edit_sign_and_see_the_agreement_become_active(browser, live, a11y, javascript):
    variant = "js" if javascript else "nojs"
    alice = make_user(live.app, f"alice-t{variant}@example.org", "Alice", timezone="Europe/Berlin")
    bob = make_user(live.app, f"bob-t{variant}@example.org", "Bob", timezone="America/New_York")
    ready(live.app, alice, bob)
    with live.app.app_context():
        tandem_id = start_tandem([alice.id, bob.id]).id
        db.session.commit()
        db.session.remove()
    tandem_url = f"{live.url}/tandems/{tandem_id}"
    agreement_url = f"{tandem_url}/agreement"
    alice_context = new_context(browser, javascript, locale="en-GB", viewport=PHONE)
    bob_context = new_context(browser, javascript, locale="en-GB", viewport=PHONE)
    alice_page, bob_page = alice_context.new_page(), bob_context.new_page()
    login(alice_page, live, alice.email)
    login(bob_page, live, bob.email)

    # Alice finds the agreement under "What to do next"
    page = alice_page
    page.goto(live.url + "/")
    next_steps = page.get_by_role("region", name="What to do next")
    write = next_steps.get_by_role("link", name="Write your agreement with Bob")
    expect(write).to_be_visible()
    a11y.check(page, javascript)
    write.click()
    expect(page).to_have_url(agreement_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your agreement with Bob")
    signing = page.get_by_role("region", name="Signatures")
    expect(signing).to_contain_text("Version 1 waits for signatures")
    expect(signing).to_contain_text("Alice has not signed yet")
    expect(signing).to_contain_text("Bob has not signed yet")
    a11y.check(page, javascript)
    shot(page, f"{variant}-1-agreement")

    # she rewrites the conversation rules
    if javascript:
        same_document(page)
    rules = open_editor(page, "Conversation rules", javascript)
    text = rules.get_by_role("textbox", name="What you agree on")
    expect(text).to_have_value(re.compile(r"^We meet on equal footing"))
    a11y.check(page, javascript)
    shot(page, f"{variant}-2-editor")
    text.fill(RULES)
    rules.get_by_role("button", name="Save").click()
    rules = page.get_by_role("region", name="Conversation rules", exact=True)
    expect(rules.get_by_text(RULES)).to_be_visible()
    expect(rules.get_by_role("textbox")).to_have_count(0)
    # the notice stands in the saved section, with and without JavaScript
    expect(rules.get_by_role("status")).to_have_text("Saved as version 2. Everyone signs it again.")
    if javascript:  # the section and the signing box were swapped in place
        still_same_document(page, agreement_url)
    else:
        expect(page).to_have_url(agreement_url + "?saved=rules#section-rules")
    signing = page.get_by_role("region", name="Signatures")
    expect(signing).to_contain_text("Version 2 waits for signatures")
    expect(signing.get_by_role("button", name="Sign version 2")).to_be_visible()
    a11y.check(page, javascript)

    # Bob adds a goal, with how they will know it is reached
    page = bob_page
    page.goto(agreement_url)
    goals = page.get_by_role("region", name="Goals", exact=True)
    expect(page.get_by_role("region", name="Conversation rules")).to_contain_text(RULES)
    known = goals.locator("ol.agreement-goals > li").count()
    assert known >= 1
    a11y.check(page, javascript)
    if javascript:
        same_document(page)
    goals = open_editor(page, "Goals", javascript)
    a11y.check(page, javascript)
    shot(page, f"{variant}-2b-goals-editor")
    new_goal = goals.get_by_role("group", name=f"Goal {known + 1}", exact=True)
    expect(new_goal.get_by_label("What we want to reach")).to_have_value("")
    new_goal.get_by_label("What we want to reach").fill("Say no to a meeting without guilt")
    new_goal.get_by_label("How we will know it is reached").fill(
        "Each of us declines one meeting a week"
    )
    goals.get_by_role("button", name="Save").click()
    goals = page.get_by_role("region", name="Goals", exact=True)
    expect(goals.locator("ol.agreement-goals > li")).to_have_count(known + 1)
    expect(goals.locator("ol.agreement-goals > li").last).to_contain_text(
        "Say no to a meeting without guilt"
    )
    expect(goals).to_contain_text("How we will know: Each of us declines one meeting a week")
    if javascript:
        expect(goals.get_by_role("status")).to_have_text(
            "Saved as version 3. Everyone signs it again."
        )
        still_same_document(page, agreement_url)
    else:
        expect(page).to_have_url(agreement_url + "?saved=goals#section-goals")
    expect(page.get_by_role("region", name="Signatures")).to_contain_text(
        "Version 3 waits for signatures"
    )
    a11y.check(page, javascript)

    # Bob opens the feedback section; meanwhile Alice saves the same section
    bob_feedback = open_editor(page, "Feedback", javascript)
    page = alice_page
    page.goto(agreement_url)
    alice_feedback = open_editor(page, "Feedback", javascript)
    alice_feedback.get_by_role("textbox", name="What you agree on").fill(ALICE_FEEDBACK)
    alice_feedback.get_by_role("button", name="Save").click()
    expect(page.get_by_role("region", name="Feedback", exact=True)).to_contain_text(ALICE_FEEDBACK)
    expect(page.get_by_role("region", name="Signatures")).to_contain_text(
        "Version 4 waits for signatures"
    )

    # Bob saves his text over hers: he sees both and keeps his
    page = bob_page
    bob_feedback.get_by_role("textbox", name="What you agree on").fill(BOB_FEEDBACK)
    bob_feedback.get_by_role("button", name="Save").click()
    feedback = page.get_by_role("region", name="Feedback", exact=True)
    conflict = feedback.get_by_role("alert")
    expect(conflict).to_contain_text("Alice changed this section while you were editing.")
    theirs = conflict.get_by_role("heading", name="Their version (saved)").locator("..")
    yours = conflict.get_by_role("heading", name="Your version (not saved)").locator("..")
    expect(theirs).to_contain_text(ALICE_FEEDBACK)
    expect(yours).to_contain_text(BOB_FEEDBACK)
    expect(feedback.get_by_role("textbox", name="What you agree on")).to_have_value(BOB_FEEDBACK)
    if javascript:
        still_same_document(page, agreement_url)
    else:
        expect(page).to_have_url(agreement_url + "/feedback")
    a11y.check(page, javascript)
    shot(page, f"{variant}-3-conflict")
    feedback.get_by_role("button", name="Save my version anyway").click()
    feedback = page.get_by_role("region", name="Feedback", exact=True)
    expect(feedback.get_by_role("alert")).to_have_count(0)
    expect(feedback.get_by_role("textbox")).to_have_count(0)
    expect(feedback.get_by_text(BOB_FEEDBACK)).to_be_visible()
    expect(feedback).not_to_contain_text(ALICE_FEEDBACK)
    if javascript:
        still_same_document(page, agreement_url)
    expect(page.get_by_role("region", name="Signatures")).to_contain_text(
        "Version 5 waits for signatures"
    )
    a11y.check(page, javascript)

    # Alice reloads: Bob's goal and his feedback text are there; she signs version 5
    page = alice_page
    page.reload()
    goals = page.get_by_role("region", name="Goals", exact=True)
    expect(goals).to_contain_text("Say no to a meeting without guilt")
    expect(goals).to_contain_text("How we will know: Each of us declines one meeting a week")
    expect(page.get_by_role("region", name="Feedback", exact=True)).to_contain_text(BOB_FEEDBACK)
    if javascript:
        same_document(page)
    sign(page, "Alice", 5)
    signing = page.get_by_role("region", name="Signatures")
    # with JavaScript the notice is in the signing box, without it a flash above the page
    notice = (signing if javascript else page).get_by_role("status")
    expect(notice).to_have_text("Signed. We let the others know.")
    expect(signing.locator(".signature-list")).to_contain_text("✓ Alice")
    expect(signing).to_contain_text("Bob has not signed yet")
    expect(signing).not_to_contain_text("Alice has not signed yet")
    expect(signing.get_by_role("button", name=re.compile("^Sign version"))).to_have_count(0)
    if javascript:
        still_same_document(page, agreement_url)
    else:
        expect(page).to_have_url(agreement_url + "#signing")
    a11y.check(page, javascript)

    # Bob signs: the agreement is in force
    page = bob_page
    page.goto(agreement_url)
    if javascript:
        same_document(page)
    sign(page, "Bob", 5)
    signing = page.get_by_role("region", name="Signatures")
    notice = (signing if javascript else page).get_by_role("status")
    expect(notice).to_have_text("Everyone has signed: your agreement is in force.")
    expect(signing.locator(".state-badge")).to_have_text(
        "Version 5 is signed by everyone and in force"
    )
    expect(signing.locator(".signature-list li")).to_have_count(2)
    expect(signing).not_to_contain_text("has not signed yet")
    if javascript:
        still_same_document(page, agreement_url)
    a11y.check(page, javascript)
    shot(page, f"{variant}-4-in-force")

    # the history shows every version, who changed what, and the signatures
    page.get_by_role("link", name="History of all versions").click()
    expect(page).to_have_url(agreement_url + "/history")
    expect(page.get_by_role("heading", level=1)).to_have_text("Agreement history")
    versions = page.locator("article.agreement-version")
    expect(versions).to_have_count(5)
    latest = page.locator("#version-5")
    expect(latest.get_by_role("heading", level=2)).to_contain_text("Version 5")
    expect(latest.locator(".state-badge")).to_have_text("in force")
    expect(latest).to_contain_text("Bob changed “Feedback”")
    expect(latest.locator("li")).to_have_count(2)
    expect(latest.locator("li").nth(0)).to_contain_text("Alice")
    expect(latest.locator("li").nth(1)).to_contain_text("Bob")
    expect(page.locator("#version-3")).to_contain_text("Bob changed “Goals”")
    expect(page.locator("#version-2")).to_contain_text("Alice changed “Conversation rules”")
    expect(page.locator("#version-1")).to_contain_text("First draft")
    hashes = versions.locator("code.hash").all_inner_texts()
    assert len(hashes) == 5 and len(set(hashes)) == 5
    assert all(SHA256.match(h.strip()) for h in hashes), hashes
    expect(page.get_by_role("alert")).to_have_count(0)  # every fingerprint matches
    a11y.check(page, javascript)
    shot(page, f"{variant}-5-history")

    # the printable view: version 5 with both signatures and their SHA-256
    page.goto(agreement_url)
    page.get_by_role("link", name="Printable view").click()
    expect(page).to_have_url(agreement_url + "/print")
    expect(page.get_by_role("heading", level=1)).to_have_text("Agreement — version 5")
    expect(page.get_by_text("Draft: not yet signed by everyone.")).to_have_count(0)
    rows = page.locator(".printable-signatures tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator("td").first).to_have_text("Alice")
    expect(rows.nth(1).locator("td").first).to_have_text("Bob")
    fingerprint = page.locator(".printable-verify code.hash").inner_text().strip()
    assert SHA256.match(fingerprint), fingerprint
    assert fingerprint == hashes[0].strip()  # the newest version first in the history
    for row in rows.all():
        assert row.locator("code.hash").inner_text().strip() == fingerprint
    expect(page.get_by_text("Does not match this version.")).to_have_count(0)
    expect(page.get_by_text(RULES)).to_be_visible()
    a11y.check(page, javascript)
    shot(page, f"{variant}-6-print")

    # the tandem page: active, with its next sessions
    page.goto(agreement_url)
    page.get_by_role("link", name="← Back to your tandem").click()
    expect(page).to_have_url(tandem_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your tandem with Alice")
    expect(page.locator(".tandem header .state-badge")).to_have_text("Active")
    expect(page.get_by_text("Version 5 is signed by everyone and in force.")).to_be_visible()
    sessions = page.get_by_role("region", name="Next sessions")
    times = sessions.get_by_role("listitem").locator("time")
    expect(times.first).to_be_visible()
    assert times.count() >= 1
    assert all(
        re.match(r"\d{4}-\d\d-\d\dT", t)
        for t in times.evaluate_all("nodes => nodes.map(n => n.getAttribute('datetime'))")
    )
    a11y.check(page, javascript)
    shot(page, f"{variant}-7-tandem")

    # Alice's home page no longer asks her to write the agreement
    page = alice_page
    page.goto(live.url + "/")
    next_steps = page.get_by_role("region", name="What to do next")
    expect(next_steps.get_by_role("link", name=re.compile("agreement with Bob"))).to_have_count(0)
    alice_context.close()
    bob_context.close()
