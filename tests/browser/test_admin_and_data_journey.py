"""Appeals, community settings and data rights in a real browser, with and without JavaScript.

1. Mo warns Bob (through the service); Bob reads the warning at his next login, follows the
   notification to the moderators' decisions about him and appeals (in place where
   JavaScript runs); Mo's card of the appeal lets him not decide on his own action; Mona
   approves it (in place); Bob reads the approval on his page and in his notifications.
2. Ada, an admin, switches sign-up to invitation only and creates an invite link (its address
   shown once); a visitor finds /signup closed, opens the link and signs up through it;
   the link is used up, and Ada opens sign-up again.
3. Mia downloads her data (a ZIP with peerhub-data.json) from her settings, then deletes her
   account: she is logged out on the home page, and her address no longer logs in.

axe checks every page on the way.
"""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest
from flask_babel import force_locale
from playwright.sync_api import expect
from sqlalchemy import select

from peerhub.accounts.models import User
from peerhub.community import service as community
from peerhub.extensions import db
from peerhub.moderation import cases
from peerhub.moderation.models import Appeal, ModerationAction, ReportCase
from tests.browser.conftest import new_context
from tests.browser.test_matching_journey import login
from tests.browser.test_moderation_journey import same_document, still_same_document
from tests.conftest import PASSWORD, make_user
from tests.intro_factories import ready
from tests.profile_factories import fill_profile

WARNING = "Please keep your messages friendly: no insults."
APPEAL = "I apologised to Alice the same day. It will not happen again."
APPROVAL = "He apologised at once; the warning is withdrawn."


def variant_of(javascript: bool) -> str:
    return "js" if javascript else "nojs"


