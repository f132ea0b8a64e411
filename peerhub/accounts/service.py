"""Account rules: sign-up, verification, login, reset, settings. No request in here."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from peerhub.accounts import tokens
from peerhub.accounts.models import (
    DISPLAY_NAME_MAX,
    EMAIL_MAX,
    ROLES,
    Consent,
    User,
    new_session_token,
)
from peerhub.accounts.passwords import (
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)
from peerhub.community import service as community
from peerhub.errors import Conflict, Invalid, NotAllowed
from peerhub.extensions import db, transaction, utcnow
from peerhub.notifications.service import notify, queue_mail
from peerhub.web.timefmt import is_timezone
from peerhub.web.urls import absolute_url

security_log = logging.getLogger("peerhub.security")


def normalise_email(raw: str) -> str:
    """The address as stored: validated syntax, domain lower-cased, whole address lower-cased.

    Raises Invalid with a message for the e-mail field.
    """
    raw = (raw or "").strip()
    if not raw or len(raw) > EMAIL_MAX:
        raise Invalid(_("Please enter a valid e-mail address."), "email")
    try:
        result = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as error:
        raise Invalid(_("Please enter a valid e-mail address."), "email") from error
    return result.normalized.lower()


def _check_language(language: str) -> str:
    if language not in current_app.config["LANGUAGES"]:
        raise Invalid(_("Please choose German or English."), "language")
    return language


def _check_timezone(zone: str) -> str:
    if not is_timezone(zone):
        raise Invalid(_("Please choose a time zone from the list."), "timezone")
    return zone


def _check_display_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name or len(name) > DISPLAY_NAME_MAX:
        raise Invalid(
            _("Please enter a name of 1 to %(max)d characters.", max=DISPLAY_NAME_MAX),
            "display_name",
        )
    return name


def _check_new_password(password: str, *personal: str) -> None:
    problem = password_problem(password, *personal)
    if problem:
        raise Invalid(problem, "password")


def user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))


def _read_link(kind: tuple[str, int], token: str, expired: str, invalid: str) -> dict:
    """The payload of a mailed link. Raises Invalid with `expired` or `invalid`."""
    try:
        return tokens.read_token(kind, token)
    except tokens.TokenExpired as error:
        raise Invalid(expired) from error
    except tokens.TokenInvalid as error:
        raise Invalid(invalid) from error


def _queue_verification(user: User) -> None:
    token = tokens.make_token(tokens.VERIFY_EMAIL, {"u": user.id, "e": user.email})
    queue_mail(
        user.email,
        "verify_email",
        user.language,
        name=user.display_name,
        link=absolute_url("accounts.verify_email", token=token),
    )


@dataclass(frozen=True)
class SignUp:
    email: str
    display_name: str
    password: str
    language: str
    timezone: str
    consent: bool
    invite_token: str | None = None  # from an invite link (/join/<token>)


def sign_up(data: SignUp) -> User | None:
    """Create an unverified account and queue its verification mail.

    The caller answers the same whether or not the address was taken (None is
    returned then): a verified owner gets a notice, an unverified one a fresh
    link, so a double click or a second try sends nothing confusing. Raises Invalid, and
    NotAllowed, NotFound or InviteUnusable when the community's sign-up mode refuses.
    """
    email = normalise_email(data.email)
    community.check_signup(email, data.invite_token)
    name = _check_display_name(data.display_name)
    language = _check_language(data.language)
    zone = _check_timezone(data.timezone)
    _check_new_password(data.password, email, name)
    if not data.consent:
        raise Invalid(_("Please agree to the privacy notice to join."), "consent")
    # Hash before looking the address up, so a taken address answers in the same time.
    password_hash = hash_password(data.password)
    try:
        with transaction():
            existing = user_by_email(email)
            if existing is not None:
                _tell_existing_owner(existing)
                return None
            if data.invite_token:
                community.use_invite(data.invite_token)
            user = User(
                email=email,
                display_name=name,
                password_hash=password_hash,
                language=language,
                timezone=zone,
            )
            user.consents.append(
                Consent(purpose="privacy", policy_version=community.current_privacy_version())
            )
            db.session.add(user)
            db.session.flush()
            _queue_verification(user)
    except IntegrityError:
        # Another request created the same address between our look-up and insert.
        with transaction():
            existing = user_by_email(email)
            if existing is not None:
                _tell_existing_owner(existing)
        return None
    return user


def _tell_existing_owner(existing: User) -> None:
    if not existing.is_verified:
        _queue_verification(existing)
        return
    queue_mail(
        existing.email,
        "signup_existing",
        existing.language,
        name=existing.display_name,
        login=absolute_url("accounts.login"),
        reset=absolute_url("accounts.forgot_password"),
    )


def queue_verification(user: User) -> None:
    """Queue a fresh confirmation link for `user` in the caller's transaction."""
    _queue_verification(user)


