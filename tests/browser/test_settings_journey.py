"""A member changes settings: htmx swaps the form in place (CSRF header from <body>);
without JavaScript the same forms post and the page comes back."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import new_context
from tests.conftest import PASSWORD, make_user


def log_in(page, live, email):
    page.goto(live.url + "/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your strengths")


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_password_change_and_preferences(browser, live, a11y, javascript):
    email = f"member-{'js' if javascript else 'nojs'}@example.org"
    make_user(live.app, email, "Mia", language="en", timezone="Europe/Berlin")
    context = new_context(browser, javascript, locale="en-GB")
    page = context.new_page()
    log_in(page, live, email)

    page.get_by_role("link", name="Settings", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Settings")
    a11y.check(page, javascript)
    if javascript:
        page.evaluate("() => { window.__notReloaded = true }")

    box = page.locator("#settings-password")
    box.get_by_label("Current password").fill("not my password")
    box.get_by_label("New password").fill("a completely new sentence")
    box.get_by_role("button", name="Change password").click()
    expect(page.locator("#settings-password .field-error")).to_contain_text(
        "current password is not correct"
    )
    if javascript:  # swapped in place by htmx, not a page load
        assert page.evaluate("() => window.__notReloaded === true")
    a11y.check(page, javascript)

    box = page.locator("#settings-password")
    box.get_by_label("Current password").fill(PASSWORD)
    box.get_by_label("New password").fill("a completely new sentence")
    box.get_by_role("button", name="Change password").click()
    expect(page.locator("#settings-password")).to_contain_text("Your password is changed")
    if javascript:
        assert page.evaluate("() => window.__notReloaded === true")

    prefs = page.locator("#settings-preferences")
    prefs.get_by_label("Language").select_option("de")
    prefs.get_by_label("Time zone").select_option("Asia/Tokyo")
    prefs.get_by_role("button", name="Save").click()
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator(".flash-success")).to_contain_text("gespeichert")
    expect(page.locator("#settings-preferences")).to_contain_text("Asia/Tokyo")
    a11y.check(page, javascript)
    context.close()
