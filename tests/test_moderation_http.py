"""Reports, the review queue and appeals over HTTP: pages and fragments, with and without
htmx; members get 404 on every moderation page and action; nobody acts on admins or on
themselves; a suspended member cannot log in and reads why and until when; the reporter
is told the outcome, and the reported member never learns who reported."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from peerhub.accounts.models import User
from peerhub.extensions import db
from peerhub.intros import service as intros
from peerhub.intros.models import IntroMessage
from peerhub.moderation.models import Appeal, AuditEntry, ModerationAction, ReportCase
from tests.conftest import HX_BOOSTED, HX_PARTIAL, Auth, make_user
from tests.intro_factories import ask, ready

INSULT = "You are useless. Nobody wants to be your tandem."


@pytest.fixture
def thread(app, alice, bob, carol):
    """Alice asked Bob for an intro call; Bob answered with an insult. Returns the
    request's id and the message's id."""
    ready(app, alice, bob, carol)
    request_id = ask(app, alice, bob)
    with app.app_context(), force_locale("en"):
        message = intros.post_message(db.session.get(User, bob.id), request_id, INSULT)
        return request_id, message.id


@pytest.fixture
def second_mod(app):
    return make_user(app, "mona@example.org", "Mona", role="moderator")


def client_for(app, persona):
    """Another browser, logged in as `persona`."""
    other = app.test_client()
    Auth(other).login(persona)
    return other


def report_message(client, message_id: int, headers=None, **data):
    form = {"about": "message", "category": "harassment", "details": "Out of nowhere."}
    form.update(data)
    return client.post(f"/messages/{message_id}/report", data=form, headers=headers or {})


def the_case(app, kind: str = "message") -> ReportCase:
    with app.app_context():
        case = db.session.scalar(
            select(ReportCase).where(ReportCase.target_kind == kind).order_by(ReportCase.id.desc())
        )
        db.session.expunge(case)
        return case


def act(client, case: ReportCase, action: str, reason="Insults are not OK.", headers=None, **data):
    form = {"action": action, "reason": reason, "version": str(case.version)}
    form.update(data)
    return client.post(f"/moderation/cases/{case.id}/act", data=form, headers=headers or {})


def row(app, model, id_):
    with app.app_context():
        found = db.session.get(model, id_)
        db.session.expunge(found)
        return found


# --- reporting -----------------------------------------------------------------------------------


def test_reporting_a_message_without_javascript(app, client, auth, alice, thread):
    request_id, message_id = thread
    auth.login(alice)
    page = client.get(f"/intros/{request_id}").text
    assert f'href="/messages/{message_id}/report"' in page  # below Bob's message
    form = client.get(f"/messages/{message_id}/report")
    assert form.status_code == 200 and "Report a message from Bob" in form.text
    assert INSULT in form.text and "never learns who reported" in form.text
    filed = report_message(client, message_id)
    assert filed.status_code == 303 and filed.headers["Location"] == "/reports"
    mine = client.get("/reports").text
    assert "The moderators will look at your report" in mine
    assert "A message from Bob" in mine and "Being reviewed" in mine
    case = the_case(app)
    assert case.report_count == 1 and case.subject_name == "Bob"


def test_reporting_a_profile_with_htmx_and_again(app, client, auth, alice, bob, thread):
    auth.login(alice)
    member_page = client.get(f"/members/{bob.id}").text
    assert f'href="/members/{bob.id}/report"' in member_page
    data = {"about": "profile", "category": "spam", "details": "Only ads."}
    first = client.post(f"/members/{bob.id}/report", data=data, headers=HX_PARTIAL)
    assert first.status_code == 200 and "<html" not in first.text
    assert 'id="report-form"' in first.text and "Thank you" in first.text
    again = client.post(f"/members/{bob.id}/report", data=data, headers=HX_PARTIAL)
    assert "You had reported this already" in again.text
    assert the_case(app, "profile").report_count == 1
    boosted = client.get(f"/members/{bob.id}/report", headers=HX_BOOSTED)
    assert "<html" in boosted.text and 'name="about" value="member"' in boosted.text


def test_a_report_with_bad_input_answers_422_with_the_form(client, auth, alice, bob, thread):
    _request_id, message_id = thread
    auth.login(alice)
    page = report_message(client, message_id, category="")
    assert page.status_code == 422 and "<html" in page.text
    assert "Please choose what the problem is." in page.text
    fragment = report_message(client, message_id, headers=HX_PARTIAL, category="other", details="")
    assert fragment.status_code == 422 and "<html" not in fragment.text
    assert (
        "Please tell us what happened." in fragment.text and 'aria-invalid="true"' in fragment.text
    )
    odd = client.post(f"/members/{bob.id}/report", data={"about": "journal", "category": "spam"})
    assert odd.status_code == 422 and "Please choose what you are reporting." in odd.text


def test_what_a_member_may_not_see_they_cannot_report(client, auth, alice, mallory, thread):
    _request_id, message_id = thread
    auth.login(mallory)
    assert client.get(f"/messages/{message_id}/report").status_code == 404
    assert report_message(client, message_id).status_code == 404
    assert client.get(f"/members/{mallory.id}/report").status_code == 404  # herself
    assert client.get("/members/999999/report").status_code == 404
    auth.logout()
    auth.login(alice)
    # her own message: no link, no form
    assert client.get("/messages/999999/report").status_code == 404


def test_reports_are_rate_limited(make_app):
    app = make_app(REPORT_LIMIT="2 per hour")
    alice = make_user(app, "alice@example.org", "Alice")
    bob = make_user(app, "bob@example.org", "Bob")
    ready(app, alice, bob)
    client = client_for(app, alice)
    data = {"about": "member", "category": "spam", "details": "Ads."}
    codes = [client.post(f"/members/{bob.id}/report", data=data).status_code for _ in range(3)]
    assert codes == [303, 303, 429]


def test_visitors_must_log_in_to_report(client, bob, thread):
    _request_id, message_id = thread
    assert client.get(f"/members/{bob.id}/report").status_code == 302
    assert client.get("/reports").status_code == 302
    assert client.get("/account/moderation").status_code == 302
    assert report_message(client, message_id).status_code == 302


# --- moderation pages are for moderators ----------------------------------------------------------


def test_members_get_404_on_every_moderation_page_and_action(
    app, client, auth, alice, bob, thread, mod
):
    _request_id, message_id = thread
    auth.login(alice)
    report_message(client, message_id)
    case = the_case(app)
    moderator = client_for(app, mod)
    act(moderator, case, "warn")
    with app.app_context():
        action_id = db.session.scalar(select(ModerationAction.id))
        appeal = Appeal(action_id=action_id, user_id=bob.id, text="Sorry.")
        db.session.add(appeal)
        db.session.commit()
        appeal_id = appeal.id
    pages = [
        ("GET", "/moderation/queue"),
        ("GET", f"/moderation/cases/{case.id}"),
        ("POST", f"/moderation/cases/{case.id}/act"),
        ("POST", f"/moderation/members/{bob.id}/lift"),
        ("GET", "/moderation/appeals"),
        ("POST", f"/moderation/appeals/{appeal_id}/decide"),
    ]
    for visitor in (app.test_client(), client, client_for(app, bob)):
        for method, path in pages:
            response = visitor.open(path, method=method, data={"action": "ban", "reason": "x"})
            assert response.status_code == 404, (method, path)
            htmx = visitor.open(path, method=method, headers=HX_PARTIAL)
            assert htmx.status_code == 404 and "<html" not in htmx.text
    assert 'href="/moderation/queue"' not in client.get("/").text
    assert 'href="/moderation/queue"' in moderator.get("/").text


# --- the queue and its actions --------------------------------------------------------------------


@pytest.fixture
def reported(app, client, auth, alice, thread):
    """Alice reported Bob's insult and stays logged in."""
    _request_id, message_id = thread
    auth.login(alice)
    assert report_message(client, message_id).status_code == 303
    return message_id


