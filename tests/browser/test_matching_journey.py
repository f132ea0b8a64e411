"""Suggestions and matching rounds in a real browser, with and without JavaScript.

Alice sees Bob suggested with the reasons, says "not now" (in place where JavaScript
runs) and takes it back; a moderator runs a round that pairs Alice and Bob, and both say
yes from their proposal page.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import new_context
from tests.conftest import PASSWORD, make_user
from tests.profile_factories import fill_profile


def login(page, live, email: str) -> None:
    page.goto(live.url + "/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def logout(page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Log in")
    ).to_be_visible()


def pair(live, suffix: str):
    alice = make_user(live.app, f"alice-{suffix}@example.org", "Alice", timezone="Europe/Berlin")
    bob = make_user(
        live.app, f"bob-{suffix}@example.org", f"Bob {suffix}", timezone="America/New_York"
    )
    fill_profile(
        live.app,
        alice,
        offers=("Agiles Projektmanagement",),
        seeks=("Zeitmanagement",),
        windows=((1, 18 * 60, 20 * 60),),
    )
    fill_profile(
        live.app,
        bob,
        headline="Calendar whisperer",
        offers=("Zeitmanagement",),
        seeks=("Agiles Projektmanagement",),
        windows=((1, 12 * 60, 14 * 60),),
    )
    return alice, bob


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_suggestion_explained_dismissed_in_place_and_back(browser, live, a11y, javascript):
    suffix = "sjs" if javascript else "snojs"
    alice, bob = pair(live, suffix)
    context = new_context(browser, javascript, locale="en-GB")
    page = context.new_page()
    login(page, live, alice.email)
    page.get_by_role("link", name="Find a partner").first.click()
    card = page.locator(f"#suggestion-{bob.id}")
    expect(card).to_contain_text(
        f"You seek Zeitmanagement – Bob {suffix} offers it; Bob {suffix} seeks Agiles "
        "Projektmanagement – you offer it; you are both free on Tuesdays 18:00–20:00."
    )
    expect(card.locator("mark.complement").first).to_be_visible()
    card.get_by_text("How the score is made").click()
    expect(card.get_by_text("Complement each other")).to_be_visible()
    a11y.check(page, javascript)
    if javascript:
        page.evaluate("() => { window.__sameDocument = true }")
    card.get_by_role("button", name="Not now").click()
    expect(card).to_contain_text("You will not be suggested to each other for 90 days.")
    expect(card.get_by_role("button", name="Undo")).to_be_visible()
    if javascript:
        assert page.evaluate("() => window.__sameDocument === true")  # swapped in place
    expect(page.get_by_text("Calendar whisperer")).to_have_count(0)
    a11y.check(page, javascript)
    page.get_by_role("button", name="Undo").click()
    expect(page.get_by_text("The suggestion is back.")).to_be_visible()
    expect(page.locator(f"#suggestion-{bob.id}")).to_contain_text("Calendar whisperer")
    context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_round_from_opt_in_to_both_saying_yes(browser, live, a11y, javascript):
    suffix = "rjs" if javascript else "rnojs"
    alice, bob = pair(live, suffix)
    mod = make_user(live.app, f"mod-{suffix}@example.org", "Mo", role="moderator")
    context = new_context(browser, javascript, locale="en-GB")
    page = context.new_page()

    # the moderator opens a round
    login(page, live, mod.email)
    page.goto(live.url + "/moderation/rounds")
    a11y.check(page, javascript)
    page.get_by_role("button", name="Open a new round").click()
    expect(page.get_by_text("Nobody has joined yet.")).to_be_visible()
    round_url = page.url
    logout(page)

    # both members join from their round page
    for member, choice in ((alice, "One partner (a tandem)"), (bob, "One partner (a tandem)")):
        login(page, live, member.email)
        page.get_by_role("link", name="Find a partner").first.click()
        page.get_by_role("link", name="Matching round").click()
        page.get_by_label(choice).check()
        a11y.check(page, javascript)
        page.get_by_role("button", name="Join the round").click()
        expect(page.get_by_text("You are in the next round")).to_be_visible()
        logout(page)

    # the moderator previews and publishes
    login(page, live, mod.email)
    page.goto(round_url)
    page.get_by_role("button", name="Preview the best pairing").click()
    proposal = page.locator(".proposal-card")
    expect(proposal).to_contain_text(f"Alice · Bob {suffix}")
    expect(proposal).to_contain_text("both are free on Tuesdays")
    a11y.check(page, javascript)
    page.get_by_role("button", name="Publish the round").click()
    expect(page.get_by_text("Every member in it has been told.")).to_be_visible()
    expect(proposal).to_contain_text("waiting for answers")
    logout(page)

    # both say yes
    for member in (alice, bob):
        login(page, live, member.email)
        page.goto(live.url + "/matching/round")
        page.get_by_role("button", name="Yes, let's get to know each other").click()
        logout(page)
    login(page, live, alice.email)
    page.goto(live.url + "/matching/round")
    expect(page.get_by_text("Everyone said yes.")).to_be_visible()
    a11y.check(page, javascript)
    context.close()
