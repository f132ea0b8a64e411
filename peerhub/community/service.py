"""Community rules: who may sign up, invite links, the privacy notice and imprint texts, and
the members' consent to the current privacy notice. No request in here."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import idna
from flask import current_app
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from peerhub.accounts.models import Consent, User
from peerhub.community.models import (
    DOMAINS_COUNT_MAX,
    DOMAINS_MAX,
    INVITE_DAYS_MAX,
    INVITE_USES_MAX,
    LABEL_MAX,
    POLICY_KINDS,
    POLICY_LANGUAGES,
    POLICY_TEXT_MAX,
    SETTINGS_ID,
    SIGNUP_MODES,
    CommunitySettings,
    InviteLink,
    PolicyText,
)
from peerhub.errors import DomainError, Invalid, NotAllowed, NotFound
from peerhub.extensions import db, transaction, utcnow
from peerhub.journal import formatting
from peerhub.moderation import audit

INVITE_DAYS_DEFAULT = 14
INVITE_USES_DEFAULT = 1
PRIVACY = "privacy"


class InviteUnusable(DomainError):
    """An invite link that exists but admits nobody any more: expired, used up or revoked."""

    status = 410


def _require_admin(actor: User) -> None:
    if not actor.is_admin:
        raise NotAllowed(_("Only admins can change the community settings."))


# --- sign-up settings ---------------------------------------------------------------------


def community_settings() -> CommunitySettings:
    """The settings row, or the defaults (open sign-up) while none was saved."""
    row = db.session.get(CommunitySettings, SETTINGS_ID)
    return row if row is not None else CommunitySettings(signup_mode="open", domains="")


def _ascii_domain(raw: str) -> str | None:
    """`raw` as a lower-case ASCII (punycode) domain of two labels or more, else None."""
    name = raw.strip().strip(".").lower()
    if not name or len(name) > 253 or "." not in name:
        return None
    try:
        return idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError:
        return None


def parse_domains(raw: str) -> list[str]:
    """The domains in `raw` (commas, spaces or lines between them; "@" and "*." allowed in
    front), normalised and without repeats. Raises Invalid naming the first bad one."""
    if len(raw or "") > DOMAINS_MAX:
        raise Invalid(_("Please list at most %(max)d characters.", max=DOMAINS_MAX), "domains")
    domains: list[str] = []
    for item in (raw or "").replace(",", " ").replace(";", " ").split():
        name = _ascii_domain(item.removeprefix("@").removeprefix("*."))
        if name is None:
            raise Invalid(
                _("“%(domain)s” is not a domain like firma.de.", domain=item[:60]), "domains"
            )
        if name not in domains:
            domains.append(name)
    if len(domains) > DOMAINS_COUNT_MAX:
        raise Invalid(_("Please list at most %(max)d domains.", max=DOMAINS_COUNT_MAX), "domains")
    return domains


def domain_allowed(email: str, domains: list[str]) -> bool:
    """Whether the address is at one of `domains` or a subdomain of one (never a look-alike:
    evil-firma.de is not at firma.de)."""
    domain = _ascii_domain(email.rpartition("@")[2])
    if domain is None:
        return False
    return any(domain == allowed or domain.endswith("." + allowed) for allowed in domains)


def check_address(email: str) -> None:
    """Refuse an address a member would sign up or move to, when sign-up is restricted to
    some domains and it is at none of them. Raises Invalid for the e-mail field."""
    settings = community_settings()
    if settings.signup_mode != "domains":
        return
    if not domain_allowed(email, settings.domain_list):
        raise Invalid(
            _(
                "This community is open to addresses at %(domains)s only. "
                "Please use your address there.",
                domains=", ".join(settings.domain_list),
            ),
            "email",
        )


def save_settings(
    actor: User, mode: str, domains_raw: str, now: datetime | None = None
) -> CommunitySettings:
    """Set the sign-up mode (and the domains for 'domains'); audited. Raises NotAllowed,
    Invalid."""
    _require_admin(actor)
    if mode not in SIGNUP_MODES:
        raise Invalid(_("Please choose how people can join."), "signup_mode")
    domains = parse_domains(domains_raw)
    if mode == "domains" and not domains:
        raise Invalid(_("Please name at least one domain, like firma.de."), "domains")
    now = now or utcnow()
    for attempt in range(2):
        try:
            with transaction():
                row = db.session.get(CommunitySettings, SETTINGS_ID)
                if row is None:
                    row = CommunitySettings(id=SETTINGS_ID, signup_mode="open", domains="")
                    db.session.add(row)
                before = {"signup_mode": row.signup_mode, "domains": row.domain_list}
                row.signup_mode = mode
                row.domains = "\n".join(domains)
                row.updated_at = now
                row.updated_by_id = actor.id
                db.session.flush()
                audit.record(
                    actor,
                    "signup_settings_changed",
                    "settings",
                    SETTINGS_ID,
                    "sign-up",
                    details={"before": before, "signup_mode": mode, "domains": domains},
                    now=now,
                )
            return row
        except IntegrityError:
            if attempt:  # the row another admin created is there now: the retry updates it
                raise
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class SignupGate:
    """What the sign-up page shows: the mode, the allowed domains, and why it is closed."""

    mode: str
    domains: list[str]
    invite: InviteLink | None
    closed_because: str | None  # why this visitor may not sign up (invitation only)


def signup_gate(invite_token: str | None, now: datetime | None = None) -> SignupGate:
    """Whether the sign-up form may be shown, given the invite token the visitor carries
    (a link that stopped working is dropped where sign-up needs none)."""
    settings = community_settings()
    invite = None
    problem = None
    if invite_token:
        try:
            invite = invite_for_token(invite_token, now)
        except DomainError as error:
            problem = error.message
    closed = None
    if settings.signup_mode == "invitation" and invite is None:
        closed = problem or _invitation_only()
    return SignupGate(settings.signup_mode, settings.domain_list, invite, closed)


def check_signup(email: str, invite_token: str | None, now: datetime | None = None) -> None:
    """Refuse a sign-up the community's mode does not admit: without a usable invite link
    when joining is by invitation, or at another domain when restricted to domains.

    Raises NotAllowed, NotFound or InviteUnusable (the link), Invalid (the address).
    """
    settings = community_settings()
    if invite_token:
        invite_for_token(invite_token, now)
    elif settings.signup_mode == "invitation":
        raise NotAllowed(_invitation_only())
    check_address(email)


def _invitation_only() -> str:
    return _(
        "This community is open by invitation only. Please ask an admin or a member for an "
        "invite link."
    )


def use_invite(invite_token: str, now: datetime | None = None) -> None:
    """Count one sign-up against the link, in the caller's transaction, only while it still
    admits one (a conditional update: two sign-ups racing for the last use, one wins).

    Raises NotFound or InviteUnusable.
    """
    now = now or utcnow()
    counted = db.session.execute(
        update(InviteLink)
        .where(
            InviteLink.token_hash == token_hash(invite_token),
            InviteLink.revoked_at.is_(None),
            InviteLink.expires_at > now,
            InviteLink.uses < InviteLink.max_uses,
        )
        .values(uses=InviteLink.uses + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if counted != 1:
        invite_for_token(invite_token, now)  # raises, explaining why
        raise InviteUnusable(_used_up())


# --- invite links ---------------------------------------------------------------------------


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _used_up() -> str:
    return _(
        "This invite link has already been used as often as it may. Please ask the person "
        "who sent it for a new one."
    )


def invite_for_token(token: str, now: datetime | None = None) -> InviteLink:
    """The invite link behind `token`, while it admits a sign-up.

    Raises NotFound (no such link) or InviteUnusable (expired, used up, revoked), each with a
    message for the visitor.
    """
    now = now or utcnow()
    invite = (
        db.session.scalar(select(InviteLink).where(InviteLink.token_hash == token_hash(token)))
        if token and len(token) <= 100
        else None
    )
    if invite is None:
        raise NotFound(
            _(
                "This invite link is not valid. Please check that you copied all of it, or "
                "ask the person who sent it for a new one."
            )
        )
    state = invite.state(now)
    if state == "revoked":
        raise InviteUnusable(
            _(
                "This invite link has been withdrawn. Please ask the person who sent it for a "
                "new one."
            )
        )
    if state == "used_up":
        raise InviteUnusable(_used_up())
    if state == "expired":
        raise InviteUnusable(
            _("This invite link has expired. Please ask the person who sent it for a new one.")
        )
    return invite


def create_invite(
    actor: User,
    label: str,
    days: int | None = INVITE_DAYS_DEFAULT,
    max_uses: int | None = INVITE_USES_DEFAULT,
    now: datetime | None = None,
) -> tuple[InviteLink, str]:
    """A new invite link, and its token (shown once: only its hash is kept); audited.

    Raises NotAllowed, Invalid.
    """
    _require_admin(actor)
    label = " ".join((label or "").split())
    if len(label) > LABEL_MAX:
        raise Invalid(_("Please use at most %(max)d characters.", max=LABEL_MAX), "label")
    days = INVITE_DAYS_DEFAULT if days is None else days
    if not 1 <= days <= INVITE_DAYS_MAX:
        raise Invalid(_("A link can be valid for 1 to %(max)d days.", max=INVITE_DAYS_MAX), "days")
    max_uses = INVITE_USES_DEFAULT if max_uses is None else max_uses
    if not 1 <= max_uses <= INVITE_USES_MAX:
        raise Invalid(_("A link can admit 1 to %(max)d people.", max=INVITE_USES_MAX), "max_uses")
    now = now or utcnow()
    token = secrets.token_urlsafe(24)
    with transaction():
        invite = InviteLink(
            token_hash=token_hash(token),
            label=label,
            max_uses=max_uses,
            uses=0,
            expires_at=now + timedelta(days=days),
            created_at=now,
            created_by_id=actor.id,
        )
        db.session.add(invite)
        db.session.flush()
        audit.record(
            actor,
            "invite_created",
            "invite",
            invite.id,
            label,
            details={"max_uses": max_uses, "expires_at": invite.expires_at.isoformat()},
            now=now,
        )
    return invite, token


def revoke_invite(actor: User, invite_id: int, now: datetime | None = None) -> bool:
    """Withdraw a link; True when this call did (a second click changes nothing and writes no
    second audit entry). Raises NotAllowed, NotFound."""
    _require_admin(actor)
    now = now or utcnow()
    with transaction():
        invite = db.session.get(InviteLink, invite_id)
        if invite is None:
            raise NotFound(_("There is no such invite link."))
        revoked = db.session.execute(
            update(InviteLink)
            .where(InviteLink.id == invite_id, InviteLink.revoked_at.is_(None))
            .values(revoked_at=now, revoked_by_id=actor.id)
            .execution_options(synchronize_session=False)
        ).rowcount
        if revoked == 1:
            audit.record(
                actor,
                "invite_revoked",
                "invite",
                invite_id,
                invite.label,
                details={"uses": invite.uses, "max_uses": invite.max_uses},
                now=now,
            )
    db.session.expire_all()
    return revoked == 1


def invites(limit: int = 200) -> list[InviteLink]:
    """The invite links, newest first."""
    return list(
        db.session.scalars(
            select(InviteLink)
            .order_by(InviteLink.created_at.desc(), InviteLink.id.desc())
            .limit(limit)
        )
    )


# --- privacy notice and imprint --------------------------------------------------------------


def _check_kind(kind: str) -> str:
    if kind not in POLICY_KINDS:
        raise NotFound(_("There is no such text."))
    return kind


def current_version(kind: str) -> str | None:
    """The label of the latest version an admin saved of `kind`, or None."""
    return db.session.scalar(
        select(PolicyText.version)
        .where(PolicyText.kind == kind)
        .order_by(PolicyText.id.desc())
        .limit(1)
    )


def current_privacy_version() -> str:
    """The privacy notice's current version: the latest an admin saved, else the built-in
    notice's (PRIVACY_POLICY_VERSION). Sign-ups consent to this one."""
    return current_version(PRIVACY) or current_app.config["PRIVACY_POLICY_VERSION"]