def test_the_queue_shows_the_case_with_its_context(app, reported, mod):
    moderator = client_for(app, mod)
    page = moderator.get("/moderation/queue")
    assert page.status_code == 200 and 'aria-current="page">Queue' in page.text
    html = page.text
    assert INSULT in html and "Harassment or bullying" in html and "Out of nowhere." in html
    assert "Alice" in html  # moderators see who reported
    assert "1 open case." in html and "History of Bob" in html
    assert 'name="version" value="' in html
    single = moderator.get(f"/moderation/cases/{the_case(app).id}")
    assert single.status_code == 200 and INSULT in single.text
    assert (
        "<html"
        not in moderator.get(f"/moderation/cases/{the_case(app).id}", headers=HX_PARTIAL).text
    )
    assert moderator.get("/moderation/queue?order=most").status_code == 200
    assert moderator.get("/moderation/queue?order=nonsense").status_code == 200


def test_warning_in_place_with_htmx_resolves_every_case_of_the_member(
    app, client, reported, mod, bob, carol
):
    message_case = the_case(app)
    carol_client = client_for(app, carol)
    carol_client.post(
        f"/members/{bob.id}/report", data={"about": "profile", "category": "spam", "details": ""}
    )
    profile_case = the_case(app, "profile")
    moderator = client_for(app, mod)
    response = act(moderator, message_case, "warn", headers=HX_PARTIAL)
    assert response.status_code == 200 and "<html" not in response.text
    assert f'id="case-{message_case.id}"' in response.text and "Resolved" in response.text
    assert "Bob is warned" in response.text
    # the other card on the page changes too, out of band
    assert re.search(rf'id="case-{profile_case.id}"[^>]*hx-swap-oob="true"', response.text)
    assert row(app, ReportCase, profile_case.id).state == "resolved"
    # the reporters are told in general words
    assert "Reviewed: we took action" in client.get("/reports").text
    notices = client.get("/notifications/").text
    assert "Your report about Bob was reviewed: we took action" in notices
    assert "Wir haben gehandelt" in carol_client.get("/notifications/").text  # Carol reads German


