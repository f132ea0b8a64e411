"""Tandems and agreements over HTTP: pages and fragments, with and without htmx.

A section's editor swaps itself in place; a save answers the section and the signing box
out of band; a stale save is a 409 with both texts, bad input a 422 with the message.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from peerhub.accounts.models import User
from peerhub.extensions import db, utcnow
from peerhub.tandems import service
from peerhub.tandems.models import Tandem, TandemInvitation
from tests.conftest import HX_BOOSTED, HX_PARTIAL, make_user
from tests.intro_factories import ready

RULES = {"text": "We listen first & ask before we advise."}


def _start(app, *personas, now=None) -> int:
    with app.app_context():
        tandem = service.start_tandem([p.id for p in personas], now=now)
        db.session.commit()
        made = tandem.id
        db.session.remove()
    return made


def _sign(app, persona, tandem_id: int, now=None) -> None:
    with app.app_context():
        version = service.agreement_of(db.session.get(Tandem, tandem_id)).version
        user = db.session.get(User, persona.id)
        service.sign(user, tandem_id, version, persona.name, True, now=now)
        db.session.remove()


def _save(app, persona, tandem_id: int, section: str, data: dict, base: int) -> None:
    with app.app_context():
        user = db.session.get(User, persona.id)
        service.save_section(user, tandem_id, section, data, base)
        db.session.remove()


def _invite(app, persona, tandem_id: int, invitee) -> int:
    with app.app_context():
        user = db.session.get(User, persona.id)
        made = service.invite(user, tandem_id, invitee.id).id
        db.session.remove()
    return made


def _state(app, tandem_id: int) -> tuple[str, int, int | None]:
    """The tandem's state, its agreement's latest version and the version in force."""
    with app.app_context():
        tandem = db.session.get(Tandem, tandem_id)
        agreement = service.agreement_of(tandem)
        return tandem.state, agreement.version, agreement.in_force_version


def _html(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def pair(app, alice, bob):
    ready(app, alice, bob)
    return alice, bob


@pytest.fixture
def tandem_id(app, pair) -> int:
    return _start(app, *pair)


# --- who may see it ------------------------------------------------------------------------

COMMUNITY_PAGES = {"tandems.successes"}  # every member's page, naming no tandem


def _reflection_of(app, tandem_id: int) -> dict[str, int]:
    """A check-in, a reached goal and its story in the tandem (rows, for the access walk)."""
    from peerhub.tandems.models import Achievement, CheckIn, SuccessStory

    with app.app_context():
        now = utcnow()
        check_in = CheckIn(tandem_id=tandem_id, number=1, due_on=now.date(), goals=[])
        achievement = Achievement(tandem_id=tandem_id, kind="goal", key="g1", title="A goal")
        db.session.add_all([check_in, achievement])
        db.session.flush()
        story = SuccessStory(achievement_id=achievement.id, tandem_id=tandem_id, text="Done")
        db.session.add(story)
        db.session.commit()
        return {
            "check_in_id": check_in.id,
            "achievement_id": achievement.id,
            "story_id": story.id,
        }


@pytest.mark.parametrize("outsider", ["mallory", "mod"])
def test_every_tandem_url_is_not_found_for_others(
    app, client, auth, request, pair, carol, tandem_id, outsider
):
    alice, _bob = pair
    ready(app, carol)
    invitation_id = _invite(app, alice, tandem_id, carol)
    other = request.getfixturevalue(outsider)
    auth.login(other)
    values = {
        "tandem_id": tandem_id,
        "section": "rules",
        "invitation_id": invitation_id,
        "user_id": carol.id,
        **_reflection_of(app, tandem_id),
    }
    form = {
        "base": "1",
        "text": "Mine now",
        "version": "1",
        "full_name": other.name,
        "confirm": "yes",
        "reason": "other",
        "choice": "complete",
        "tandem": str(tandem_id),
    }
    checked = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("tandems.") or rule.endpoint in COMMUNITY_PAGES:
            continue
        answers = ("accept", "decline", "withdraw") if "answer" in rule.arguments else (None,)
        urls = [rule.build({**values, "answer": a}, append_unknown=False)[1] for a in answers]
        for url, method in ((u, m) for u in urls for m in rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method, data=form if method == "POST" else None)
            assert response.status_code == 404, (method, url, response.status_code)
            response = client.open(
                url, method=method, data=form if method == "POST" else None, headers=HX_PARTIAL
            )
            assert response.status_code == 404, (method, url, "htmx")
            assert "<html" not in _html(response)
            checked.append(rule.endpoint)
    assert {
        "tandems.show",
        "tandems.end",
        "tandems.term",
        "tandems.agreement",
        "tandems.section",
        "tandems.edit_section",
        "tandems.save_section",
        "tandems.sign",
        "tandems.agreement_history",
        "tandems.agreement_print",
        "tandems.invite",
        "tandems.invitation",
        "tandems.answer_invitation",
        "tandems.check_ins",
        "tandems.check_in",
        "tandems.answer_check_in",
        "tandems.reached",
        "tandems.unmark",
        "tandems.story",
        "tandems.write_story",
        "tandems.consent",
        "tandems.withdraw",
        "tandems.review",
    } <= set(checked)
    assert _state(app, tandem_id) == ("forming", 1, None)
    with app.app_context():
        invitation = db.session.get(TandemInvitation, invitation_id)
        assert invitation.state == "pending"
        assert db.session.get(Tandem, tandem_id).member_ids() == [p.id for p in pair]


def test_signed_out_visitors_are_sent_to_log_in(client, tandem_id):
    response = client.get(f"/tandems/{tandem_id}/agreement")
    assert response.status_code in (302, 303) and "/login" in response.headers["Location"]


# --- the tandem page and the agreement ---------------------------------------------------------


def test_the_tandem_page_leads_to_the_agreement(client, auth, pair, tandem_id):
    alice, _bob = pair
    auth.login(alice)
    response = client.get(f"/tandems/{tandem_id}")
    assert response.status_code == 200
    html = _html(response)
    assert "Your tandem with Bob" in html and "Forming: the agreement comes next" in html
    assert "Still to sign: you, Bob" in html
    assert f'href="/tandems/{tandem_id}/agreement"' in html
    assert "Read and sign the agreement" in html
    assert "End this tandem early" in html
    assert "Cache-Control" in response.headers and "no-store" in response.headers["Cache-Control"]


def test_the_tandem_page_speaks_the_members_language(app, client, auth, alice, carol):
    ready(app, alice, carol)
    tandem_id = _start(app, carol, alice)
    auth.login(carol)
    html = _html(client.get(f"/tandems/{tandem_id}"))
    assert "Im Entstehen: Als Nächstes kommt die Vereinbarung" in html


def test_the_agreement_page_shows_every_section_and_the_signing_box(client, auth, pair, tandem_id):
    alice, _bob = pair
    auth.login(alice)
    response = client.get(f"/tandems/{tandem_id}/agreement")
    assert response.status_code == 200
    html = _html(response)
    assert "<h1>Your agreement with Bob</h1>" in html
    for section in service.texts.SECTIONS:
        assert f'<section id="section-{section}"' in html
        assert f'href="/tandems/{tandem_id}/agreement/{section}/edit"' in html
    assert "Every week on Tuesdays at 18:00 (Europe/Berlin), 60 minutes" in html
    assert "Version 1 waits for signatures" in html
    assert "Alice has not signed yet" in html and "Bob has not signed yet" in html
    assert "Type your full name to sign: Alice" in html and "Sign version 1" in html
    assert f'href="/tandems/{tandem_id}/agreement/history"' in html


# --- editing a section -----------------------------------------------------------------------


def test_a_section_editor_with_and_without_htmx(client, auth, pair, tandem_id):
    alice, _bob = pair
    auth.login(alice)
    url = f"/tandems/{tandem_id}/agreement/rules/edit"
    page = client.get(url)
    assert page.status_code == 200
    html = _html(page)
    assert "<html" in html and "← Back to the agreement" in html
    assert '<input type="hidden" name="base" value="1">' in html
    assert "We meet on equal footing" in html  # the first draft's rules, in the textarea
    fragment = client.get(url, headers=HX_PARTIAL)
    assert fragment.status_code == 200
    html = _html(fragment)
    assert html.lstrip().startswith('<section id="section-rules"') and "<html" not in html
    assert f'hx-post="/tandems/{tandem_id}/agreement/rules"' in html
    assert '<textarea autofocus id="rules-text" name="text"' in html
    assert {"HX-Request", "HX-Request-Type"} <= set(fragment.vary)
    assert "<html" in _html(client.get(url, headers=HX_BOOSTED))
    # leaving the editor without saving: the section as it reads
    cancel = client.get(f"/tandems/{tandem_id}/agreement/rules", headers=HX_PARTIAL)
    html = _html(cancel)
    assert html.lstrip().startswith('<section id="section-rules"')
    assert "<textarea" not in html and "We meet on equal footing" in html
    assert client.get(f"/tandems/{tandem_id}/agreement/signatures/edit").status_code == 404


def test_saving_with_htmx_returns_the_section_and_the_signing_box_out_of_band(
    app, client, auth, pair, tandem_id
):
    alice, bob = pair
    _sign(app, bob, tandem_id)
    auth.login(alice)
    response = client.post(
        f"/tandems/{tandem_id}/agreement/rules", data={"base": "1", **RULES}, headers=HX_PARTIAL
    )
    assert response.status_code == 200
    html = _html(response)
    assert html.lstrip().startswith('<section id="section-rules"') and "<html" not in html
    assert "We listen first &amp; ask before we advise." in html and "<textarea" not in html
    assert "Saved as version 2. Everyone signs it again." in html
    signing = re.search(r'<section id="signing"[^>]*>', html)
    assert signing and 'hx-swap-oob="true"' in signing.group(0)
    assert "Version 2 waits for signatures" in html and "Bob has not signed yet" in html
    assert _state(app, tandem_id) == ("forming", 2, None)


def test_saving_without_javascript_redirects_to_the_section(app, client, auth, pair, tandem_id):
    alice, _bob = pair
    auth.login(alice)
    response = client.post(f"/tandems/{tandem_id}/agreement/rules", data={"base": "1", **RULES})
    assert response.status_code == 303
    location = f"/tandems/{tandem_id}/agreement?saved=rules#section-rules"
    assert response.headers["Location"] == location
    html = _html(client.get(location.split("#")[0]))
    # the notice stands in the section that was saved, where the member lands
    assert "Saved as version 2. Everyone signs it again." in html.split('id="section-rules"')[1]
    assert "Version 2 waits for signatures" in html
    assert _state(app, tandem_id) == ("forming", 2, None)


@pytest.mark.parametrize("headers", [{}, HX_PARTIAL], ids=["page", "htmx"])
def test_a_stale_save_is_a_409_with_both_texts(app, client, auth, pair, tandem_id, headers):
    alice, bob = pair
    _save(app, bob, tandem_id, "rules", {"text": "Bob's rules <b>win</b>."}, base=1)
    auth.login(alice)
    url = f"/tandems/{tandem_id}/agreement/rules"
    response = client.post(url, data={"base": "1", "text": "Alice's rules."}, headers=headers)
    assert response.status_code == 409
    html = _html(response)
    assert ("<html" in html) == (not headers)
    assert "Bob changed this section while you were editing" in html
    assert "Their version (saved)" in html and "Bob&#39;s rules &lt;b&gt;win&lt;/b&gt;." in html
    assert "Your version (not saved)" in html and "Alice&#39;s rules." in html
    assert "Save my version anyway" in html
    assert '<input type="hidden" name="base" value="2">' in html
    assert _state(app, tandem_id) == ("forming", 2, None)
    # saving again after comparing replaces theirs
    again = client.post(url, data={"base": "2", "text": "Alice's rules."}, headers=headers)
    assert again.status_code == (200 if headers else 303)
    assert _state(app, tandem_id) == ("forming", 3, None)


@pytest.mark.parametrize("headers", [{}, HX_PARTIAL], ids=["page", "htmx"])
def test_bad_input_is_a_422_with_the_message(app, client, auth, pair, tandem_id, headers):
    alice, _bob = pair
    auth.login(alice)
    response = client.post(
        f"/tandems/{tandem_id}/agreement/rules", data={"base": "1", "text": "  "}, headers=headers
    )
    assert response.status_code == 422
    html = _html(response)
    assert ("<html" in html) == (not headers)
    assert "Please write a few words." in html
    assert 'aria-invalid="true" aria-describedby="error-rules"' in html
    response = client.post(
        f"/tandems/{tandem_id}/agreement/term",
        data={"base": "1", "start": "2027-05-01", "end": "2027-05-10"},
        headers=headers,
    )
    assert response.status_code == 422
    html = _html(response)
    assert "A term lasts from four weeks to a year" in html
    assert 'value="2027-05-10"' in html  # what the member typed stays in the form
    response = client.post(
        f"/tandems/{tandem_id}/agreement/goals",
        data={"base": "1", "goal_title_0": "Speak up", "goal_measure_1": "Only a measure"},
        headers=headers,
    )
    assert response.status_code == 422 and "Every goal needs a title." in _html(response)
    assert 'value="Speak up"' in _html(response)
    assert _state(app, tandem_id) == ("forming", 1, None)


# --- signing ---------------------------------------------------------------------------------


def test_signing_with_and_without_htmx(app, client, auth, pair, tandem_id):
    alice, bob = pair
    auth.login(alice)
    url = f"/tandems/{tandem_id}/agreement/sign"
    form = {"version": "1", "full_name": "Alice", "confirm": "yes"}
    response = client.post(url, data=form, headers=HX_PARTIAL)
    assert response.status_code == 200
    html = _html(response)
    assert html.lstrip().startswith('<section id="signing"') and "<html" not in html
    assert "hx-swap-oob" not in html
    assert "Signed. We let the others know." in html
    assert "Bob has not signed yet" in html and "Sign version 1" not in html
    assert _state(app, tandem_id) == ("forming", 1, None)
    client.post("/logout")
    auth.login(bob)
    response = client.post(url, data={**form, "full_name": "Bob"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/tandems/{tandem_id}/agreement#signing"
    html = _html(client.get(response.headers["Location"]))
    assert "Everyone has signed: your agreement is in force." in html
    assert "Version 1 is signed by everyone and in force" in html
    assert _state(app, tandem_id) == ("active", 1, 1)
    page = _html(client.get(f"/tandems/{tandem_id}"))
    assert "Active" in page and "Your sessions appear here" not in page
    assert page.count('href="/sessions/') == 4  # the next four sessions


@pytest.mark.parametrize("headers", [{}, HX_PARTIAL], ids=["page", "htmx"])
def test_signing_with_a_wrong_name_or_unconfirmed_is_a_422(
    app, client, auth, pair, tandem_id, headers
):
    alice, _bob = pair
    auth.login(alice)
    url = f"/tandems/{tandem_id}/agreement/sign"
    response = client.post(
        url, data={"version": "1", "full_name": "Alicia", "confirm": "yes"}, headers=headers
    )
    assert response.status_code == 422
    html = _html(response)
    assert ("<html" in html) == (not headers)
    assert "Type your full name as it appears on PeerHub: Alice" in html
    assert 'value="Alicia"' in html and 'aria-describedby="sign-error"' in html
    response = client.post(url, data={"version": "1", "full_name": "Alice"}, headers=headers)
    assert response.status_code == 422 and "Please confirm that you agree." in _html(response)
    assert _state(app, tandem_id) == ("forming", 1, None)


def test_signing_an_old_version_is_a_409_showing_the_new_one(app, client, auth, pair, tandem_id):
    alice, bob = pair
    _save(app, bob, tandem_id, "rules", RULES, base=1)
    auth.login(alice)
    response = client.post(
        f"/tandems/{tandem_id}/agreement/sign",
        data={"version": "1", "full_name": "Alice", "confirm": "yes"},
        headers=HX_PARTIAL,
    )
    assert response.status_code == 409
    html = _html(response)
    assert "The agreement changed since you read it" in html and "Sign version 2" in html


# --- ending and the end of the term -------------------------------------------------------------


def test_ending_early_over_http(app, client, auth, pair, tandem_id):
    alice, bob = pair
    _sign(app, alice, tandem_id)
    _sign(app, bob, tandem_id)
    auth.login(bob)
    url = f"/tandems/{tandem_id}/end"
    response = client.post(url, data={"reason": "bored"})
    assert response.status_code == 422 and "Choose a reason." in _html(response)
    assert _state(app, tandem_id)[0] == "active"
    response = client.post(url, data={"reason": "no_time", "note": "Thanks for everything!"})
    assert response.status_code == 303 and response.headers["Location"] == f"/tandems/{tandem_id}"
    html = _html(client.get(f"/tandems/{tandem_id}"))
    assert "Your tandem has ended." in html and "No upcoming sessions." in html
    assert "End this tandem early" not in html
    assert _state(app, tandem_id)[0] == "ended"
    client.post("/logout")
    auth.login(alice)
    html = _html(client.get(f"/tandems/{tandem_id}"))
    assert "Bob left you a note:" in html and "Thanks for everything!" in html
    # an edit after the end is refused
    response = client.post(f"/tandems/{tandem_id}/agreement/rules", data={"base": "1", **RULES})
    assert response.status_code == 409 and "can no longer change" in _html(response)


def test_ending_with_htmx_navigates_to_the_tandem(app, client, auth, pair, tandem_id):
    alice, _bob = pair
    auth.login(alice)
    url = f"/tandems/{tandem_id}"
    response = client.post(f"{url}/end", data={"reason": "other"}, headers=HX_PARTIAL)
    assert response.status_code == 200 and response.headers["HX-Location"] == url
    assert _state(app, tandem_id)[0] == "ended"
    # a tandem that ended before anyone signed asks nobody to sign, and nothing was in force
    html = _html(client.get(f"/tandems/{tandem_id}"))
    assert "Ended" in html and "Still to sign" not in html
    assert "stays in force" not in html and "Read and sign the agreement" not in html


def test_the_term_choice_over_http(app, client, auth, pair):
    alice, bob = pair
    # a tandem that began 100 days ago: its three-month term is about over
    began = utcnow() - timedelta(days=100)
    tandem_id = _start(app, alice, bob, now=began)
    for persona in pair:
        _sign(app, persona, tandem_id, now=began)
    with app.app_context(), force_locale("en"):
        agreement = service.agreement_of(db.session.get(Tandem, tandem_id))
        end = service.texts.long_date(agreement.content["term"]["end"])
    auth.login(alice)
    html = _html(client.get(f"/tandems/{tandem_id}"))
    assert f"Your term ends on {end}: how do you want to go on?" in html
    response = client.post(f"/tandems/{tandem_id}/term", data={"choice": "maybe"})
    assert response.status_code == 422 and "Choose to continue or to complete." in _html(response)
    response = client.post(f"/tandems/{tandem_id}/term", data={"choice": "continue"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/tandems/{tandem_id}/agreement"
    assert "The next term is in your agreement" in _html(client.get(response.headers["Location"]))
    assert _state(app, tandem_id) == ("active", 2, 1)
    client.post("/logout")
    # Bob still decides about the term that is ending, dated as it is in force
    auth.login(bob)
    html = _html(client.get(f"/tandems/{tandem_id}"))
    assert f"Your term ends on {end}: how do you want to go on?" in html
    assert "Alice: continue" in html
    response = client.post(f"/tandems/{tandem_id}/term", data={"choice": "complete", "note": "Bye"})
    assert response.status_code == 303 and response.headers["Location"] == f"/tandems/{tandem_id}"
    assert "Thank you for your farewell note." in _html(client.get(f"/tandems/{tandem_id}"))
    assert _state(app, tandem_id)[0] == "active"  # Alice chose to continue


def test_the_term_choice_waits_for_the_last_two_weeks(app, client, auth, pair, tandem_id):
    alice, bob = pair
    _sign(app, alice, tandem_id)
    _sign(app, bob, tandem_id)
    auth.login(alice)
    assert "how do you want to go on?" not in _html(client.get(f"/tandems/{tandem_id}"))
    response = client.post(f"/tandems/{tandem_id}/term", data={"choice": "complete"})
    assert response.status_code == 409
    assert "You can decide this in the last two weeks of your term." in _html(response)


# --- invitations ------------------------------------------------------------------------------


def test_inviting_accepting_and_declining(app, client, auth, pair, tandem_id):
    alice, bob = pair
    dave = make_user(app, "dave@example.org", "Dave")
    eve = make_user(app, "eve@example.org", "Eve")
    ready(app, dave, eve)
    auth.login(alice)
    response = client.post(
        f"/members/{dave.id}/invite", data={"tandem": str(tandem_id), "message": "Join us!"}
    )
    assert response.status_code == 303 and response.headers["Location"] == f"/tandems/{tandem_id}"
    html = _html(client.get(f"/tandems/{tandem_id}"))
    assert "Your invitation is on its way." in html and "invitation 1" in html
    with app.app_context():
        invitation_id = db.session.scalar(select(TandemInvitation.id))
    page = _html(client.get(f"/invitations/{invitation_id}"))
    assert "Waiting for an answer." in page and "Withdraw the invitation" in page
    client.post("/logout")

    auth.login(dave)
    page = _html(client.get(f"/invitations/{invitation_id}"))
    assert "Invited by Alice" in page and "Join us!" in page and "Alice, Bob" in page
    assert f'action="/invitations/{invitation_id}/accept"' in page
    assert f'action="/invitations/{invitation_id}/decline"' in page
    response = client.post(f"/invitations/{invitation_id}/accept")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/tandems/{tandem_id}/agreement"
    assert client.post(f"/invitations/{invitation_id}/accept").status_code == 303  # harmless
    html = _html(client.get(f"/tandems/{tandem_id}/agreement"))
    assert "Welcome to the group!" in html and "Sign version 1" in html
    assert "Your group with Alice, Bob" in _html(client.get(f"/tandems/{tandem_id}"))
    response = client.post(f"/invitations/{invitation_id}/decline")
    assert response.status_code == 303  # too late: the answer stays, with a message
    assert "no longer open" in _html(client.get(response.headers["Location"]))
    client.post("/logout")

    other = _invite(app, bob, tandem_id, eve)
    auth.login(eve)
    response = client.post(f"/invitations/{other}/decline")
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert "This invitation is no longer open." in _html(client.get(f"/invitations/{other}"))
    with app.app_context():
        assert db.session.get(Tandem, tandem_id).member_ids() == [alice.id, bob.id, dave.id]


def test_inviting_a_member_blocked_by_someone_in_the_tandem_is_not_found(
    app, client, auth, pair, carol, tandem_id
):
    from peerhub.profiles.models import Block

    alice, bob = pair
    ready(app, carol)
    with app.app_context():
        db.session.add(Block(blocker_id=carol.id, blocked_id=bob.id))
        db.session.commit()
    auth.login(alice)
    response = client.post(f"/members/{carol.id}/invite", data={"tandem": str(tandem_id)})
    assert response.status_code == 404
    with app.app_context():
        assert db.session.scalar(select(TandemInvitation.id)) is None


def test_the_member_page_offers_an_invitation_only_with_room(app, client, auth, pair, carol):
    alice, bob = pair
    dave = make_user(app, "dave@example.org", "Dave")
    eve = make_user(app, "eve@example.org", "Eve")
    ready(app, carol, dave, eve)
    auth.login(alice)
    offer = "Invite Carol into your group"
    assert offer not in _html(client.get(f"/members/{carol.id}"))  # no tandem yet
    tandem_id = _start(app, alice, bob)
    html = _html(client.get(f"/members/{carol.id}"))
    assert offer in html and f'<option value="{tandem_id}">With Bob</option>' in html
    assert "Invite Bob into your group" not in _html(client.get(f"/members/{bob.id}"))
    # a group of four has no room, and neither has a tandem that ended
    _invite(app, alice, tandem_id, dave)
    _invite(app, alice, tandem_id, eve)
    assert offer not in _html(client.get(f"/members/{carol.id}"))
    with app.app_context():
        service.end_early(db.session.get(User, alice.id), tandem_id, "other")
    assert offer not in _html(client.get(f"/members/{carol.id}"))


def test_leaving_a_group_over_http(app, client, auth, pair, carol):
    from tests.intro_factories import ready

    alice, bob = pair
    ready(app, carol)
    with app.app_context():
        group_id = service.start_tandem([alice.id, bob.id, carol.id]).id
        db.session.commit()
    auth.login(carol)
    page = client.get(f"/tandems/{group_id}").get_data(as_text=True)
    assert "Gruppe verlassen" in page  # Carol reads German
    response = client.post(f"/tandems/{group_id}/leave", data={"note": "Bye!"})
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert client.get(f"/tandems/{group_id}").status_code == 404
    auth.logout()
    auth.login(alice)
    page = client.get(f"/tandems/{group_id}").get_data(as_text=True)
    assert "Leave the group" not in page  # two left: a pair ends together
    assert client.post(f"/tandems/{group_id}/leave").status_code == 409
