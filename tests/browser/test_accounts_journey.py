"""A newcomer signs up, confirms the address, logs in, switches language, logs out:
once with JavaScript (htmx) and once without."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import new_context

PASSWORD = "ein ganz langer satz zum merken"


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_sign_up_verify_log_in_switch_language_log_out(browser, live, a11y, javascript):
    context = new_context(browser, javascript)
    page = context.new_page()
    email = f"newbie-{'js' if javascript else 'nojs'}@example.org"

    page.goto(live.url + "/")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    a11y.check(page, javascript)

    page.get_by_role("link", name="Mitmachen", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bei PeerHub mitmachen")
    a11y.check(page, javascript)
    zone = page.locator("#timezone")
    # the browser's zone is preselected where JavaScript runs
    expect(zone).to_have_value("America/Toronto" if javascript else "Europe/Berlin")

    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_label("Name, den andere Mitglieder sehen").fill("Newbie")
    page.get_by_label("Passwort").fill("zu kurz")
    page.get_by_role("checkbox").check()
    page.get_by_role("button", name="Konto erstellen").click()
    expect(page.locator(".field-error")).to_contain_text("mindestens 10 Zeichen")
    a11y.check(page, javascript)

    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Konto erstellen").click()
    expect(page).to_have_url(re.compile(r"/signup/check-inbox$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Schau in dein Postfach")
    a11y.check(page, javascript)

    link = live.link_in_last_mail(email)
    assert link.startswith(live.url + "/verify/")
    page.goto(link)
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.locator(".flash-success")).to_be_visible()
    a11y.check(page, javascript)

    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    # the guided profile comes first; a newcomer may finish it later
    expect(page.get_by_role("heading", level=1)).to_have_text("Deine Stärken")
    a11y.check(page, javascript)
    page.get_by_role("link", name="Später fertigstellen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hallo, Newbie")
    a11y.check(page, javascript)

    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Newbie")
    a11y.check(page, javascript)

    page.get_by_role("link", name=re.compile("Notifications")).first.click()
    expect(page.get_by_text("Welcome to PeerHub, Newbie!")).to_be_visible()
    a11y.check(page, javascript)

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Log in")
    ).to_be_visible()
    a11y.check(page, javascript)

    # the verification link worked once
    page.goto(link)
    expect(page.get_by_role("alert")).to_contain_text("already used")
    a11y.check(page, javascript)
    context.close()