def test_dismissing_without_javascript_redirects_to_the_queue(app, client, reported, mod):
    moderator = client_for(app, mod)
    response = act(moderator, the_case(app), "dismiss", "Within the rules.")
    assert response.status_code == 303 and response.headers["Location"] == "/moderation/queue"
    queue = moderator.get("/moderation/queue").text
    assert "The case is dismissed" in queue and "No open cases." in queue
    assert "Reviewed: no action needed" in client.get("/reports").text


def test_a_stale_form_answers_409_and_shows_what_the_first_did(app, reported, mod, second_mod):
    case = the_case(app)
    first, second = client_for(app, mod), client_for(app, second_mod)
    assert act(first, case, "warn", "Be kind, please.").status_code == 303
    stale = act(second, case, "ban", "Out.", headers=HX_PARTIAL)
    assert stale.status_code == 409 and "<html" not in stale.text
    assert "Mo has handled this case already: Warning" in stale.text
    assert "Be kind, please." in stale.text
    page = act(second, case, "ban", "Out.")
    assert page.status_code == 409 and "<html" in page.text
    with second.application.app_context():
        assert db.session.scalar(select(User.status).where(User.id == case.subject_id)) == "active"
        assert len(db.session.scalars(select(ModerationAction)).all()) == 1


def test_an_action_without_a_reason_answers_422(app, reported, mod):
    moderator = client_for(app, mod)
    case = the_case(app)
    fragment = act(moderator, case, "warn", "", headers=HX_PARTIAL)
    assert fragment.status_code == 422 and "<html" not in fragment.text
    assert "Please give a reason" in fragment.text and 'aria-invalid="true"' in fragment.text
    page = act(moderator, case, "suspend", "Insults.", until="")
    assert page.status_code == 422 and "choose the day the suspension ends" in page.text
    assert act(moderator, case, "explode").status_code == 422
    assert row(app, ReportCase, case.id).state == "open"


def test_hiding_takes_the_message_out_of_the_thread(app, client, reported, mod):
    request_id, _ = (None, None)
    moderator = client_for(app, mod)
    act(moderator, the_case(app), "hide", "An insult.", headers=HX_PARTIAL)
    assert row(app, IntroMessage, reported).hidden_at is not None
    with app.app_context():
        request_id = db.session.get(IntroMessage, reported).request_id
    thread_page = client.get(f"/intros/{request_id}").text
    assert INSULT not in thread_page and "A moderator has hidden this message." in thread_page
    assert f"/messages/{reported}/report" not in thread_page


