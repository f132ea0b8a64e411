"""Recurring sessions in a real browser, with and without JavaScript, in two browser contexts.

Alice and Bob are an active tandem that began three weeks ago. Alice (in English) follows a
session from "Your next sessions" and cancels it with a reason (the card in place where
JavaScript runs), moves another one within its neighbours and is refused moving a third onto
the one after it; the sessions page shows the changes and its calendar file has the
cancellation as an EXDATE and the move as an override. Bob (in German) finds the
cancellation under his notifications, records who came to a past session and keeps its
shared notes. Alice makes her calendar address and a calendar program fetches and
revalidates it.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from peerhub.calendar.lint import lint
from peerhub.extensions import db
from peerhub.meetings.models import SessionRecord
from tests.browser.conftest import new_context
from tests.browser.test_matching_journey import login
from tests.conftest import PASSWORD, make_user
from tests.session_factories import active_tandem, record_of, sessions_of

# PEERHUB_SHOTS=/tmp/shots keeps a screenshot of each step, on a phone and on a desktop
# (for looking, not for asserting).
SHOTS = os.environ.get("PEERHUB_SHOTS")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
BERLIN = ZoneInfo("Europe/Berlin")

REASON = "A work trip to Lisbon, sorry. Let us take the topic into the next one."
NOTES = {  # Bob writes them, in German
    "update": "Bob hat die neue Stelle angetreten; Alice ist zurück aus Lissabon.",
    "topic": "Nein sagen zu Meetings, ohne schlechtes Gewissen.",
    "next_steps": "Jeder sagt diese Woche ein Meeting ab und erzählt dem anderen, wie es lief.",
}


def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/{name}-phone.png", full_page=True)
        page.set_viewport_size(DESKTOP)
        page.screenshot(path=f"{SHOTS}/{name}-desktop.png", full_page=True)
        page.set_viewport_size(PHONE)


def login_in_german(page, live, email: str) -> None:
    """The login helper of the matching journey, on the German pages."""
    page.goto(live.url + "/login")
    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    expect(page.get_by_role("button", name="Abmelden")).to_be_visible()


def same_document(page) -> None:
    page.evaluate("() => { window.__sameDocument = true }")


def still_same_document(page, url: str) -> None:
    assert page.url == url
    assert page.evaluate("() => window.__sameDocument === true")


def path(session) -> str:
    return f"/sessions/{session.series.id}/{session.number}"


def local(moment: datetime, zone: ZoneInfo = BERLIN) -> str:
    """A moment as an iCalendar local time in `zone`."""
    return f"{moment.astimezone(zone):%Y%m%dT%H%M%S}"


def record(live, session) -> SessionRecord | None:
    return record_of(live.app, session)


def unfolded(raw: bytes) -> list[str]:
    return raw.decode().replace("\r\n ", "").split("\r\n")


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_cancel_move_record_and_subscribe(browser, live, a11y, javascript):
    variant = "js" if javascript else "nojs"
    alice = make_user(live.app, f"alice-s{variant}@example.org", "Alice", timezone="Europe/Berlin")
    bob = make_user(
        live.app,
        f"bob-s{variant}@example.org",
        "Bob",
        language="de",
        timezone="America/New_York",
    )
    now = datetime.now(UTC)
    tandem_id = active_tandem(live.app, alice, bob, now=now - timedelta(days=21))
    with live.app.app_context():
        sessions = sessions_of(tandem_id)
        db.session.expunge_all()
    upcoming = [s for s in sessions if s.start > now]  # "Coming sessions": not begun yet
    not_over = [s for s in sessions if s.end > now]  # "Your next sessions" (one may run now)
    # beyond the agreement's 24 hours of notice, so none of them is a late cancellation
    coming = [s for s in upcoming if s.start > now + timedelta(days=2)]
    cancelled, moved, blocked, following = coming[:4]
    held = [s for s in sessions if s.end < now][-1]
    new_start = moved.start + timedelta(days=1, hours=1)  # still a week before the next one
    sessions_url = f"{live.url}/tandems/{tandem_id}/sessions"

    alice_context = new_context(
        browser, javascript, locale="en-GB", timezone_id="Europe/Berlin", viewport=PHONE
    )
    bob_context = new_context(
        browser, javascript, locale="de-DE", timezone_id="America/New_York", viewport=PHONE
    )
    alice_page, bob_page = alice_context.new_page(), bob_context.new_page()
    login(alice_page, live, alice.email)

    # 1. Alice follows a session from "Your next sessions" on her home page
    page = alice_page
    page.goto(live.url + "/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    next_sessions = page.get_by_role("region", name="Your next sessions")
    links = next_sessions.get_by_role("link")
    expect(links).to_have_count(min(5, len(not_over)))
    expect(next_sessions.get_by_text("with Bob").first).to_be_visible()
    index = [s.key for s in not_over].index(cancelled.key)
    link = links.nth(index)
    expect(link).to_have_attribute("href", path(cancelled))
    expect(link.locator("time").first).to_have_attribute("datetime", cancelled.start.isoformat())
    a11y.check(page, javascript)
    shot(page, f"sessions-{variant}-1-home")
    link.click()
    session_url = live.url + path(cancelled)
    expect(page).to_have_url(session_url)
    card = page.locator("#session-card")
    # the card is the session: its heading, its time and what happened to it
    expect(card.get_by_role("heading", level=1)).to_contain_text("Session on")
    expect(page.get_by_role("region", name=re.compile("^Session on"))).to_have_attribute(
        "id", "session-card"
    )
    expect(card).to_contain_text("Takes place as planned.")
    a11y.check(page, javascript)

    # she cancels it with a reason
    if javascript:
        same_document(page)
    card.get_by_text("Cancel this session").click()
    reason = card.get_by_label("Why (the others read this)")
    expect(reason).to_be_visible()
    expect(card).to_contain_text("Your agreement asks for 24 hours' notice.")
    reason.fill(REASON)
    a11y.check(page, javascript)
    shot(page, f"sessions-{variant}-2-cancel-form")
    card.get_by_role("button", name="Cancel the session").click()
    card = page.locator("#session-card")
    notice = (card if javascript else page).get_by_role("status")
    expect(notice).to_have_text("The session is cancelled; we told the others.")
    expect(card).to_contain_text("Alice cancelled this session.")
    expect(card.locator("blockquote")).to_have_text(REASON)
    expect(card.get_by_role("button", name="Take the cancellation back")).to_be_visible()
    expect(card.get_by_text("Cancel this session")).to_have_count(0)
    expect(card.get_by_text("Move this session")).to_have_count(0)
    if javascript:  # the card was swapped in place
        still_same_document(page, session_url)
    else:
        expect(page).to_have_url(session_url)
    expect(card.locator("header .state-badge")).to_have_text("cancelled")
    assert record(live, cancelled).cancelled
    a11y.check(page, javascript)
    shot(page, f"sessions-{variant}-3-cancelled")

    # 2. from the list of all sessions she opens the next one and moves it by a day
    page.get_by_role("link", name="← All sessions of your tandem").click()
    expect(page).to_have_url(sessions_url)
    page.get_by_role("region", name="Coming sessions").locator(f'a[href="{path(moved)}"]').click()
    session_url = live.url + path(moved)
    expect(page).to_have_url(session_url)
    card = page.locator("#session-card")
    if javascript:
        same_document(page)
    card.get_by_text("Move this session").click()
    day, time = card.get_by_label("New day"), card.get_by_label("New time (Europe/Berlin)")
    # the form starts at the session's own time, in her zone
    expect(day).to_have_value(f"{moved.start.astimezone(BERLIN):%Y-%m-%d}")
    expect(time).to_have_value(f"{moved.start.astimezone(BERLIN):%H:%M}")
    expect(card).to_contain_text("Between the session before")
    a11y.check(page, javascript)
    shot(page, f"sessions-{variant}-4-move-form")
    day.fill(f"{new_start.astimezone(BERLIN):%Y-%m-%d}")
    time.fill(f"{new_start.astimezone(BERLIN):%H:%M}")
    card.get_by_role("button", name="Move the session").click()
    card = page.locator("#session-card")
    notice = (card if javascript else page).get_by_role("status")
    expect(notice).to_have_text("The session is moved; we told the others.")
    expect(card).to_contain_text("Moved from")
    if javascript:
        still_same_document(page, session_url)
    else:
        expect(page).to_have_url(session_url)
    # the card's own time is the new one
    expect(card.locator("header time").first).to_have_attribute("datetime", new_start.isoformat())
    expect(card.locator("header .state-badge")).to_have_text("moved")
    assert record(live, moved).moved_start == new_start
    a11y.check(page, javascript)
    shot(page, f"sessions-{variant}-5-moved")

    # moving a session onto the one after it is refused in place; nothing changes
    session_url = live.url + path(blocked)
    page.goto(session_url)
    card = page.locator("#session-card")
    if javascript:
        same_document(page)
    card.get_by_text("Move this session").click()
    card.get_by_label("New day").fill(f"{following.start.astimezone(BERLIN):%Y-%m-%d}")
    card.get_by_label("New time (Europe/Berlin)").fill(
        f"{following.start.astimezone(BERLIN):%H:%M}"
    )
    with page.expect_response(lambda r: r.url.endswith(path(blocked) + "/move")) as answer:
        card.get_by_role("button", name="Move the session").click()
    assert answer.value.status == 422
    card = page.locator("#session-card")
    refusal = card.get_by_role("alert")
    expect(refusal).to_contain_text("runs into the next session")
    # the form stays open with her input, marked and described by the message
    expect(card.get_by_role("button", name="Move the session")).to_be_visible()
    expect(card.get_by_label("New day")).to_have_value(
        f"{following.start.astimezone(BERLIN):%Y-%m-%d}"
    )
    expect(card.locator("[aria-invalid=true]").first).to_have_attribute(
        "aria-describedby", "card-error"
    )
    if javascript:
        still_same_document(page, session_url)
    assert record(live, blocked) is None
    a11y.check(page, javascript)
    shot(page, f"sessions-{variant}-6-move-refused")

    # 3. the tandem's page leads to all sessions: the changes are there, and in the calendar file
    page.goto(live.url + "/")
    page.get_by_role("region", name="Your tandems").get_by_role("link", name="Bob").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your tandem with Bob")
    page.get_by_role("link", name="All sessions, and changes to them").click()
    expect(page).to_have_url(sessions_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your sessions with Bob")
    listed = page.get_by_role("region", name="Coming sessions").get_by_role("listitem")
    expect(listed).to_have_count(len(upcoming))
    gone = listed.filter(has=page.locator(f'a[href="{path(cancelled)}"]'))
    expect(gone.locator(".state-badge")).to_have_text("cancelled")
    expect(gone).to_have_class("is-cancelled")
    elsewhen = listed.filter(has=page.locator(f'a[href="{path(moved)}"]'))
    expect(elsewhen.locator(".state-badge")).to_have_text("moved")
    expect(elsewhen.locator("time").first).to_have_attribute("datetime", new_start.isoformat())
    expect(
        page.get_by_role("region", name="Coming sessions").locator(".state-badge")
    ).to_have_count(2)
    a11y.check(page, javascript)
    shot(page, f"sessions-{variant}-7-sessions")

    download_link = page.get_by_role("link", name="Download the sessions (.ics)")
    with page.expect_download() as info:
        download_link.click()
    download = info.value
    assert download.suggested_filename == f"sessions-{tandem_id}.ics"
    raw = Path(download.path()).read_bytes()
    answer = alice_context.request.get(live.url + download_link.get_attribute("href"))
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="sessions-{tandem_id}.ics"'
    )
    assert answer.headers["content-type"] == "text/calendar; charset=utf-8"
    assert lint(raw) == []
    lines = unfolded(raw)
    assert [line for line in lines if line.startswith("EXDATE")] == [
        f"EXDATE;TZID=Europe/Berlin:{local(cancelled.start)}"
    ]
    assert [line for line in lines if line.startswith("RECURRENCE-ID")] == [
        f"RECURRENCE-ID;TZID=Europe/Berlin:{local(moved.start)}"
    ]
    override = lines[lines.index(f"RECURRENCE-ID;TZID=Europe/Berlin:{local(moved.start)}") :]
    override = override[: override.index("END:VEVENT")]
    assert f"DTSTART;TZID=Europe/Berlin:{local(new_start)}" in override
    expect(page).to_have_url(sessions_url)  # the download left the page as it was

    # 4. Bob, in German, finds the cancellation under his notifications
    page = bob_page
    login_in_german(page, live, bob.email)
    expect(page.locator("html")).to_have_attribute("lang", "de")
    bell = page.get_by_role("link", name=re.compile(r"^Benachrichtigungen: \d+ ungelesen$"))
    expect(bell).to_be_visible()
    a11y.check(page, javascript)
    bell.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Benachrichtigungen")
    told = page.locator("ul.notifications").get_by_role("link").filter(has_text="Alice")
    told_cancel = told.and_(page.locator(f'a[href="{path(cancelled)}"]'))
    expect(told_cancel).to_have_count(1)
    expect(told.and_(page.locator(f'a[href="{path(moved)}"]'))).to_have_count(1)
    a11y.check(page, javascript)
    shot(page, f"sessions-{variant}-8-bob-notifications")
    told_cancel.click()
    expect(page).to_have_url(live.url + path(cancelled))
    card = page.locator("#session-card")
    expect(card.locator("blockquote")).to_have_text(REASON)
    expect(card.locator("header .state-badge")).to_have_class(re.compile(r"\bstate-cancelled\b"))
    # his own zone first, with the series' time beside it
    expect(card.locator("header")).to_contain_text("America/New_York · 18:00 Europe/Berlin")
    a11y.check(page, javascript)

    # the cancelled session on his sessions page
    page.goto(sessions_url)
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("heading", level=1)).to_have_text("Deine Sitzungen mit Alice")
    gone = page.locator("li.is-cancelled")
    expect(gone).to_have_count(1)
    expect(gone.get_by_role("link")).to_have_attribute("href", path(cancelled))
    expect(gone.locator(".state-badge")).to_have_class(re.compile(r"\bstate-cancelled\b"))
    a11y.check(page, javascript)
    shot(page, f"sessions-{variant}-9-bob-sessions")

    # on a past session he records that Alice came (and so did he)
    page.get_by_role("region", name="Vergangene Sitzungen").locator(
        f'a[href="{path(held)}"]'
    ).click()
    session_url = live.url + path(held)
    expect(page).to_have_url(session_url)
    card = page.locator("#session-card")
    who = card.get_by_role("group", name="Wer ist ohne Absage nicht gekommen?")
    expect(who.get_by_role("checkbox")).to_have_count(2)  # Alice, and Bob himself
    expect(who.get_by_role("checkbox", name="Alice")).not_to_be_checked()
    for box in who.get_by_role("checkbox").all():
        expect(box).not_to_be_checked()
    a11y.check(page, javascript)
    shot(page, f"sessions-{variant}-10-bob-past-session")
    if javascript:
        same_document(page)
    card.get_by_role("button", name="Anwesenheit speichern").click()
    card = page.locator("#session-card")
    expect((card if javascript else page).get_by_role("status")).to_have_text(
        "Danke: Die Anwesenheit ist festgehalten."
    )
    expect(card.get_by_role("group").get_by_role("checkbox", name="Alice")).not_to_be_checked()
    if javascript:
        still_same_document(page, session_url)
    else:
        expect(page).to_have_url(session_url)
    expect(card.locator("header .state-badge")).to_have_class(re.compile(r"\bstate-held\b"))
    kept = record(live, held)
    assert kept.attendance_at is not None and kept.attendance_by_id == bob.id
    assert kept.absences == []
    a11y.check(page, javascript)

    # and writes the shared notes
    notes = page.locator("#notes")
    boxes = notes.get_by_role("textbox")
    expect(boxes).to_have_count(3)
    for box, text in zip(boxes.all(), NOTES.values(), strict=True):
        expect(box).to_have_value("")
        box.fill(text)
    if javascript:
        same_document(page)
    notes.get_by_role("button", name="Notizen speichern").click()
    notes = page.locator("#notes")
    expect((notes if javascript else page).get_by_role("status")).to_have_text(
        "Eure Notizen sind gespeichert."
    )
    for box, text in zip(notes.get_by_role("textbox").all(), NOTES.values(), strict=True):
        expect(box).to_have_value(text)
    expect(notes.get_by_text(re.compile(r"^Zuletzt gespeichert von Bob am "))).to_be_visible()
    if javascript:  # the notes were saved in place
        still_same_document(page, session_url)
    else:
        expect(page).to_have_url(session_url + "#notes")
    assert record(live, held).notes == NOTES
    a11y.check(page, javascript)
    shot(page, f"sessions-{variant}-11-bob-notes")

    # 5. Alice makes her calendar address (she logged in moments ago: no password asked)
    page = alice_page
    page.goto(live.url + "/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    calendar = page.locator("#calendar")
    expect(calendar.get_by_role("heading", name="Your calendar")).to_be_visible()
    expect(calendar.get_by_label("Your password, to confirm it is you")).to_have_count(0)
    a11y.check(page, javascript)
    settings_url = page.url
    if javascript:
        same_document(page)
    calendar.get_by_role("button", name="Make my calendar address").click()
    calendar = page.locator("#calendar")
    https = calendar.get_by_label("For Google Calendar, Thunderbird and any other (https)")
    webcal = calendar.get_by_label("For Apple Calendar and Outlook (webcal)")
    expect(https).to_have_value(re.compile(rf"^{re.escape(live.url)}/calendar/[\w-]+\.ics$"))
    feed_url = https.input_value()
    expect(webcal).to_have_value(re.sub(r"^https?://", "webcal://", feed_url))
    expect(calendar.get_by_role("status")).to_contain_text("copy it now")
    if javascript:
        still_same_document(page, settings_url)
    a11y.check(page, javascript)
    shot(page, f"sessions-{variant}-12-calendar-address")
    page.goto(settings_url)  # shown only once
    calendar = page.locator("#calendar")
    expect(calendar.get_by_role("textbox")).to_have_count(0)
    expect(calendar).not_to_contain_text(feed_url)
    expect(calendar.get_by_role("button", name="Make a new calendar address")).to_be_visible()
    a11y.check(page, javascript)

    # a calendar program fetches the address, then asks whether it changed
    fetched = alice_context.request.get(feed_url)
    assert fetched.status == 200
    assert fetched.headers["content-type"].startswith("text/calendar")
    body = fetched.body()
    assert lint(body) == []
    assert f"EXDATE;TZID=Europe/Berlin:{local(cancelled.start)}" in unfolded(body)
    etag = fetched.headers["etag"]
    again = alice_context.request.get(feed_url, headers={"If-None-Match": etag})
    assert again.status == 304
    assert again.body() == b""
    alice_context.close()
    bob_context.close()