def current_text(kind: str, language: str) -> PolicyText | None:
    """The current version's text in `language` (else in the other language), or None while
    no admin wrote one (the built-in text is shown then)."""
    version = current_version(_check_kind(kind))
    if version is None:
        return None
    rows = db.session.scalars(
        select(PolicyText).where(PolicyText.kind == kind, PolicyText.version == version)
    ).all()
    by_language = {row.language: row for row in rows}
    return by_language.get(language) or next(iter(by_language.values()), None)


def current_html(kind: str, language: str) -> Markup | None:
    """The current text as safe HTML (a small Markdown through the allow-list sanitiser), or
    None while no admin wrote one."""
    row = current_text(kind, language)
    return formatting.render(row.text) if row is not None else None


@dataclass(frozen=True)
class PolicyVersion:
    version: str
    created_at: datetime
    author: str | None
    texts: dict[str, str]


def versions(kind: str) -> list[PolicyVersion]:
    """Every saved version of `kind`, newest first, with both languages' texts."""
    rows = db.session.execute(
        select(PolicyText, User.display_name)
        .outerjoin(User, User.id == PolicyText.created_by_id)
        .where(PolicyText.kind == _check_kind(kind))
        .order_by(PolicyText.id.desc())
    ).all()
    found: dict[str, PolicyVersion] = {}
    for row, author in rows:
        entry = found.setdefault(
            row.version, PolicyVersion(row.version, row.created_at, author, {})
        )
        entry.texts[row.language] = row.text
    return list(found.values())