def test_hiding_a_profile_answers_404_on_the_member_page(app, client, reported, mod, bob):
    client.post(
        f"/members/{bob.id}/report", data={"about": "profile", "category": "spam", "details": ""}
    )
    act(client_for(app, mod), the_case(app, "profile"), "hide", "Ads only.")
    assert client.get(f"/members/{bob.id}").status_code == 404
    assert f'href="/members/{bob.id}"' not in client.get("/members").text
    bob_client = client_for(app, bob)
    mine = bob_client.get("/account/moderation").text
    assert "Your profile was hidden" in mine and "Ads only." in mine


# --- suspension at the door --------------------------------------------------------------------


def test_a_suspended_member_cannot_log_in_and_reads_why_and_until_when(app, reported, mod, bob):
    bob_client = client_for(app, bob)
    assert bob_client.get("/reports").status_code == 200
    moderator = client_for(app, mod)
    until = (date.today() + timedelta(days=10)).isoformat()
    done = act(moderator, the_case(app), "suspend", "Repeated insults.", until=until)
    assert done.status_code == 303
    # the session Bob had is over
    assert bob_client.get("/reports").status_code == 302
    login = bob_client.post("/login", data={"email": bob.email, "password": bob.password})
    assert login.status_code == 403
    assert "This account is suspended until" in login.text and "Repeated insults." in login.text
    assert "(America/New_York)" in login.text
    link = re.search(r'href="(/appeal/[^"]+)"', login.text).group(1)
    form = bob_client.get(link)
    assert form.status_code == 200 and "Appeal your suspension" in form.text
    assert "Repeated insults." in form.text
    sent = bob_client.post(link, data={"text": "Alice and I were joking."})
    assert sent.status_code == 200 and "Your appeal is with the moderators" in sent.text
    again = bob_client.post(link, data={"text": "Once more."})
    assert again.status_code == 409 and "appealed this already" in again.text
    empty_link = bob_client.post(link, data={"text": ""})
    assert empty_link.status_code == 422
    assert bob_client.get("/appeal/forged-token").status_code == 400
    # the mail says the same and carries the appeal link
    with app.app_context():
        from tests.records import mails

        [mail] = [m for m in mails(bob.email) if m.template == "moderation_suspended"]
        assert "Repeated insults." in mail.text_body and "/appeal/" in mail.text_body
        assert "Alice" not in mail.text_body


def test_a_warning_shows_once_at_the_next_login(app, reported, mod, bob):
    act(client_for(app, mod), the_case(app), "warn", "Please keep your messages kind.")
    bob_client = app.test_client()
    Auth(bob_client).login(bob)
    home = bob_client.get("/").text
    assert "A moderator has warned you: Please keep your messages kind." in home
    Auth(bob_client).logout()
    Auth(bob_client).login(bob)
    assert "A moderator has warned you" not in bob_client.get("/").text


def test_the_reported_member_never_sees_the_reporter(app, reported, mod, bob):
    act(client_for(app, mod), the_case(app), "hide", "An insult.")
    bob_client = client_for(app, bob)
    page = bob_client.get("/account/moderation")
    assert page.status_code == 200 and "An insult." in page.text and INSULT in page.text
    assert "Alice" not in page.text and "Harassment" not in page.text
    assert bob_client.get("/reports").text.count("Alice") == 0
    assert bob_client.get("/moderation/queue").status_code == 404


# --- nobody acts on admins or on themselves ----------------------------------------------------


def stale_login(client) -> None:
    """The moderator logged in long ago (SECURITY 6)."""
    with client.session_transaction() as session:
        session["auth_at"] = 0


