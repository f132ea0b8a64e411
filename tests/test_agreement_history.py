"""The agreement's history and printable view: versions newest first with who changed
what, the line comparison, the tamper check, what prints, who may see it, and escaping."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from peerhub.accounts.models import User
from peerhub.extensions import db, utcnow
from peerhub.tandems import history, service
from peerhub.tandems.agreement import SECTION_TITLES, SECTIONS, section_lines
from peerhub.tandems.history import SectionChange
from peerhub.tandems.models import Agreement, AgreementVersion, Tandem
from tests.conftest import HX_PARTIAL
from tests.intro_factories import ready

RULES_OLD = "We meet on equal footing.\nWe start on time."
RULES_NEW = "We meet on equal footing.\nWe start and end on time."
SCRIPT = "<script>alert('rules')</script>"


@pytest.fixture
def tandem_id(app, alice, bob) -> int:
    """A forming tandem of Alice and Bob with PeerHub's first draft (version 1)."""
    ready(app, alice, bob)
    with app.app_context():
        tandem = service.start_tandem([alice.id, bob.id])
        db.session.commit()
        made = tandem.id
        db.session.remove()
    return made


def _user(persona) -> User:
    return db.session.get(User, persona.id)


def _agreement(tandem_id: int) -> Agreement:
    return service.agreement_of(db.session.get(Tandem, tandem_id))


def _save(persona, tandem_id: int, section: str, words: str, later: int = 1) -> int:
    """`persona` saves one text section on the latest version; returns the new version."""
    base = _agreement(tandem_id).version
    saved = service.save_section(
        _user(persona),
        tandem_id,
        section,
        {"text": words},
        base,
        now=utcnow() + timedelta(minutes=later),
    )
    return saved.version


def _sign(persona, tandem_id: int, later: int = 10) -> None:
    version = _agreement(tandem_id).version
    moment = utcnow() + timedelta(minutes=later)
    service.sign(_user(persona), tandem_id, version, persona.name, True, now=moment)


# --- history ---------------------------------------------------------------------------------


def test_history_lists_versions_newest_first_with_authors_and_sections(ctx, alice, bob, tandem_id):
    _save(alice, tandem_id, "rules", RULES_OLD, later=1)
    _save(bob, tandem_id, "feedback", "We ask before we give feedback.", later=2)

    entries = history.history(_agreement(tandem_id))

    assert [e.number for e in entries] == [3, 2, 1]
    assert [e.author for e in entries] == ["Bob", "Alice", None]
    assert [e.section_title for e in entries] == ["Feedback", "Conversation rules", None]
    assert all(e.created_at.tzinfo is not None for e in entries)
    assert entries[0].created_at > entries[1].created_at > entries[2].created_at
    assert not any(e.in_force for e in entries)
    assert all(e.signatures == [] for e in entries)
    assert [c.title for c in entries[0].changes] == ["Feedback"]
    assert [c.title for c in entries[1].changes] == ["Conversation rules"]


def test_a_changed_line_shows_as_removed_then_added_with_context(ctx, alice, bob, tandem_id):
    _save(alice, tandem_id, "rules", RULES_OLD, later=1)
    _save(bob, tandem_id, "rules", RULES_NEW, later=2)

    newest = history.history(_agreement(tandem_id))[0]

    assert newest.changes == [
        SectionChange(
            "Conversation rules",
            [
                (" ", "We meet on equal footing."),
                ("-", "We start on time."),
                ("+", "We start and end on time."),
            ],
        )
    ]


def test_first_version_lists_every_section_unchanged(ctx, tandem_id):
    agreement = _agreement(tandem_id)
    content = service.version_content(agreement, 1)

    first = history.history(agreement)[-1]

    assert first.number == 1 and first.author is None and first.section_title is None
    assert [c.title for c in first.changes] == [str(SECTION_TITLES[s]) for s in SECTIONS]
    for name, change in zip(SECTIONS, first.changes, strict=True):
        assert change.lines == [(" ", line) for line in section_lines(name, content[name])]
    assert any(change.lines for change in first.changes)


def test_signatures_and_in_force_show_on_their_version(ctx, alice, bob, tandem_id):
    _sign(alice, tandem_id, later=5)
    _sign(bob, tandem_id, later=6)
    _save(alice, tandem_id, "rules", RULES_OLD, later=7)

    newest, first = history.history(_agreement(tandem_id))

    assert first.in_force and not newest.in_force
    assert [s.typed_name for s in first.signatures] == ["Alice", "Bob"]
    assert all(s.content_hash == first.content_hash for s in first.signatures)
    assert newest.signatures == []


# --- tamper evidence ---------------------------------------------------------------------


def test_every_stored_version_passes_its_hash_check(ctx, alice, tandem_id):
    _save(alice, tandem_id, "rules", RULES_OLD)
    agreement = _agreement(tandem_id)

    entries = history.history(agreement)

    assert [e.hash_ok for e in entries] == [True, True]
    for version in service.versions_of(agreement):
        digest = hashlib.sha256(version.canonical.encode("utf-8")).hexdigest()
        assert digest == version.content_hash


def test_the_database_refuses_to_change_a_stored_version(ctx, tandem_id):
    agreement_id = _agreement(tandem_id).id
    with pytest.raises(DBAPIError, match="agreement versions never change"):
        db.session.execute(
            text(
                "UPDATE agreement_version SET content_hash = :digest "
                "WHERE agreement_id = :agreement AND number = 1"
            ),
            {"digest": "0" * 64, "agreement": agreement_id},
        )
    db.session.rollback()
    assert history.history(_agreement(tandem_id))[0].hash_ok


