"""The learning journal over HTTP: the list with its filters (htmx swaps the results), writing
once per form, reading, changing against the version read, deleting, sharing one entry with a
tandem and taking it back, and "what did I learn today?" from a session's page. With and
without htmx, refusals as 4xx with the message in place, in English and German.

Privacy (SECURITY.md 9): an entry is its author's alone. Partners, moderators and admins get
404 on every URL of a private entry; a shared one the tandem's members may read, never
change; it appears in nobody else's lists and on no moderation page.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from peerhub.accounts.models import User
from peerhub.extensions import db
from peerhub.journal import service as journal
from peerhub.journal.models import JournalEntry
from peerhub.moderation import cases
from tests.conftest import HX_BOOSTED, HX_PARTIAL, make_user
from tests.session_factories import active_tandem, sessions_of, user

GERMAN = {"Accept-Language": "de"}
BOTH = pytest.mark.parametrize("headers", [{}, HX_PARTIAL], ids=["page", "htmx"])
SECRET = "My fear of long meetings"
SECRET_BODY = "Nobody but me should read **this**."


def html(response) -> str:
    return response.get_data(as_text=True)


def alert(body: str) -> str:
    """The text of the first error message on the page or fragment."""
    found = re.search(r'class="flash flash-error" role="alert"[^>]*>(.*?)</p>', body, re.S)
    assert found, body
    return found.group(1)


def is_fragment(body: str, root: str) -> bool:
    return body.lstrip().startswith(f'<section id="{root}"') and "<html" not in body


def form_token(body: str) -> str:
    return re.search(r'name="token" value="([^"]+)"', body).group(1)


def entries(app) -> list[JournalEntry]:
    with app.app_context():
        found = db.session.scalars(select(JournalEntry).order_by(JournalEntry.id)).all()
        db.session.expunge_all()
        return list(found)


def write(app, persona, title=SECRET, body=SECRET_BODY, tandem_id=None, shared=False) -> int:
    with app.app_context():
        entry = journal.write(user(persona), journal.new_token(), title, body, tandem_id=tandem_id)
        if shared:
            journal.share(user(persona), entry.id)
        return entry.id


def browser(app, auth, persona):
    """Another browser, signed in as `persona`."""
    other = app.test_client()
    auth.login(persona, client=other)
    return other


@pytest.fixture
def tandem_id(app, alice, bob) -> int:
    return active_tandem(app, alice, bob, now=datetime.now(UTC) - timedelta(weeks=3))


@pytest.fixture
def signed_in(client, auth, alice, tandem_id):
    auth.login(alice)
    return client


@pytest.fixture
def admin(app):
    return make_user(app, "root@example.org", "Root", role="admin")


# --- the list ---------------------------------------------------------------------------------


def test_an_empty_journal_says_how_to_begin(signed_in):
    page = signed_in.get("/journal")
    assert page.status_code == 200
    body = html(page)
    assert "Your learning journal" in body and "Your journal is empty." in body
    assert 'href="/journal/new"' in body and 'role="search"' not in body
    assert signed_in.get("/journal", headers=HX_BOOSTED).data.startswith(b"<!doctype html>")


def test_the_list_filters_and_htmx_swaps_only_the_results(app, signed_in, alice, tandem_id):
    write(app, alice, "Timeboxing works", "Short agendas help.", tandem_id=tandem_id, shared=True)
    write(app, alice, "About saying no", "Practise it twice a week.")
    page = html(signed_in.get("/journal"))
    assert 'role="search"' in page and "2 entries" in page
    assert page.index("About saying no") < page.index("Timeboxing works")  # newest first
    found = signed_in.get("/journal?q=agenda", headers=HX_PARTIAL)
    assert found.status_code == 200
    body = html(found)
    assert is_fragment(body, "journal-results")
    assert "Timeboxing works" in body and "About saying no" not in body and "1 entry" in body
    shared = html(signed_in.get("/journal?shared=shared", headers=HX_PARTIAL))
    assert "Timeboxing works" in shared and "About saying no" not in shared
    private = html(signed_in.get("/journal?shared=private", headers=HX_PARTIAL))
    assert "Timeboxing works" not in private and "About saying no" in private
    by_tandem = html(signed_in.get(f"/journal?tandem={tandem_id}", headers=HX_PARTIAL))
    assert "Timeboxing works" in by_tandem and "About saying no" not in by_tandem
    none = html(signed_in.get("/journal?q=zebra", headers=HX_PARTIAL))
    assert "No entry matches." in none
    # a boosted or history request gets the whole page, with the filter applied
    whole = signed_in.get("/journal?q=agenda", headers=HX_BOOSTED)
    assert whole.data.startswith(b"<!doctype html>") and 'value="agenda"' in html(whole)
    assert {"HX-Request", "HX-Request-Type"} <= set(
        v.strip() for v in whole.headers["Vary"].split(",")
    )


def test_search_treats_wildcards_as_letters(app, signed_in, alice):
    write(app, alice, "100% focus", "")
    write(app, alice, "Other", "")
    body = html(signed_in.get("/journal?q=%25", headers=HX_PARTIAL))
    assert "100% focus" in body and "Other" not in body


# --- writing ----------------------------------------------------------------------------------


def test_writing_without_javascript_redirects_to_the_entry_with_a_flash(app, signed_in):
    form = signed_in.get("/journal/new")
    assert form.status_code == 200
    token = form_token(html(form))
    data = {"token": token, "title": "What I noticed", "body": "**Pauses** help.\n- one\n- two"}
    saved = signed_in.post("/journal/new", data=data)
    assert saved.status_code == 303
    [entry] = entries(app)
    assert saved.headers["Location"].endswith(f"/journal/{entry.id}")
    page = html(signed_in.get(saved.headers["Location"]))
    assert "Your entry is saved. Only you can read it." in page
    assert "<strong>Pauses</strong>" in page and "<li>one</li>" in page
    assert "Only you." in page and "Change" in page and "Delete for good" in page


def test_writing_with_htmx_lets_the_client_go_to_the_entry(app, signed_in):
    data = {"token": "htmx-token-1", "title": "From htmx", "body": ""}
    saved = signed_in.post("/journal/new", data=data, headers=HX_PARTIAL)
    assert saved.status_code == 200
    [entry] = entries(app)
    assert saved.headers["HX-Location"] == f"/journal/{entry.id}"


def test_the_same_form_sent_twice_makes_one_entry(app, signed_in):
    token = form_token(html(signed_in.get("/journal/new")))
    data = {"token": token, "title": "Once", "body": "only once"}
    first = signed_in.post("/journal/new", data=data)
    second = signed_in.post("/journal/new", data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert [e.title for e in entries(app)] == ["Once"]
    # a fresh form is a fresh entry
    other = form_token(html(signed_in.get("/journal/new")))
    assert other != token
    signed_in.post("/journal/new", data={**data, "token": other})
    assert len(entries(app)) == 2


@BOTH
def test_an_entry_needs_a_title(app, signed_in, headers):
    data = {"token": "tok-title", "title": "   ", "body": "words I typed"}
    refused = signed_in.post("/journal/new", data=data, headers=headers)
    assert refused.status_code == 422
    body = html(refused)
    assert alert(body) == "Give your entry a title."
    assert 'aria-invalid="true" aria-describedby="entry-error"' in body
    # what was typed stays, and so does the form's token (its second try is the same form)
    assert "words I typed" in body and 'name="token" value="tok-title"' in body
    assert entries(app) == []


def test_a_form_without_its_token_is_refused(app, signed_in):
    refused = signed_in.post("/journal/new", data={"title": "No token"})
    assert refused.status_code == 422
    assert "This form has expired." in alert(html(refused))
    assert entries(app) == []


def test_too_long_words_are_refused(app, signed_in):
    from peerhub.journal.models import BODY_MAX, TITLE_MAX

    long_title = {"token": "t1", "title": "x" * (TITLE_MAX + 1)}
    assert signed_in.post("/journal/new", data=long_title).status_code == 422
    long_body = {"token": "t2", "title": "ok", "body": "x" * (BODY_MAX + 1)}
    refused = signed_in.post("/journal/new", data=long_body)
    assert refused.status_code == 422 and f"at most {BODY_MAX} characters" in html(refused)
    assert entries(app) == []


def test_an_empty_title_is_refused_in_german(app, client, auth, carol):
    auth.login(carol)  # Carol's language is German
    refused = client.post("/journal/new", data={"token": "t", "title": ""})
    assert refused.status_code == 422
    body = html(refused)
    assert 'lang="de"' in body
    message = alert(body)
    # needs the German catalogue: "Give your entry a title."
    assert message != "Give your entry a title." and "Titel" in message, message


def test_the_journal_speaks_german(app, client, auth, carol):
    auth.login(carol)
    page = html(client.get("/journal"))
    assert 'lang="de"' in page
    # needs the German catalogue: "Your learning journal", "Write an entry"
    assert "Lerntagebuch" in page or "Tagebuch" in page, page
    assert "Eintrag" in page, page


def test_writing_about_a_goal_of_the_tandem(app, signed_in, tandem_id):
    form = html(signed_in.get("/journal/new"))
    assert f'value="{tandem_id}:g1"' in form and "With Bob" in form
    data = {
        "token": "goal-token",
        "title": "On my goal",
        "tandem": str(tandem_id),
        "goals": [f"{tandem_id}:g1"],
    }
    saved = signed_in.post("/journal/new", data=data)
    assert saved.status_code == 303
    page = html(signed_in.get(saved.headers["Location"]))
    assert "About: Lead meetings that end on time" in page
    refused = signed_in.post(
        "/journal/new", data={**data, "token": "bad-goal", "goals": [f"{tandem_id}:g9"]}
    )
    assert refused.status_code == 422 and alert(html(refused)) == "Choose goals from the list."


def test_writing_about_a_tandem_of_others_is_404(app, signed_in, mallory, carol):
    others = active_tandem(app, carol, mallory, now=datetime.now(UTC) - timedelta(weeks=3))
    data = {"token": "foreign", "title": "Sneaky", "tandem": str(others)}
    assert signed_in.post("/journal/new", data=data).status_code == 404
    assert entries(app) == []


# --- reading, changing, deleting --------------------------------------------------------------


def test_an_entry_is_sanitised_and_escaped(app, signed_in, alice):
    entry_id = write(
        app,
        alice,
        title="<b>Bold</b> title",
        body="<script>alert(1)</script> [click](javascript:alert(2)) [ok](https://example.org)",
    )
    body = html(signed_in.get(f"/journal/{entry_id}"))
    assert "<script>alert(1)" not in body and "&lt;script&gt;alert(1)" in body
    assert 'href="javascript:' not in body
    assert "&lt;b&gt;Bold&lt;/b&gt; title" in body and "<b>Bold</b>" not in body
    assert 'href="https://example.org"' in body and 'rel="nofollow noopener noreferrer"' in body


def test_changing_an_entry_without_javascript(app, signed_in, alice):
    entry_id = write(app, alice)
    form = html(signed_in.get(f"/journal/{entry_id}/edit"))
    assert "Change the entry" in form and 'name="base" value="1"' in form and SECRET in form
    data = {"title": "A calmer title", "body": "New words.", "base": "1"}
    saved = signed_in.post(f"/journal/{entry_id}/edit", data=data)
    assert saved.status_code == 303 and saved.headers["Location"].endswith(f"/journal/{entry_id}")
    page = html(signed_in.get(saved.headers["Location"]))
    assert "Your entry is saved." in page and "A calmer title" in page and "changed on" in page
    with_htmx = signed_in.post(
        f"/journal/{entry_id}/edit",
        data={**data, "title": "Third", "base": "2"},
        headers=HX_PARTIAL,
    )
    assert with_htmx.status_code == 200
    assert with_htmx.headers["HX-Location"] == f"/journal/{entry_id}"
    assert [(e.title, e.version) for e in entries(app)] == [("Third", 3)]


def test_a_change_with_an_empty_title_is_refused_in_place(app, signed_in, alice):
    entry_id = write(app, alice)
    refused = signed_in.post(
        f"/journal/{entry_id}/edit", data={"title": "", "body": "kept", "base": "1"}
    )
    assert refused.status_code == 422
    body = html(refused)
    assert alert(body) == "Give your entry a title." and "kept" in body
    assert 'name="base" value="1"' in body
    assert entries(app)[0].title == SECRET


def test_a_stale_change_shows_both_texts(app, client, auth, alice):
    entry_id = write(app, alice, title="First title", body="First words.")
    auth.login(alice)
    tab_one = html(client.get(f"/journal/{entry_id}/edit"))
    assert 'name="base" value="1"' in tab_one
    # the other tab saved meanwhile
    saved = {"title": "Saved title", "body": "Saved words.", "base": "1"}
    assert client.post(f"/journal/{entry_id}/edit", data=saved).status_code == 303
    mine = {"title": "My late title", "body": "My late words.", "base": "1"}
    stale = client.post(f"/journal/{entry_id}/edit", data=mine)
    assert stale.status_code == 409
    body = html(stale)
    assert "You changed this entry in another tab or window meanwhile." in body
    # the form holds the saved text, the box above it the words just typed
    assert 'value="Saved title"' in body and ">Saved words.</textarea>" in body
    assert "<em>My late title</em>" in body and "My late words." in body
    assert 'name="base" value="2"' in body
    assert [(e.title, e.version) for e in entries(app)] == [("Saved title", 2)]


def test_deleting_an_entry(app, signed_in, alice):
    entry_id = write(app, alice)
    deleted = signed_in.post(f"/journal/{entry_id}/delete")
    assert deleted.status_code == 303 and deleted.headers["Location"].endswith("/journal")
    page = html(signed_in.get("/journal"))
    assert "The entry is deleted." in page and SECRET not in page
    assert signed_in.get(f"/journal/{entry_id}").status_code == 404
    assert signed_in.post(f"/journal/{entry_id}/delete").status_code == 404
    other = write(app, alice, title="Second")
    with_htmx = signed_in.post(f"/journal/{other}/delete", headers=HX_PARTIAL)
    assert with_htmx.status_code == 200 and with_htmx.headers["HX-Location"] == "/journal"
    assert entries(app) == []


# --- sharing ----------------------------------------------------------------------------------


def test_sharing_without_javascript(app, signed_in, alice, tandem_id):
    entry_id = write(app, alice, tandem_id=tandem_id)
    page = html(signed_in.get(f"/journal/{entry_id}"))
    assert "Only you." in page and "Share with Bob" in page
    shared = signed_in.post(f"/journal/{entry_id}/share")
    assert shared.status_code == 303 and shared.headers["Location"].endswith(f"/journal/{entry_id}")
    page = html(signed_in.get(shared.headers["Location"]))
    assert "Shared: the members of your tandem can read this entry now." in page
    assert "You and the members of your tandem with Bob" in page
    assert "Make it private again" in page
    back = signed_in.post(f"/journal/{entry_id}/unshare")
    assert back.status_code == 303
    page = html(signed_in.get(back.headers["Location"]))
    assert "Private again: only you can read this entry." in page and "Only you." in page


def test_sharing_with_htmx_answers_the_sharing_box_in_place(app, signed_in, alice, tandem_id):
    entry_id = write(app, alice, tandem_id=tandem_id)
    shared = signed_in.post(f"/journal/{entry_id}/share", headers=HX_PARTIAL)
    assert shared.status_code == 200
    body = html(shared)
    assert is_fragment(body, "sharing")
    assert "Shared: the members of your tandem can read this entry now." in body
    # twice changes nothing
    assert signed_in.post(f"/journal/{entry_id}/share", headers=HX_PARTIAL).status_code == 200
    back = signed_in.post(f"/journal/{entry_id}/unshare", headers=HX_PARTIAL)
    assert back.status_code == 200
    body = html(back)
    assert is_fragment(body, "sharing") and "Private again: only you can read this entry." in body
    assert entries(app)[0].shared_at is None


@BOTH
def test_an_entry_about_no_tandem_is_shared_with_a_chosen_one(
    app, signed_in, alice, tandem_id, headers
):
    entry_id = write(app, alice)
    page = html(signed_in.get(f"/journal/{entry_id}"))
    assert 'name="tandem"' in page and "Share this entry" in page
    refused = signed_in.post(f"/journal/{entry_id}/share", headers=headers)
    assert refused.status_code == 422
    body = html(refused)
    assert alert(body) == "Choose the tandem to share this entry with."
    assert is_fragment(body, "sharing") == bool(headers)
    shared = signed_in.post(
        f"/journal/{entry_id}/share", data={"tandem": str(tandem_id)}, headers=headers
    )
    assert shared.status_code == (200 if headers else 303)
    assert entries(app)[0].tandem_id == tandem_id and entries(app)[0].shared_at is not None


def test_an_entry_cannot_be_shared_with_a_tandem_of_others(app, signed_in, alice, carol, mallory):
    others = active_tandem(app, carol, mallory, now=datetime.now(UTC) - timedelta(weeks=3))
    entry_id = write(app, alice)
    assert (
        signed_in.post(f"/journal/{entry_id}/share", data={"tandem": str(others)}).status_code
        == 404
    )
    assert entries(app)[0].shared_at is None


# --- privacy ----------------------------------------------------------------------------------


def every_url(entry_id: int) -> list[tuple[str, str, dict | None]]:
    return [
        ("GET", f"/journal/{entry_id}", None),
        ("GET", f"/journal/{entry_id}/edit", None),
        ("POST", f"/journal/{entry_id}/edit", {"title": "Taken", "body": "", "base": "1"}),
        ("POST", f"/journal/{entry_id}/delete", None),
        ("POST", f"/journal/{entry_id}/share", None),
        ("POST", f"/journal/{entry_id}/unshare", None),
    ]


def refused_everywhere(client, urls) -> None:
    for method, path, data in urls:
        for headers in ({}, HX_PARTIAL):
            answer = client.open(path, method=method, data=data, headers=headers)
            assert answer.status_code == 404, (method, path, headers, answer.status_code)
            assert SECRET not in html(answer)


def test_a_private_entry_is_404_for_the_partner_a_moderator_and_an_admin(
    app, auth, alice, bob, mod, admin, tandem_id
):
    entry_id = write(app, alice, tandem_id=tandem_id)
    for persona in (bob, mod, admin):
        refused_everywhere(browser(app, auth, persona), every_url(entry_id))
    [entry] = entries(app)
    assert (entry.title, entry.version, entry.shared_at) == (SECRET, 1, None)


def test_a_shared_entry_is_read_by_the_tandem_and_changed_by_nobody_else(
    app, auth, alice, bob, mod, admin, tandem_id
):
    entry_id = write(app, alice, tandem_id=tandem_id, shared=True)
    bobs = browser(app, auth, bob)
    read = bobs.get(f"/journal/{entry_id}")
    assert read.status_code == 200
    body = html(read)
    assert SECRET in body and "<strong>this</strong>" in body
    assert "Alice shared this entry from their journal with your tandem." in body
    assert "Back to your tandem" in body
    assert "Make it private again" not in body and "Delete for good" not in body
    assert f'href="/journal/{entry_id}/edit"' not in body
    assert read.headers["Cache-Control"] == "no-store"
    refused_everywhere(bobs, every_url(entry_id)[1:])
    for persona in (mod, admin):
        refused_everywhere(browser(app, auth, persona), every_url(entry_id))
    [entry] = entries(app)
    assert (entry.title, entry.version) == (SECRET, 1) and entry.shared_at is not None
    # taken back: Bob reads it no more
    alices = browser(app, auth, alice)
    assert alices.post(f"/journal/{entry_id}/unshare").status_code == 303
    assert bobs.get(f"/journal/{entry_id}").status_code == 404


def test_the_tandem_page_lists_shared_entries_only(app, auth, alice, bob, tandem_id):
    shared_id = write(app, alice, title="Shared insight", tandem_id=tandem_id, shared=True)
    write(app, alice, tandem_id=tandem_id)
    bobs = browser(app, auth, bob)
    page = html(bobs.get(f"/tandems/{tandem_id}"))
    assert "Shared insight" in page and "shared by Alice" in page and SECRET not in page
    assert f'href="/journal/{shared_id}"' in page


def test_journal_lists_never_show_others_entries(app, auth, alice, bob, mod, admin, tandem_id):
    write(app, alice, tandem_id=tandem_id, shared=True)
    write(app, alice, title="Private one", tandem_id=tandem_id)
    for persona in (bob, mod, admin):
        other = browser(app, auth, persona)
        for query in ("", "?q=fear", "?shared=shared", f"?tandem={tandem_id}", "?session=1"):
            for headers in ({}, HX_PARTIAL):
                body = html(other.get(f"/journal{query}", headers=headers))
                assert SECRET not in body and "Private one" not in body, (persona, query)
        assert "Your journal is empty." in html(other.get("/journal"))


def test_no_moderation_page_shows_journal_text(app, auth, alice, bob, mod, admin, tandem_id):
    from peerhub.matching.models import MatchingRound, Proposal, ProposalMember

    write(app, alice, tandem_id=tandem_id, shared=True)
    write(app, bob, title="Bob's private worry", body="Very private", tandem_id=tandem_id)
    with app.app_context():
        round_ = MatchingRound(status="published")
        db.session.add(round_)
        db.session.flush()
        proposal = Proposal(round_id=round_.id, score=50, status="proposed")
        proposal.members = [
            ProposalMember(user_id=alice.id, round_id=round_.id),
            ProposalMember(user_id=bob.id, round_id=round_.id),
        ]
        db.session.add(proposal)
        db.session.commit()
        round_id = round_.id
        with force_locale("en"):  # a case about Bob, so its page is walked too
            filed = cases.report(db.session.get(User, alice.id), "member", bob.id, "other", "Hm.")
        case_id = filed.report.case_id
    rules = [
        r
        for r in app.url_map.iter_rules()
        if r.endpoint.startswith("moderation.") and "GET" in r.methods
    ]
    assert len(rules) >= 3
    for persona in (mod, admin):
        moderator = browser(app, auth, persona)
        for rule in rules:
            ids = {"round_id": round_id, "user_id": alice.id, "case_id": case_id}
            path = rule.build({k: v for k, v in ids.items() if k in rule.arguments})[1]
            answer = moderator.get(path)
            assert answer.status_code == 200, (path, answer.status_code)
            body = html(answer)
            for words in (SECRET, "Nobody but me", "Bob&#39;s private worry", "Very private"):
                assert words not in body, (path, words)
        # nor the members' profiles
        for member in (alice, bob):
            profile = html(moderator.get(f"/members/{member.id}"))
            assert SECRET not in profile and "private worry" not in profile


def test_journal_pages_are_never_cached(app, signed_in, alice, tandem_id):
    entry_id = write(app, alice, tandem_id=tandem_id)
    with app.app_context():
        session = sessions_of(tandem_id)[0]
    for path, headers in [
        ("/journal", {}),
        ("/journal?q=fear", HX_PARTIAL),
        ("/journal/new", {}),
        (f"/journal/new?series_id={session.series.id}&number={session.number}", {}),
        (f"/journal/{entry_id}", {}),
        (f"/journal/{entry_id}/edit", {}),
    ]:
        answer = signed_in.get(path, headers=headers)
        assert answer.status_code == 200, path
        assert answer.headers["Cache-Control"] == "no-store", path
    refused = signed_in.post("/journal/new", data={"token": "x", "title": ""})
    assert refused.headers["Cache-Control"] == "no-store"
    shared = signed_in.post(f"/journal/{entry_id}/share", headers=HX_PARTIAL)
    assert shared.headers["Cache-Control"] == "no-store"


def test_visitors_are_sent_to_log_in(client, alice):
    page = client.get("/journal")
    assert page.status_code in (302, 303) and "/login" in page.headers["Location"]
    hx = client.post("/journal/new", data={"token": "t", "title": "x"}, headers=HX_PARTIAL)
    assert hx.status_code == 401 and "/login" in hx.headers["HX-Redirect"]


def test_writing_needs_the_csrf_token(make_app, alice):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    login = html(client.get("/login"))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login).group(1)
    signed = client.post(
        "/login", data={"email": alice.email, "password": alice.password, "csrf_token": token}
    )
    assert signed.status_code == 303
    form = html(client.get("/journal/new"))
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    data = {"token": form_token(form), "title": "Protected", "body": ""}
    missing = client.post("/journal/new", data=data)
    assert missing.status_code == 400
    hx_missing = client.post("/journal/new", data=data, headers=HX_PARTIAL)
    assert hx_missing.status_code == 400
    assert entries(app) == []
    header = re.search(r'"X-CSRFToken": "([^"]+)"', form).group(1)
    with_header = client.post(
        "/journal/new", data=data, headers={**HX_PARTIAL, "X-CSRFToken": header}
    )
    assert with_header.status_code == 200 and with_header.headers["HX-Location"].startswith(
        "/journal/"
    )
    again = client.post("/journal/new", data={**data, "csrf_token": csrf})
    assert again.status_code == 303  # the same form: still one entry
    assert [e.title for e in entries(app)] == ["Protected"]


# --- "what did I learn today?" on a session's page --------------------------------------------


@pytest.fixture
def session(app, tandem_id):
    with app.app_context():
        found = [s for s in sessions_of(tandem_id) if s.start < datetime.now(UTC)][-1]
        db.session.expunge_all()
        return found


def session_url(session, action: str = "") -> str:
    base = f"/sessions/{session.series.id}/{session.number}"
    return f"{base}/{action}" if action else base


def test_the_session_page_offers_the_quick_entry(signed_in, session):
    page = html(signed_in.get(session_url(session)))
    assert '<section id="learned"' in page and "What did I learn today?" in page
    assert f'href="/journal/new?series_id={session.series.id}&amp;number={session.number}"' in page


def test_a_quick_entry_without_javascript(app, signed_in, session):
    token = form_token(html(signed_in.get(session_url(session))).split('id="learned"')[1])
    data = {"text": "Silence is a tool.", "token": token}
    saved = signed_in.post(session_url(session, "learned"), data=data)
    assert saved.status_code == 303
    assert saved.headers["Location"].endswith(session_url(session) + "#learned")
    page = html(signed_in.get(saved.headers["Location"]))
    assert "Saved in your journal. Only you can read it." in page
    [entry] = entries(app)
    assert entry.title.startswith("What I learned on ") and entry.body == "Silence is a tool."
    assert (entry.series_id, entry.session_number) == (session.series.id, session.number)
    assert "Your entries about this session:" in page and entry.title in page
    # the same form sent twice: one entry
    assert signed_in.post(session_url(session, "learned"), data=data).status_code == 303
    assert len(entries(app)) == 1
    journal_page = html(signed_in.get("/journal?session=1"))
    assert "Silence is a tool." in journal_page


def test_a_quick_entry_with_htmx_answers_in_place(app, signed_in, session):
    data = {"text": "Ask, then wait.", "token": "quick-htmx"}
    saved = signed_in.post(session_url(session, "learned"), data=data, headers=HX_PARTIAL)
    assert saved.status_code == 200
    body = html(saved)
    assert is_fragment(body, "learned")
    [entry] = entries(app)
    assert "Saved in your journal." in body and f'href="/journal/{entry.id}"' in body
    # a fresh token for the next quick entry, so it makes a second one
    assert form_token(body) != "quick-htmx"


@BOTH
def test_an_empty_quick_entry_is_refused_in_place(app, signed_in, session, headers):
    data = {"text": "  ", "token": "quick-empty"}
    refused = signed_in.post(session_url(session, "learned"), data=data, headers=headers)
    assert refused.status_code == 422
    body = html(refused)
    assert alert(body) == "Write a few words about what you learned."
    assert 'aria-invalid="true" aria-describedby="learned-error"' in body
    assert is_fragment(body, "learned") == bool(headers)
    assert 'name="token" value="quick-empty"' in body
    assert entries(app) == []


def test_an_empty_quick_entry_is_refused_in_german(app, client, auth, carol, bob):
    tandem_id = active_tandem(app, carol, bob, now=datetime.now(UTC) - timedelta(weeks=3))
    with app.app_context():
        session = sessions_of(tandem_id)[0]
    auth.login(carol)
    refused = client.post(session_url(session, "learned"), data={"token": "t"}, headers=HX_PARTIAL)
    assert refused.status_code == 422
    message = alert(html(refused))
    # needs the German catalogue: "Write a few words about what you learned."
    assert message != "Write a few words about what you learned." and "gelernt" in message, message


def test_a_quick_entry_is_titled_in_german_for_a_german_member(app, client, auth, carol, bob):
    tandem_id = active_tandem(app, carol, bob, now=datetime.now(UTC) - timedelta(weeks=3))
    with app.app_context():
        session = sessions_of(tandem_id)[0]
    auth.login(carol)
    data = {"text": "Zuhören hilft.", "token": "de-quick"}
    assert client.post(session_url(session, "learned"), data=data).status_code == 303
    [entry] = entries(app)
    # needs the German catalogue: "What I learned on %(date)s"
    assert "gelernt" in entry.title, entry.title


def test_a_longer_entry_about_the_session(app, signed_in, session, tandem_id):
    form = signed_in.get(f"/journal/new?series_id={session.series.id}&number={session.number}")
    assert form.status_code == 200
    body = html(form)
    assert "This entry is about a session." in body
    assert f'name="series_id" value="{session.series.id}"' in body
    data = {
        "token": form_token(body),
        "title": "Longer thoughts",
        "series_id": str(session.series.id),
        "number": str(session.number),
        "tandem": str(tandem_id),
    }
    saved = signed_in.post("/journal/new", data=data)
    assert saved.status_code == 303
    page = html(signed_in.get(saved.headers["Location"]))
    assert "The session this entry is about" in page
    assert html(signed_in.get(session_url(session))).count("Longer thoughts") == 1


def test_a_session_of_others_is_404_for_the_journal(app, signed_in, carol, mallory):
    others = active_tandem(app, carol, mallory, now=datetime.now(UTC) - timedelta(weeks=3))
    with app.app_context():
        theirs = sessions_of(others)[1]
    query = f"series_id={theirs.series.id}&number={theirs.number}"
    assert signed_in.get(f"/journal/new?{query}").status_code == 404
    for text in ("Peek", ""):
        answer = signed_in.post(session_url(theirs, "learned"), data={"text": text, "token": "t"})
        assert answer.status_code == 404
    data = {"token": "t", "title": "Peek", "series_id": theirs.series.id, "number": theirs.number}
    assert signed_in.post("/journal/new", data=data).status_code == 404
    assert entries(app) == []


def test_entries_about_a_session_are_private_on_its_page(app, auth, alice, bob, session):
    with app.app_context():
        journal.quick(user(alice), session.series.id, session.number, "Alice's lesson", "q1")
    page = html(browser(app, auth, bob).get(session_url(session)))
    assert "Alice&#39;s lesson" not in page and "What I learned on" not in page


def test_the_first_session_can_be_written_about(app, signed_in, tandem_id):
    """Sessions are numbered from 0: the first one is a session too (not "no session")."""
    with app.app_context():
        first = sessions_of(tandem_id)[0]
    assert first.number == 0
    form = html(signed_in.get(f"/journal/new?series_id={first.series.id}&number=0"))
    assert "This entry is about a session." in form
    data = {
        "token": "first-session",
        "title": "After our first session",
        "series_id": str(first.series.id),
        "number": "0",
    }
    assert signed_in.post("/journal/new", data=data).status_code == 303
    [entry] = entries(app)
    assert (entry.series_id, entry.session_number) == (first.series.id, 0)


def test_changing_an_entry_about_the_first_session_keeps_the_session(app, signed_in, tandem_id):
    with app.app_context():
        first = sessions_of(tandem_id)[0]
    data = {"text": "First lesson.", "token": "first-quick"}
    assert signed_in.post(session_url(first, "learned"), data=data).status_code == 303
    [entry] = entries(app)
    assert (entry.series_id, entry.session_number) == (first.series.id, 0)
    form = html(signed_in.get(f"/journal/{entry.id}/edit"))
    assert 'name="number" value="0"' in form
    # what the edit form sends back, with a new title
    sent = {
        "title": "My first lesson",
        "body": "First lesson.",
        "base": "1",
        "series_id": str(first.series.id),
        "number": "0",
        "tandem": str(tandem_id),
    }
    assert signed_in.post(f"/journal/{entry.id}/edit", data=sent).status_code == 303
    [entry] = entries(app)
    assert (entry.series_id, entry.session_number) == (first.series.id, 0)


@pytest.mark.parametrize("page", ["2", "0", "-3", "x", "9999999999999999999"])
def test_any_page_number_is_answered_not_a_server_error(app, signed_in, alice, page):
    """A page past the end shows no entries (or the last page); a number too large for the
    database's integers must not become a 500."""
    write(app, alice)
    answer = signed_in.get(f"/journal?page={page}", headers=HX_PARTIAL)
    assert answer.status_code in (200, 404), answer.status_code


HUGE = "99999999999999999999"  # beyond the database's 64-bit integers


@pytest.mark.parametrize(
    "method, path, data",
    [
        ("GET", f"/journal/{HUGE}", None),
        ("POST", f"/journal/{HUGE}/share", None),
        ("GET", f"/journal?tandem={HUGE}", None),
        ("POST", "/journal/new", {"token": "t", "title": "x", "tandem": HUGE}),
        ("POST", "/journal/new", {"token": "t", "title": "x", "goals": f"{HUGE}:g1"}),
    ],
    ids=["entry", "share", "filter", "tandem", "goal"],
)
def test_an_id_too_large_for_the_database_is_not_a_server_error(signed_in, method, path, data):
    answer = signed_in.open(path, method=method, data=data)
    assert answer.status_code in (200, 404, 422), answer.status_code