@pytest.mark.parametrize("headers", [{}, HX_PARTIAL])
def test_suspending_after_a_stale_login_asks_for_the_password(app, reported, mod, bob, headers):
    case = the_case(app)
    moderator = client_for(app, mod)
    stale_login(moderator)
    assert 'name="password"' in moderator.get(f"/moderation/cases/{case.id}").text
    until = (date.today() + timedelta(days=10)).isoformat()
    asked = act(moderator, case, "suspend", headers=headers, until=until)
    assert asked.status_code == 422 and "Please enter your password" in asked.text
    assert "Insults are not OK." in asked.text  # what was typed stays
    wrong = act(moderator, case, "suspend", headers=headers, until=until, password="not-it-0000")
    assert wrong.status_code == 422 and "not correct" in wrong.text
    assert row(app, User, bob.id).status == "active"
    assert row(app, ReportCase, case.id).state == "open"
    done = act(moderator, case, "suspend", headers=headers, until=until, password=mod.password)
    assert done.status_code == (200 if headers else 303)
    assert row(app, User, bob.id).status == "suspended"
    # the password counts as a fresh login for a while: no field on the next card
    assert 'name="password"' not in moderator.get(f"/moderation/cases/{case.id}").text


def test_dismissing_and_warning_need_no_fresh_login(app, reported, mod):
    moderator = client_for(app, mod)
    stale_login(moderator)
    assert act(moderator, the_case(app), "dismiss", "Within the rules.").status_code == 303


def test_the_password_is_not_asked_for_an_unknown_case(app, reported, mod):
    moderator = client_for(app, mod)
    stale_login(moderator)
    response = moderator.post(
        "/moderation/cases/999999/act", data={"action": "ban", "reason": "x", "version": "1"}
    )
    assert response.status_code == 404


def test_moderators_cannot_act_on_admins_or_themselves(app, client, auth, alice, mod):
    admin = make_user(app, "ada@example.org", "Ada", role="admin")
    ready(app, alice, mod, admin)
    auth.login(alice)
    for target in (mod, admin):
        client.post(
            f"/members/{target.id}/report",
            data={"about": "member", "category": "harassment", "details": ""},
        )
    moderator = client_for(app, mod)
    about_mod, about_admin = [the_case_about(app, target.id) for target in (mod, admin)]
    assert moderator.get(f"/moderation/cases/{about_mod.id}").status_code == 404
    assert moderator.get(f"/moderation/cases/{about_admin.id}").status_code == 404
    assert act(moderator, about_mod, "dismiss").status_code == 404
    assert act(moderator, about_admin, "warn").status_code == 404
    assert "Ada" not in moderator.get("/moderation/queue").text
    with app.app_context():
        db.session.get(User, admin.id).status = "suspended"
        db.session.commit()
    assert (
        moderator.post(f"/moderation/members/{admin.id}/lift", data={"reason": "x"}).status_code
        == 403
    )
    assert (
        moderator.post(f"/moderation/members/{mod.id}/lift", data={"reason": "x"}).status_code
        == 403
    )
    # the admin sees the case about the moderator, and may not warn another admin
    admin_client = client_for_admin(app, admin)
    assert admin_client.get(f"/moderation/cases/{about_mod.id}").status_code == 200
    assert admin_client.get(f"/moderation/cases/{about_admin.id}").status_code == 404  # herself
    with app.app_context():
        assert db.session.scalars(select(AuditEntry)).all() == []


def the_case_about(app, subject_id: int) -> ReportCase:
    with app.app_context():
        case = db.session.scalar(select(ReportCase).where(ReportCase.subject_id == subject_id))
        db.session.expunge(case)
        return case


def client_for_admin(app, admin):
    with app.app_context():
        db.session.get(User, admin.id).status = "active"
        db.session.commit()
    return client_for(app, admin)


# --- lifting and appeals ------------------------------------------------------------------------


def test_lifting_a_suspension_in_place(app, reported, mod, bob):
    moderator = client_for(app, mod)
    until = (date.today() + timedelta(days=10)).isoformat()
    act(moderator, the_case(app), "suspend", "Insults.", until=until)
    queue = moderator.get("/moderation/queue").text
    assert 'id="restricted"' in queue and "Bob" in queue and "suspended until" in queue
    refused = moderator.post(
        f"/moderation/members/{bob.id}/lift", data={"reason": ""}, headers=HX_PARTIAL
    )
    assert refused.status_code == 422 and 'id="restricted"' in refused.text
    lifted = moderator.post(
        f"/moderation/members/{bob.id}/lift", data={"reason": "He apologised."}, headers=HX_PARTIAL
    )
    assert lifted.status_code == 200 and "<html" not in lifted.text
    assert "Nobody is suspended or banned." in lifted.text
    assert row(app, User, bob.id).status == "active"
    again = moderator.post(f"/moderation/members/{bob.id}/lift", data={"reason": "Again."})
    assert again.status_code == 409