def test_hash_check_fails_for_a_changed_hash_or_a_changed_text(ctx, tandem_id):
    stored = db.session.scalar(select(AgreementVersion))
    forged_hash = AgreementVersion(canonical=stored.canonical, content_hash="0" * 64)
    forged_text = AgreementVersion(
        canonical=stored.canonical.replace("equal footing", "my terms"),
        content_hash=stored.content_hash,
    )
    assert forged_text.canonical != stored.canonical

    assert history.hash_ok(stored)
    assert not history.hash_ok(forged_hash)
    assert not history.hash_ok(forged_text)


# --- printable -----------------------------------------------------------------------------


def test_printable_is_the_latest_draft_until_everyone_signed(ctx, alice, tandem_id):
    printable = history.printable(_agreement(tandem_id))
    assert printable.draft and printable.number == 1 and printable.signatures == []

    _sign(alice, tandem_id)
    printable = history.printable(_agreement(tandem_id))

    assert printable.draft and printable.number == 1
    assert [s.typed_name for s in printable.signatures] == ["Alice"]


def test_printable_shows_the_version_in_force_with_its_signatures(ctx, alice, bob, tandem_id):
    _sign(bob, tandem_id, later=5)
    _sign(alice, tandem_id, later=6)
    agreement = _agreement(tandem_id)
    stored = db.session.scalar(select(AgreementVersion))

    printable = history.printable(agreement)

    assert not printable.draft and printable.number == 1 == agreement.in_force_version
    assert [s.typed_name for s in printable.signatures] == ["Bob", "Alice"]  # signing order
    assert printable.content_hash == stored.content_hash and printable.hash_ok
    assert [title for title, _lines in printable.sections] == [
        str(SECTION_TITLES[s]) for s in SECTIONS
    ]
    rules = dict(printable.sections)["Conversation rules"]
    assert rules == section_lines("rules", agreement.content["rules"])
    assert printable.newer_version is None


def test_printable_keeps_the_version_in_force_while_a_change_waits(ctx, alice, bob, tandem_id):
    _sign(alice, tandem_id, later=5)
    _sign(bob, tandem_id, later=6)
    _save(alice, tandem_id, "rules", RULES_OLD, later=7)

    printable = history.printable(_agreement(tandem_id))

    assert not printable.draft and printable.number == 1 and printable.newer_version == 2
    assert [s.typed_name for s in printable.signatures] == ["Alice", "Bob"]
    assert dict(printable.sections)["Conversation rules"] != RULES_OLD.splitlines()


# --- pages -----------------------------------------------------------------------------------


def _history_path(tandem_id: int) -> str:
    return f"/tandems/{tandem_id}/agreement/history"


def _print_path(tandem_id: int) -> str:
    return f"/tandems/{tandem_id}/agreement/print"


def test_history_page_shows_versions_and_the_comparison(app, client, auth, alice, bob, tandem_id):
    with app.app_context():
        _save(alice, tandem_id, "rules", RULES_OLD, later=1)
        _save(bob, tandem_id, "rules", RULES_NEW, later=2)
        digest = db.session.scalar(
            select(AgreementVersion.content_hash).where(AgreementVersion.number == 3)
        )
    auth.login(alice)

    response = client.get(_history_path(tandem_id))

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Agreement history" in page
    assert page.index("Version 3") < page.index("Version 2") < page.index("Version 1")
    assert "Bob changed “Conversation rules”" in page
    assert "First draft, made by PeerHub" in page
    assert digest in page
    assert "We start on time.</del>" in page
    assert "We start and end on time.</ins>" in page
    assert "added" in page and "removed" in page
    assert f'href="/tandems/{tandem_id}/agreement"' in page
    assert "no longer matches its SHA-256" not in page


def test_history_page_warns_when_a_hash_does_not_match(
    app, client, auth, alice, tandem_id, monkeypatch
):
    monkeypatch.setattr(history, "hash_ok", lambda version: False)
    auth.login(alice)

    page = client.get(_history_path(tandem_id)).get_data(as_text=True)

    assert "no longer matches its SHA-256" in page


def test_print_page_shows_a_draft_then_the_signed_agreement(
    app, client, auth, alice, bob, tandem_id
):
    auth.login(alice)
    page = client.get(_print_path(tandem_id)).get_data(as_text=True)
    assert "Agreement — version 1" in page
    assert "Draft: not yet signed by everyone" in page

    with app.app_context():
        _sign(alice, tandem_id, later=5)
        _sign(bob, tandem_id, later=6)
        digest = db.session.scalar(select(AgreementVersion.content_hash))

    response = client.get(_print_path(tandem_id), headers=HX_PARTIAL)

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Agreement — version 1" in page
    assert "Draft: not yet signed by everyone" not in page
    assert "Alice," in page and "Bob" in page
    assert "Conversation rules" in page and "Cancellations and no-shows" in page
    assert page.count(digest) == 3  # the version's and both signatures'
    assert "canonical JSON" in page
    assert "Peer coaching complements, and never replaces, therapy" in page
    assert "print command" in page
    assert "css/print.css" in page


def test_pages_are_not_found_for_others(app, client, auth, mallory, tandem_id):
    auth.login(mallory)

    assert client.get(_history_path(tandem_id)).status_code == 404
    assert client.get(_print_path(tandem_id)).status_code == 404


def test_member_text_is_escaped_on_both_pages(app, client, auth, alice, tandem_id):
    with app.app_context():
        _save(alice, tandem_id, "rules", SCRIPT)
    auth.login(alice)

    for path in (_history_path(tandem_id), _print_path(tandem_id)):
        page = client.get(path).get_data(as_text=True)
        assert SCRIPT not in page, path
        assert "&lt;script&gt;alert(&#39;rules&#39;)&lt;/script&gt;" in page, path