def _next_label(kind: str, now: datetime) -> str:
    day = now.date().isoformat()
    same_day = db.session.scalar(
        select(func.count(func.distinct(PolicyText.version))).where(
            PolicyText.kind == kind, PolicyText.version.like(f"{day}.%")
        )
    )
    return f"{day}.{(same_day or 0) + 1}"


def publish_text(actor: User, kind: str, texts: dict[str, str], now: datetime | None = None) -> str:
    """Save the privacy notice or imprint as a new version (both languages, or one; an
    empty language shows the other); earlier versions stay as they were. Audited. A new
    privacy version asks every member to accept it. Returns the version label.

    Raises NotAllowed, NotFound (unknown kind), Invalid.
    """
    _require_admin(actor)
    _check_kind(kind)
    cleaned = {}
    for language in POLICY_LANGUAGES:
        text = (texts.get(language) or "").replace("\r\n", "\n").strip()
        if len(text) > POLICY_TEXT_MAX:
            raise Invalid(
                _("Please use at most %(max)d characters.", max=POLICY_TEXT_MAX),
                f"text_{language}",
            )
        if text:
            cleaned[language] = text
    if not cleaned:
        raise Invalid(_("Please write the text in German, English or both."), "text_de")
    now = now or utcnow()
    for attempt in range(3):
        try:
            with transaction():
                version = _next_label(kind, now)
                rows = [
                    PolicyText(
                        kind=kind,
                        language=language,
                        version=version,
                        text=text,
                        created_by_id=actor.id,
                        created_at=now,
                    )
                    for language, text in cleaned.items()
                ]
                db.session.add_all(rows)
                db.session.flush()
                audit.record(
                    actor,
                    "policy_published",
                    "policy",
                    rows[0].id,
                    f"{kind} {version}",
                    details={"kind": kind, "version": version, "languages": sorted(cleaned)},
                    now=now,
                )
        except IntegrityError:
            if attempt == 2:  # another admin saved the same label each time: give up
                raise
            continue
        return version
    raise AssertionError("unreachable")