def test_appealing_a_warning_with_and_without_htmx(app, reported, mod, second_mod, bob, mallory):
    moderator = client_for(app, mod)
    act(moderator, the_case(app), "warn", "Insults are not OK.")
    with app.app_context():
        action_id = db.session.scalar(select(ModerationAction.id))
    assert (
        client_for(app, mallory)
        .post(f"/account/moderation/{action_id}/appeal", data={"text": "Mine!"})
        .status_code
        == 404
    )
    bob_client = client_for(app, bob)
    page = bob_client.get("/account/moderation").text
    assert "Appeal this decision" in page and "Insults are not OK." in page
    empty = bob_client.post(
        f"/account/moderation/{action_id}/appeal", data={"text": ""}, headers=HX_PARTIAL
    )
    assert empty.status_code == 422 and f'id="action-{action_id}"' in empty.text
    assert "<html" not in empty.text and "Please write why" in empty.text
    sent = bob_client.post(
        f"/account/moderation/{action_id}/appeal",
        data={"text": "It was a joke."},
        headers=HX_PARTIAL,
    )
    assert sent.status_code == 200 and "waiting for a moderator" in sent.text
    twice = bob_client.post(f"/account/moderation/{action_id}/appeal", data={"text": "Again."})
    assert twice.status_code == 409 and "<html" in twice.text
    # the moderator who warned may not decide
    appeals = moderator.get("/moderation/appeals").text
    assert "It was a joke." in appeals and "You made this decision" in appeals
    with app.app_context():
        appeal_id = db.session.scalar(select(Appeal.id))
    refused = moderator.post(
        f"/moderation/appeals/{appeal_id}/decide", data={"decision": "approve", "reason": ""}
    )
    assert refused.status_code == 403
    other = client_for(app, second_mod)
    no_reason = other.post(
        f"/moderation/appeals/{appeal_id}/decide",
        data={"decision": "reject", "reason": ""},
        headers=HX_PARTIAL,
    )
    assert no_reason.status_code == 422 and f'id="appeal-{appeal_id}"' in no_reason.text
    approved = other.post(
        f"/moderation/appeals/{appeal_id}/decide",
        data={"decision": "approve", "reason": "Fair."},
        headers=HX_PARTIAL,
    )
    assert approved.status_code == 200 and "Approved by Mona" in approved.text
    assert row(app, ModerationAction, action_id).lifted_at is not None
    mine = bob_client.get("/account/moderation").text
    assert "Appeal approved" in mine and "Withdrawn on" in mine
    assert "approved your appeal" in bob_client.get("/notifications/").text
    late = other.post(
        f"/moderation/appeals/{appeal_id}/decide", data={"decision": "reject", "reason": "No."}
    )
    assert late.status_code == 409


def test_appeal_without_javascript_redirects_to_the_card(app, reported, mod, bob):
    act(client_for(app, mod), the_case(app), "warn", "Insults.")
    with app.app_context():
        action_id = db.session.scalar(select(ModerationAction.id))
    bob_client = client_for(app, bob)
    sent = bob_client.post(f"/account/moderation/{action_id}/appeal", data={"text": "Sorry."})
    assert sent.status_code == 303
    assert sent.headers["Location"] == f"/account/moderation#action-{action_id}"


def test_moderation_pages_in_german(app, reported):
    german = make_user(app, "moni@example.org", "Moni", role="moderator", language="de")
    moderator = client_for(app, german)
    for path in (
        "/moderation/queue",
        "/moderation/appeals",
        f"/moderation/cases/{the_case(app).id}",
    ):
        page = moderator.get(path, headers={"Accept-Language": "de"})
        assert page.status_code == 200 and 'lang="de"' in page.text
