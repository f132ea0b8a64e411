"""A newcomer fills the profile through onboarding, finds a partner in the directory by
text (live while typing where JavaScript runs), opens the profile and blocks it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import new_context
from tests.conftest import PASSWORD, make_user
from tests.profile_factories import fill_profile


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_onboarding_directory_profile_block(browser, live, a11y, javascript):
    suffix = "js" if javascript else "nojs"
    email = f"nina-{suffix}@example.org"
    make_user(live.app, email, "Nina", language="en", timezone="Europe/Berlin")
    bob = make_user(live.app, f"bob-{suffix}@example.org", "Bob Builder", language="en")
    fill_profile(
        live.app,
        bob,
        headline="Engineer who finally mastered his calendar",
        offers=("Zeitmanagement",),
        seeks=("Agiles Projektmanagement",),
    )
    context = new_context(browser, javascript, locale="en-GB")
    page = context.new_page()
    page.goto(live.url + "/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    # 1. strengths
    expect(page.get_by_role("heading", level=1)).to_have_text("Your strengths")
    expect(page.get_by_text("Profile 0% complete")).to_be_visible()
    a11y.check(page, javascript)
    offers = page.locator("#tags-offer")
    if javascript:
        offers.get_by_label("Add a word").press_sequentially("agil", delay=40)
        suggestion = offers.get_by_role("button", name=re.compile("Agiles Projektmanagement"))
        expect(suggestion).to_contain_text("1 member")
        a11y.check(page, javascript)
        suggestion.click()
    else:
        offers.get_by_label("Add a word").fill("agiles projektmanagement")
        offers.get_by_role("button", name="Add").click()
    expect(page.locator("#tags-offer .chip")).to_contain_text("Agiles Projektmanagement")
    page.get_by_label("Your headline").fill("Scrum master who wants calmer weeks")
    page.get_by_role("button", name="Save and continue").click()

    # 2. support
    expect(page.get_by_role("heading", level=1)).to_have_text("Where you want support")
    seeks = page.locator("#tags-seek")
    seeks.get_by_label("Add a word").fill("Zeit Management")
    seeks.get_by_role("button", name="Add").click()
    expect(page.locator("#tags-seek .chip")).to_contain_text("Zeitmanagement")
    a11y.check(page, javascript)
    page.get_by_role("link", name="Continue").click()

    # 3. goals
    expect(page.get_by_role("heading", level=1)).to_have_text("Your goals")
    page.get_by_label("Goal 1").fill("Plan my week on Monday mornings")
    a11y.check(page, javascript)
    page.get_by_role("button", name="Save and continue").click()

    # 4. practicalities, with one mistake first
    expect(page.get_by_role("heading", level=1)).to_have_text("Practicalities")
    page.get_by_label("Deutsch").check()
    page.get_by_label("English").check()
    page.get_by_label("Tuesday from").first.fill("20:00")
    page.get_by_label("Tuesday to").first.fill("18:00")
    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_role("alert").filter(has_text="end after it starts")).to_be_visible()
    a11y.check(page, javascript)
    page.get_by_label("Tuesday from").first.fill("18:00")
    page.get_by_label("Tuesday to").first.fill("20:00")
    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your profile")
    expect(page.get_by_text("Profile 100% complete")).to_be_visible()
    a11y.check(page, javascript)

    # the directory: text search
    page.get_by_role("link", name="Find a partner").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Find a partner")
    page.get_by_role("navigation", name="Ways to find a partner").get_by_role(
        "link", name="Directory"
    ).click()
    expect(page.get_by_label("Search headline, about, goals and tags")).to_be_visible()
    a11y.check(page, javascript)
    search = page.get_by_label("Search headline, about, goals and tags")
    if javascript:
        page.evaluate("() => { window.__sameDocument = true }")
        search.press_sequentially("calend", delay=40)
        expect(page.locator("#directory-results")).to_contain_text("Bob Builder")
        expect(page).to_have_url(re.compile(r"q=calend"))
        assert page.evaluate("() => window.__sameDocument === true")  # no page load
    else:
        search.fill("calendar")
        page.get_by_role("button", name="Search").click()
        expect(page).to_have_url(re.compile(r"q=calendar"))
        expect(page.locator("#directory-results")).to_contain_text("Bob Builder")
    a11y.check(page, javascript)

    # the partner's profile, and blocking
    page.get_by_role("link", name="Bob Builder").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bob Builder")
    expect(page.get_by_text("Engineer who finally mastered his calendar")).to_be_visible()
    a11y.check(page, javascript)
    page.get_by_role("button", name="Block Bob Builder").click()
    expect(page.get_by_text("Blocked.")).to_be_visible()
    expect(page.locator("#directory-results")).not_to_contain_text("Bob Builder")
    a11y.check(page, javascript)
    context.close()