def warn(live, reporter, member, moderator) -> int:
    """`reporter` reports `member`, and `moderator` warns them; returns the action's id."""
    with live.app.app_context(), force_locale("en"):
        filed = cases.report(
            db.session.get(User, reporter.id),
            "member",
            member.id,
            "harassment",
            "He insulted me in our intro thread.",
        )
        case = db.session.get(ReportCase, filed.report.case_id)
        action = cases.act(
            db.session.get(User, moderator.id), case.id, "warn", WARNING, case.version, None
        )
        action_id = action.id
        db.session.remove()
    return action_id


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_warning_appealed_and_approved_by_another_moderator(browser, live, a11y, javascript):
    variant = variant_of(javascript)
    alice = make_user(live.app, f"alice-a{variant}@example.org", "Alice")
    bob = make_user(live.app, f"bob-a{variant}@example.org", "Bob", timezone="America/New_York")
    mod = make_user(live.app, f"mod-a{variant}@example.org", "Mo", role="moderator")
    mona = make_user(live.app, f"mona-a{variant}@example.org", "Mona", role="moderator")
    ready(live.app, alice, bob)
    action_id = warn(live, alice, bob, mod)

    # 1. Bob reads the warning once, at his next login, and follows the notification
    bob_context = new_context(browser, javascript, locale="en-US", timezone_id="America/New_York")
    page = bob_context.new_page()
    login(page, live, bob.email)
    flashes = page.locator(".flashes")
    expect(flashes).to_contain_text(f"A moderator has warned you: {WARNING}")
    a11y.check(page, javascript)
    page.get_by_role("link", name=re.compile("Notifications")).first.click()
    expect(page).to_have_url(f"{live.url}/notifications/")
    notice = page.get_by_role("link", name="A moderator has sent you a warning. Please read it.")
    expect(notice).to_be_visible()
    a11y.check(page, javascript)
    notice.click()
    expect(page).to_have_url(f"{live.url}/account/moderation")
    expect(page.get_by_role("heading", level=1)).to_have_text("Moderators' decisions about you")
    expect(page.get_by_text(f"A moderator has warned you: {WARNING}")).to_have_count(0)  # once
    card = page.locator(f"#action-{action_id}")
    expect(card.get_by_role("heading", level=2)).to_contain_text("Warning")
    expect(card).to_contain_text(WARNING)
    a11y.check(page, javascript)

    # 2. he appeals: an empty appeal is refused on the card, then the words go through
    card.get_by_text("Appeal this decision").click()
    if javascript:
        same_document(page)
    card.get_by_role("button", name="Send the appeal").click()
    card = page.locator(f"#action-{action_id}")
    expect(card.get_by_role("alert")).to_have_text("Please write why you think this was wrong.")
    a11y.check(page, javascript)
    card.get_by_label("Why do you think it was wrong?").fill(APPEAL)
    card.get_by_role("button", name="Send the appeal").click()
    card = page.locator(f"#action-{action_id}")
    done = "Your appeal is with the moderators. We let you know what they decide."
    if javascript:  # the card became the appeal, in place
        expect(card.get_by_role("status")).to_have_text(done)
        still_same_document(page)
    else:
        expect(page).to_have_url(f"{live.url}/account/moderation#action-{action_id}")
        expect(page.locator(".flashes")).to_contain_text(done)
    expect(card).to_contain_text("Your appeal is waiting for a moderator.")
    expect(card.locator("blockquote")).to_have_text(APPEAL)
    expect(card.get_by_role("button", name="Send the appeal")).to_have_count(0)
    a11y.check(page, javascript)
    with live.app.app_context():
        appeal_id = db.session.scalar(select(Appeal.id).where(Appeal.action_id == action_id))
    assert appeal_id is not None

    # 3. Mo, who warned, reads the appeal but may not decide on it
    mod_context = new_context(browser, javascript, locale="en-GB", timezone_id="Europe/Berlin")
    mod_page = mod_context.new_page()
    login(mod_page, live, mod.email)
    mod_page.goto(f"{live.url}/moderation/appeals")
    mine = mod_page.locator(f"#appeal-{appeal_id}")
    expect(mine.get_by_role("heading", level=3)).to_have_text("Bob appeals: Warning")
    expect(mine).to_contain_text("Decided by Mo on")
    expect(mine.locator("blockquote")).to_have_text(APPEAL)
    expect(mine).to_contain_text("You made this decision: another moderator decides on the appeal.")
    expect(mine.locator("form")).to_have_count(0)
    expect(mine.get_by_role("button", name="Decide")).to_have_count(0)
    expect(mine.get_by_role("radio")).to_have_count(0)
    a11y.check(mod_page, javascript)

    # 4. Mona approves it, with a reason
    mona_context = new_context(browser, javascript, locale="en-GB", timezone_id="Europe/Berlin")
    mona_page = mona_context.new_page()
    login(mona_page, live, mona.email)
    mona_page.get_by_role("navigation", name="Main").get_by_role("link", name="Moderation").click()
    expect(mona_page).to_have_url(f"{live.url}/moderation/queue")
    a11y.check(mona_page, javascript)
    mona_page.get_by_role("navigation", name="Moderation").get_by_role(
        "link", name="Appeals"
    ).click()
    expect(mona_page).to_have_url(f"{live.url}/moderation/appeals")
    theirs = mona_page.locator(f"#appeal-{appeal_id}")
    expect(theirs.locator("blockquote")).to_have_text(APPEAL)
    expect(theirs.get_by_role("button", name="Decide")).to_be_visible()
    a11y.check(mona_page, javascript)
    if javascript:
        same_document(mona_page)
    theirs.get_by_label("Approve: lift the decision").check()
    theirs.get_by_label(re.compile("^Reason")).fill(APPROVAL)
    theirs.get_by_role("button", name="Decide").click()
    theirs = mona_page.locator(f"#appeal-{appeal_id}")
    approved = "Approved: the decision is lifted and the member is told."
    if javascript:  # the card shows the decision, in place
        expect(theirs.get_by_role("status")).to_have_text(approved)
        still_same_document(mona_page)
    else:
        expect(mona_page).to_have_url(f"{live.url}/moderation/appeals")
        expect(mona_page.locator(".flashes")).to_contain_text(approved)
        expect(mona_page.get_by_role("main")).to_contain_text("No appeal is waiting.")
    expect(theirs).to_contain_text("Approved by Mona")
    expect(theirs).to_contain_text(APPROVAL)
    expect(theirs.get_by_role("button", name="Decide")).to_have_count(0)
    a11y.check(mona_page, javascript)
    with live.app.app_context():
        assert db.session.get(ModerationAction, action_id).lifted_at is not None
        assert db.session.get(Appeal, appeal_id).decided_by_id == mona.id

    # 5. Mo's page now shows the appeal decided by Mona
    mod_page.reload()
    decided = mod_page.locator(f"#appeal-{appeal_id}")
    expect(decided).to_contain_text("Approved by Mona")
    expect(decided).not_to_contain_text("You made this decision")
    a11y.check(mod_page, javascript)

    # 6. Bob reads the approval on his page and in his notifications
    page.goto(f"{live.url}/account/moderation")
    card = page.locator(f"#action-{action_id}")
    expect(card).to_contain_text("Appeal approved: the decision is lifted.")
    expect(card).to_contain_text(APPROVAL)
    expect(card).to_contain_text("Withdrawn on")
    a11y.check(page, javascript)
    page.goto(f"{live.url}/notifications/")
    told = "A moderator has approved your appeal: the decision is lifted."
    expect(page.get_by_role("link", name=told)).to_be_visible()
    a11y.check(page, javascript)

    for context in (bob_context, mod_context, mona_context):
        context.close()


