"""An agreement's history and its printable form: every version as it was written, who
changed which section, who signed, a line-by-line comparison, and the tamper check.

The texts come from `agreement.section_lines`, so the history, the printable view and the
agreement page show the same words. No request here: a pure function of the agreement and
what the database holds (Flask-Babel gives the language).
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from peerhub.accounts.models import User
from peerhub.extensions import db
from peerhub.tandems import service
from peerhub.tandems.agreement import SECTION_TITLES, SECTIONS, section_lines
from peerhub.tandems.models import Agreement, AgreementVersion, Signature

ADDED, REMOVED, SAME = "+", "-", " "


@dataclass
class SectionChange:
    """One section of a version compared with the version before: (mark, text) lines."""

    title: str
    lines: list[tuple[str, str]]


@dataclass
class HistoryEntry:
    """One version of the agreement as the history page shows it."""

    number: int
    created_at: datetime
    author: str | None  # None: PeerHub's first draft (or an account since deleted)
    section_title: str | None  # None: the first draft, which changed no single section
    content_hash: str
    hash_ok: bool
    in_force: bool
    signatures: list[Signature] = field(default_factory=list)
    changes: list[SectionChange] = field(default_factory=list)

    @property
    def first(self) -> bool:
        """Whether this is the first draft, which every later version builds on."""
        return self.number == 1


@dataclass
class Printable:
    """The version to print: in force, or the latest as a draft when none is."""

    number: int
    sections: list[tuple[str, list[str]]]
    content_hash: str
    hash_ok: bool
    signatures: list[Signature]
    draft: bool
    newer_version: int | None = None  # a later version still waiting for signatures


def hash_ok(version: AgreementVersion) -> bool:
    """Whether the stored text still gives the stored SHA-256 (nobody changed either)."""
    digest = hashlib.sha256(version.canonical.encode("utf-8")).hexdigest()
    return digest == version.content_hash


def _content(version: AgreementVersion) -> dict[str, Any]:
    """The version's content; a damaged text reads as empty (its hash check fails anyway)."""
    try:
        content = json.loads(version.canonical)
    except ValueError:
        return {}
    return content if isinstance(content, dict) else {}


def _title(section: str | None) -> str | None:
    """The section's title in the current language, or None for no or an unknown section."""
    title = SECTION_TITLES.get(section) if section else None
    return str(title) if title is not None else None


def _lines(name: str, value: Any) -> list[str]:
    """`section_lines`, except that a damaged section reads as no lines rather than a 500:
    the hash check already tells the members that this version was tampered with."""
    try:
        return section_lines(name, value)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        return []


def compare(old: list[str], new: list[str]) -> list[tuple[str, str]]:
    """`old` and `new` lines as one list of (mark, text): "-" removed, "+" added, " " kept."""
    lines: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            lines += [(SAME, text) for text in old[i1:i2]]
            continue
        lines += [(REMOVED, text) for text in old[i1:i2]]
        lines += [(ADDED, text) for text in new[j1:j2]]
    return lines


def changes(old: dict[str, Any] | None, new: dict[str, Any]) -> list[SectionChange]:
    """The sections whose text differs between `old` and `new`, in agreement order; with no
    `old` (the first draft), every section with all its lines unchanged."""
    result = []
    for name in SECTIONS:
        after = _lines(name, new.get(name))
        if old is None:
            result.append(SectionChange(_title(name) or name, [(SAME, t) for t in after]))
            continue
        before = _lines(name, old.get(name))
        if before != after:
            result.append(SectionChange(_title(name) or name, compare(before, after)))
    return result


def _names(user_ids: set[int]) -> dict[int, str]:
    """Display names of these accounts (deleted ones are simply missing)."""
    if not user_ids:
        return {}
    rows = db.session.execute(select(User.id, User.display_name).where(User.id.in_(user_ids)))
    return {user_id: name for user_id, name in rows}


def history(agreement: Agreement) -> list[HistoryEntry]:
    """Every version of the agreement, newest first, with its changes and signatures."""
    versions = service.versions_of(agreement)  # oldest first
    signed: dict[int, list[Signature]] = {}
    for signature in service.signatures_of(agreement):
        signed.setdefault(signature.version, []).append(signature)
    names = _names({v.created_by_id for v in versions if v.created_by_id is not None})
    entries = []
    previous: dict[str, Any] | None = None
    for version in versions:
        content = _content(version)
        entries.append(
            HistoryEntry(
                number=version.number,
                created_at=version.created_at,
                author=names.get(version.created_by_id) if version.created_by_id else None,
                section_title=_title(version.changed_section),
                content_hash=version.content_hash,
                hash_ok=hash_ok(version),
                in_force=version.number == agreement.in_force_version,
                signatures=signed.get(version.number, []),
                changes=changes(previous, content),
            )
        )
        previous = content
    entries.reverse()
    return entries


def _version(agreement: Agreement, number: int) -> AgreementVersion | None:
    return db.session.scalar(
        select(AgreementVersion).where(
            AgreementVersion.agreement_id == agreement.id, AgreementVersion.number == number
        )
    )


def printable(agreement: Agreement) -> Printable:
    """The version in force to print, or the latest flagged as a draft when none is."""
    number = agreement.in_force_version or agreement.version
    version = _version(agreement, number)
    if version is None:  # no stored version (should not happen): print the current text
        content, digest, ok = agreement.content, "", False
    else:
        content, digest, ok = _content(version), version.content_hash, hash_ok(version)
    return Printable(
        number=number,
        sections=[(_title(name) or name, _lines(name, content.get(name))) for name in SECTIONS],
        content_hash=digest,
        hash_ok=ok,
        signatures=service.signatures_of(agreement, number),
        draft=agreement.in_force_version is None,
        newer_version=(
            agreement.version
            if agreement.in_force_version is not None and agreement.version > number
            else None
        ),
    )