def resend_verification(user: User) -> None:
    """Queue a fresh verification link for an unverified member (verified: nothing)."""
    if user.is_verified:
        return
    with transaction():
        _queue_verification(user)


def verify_email(token: str) -> User:
    """Mark the address in `token` verified. Works once; raises Invalid when expired or used."""
    payload = _read_link(
        tokens.VERIFY_EMAIL,
        token,
        expired=_("This confirmation link has expired. Log in to get a new one."),
        invalid=_("This confirmation link is not valid."),
    )
    with transaction():
        user = db.session.get(User, payload.get("u"))
        if user is None or user.email != payload.get("e"):
            raise Invalid(_("This confirmation link is not valid."))
        changed = db.session.execute(
            update(User)
            .where(User.id == user.id, User.email_verified_at.is_(None))
            .values(email_verified_at=utcnow())
        ).rowcount
        if changed != 1:
            raise Invalid(_("This confirmation link was already used. You can log in."))
        notify(user.id, "welcome", name=user.display_name)
    db.session.refresh(user)
    return user


class NotVerified(NotAllowed):
    """The password was right but the address is not confirmed yet."""


def authenticate(email: str, password: str) -> User:
    """The member with these credentials, allowed to log in.

    Raises Invalid (the same message whether or not the account exists),
    NotVerified, or NotAllowed for suspended and banned members.
    """
    wrong = Invalid(_("E-mail address or password is wrong."))
    try:
        email = normalise_email(email)
    except Invalid:
        verify_password(None, password or "")
        raise wrong from None
    user = user_by_email(email)
    if not verify_password(user.password_hash if user else None, password or ""):
        raise wrong
    if not user.is_active:
        from peerhub.moderation.cases import login_refusal

        # says until when and why (and links to an appeal); a suspension past its end lifts
        refusal = login_refusal(user)
        if refusal is not None:
            raise refusal
    if not user.is_verified:
        resend_verification(user)
        raise NotVerified(
            _("Please confirm your e-mail address first. We have sent you a new link.")
        )
    return user


def record_login(user: User, password: str) -> None:
    """Note the login time; upgrade the hash when the hashing parameters changed."""
    with transaction():
        user.last_login_at = utcnow()
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)


def end_all_sessions(user: User) -> None:
    """Rotate the member's session token: every session and remember cookie stops working."""
    with transaction():
        user.session_token = new_session_token()
    security_log.info("sessions_revoked user=%s", user.id)


def request_password_reset(email: str) -> None:
    """Queue a reset link when an active account has this address; silent otherwise."""
    try:
        email = normalise_email(email)
    except Invalid:
        return
    with transaction():
        user = user_by_email(email)
        if user is None or not user.is_active:
            return
        queue_reset_link(user)


def queue_reset_link(user: User, forced: bool = False) -> None:
    """Queue a reset link for `user` in the caller's transaction; `forced`: a moderator
    ended the password, and the mail says so instead of "you asked"."""
    token = tokens.make_token(
        tokens.RESET_PASSWORD, {"u": user.id, "p": tokens.fingerprint(user.password_hash)}
    )
    queue_mail(
        user.email,
        "password_reset",
        user.language,
        name=user.display_name,
        link=absolute_url("accounts.reset_password", token=token),
        forced=forced,
    )


def user_for_reset(token: str) -> User:
    """The member a reset link belongs to. Raises Invalid when expired, used or forged."""
    payload = _read_link(
        tokens.RESET_PASSWORD,
        token,
        expired=_("This reset link has expired. Please ask for a new one."),
        invalid=_("This reset link is not valid. Please ask for a new one."),
    )
    user = db.session.get(User, payload.get("u"))
    if user is None or tokens.fingerprint(user.password_hash) != payload.get("p"):
        raise Invalid(_("This reset link was already used. Please ask for a new one."))
    if not user.is_active:
        raise Invalid(_("This reset link is not valid. Please ask for a new one."))
    return user


def _password_changed(user: User) -> None:
    user.password_changed_at = utcnow()
    user.session_token = new_session_token()
    queue_mail(
        user.email,
        "password_changed",
        user.language,
        name=user.display_name,
        reset=absolute_url("accounts.forgot_password"),
    )
    notify(user.id, "password_changed")