def invite_url_shown(page, javascript: bool) -> str:
    """The new invite link's address, shown once: in the invites card (htmx), or in the flash
    after the redirect (a plain form)."""
    if javascript:
        field = page.locator("#invites").get_by_role("textbox", name="Invite link")
        expect(field).to_have_value(re.compile(r"/join/"))
        return field.input_value()
    flash = page.locator(".flashes")
    expect(flash).to_contain_text("The invite link, shown only now, so copy it:")
    return re.search(r"https?://\S+/join/\S+", flash.inner_text()).group(0)


def save_signup_mode(page, javascript: bool, label: str) -> None:
    box = page.locator("#signup-mode")
    box.get_by_label(label).check()
    box.get_by_role("button", name="Save").click()
    saved = "Sign-up settings are saved."
    if javascript:
        expect(page.locator("#signup-mode").get_by_role("status")).to_have_text(saved)
        still_same_document(page)
    else:
        expect(page.locator(".flashes")).to_contain_text(saved)
    expect(page).to_have_url(re.compile(r"/admin/community$"))
    expect(page.locator("#signup-mode").get_by_label(label)).to_be_checked()


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_invitation_only_sign_up_through_an_invite_link(browser, live, a11y, javascript):
    variant = variant_of(javascript)
    admin = make_user(live.app, f"ada-c{variant}@example.org", "Ada", role="admin")
    newcomer = f"newcomer-c{variant}@example.org"
    label = f"Spring cohort {variant}"
    try:
        # 1. Ada closes sign-up to invitations and makes a link (on a phone: the invites table
        # scrolls in a region that takes the keyboard's focus, which axe checks)
        context = new_context(browser, javascript, locale="en-GB", timezone_id="Europe/Berlin")
        page = context.new_page()
        login(page, live, admin.email)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
        expect(page).to_have_url(f"{live.url}/admin/community")
        expect(page.get_by_role("heading", level=1)).to_have_text("Community settings")
        expect(page.locator("#signup-mode").get_by_label("Everyone: open sign-up")).to_be_checked()
        expect(page.locator("#invites")).to_contain_text("No invite links yet.")
        a11y.check(page, javascript)
        if javascript:
            same_document(page)
        save_signup_mode(page, javascript, "By invitation only: people with an invite link")
        # the invite links' hint follows the mode at once (out of band with JavaScript)
        expect(page.locator("#invites-hint")).to_contain_text(
            "People join with one of these links only."
        )
        a11y.check(page, javascript)
        with live.app.app_context():
            assert community.community_settings().signup_mode == "invitation"

        invites = page.locator("#invites")
        invites.get_by_label(re.compile("^Label")).fill(label)
        expect(invites.get_by_label("Valid for (days)")).to_have_value("14")
        invites.get_by_label("How many people can join with it").fill("1")
        invites.get_by_role("button", name="Create an invite link").click()
        url = invite_url_shown(page, javascript)
        assert url.startswith(f"{live.url}/join/"), url
        if javascript:  # the invites card was swapped in place
            still_same_document(page)
            expect(page.locator("#invites")).to_contain_text(
                "The new invite link. Copy it now: it is shown only once."
            )
        row = page.locator("#invites tbody tr", has_text=label)
        expect(row).to_contain_text("1 of 1")
        expect(row).to_contain_text("active")
        a11y.check(page, javascript)
        # the address is shown once: a fresh page has only the table row
        page.goto(f"{live.url}/admin/community")
        expect(page.locator("#invites").get_by_role("textbox", name="Invite link")).to_have_count(0)
        expect(page.get_by_text(url)).to_have_count(0)
        invites = page.locator("#invites")
        expect(invites).to_contain_text("People join with one of these links only.")

        # 2. a visitor finds sign-up closed, and joins with the link
        visitor_context = new_context(
            browser, javascript, locale="en-GB", timezone_id="Europe/Berlin"
        )
        visitor = visitor_context.new_page()
        visitor.goto(f"{live.url}/")
        nav = visitor.get_by_role("navigation", name="Main")
        nav.get_by_role("link", name="Join", exact=True).click()
        expect(visitor).to_have_url(f"{live.url}/signup")
        expect(visitor.get_by_role("heading", level=1)).to_have_text("Joining by invitation")
        expect(visitor.get_by_role("main").get_by_role("status")).to_have_text(
            "This community is open by invitation only. Please ask an admin or a member for an "
            "invite link."
        )
        expect(visitor.get_by_label("E-mail address")).to_have_count(0)
        a11y.check(visitor, javascript)

        visitor.goto(url)
        expect(visitor).to_have_url(f"{live.url}/signup")
        expect(visitor.get_by_role("heading", level=1)).to_have_text("Join PeerHub")
        expect(visitor.get_by_text("You are joining with an invite link.")).to_be_visible()
        a11y.check(visitor, javascript)
        visitor.get_by_label("E-mail address").fill(newcomer)
        visitor.get_by_label("Name shown to other members").fill("Nico")
        visitor.get_by_label("Password").fill("a long sentence to remember well")
        visitor.get_by_label("I have read the privacy notice and agree to it.").check()
        visitor.get_by_role("button", name="Create my account").click()
        expect(visitor).to_have_url(f"{live.url}/signup/check-inbox")
        expect(visitor.get_by_role("heading", level=1)).to_have_text("Check your inbox")
        a11y.check(visitor, javascript)
        assert live.link_in_last_mail(newcomer).startswith(f"{live.url}/verify/")
        with live.app.app_context():
            assert db.session.scalar(select(User.id).where(User.email == newcomer)) is not None

        # the link admitted one sign-up: it is used up now
        page.goto(f"{live.url}/admin/community")
        row = page.locator("#invites tbody tr", has_text=label)
        expect(row).to_contain_text("0 of 1")
        expect(row).to_contain_text("used up")
        expect(row.get_by_role("button", name="Withdraw")).to_have_count(0)
        a11y.check(page, javascript)
        visitor_context.close()
        other_context = new_context(browser, javascript, locale="en-GB")
        other = other_context.new_page()
        other.goto(url)
        expect(other.get_by_role("heading", level=1)).to_have_text("This invite link does not work")
        expect(other.get_by_role("alert")).to_contain_text("already been used as often as it may")
        a11y.check(other, javascript)

        # 3. Ada opens sign-up again: the form is back for everyone
        if javascript:
            same_document(page)
        save_signup_mode(page, javascript, "Everyone: open sign-up")
        other.goto(f"{live.url}/signup")
        expect(other.get_by_role("heading", level=1)).to_have_text("Join PeerHub")
        expect(other.get_by_label("E-mail address")).to_be_visible()
        a11y.check(other, javascript)
        other_context.close()
        context.close()
    finally:
        # the live app's database is shared with the other browser journeys
        with live.app.app_context(), force_locale("en"):
            if community.community_settings().signup_mode != "open":
                community.save_settings(db.session.get(User, admin.id), "open", "")
            db.session.remove()


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_data_download_then_account_deletion(browser, live, a11y, javascript, tmp_path):
    variant = variant_of(javascript)
    email = f"mia-d{variant}@example.org"
    headline = f"Facilitator who collects retrospective formats ({variant})"
    mia = make_user(live.app, email, "Mia", timezone="Europe/Berlin")
    fill_profile(live.app, mia, headline=headline)
    context = new_context(browser, javascript, locale="en-GB", timezone_id="Europe/Berlin")
    page = context.new_page()
    login(page, live, email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    expect(page).to_have_url(f"{live.url}/settings")
    expect(page.get_by_role("heading", level=1)).to_have_text("Settings")
    a11y.check(page, javascript)

    # 1. her data, as one ZIP (no password asked right after the login)
    export = page.locator("#settings-export")
    expect(export.get_by_label(re.compile("^Your password"))).to_have_count(0)
    with page.expect_download() as info:
        export.get_by_role("button", name="Download my data (ZIP)").click()
    download = info.value
    assert re.fullmatch(r"peerhub-data-\d{4}-\d{2}-\d{2}\.zip", download.suggested_filename)
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    archive = zipfile.ZipFile(io.BytesIO(saved.read_bytes()))
    assert "peerhub-data.json" in archive.namelist()
    exported = json.loads(archive.read("peerhub-data.json"))
    assert exported["account"]["email"] == email
    assert exported["account"]["display_name"] == "Mia"
    assert exported["profile"]["headline"] == headline
    # the page stays as it was, ready for the next step
    expect(page).to_have_url(f"{live.url}/settings")
    expect(page.get_by_role("heading", level=1)).to_have_text("Settings")

    # 2. deleting asks for the tick box: refused in place, nothing deleted
    if javascript:
        same_document(page)
    box = page.locator("#settings-delete")
    box.get_by_label("Your password", exact=True).fill(PASSWORD)
    box.get_by_role("button", name="Delete my account and my data").click()
    box = page.locator("#settings-delete")
    expect(box.locator(".field-error")).to_have_text(
        "Please confirm that your account and data are to be deleted."
    )
    if javascript:
        still_same_document(page)
    a11y.check(page, javascript)
    with live.app.app_context():
        assert db.session.get(User, mia.id) is not None

    # 3. with the password and the tick, the account goes; she is logged out at home
    box.get_by_label("Your password", exact=True).fill(PASSWORD)
    box.get_by_label(
        "I understand: my account and my data are deleted at once and for good."
    ).check()
    box.get_by_role("button", name="Delete my account and my data").click()
    expect(page).to_have_url(f"{live.url}/")
    expect(page.locator(".flashes")).to_contain_text(
        "Your account and your data are deleted. Thank you for your time here."
    )
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Log in")
    ).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    a11y.check(page, javascript)
    with live.app.app_context():
        assert db.session.get(User, mia.id) is None
        assert db.session.scalar(select(User.id).where(User.email == email)) is None

    # 4. her address no longer logs in: the usual wrong-credentials answer
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Log in").click()
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("E-mail address or password is wrong.")
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    a11y.check(page, javascript)
    page.goto(f"{live.url}/settings")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    a11y.check(page, javascript)
    context.close()