# --- consent to the privacy notice -------------------------------------------------------------


def needs_consent(user: User) -> bool:
    """Whether the member has yet to accept the current privacy notice: only once an admin
    has published a notice (members who joined under the built-in one are not asked)."""
    version = current_version(PRIVACY)
    if version is None:
        return False
    accepted = db.session.scalar(
        select(Consent.id)
        .where(
            Consent.user_id == user.id,
            Consent.purpose == PRIVACY,
            Consent.policy_version == version,
            Consent.withdrawn_at.is_(None),
        )
        .limit(1)
    )
    return accepted is None


class StaleVersion(DomainError):
    """The member read another version than the current one (409)."""

    status = 409


def accept_privacy(user: User, version_read: str, now: datetime | None = None) -> bool:
    """Record the member's consent to the current privacy notice, which they read; True when
    this call recorded it (a second click adds no second row).

    Raises StaleVersion when a newer notice was published since they opened it.
    """
    with transaction():
        # one consent per member and version even when two tabs accept at once
        db.session.execute(select(User.id).where(User.id == user.id).with_for_update())
        version = current_privacy_version()
        if version_read != version:
            raise StaleVersion(
                _("The privacy notice was changed meanwhile. Please read the new version.")
            )
        if not needs_consent(user):
            return False
        db.session.add(
            Consent(
                user_id=user.id, purpose=PRIVACY, policy_version=version, given_at=now or utcnow()
            )
        )
    return True