def reset_password(token: str, new_password: str) -> User:
    """Set a new password from a reset link: single use, ends every session, sends a notice.

    Does not log in. Raises Invalid.
    """
    user = user_for_reset(token)
    _check_new_password(new_password, user.email, user.display_name)
    with transaction():
        fresh = db.session.execute(
            update(User)
            .where(User.id == user.id, User.password_hash == user.password_hash)
            .values(password_hash=hash_password(new_password))
        ).rowcount
        if fresh != 1:
            raise Invalid(_("This reset link was already used. Please ask for a new one."))
        db.session.refresh(user)
        _password_changed(user)
        # Whoever could reset the password may have seen the calendar feed's URL too.
        from peerhub.calendar.service import revoke

        revoke(user.id)
    security_log.info("password_reset user=%s", user.id)
    return user


def change_password(user: User, current: str, new_password: str) -> None:
    """Change the password after checking the current one; ends every other session.

    Raises Invalid.
    """
    if not verify_password(user.password_hash, current or ""):
        raise Invalid(_("Your current password is not correct."), "current_password")
    _check_new_password(new_password, user.email, user.display_name)
    with transaction():
        user.password_hash = hash_password(new_password)
        _password_changed(user)
    security_log.info("password_changed user=%s", user.id)


def request_email_change(user: User, password: str, new_email: str) -> None:
    """Send a confirmation link to the new address; the change happens when it is followed.

    A taken address gets a notice instead; the caller answers the same. Raises Invalid.
    """
    if not verify_password(user.password_hash, password or ""):
        raise Invalid(_("Your current password is not correct."), "password")
    email = normalise_email(new_email)
    if email == user.email:
        raise Invalid(_("This is already your e-mail address."), "email")
    community.check_address(email)  # a community open to some domains keeps its members there
    with transaction():
        other = user_by_email(email)
        if other is not None:
            queue_mail(
                other.email, "email_change_existing", other.language, name=other.display_name
            )
            return
        token = tokens.make_token(
            tokens.CHANGE_EMAIL, {"u": user.id, "old": user.email, "new": email}
        )
        queue_mail(
            email,
            "email_change",
            user.language,
            name=user.display_name,
            link=absolute_url("accounts.confirm_email_change", token=token),
        )


def confirm_email_change(token: str) -> User:
    """Move the account to the confirmed new address and tell the old one.

    Works once. Raises Invalid when expired, used or forged, Conflict when taken meanwhile.
    """
    payload = _read_link(
        tokens.CHANGE_EMAIL,
        token,
        expired=_("This confirmation link has expired. Please start again."),
        invalid=_("This confirmation link is not valid."),
    )
    user = db.session.get(User, payload.get("u"))
    if user is None or user.email != payload.get("old"):
        raise Invalid(_("This confirmation link was already used or is not valid."))
    old, new = payload["old"], payload["new"]
    community.check_address(new)  # the community may have been restricted since the link was sent
    try:
        with transaction():
            changed = db.session.execute(
                update(User)
                .where(User.id == user.id, User.email == old)
                .values(email=new, email_verified_at=utcnow())
            ).rowcount
            if changed != 1:
                raise Invalid(_("This confirmation link was already used or is not valid."))
            queue_mail(old, "email_changed", user.language, name=user.display_name, email=new)
            notify(user.id, "email_changed", email=new)
    except IntegrityError as error:
        raise Conflict(_("This e-mail address is already in use."), "email") from error
    db.session.refresh(user)
    security_log.info("email_changed user=%s", user.id)
    return user


def update_preferences(user: User, language: str, timezone: str) -> None:
    """Change the member's language and time zone. Raises Invalid."""
    language = _check_language(language)
    timezone = _check_timezone(timezone)
    with transaction():
        user.language = language
        user.timezone = timezone


def set_language(user: User, language: str) -> None:
    """Change only the language (the switch in the header). Raises Invalid."""
    language = _check_language(language)
    with transaction():
        user.language = language


def create_admin(email: str, password: str | None, display_name: str | None = None) -> User:
    """Make the account with `email` an admin, creating it (verified) when it does not exist.

    Raises Invalid when a new account's password is missing or weak.
    """
    email = normalise_email(email)
    with transaction():
        user = user_by_email(email)
        if user is None:
            name = _check_display_name(display_name or email.split("@")[0])
            if not password:
                raise Invalid(_("A new account needs a password."), "password")
            _check_new_password(password, email, name)
            user = User(
                email=email,
                display_name=name,
                password_hash=hash_password(password),
                email_verified_at=utcnow(),
            )
            db.session.add(user)
        user.role = "admin"
    security_log.info("role_granted user=%s role=admin by=cli", user.id)
    return user


def set_role(user: User, role: str) -> None:
    """Give `user` a role (used by the CLI and, later, admin pages). Raises Invalid."""
    if role not in ROLES:
        raise Invalid(_("Unknown role."), "role")
    with transaction():
        user.role = role
