"""Queueing and sending mails through the outbox; in-app notifications."""

from __future__ import annotations

import contextlib
import logging
import smtplib
import sys
from collections.abc import Callable
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any, Protocol

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from peerhub.errors import NotFound
from peerhub.extensions import db, utcnow
from peerhub.notifications.models import Notification, OutboxMail

log = logging.getLogger("peerhub.mail")

MAIL_SUBJECTS = {
    "verify_email": _l("Please confirm your e-mail address"),
    "signup_existing": _l("Someone tried to sign up with your address"),
    "password_reset": _l("Reset your PeerHub password"),
    "password_changed": _l("Your PeerHub password was changed"),
    "email_change": _l("Please confirm your new e-mail address"),
    "email_change_existing": _l("Someone tried to move an account to your address"),
    "email_changed": _l("Your PeerHub e-mail address was changed"),
    "round_proposal": _l("The matching round has a proposal for you"),
    "proposal_accepted": _l("You both said yes: time for an intro call"),
    "intro_request": _l("%(name)s would like an intro call with you"),
    "intro_times": _l("%(name)s proposed other times for your intro call"),
    "intro_moved": _l("%(name)s would like to move your intro call"),
    "intro_scheduled": _l("Your intro call with %(name)s is scheduled"),
    "intro_declined": _l("About your intro request to %(name)s"),
    "intro_withdrawn": _l("%(name)s withdrew the intro request"),
    "intro_cancelled": _l("Your intro call with %(name)s is cancelled"),
    "intro_message": _l("%(name)s wrote to you"),
    "intro_reminder": _l("%(name)s is waiting for your answer"),
    "intro_decide": _l("How was your intro call with %(name)s?"),
    "intro_decided": _l("%(name)s has decided about your intro call"),
    "intro_continued": _l("You and %(name)s are a tandem now"),
    "intro_not_a_fit": _l("About your intro call with %(name)s"),
    "intro_expired": _l("The intro request between you and %(name)s was closed"),
    "intro_lapsed": _l("Your intro call with %(name)s was closed"),
    "agreement_changed": _l("%(name)s changed your agreement: please sign again"),
    "tandem_active": _l("Your tandem with %(names)s is active"),
    "agreement_in_force": _l("Your changed agreement with %(names)s is in force"),
    "tandem_ended": _l("%(name)s has ended your tandem"),
    "term_continue": _l("%(name)s would like to go on for another term"),
    "term_complete": _l("%(name)s would like to complete your tandem"),
    "tandem_completed": _l("Your tandem with %(names)s is completed"),
    "tandem_invited": _l("%(name)s invites you into a peer-coaching group"),
    "tandem_joined": _l("%(name)s has joined your group"),
    "tandem_left": _l("%(name)s has left your group"),
    "tandem_partner_gone": _l("Your tandem has ended: your partner has left PeerHub"),
    "tandem_member_gone": _l("A member has left PeerHub and your group"),
    "tandem_group_formed": _l("Your group with %(names)s is forming"),
    "tandem_invitation_declined": _l("%(name)s will not join your group"),
    "term_ending": _l("Your term with %(names)s ends soon"),
    "session_reminder": _l("Reminder: your session with %(names)s on %(when)s"),
    "session_cancelled": _l("%(name)s cancelled your session on %(when)s"),
    "session_cancelled_late": _l("At short notice: %(name)s cancelled your session on %(when)s"),
    "session_restored": _l("Your session on %(when)s takes place after all"),
    "session_moved": _l("%(name)s moved a session to %(when)s"),
    "series_changed": _l("%(name)s changed the time of your sessions"),
    "series_paused": _l("%(name)s paused your sessions"),
    "series_resumed": _l("Your sessions take place again"),
    "series_ended": _l("%(name)s ended your regular sessions"),
    "check_in_open": _l("Time for a check-in with %(names)s"),
    "check_in_reminder": _l("Your check-in with %(names)s is waiting for your answer"),
    "no_shows": _l("Time to talk: you have reached the number of no-shows your agreement names"),
    "no_shows_you": _l(
        "Time to talk: you have reached the number of no-shows your agreement names"
    ),
    "moderation_suspended": _l("Your PeerHub account is suspended"),
    "moderation_banned": _l("Your PeerHub account is banned"),
    "moderation_lifted": _l("You can log in to PeerHub again"),
    "appeal_approved": _l("Your appeal was approved"),
    "appeal_rejected": _l("Your appeal was reviewed"),
}

# Mails that share one template file (their text is chosen by the caller).
MAIL_FILES = {
    kind: "update"
    for kind in MAIL_SUBJECTS
    if kind.startswith(
        (
            "intro_",
            "tandem_",
            "agreement_",
            "term_",
            "session_",
            "series_",
            "no_",
            "check_in_",
            "moderation_",
            "appeal_",
        )
    )
}

NOTIFICATION_TEXTS = {
    "welcome": _l("Welcome to PeerHub, %(name)s! Your e-mail address is confirmed."),
    "password_changed": _l("Your password was changed. If this was not you, reset it now."),
    "email_changed": _l("Your e-mail address is now %(email)s."),
    "round_proposal": _l("The matching round suggests you meet %(names)s. Please say yes or no."),
    "round_unmatched": _l(
        "The matching round found no partner for you this time. Your suggestions page has "
        "more ideas, and you can join the next round."
    ),
    "proposal_accepted": _l(
        "You and %(names)s said yes. Next step: a short, non-binding intro call."
    ),
    "proposal_declined": _l(
        "The proposal with %(names)s will not go ahead this time. That is part of finding the "
        "right fit; there will be other suggestions."
    ),
    "intro_request": _l("%(name)s would like an intro call with you. Please answer within a week."),
    "intro_times": _l("%(name)s proposed other times for your intro call. Pick one."),
    "intro_moved": _l("%(name)s would like to move your intro call and proposed new times."),
    "intro_scheduled": _l("Your intro call with %(name)s is scheduled."),
    "intro_declined": _l(
        "%(name)s cannot take up your intro request right now. That is part of finding the "
        "right fit."
    ),
    "intro_withdrawn": _l("%(name)s withdrew the intro request."),
    "intro_cancelled": _l("%(name)s cancelled your intro call."),
    "intro_message": _l("%(name)s wrote to you about your intro call."),
    "intro_reminder": _l("%(name)s is waiting for your answer about an intro call."),
    "intro_decide": _l("How was your intro call with %(name)s? Tell us how you want to go on."),
    "intro_decided": _l("%(name)s has decided after your intro call. What about you?"),
    "intro_continued": _l(
        "You and %(name)s want to continue: you are a tandem now. Next, write your agreement."
    ),
    "intro_not_a_fit": _l(
        "%(name)s felt your intro call was not the right fit. Thank you both for your time."
    ),
    "intro_expired": _l(
        "The intro request between you and %(name)s closed without an answer in time."
    ),
    "intro_lapsed": _l(
        "The intro call with %(name)s was closed: after two weeks, one of you had not decided."
    ),
    "agreement_changed": _l("%(name)s changed your agreement. Please read it and sign again."),
    "agreement_signed": _l("%(name)s signed your agreement."),
    "tandem_active": _l("Everyone signed: your tandem with %(names)s is active."),
    "agreement_in_force": _l("Everyone signed the changed agreement with %(names)s."),
    "tandem_ended": _l("%(name)s has ended your tandem. Your future sessions are cancelled."),
    "term_continue": _l("%(name)s would like to go on for another term: read and sign it."),
    "term_complete": _l("%(name)s would like to complete your tandem at the end of the term."),
    "tandem_completed": _l("Your tandem with %(names)s is completed. Congratulations!"),
    "tandem_invited": _l("%(name)s invites you into their group with %(names)s."),
    "tandem_joined": _l("%(name)s has joined your group."),
    "tandem_left": _l("%(name)s has left your group; the rest of you go on."),
    "tandem_partner_gone": _l(
        "Your tandem partner has left PeerHub, so your tandem has ended and your future "
        "sessions are cancelled. Thank you for the time you gave each other."
    ),
    "tandem_member_gone": _l("A member of your group has left PeerHub; the rest of you go on."),
    "intro_partner_gone": _l(
        "A member you were arranging an intro call with has left PeerHub, so the request is closed."
    ),
    "proposal_partner_gone": _l(
        "A member of your matching-round proposal has left PeerHub, so it will not go ahead "
        "this time. There will be other suggestions."
    ),
    "tandem_group_formed": _l(
        "You and %(names)s all said yes: your group is forming. Next, write your agreement."
    ),
    "tandem_invitation_declined": _l("%(name)s will not join your group this time."),
    "term_ending": _l("Your term with %(names)s ends in two weeks: decide how to go on."),
    "session_cancelled": _l("%(name)s cancelled your session on %(when)s."),
    "session_cancelled_late": _l(
        "%(name)s cancelled your session on %(when)s, later than your agreement's notice."
    ),
    "session_restored": _l(
        "%(name)s took back the cancellation: your session on %(when)s takes place after all."
    ),
    "session_moved": _l("%(name)s moved your session of %(was)s to %(when)s."),
    "series_changed": _l("%(name)s changed your sessions: %(every)s, from %(when)s on."),
    "series_paused": _l("%(name)s paused your sessions from %(when)s to %(until)s."),
    "series_resumed": _l("%(name)s ended the pause: your sessions take place from %(when)s."),
    "series_ended": _l("%(name)s ended your regular sessions early."),
    "no_shows": _l(
        "Sessions %(name)s missed without cancelling: %(num)d. Time to talk, as your agreement "
        "says."
    ),
    "no_shows_you": _l(
        "Sessions you missed without cancelling: %(num)d. Time to talk, as your agreement says."
    ),
    "check_in_open": _l(
        "Time for a check-in with %(names)s: rate your goals and say what helped. Nobody sees "
        "the answers before everyone has answered."
    ),
    "check_in_reminder": _l("Your check-in with %(names)s is still waiting for your answer."),
    "check_in_revealed": _l("Everyone has answered your check-in: read each other's answers."),
    "goal_reached": _l("%(name)s marked a goal as reached. Congratulations to all of you!"),
    "milestone_reached": _l(
        "%(name)s marked a milestone as reached. Congratulations to all of you!"
    ),
    "story_proposed": _l(
        "%(name)s would like to share your success with the community. Read the story and decide."
    ),
    "story_published": _l("Everyone agreed: your success story is on the successes page."),
    "feedback_received": _l("%(name)s left feedback on your session of %(when)s."),
    "report_actioned": _l(
        "Your report about %(name)s was reviewed: we took action. Thank you for looking out "
        "for the community."
    ),
    "report_dismissed": _l(
        "Your report about %(name)s was reviewed: no action was needed. Thank you for telling "
        "us all the same."
    ),
    "moderation_warned": _l("A moderator has sent you a warning. Please read it."),
    "moderation_hid_message": _l("A moderator has hidden one of your messages. Read why."),
    "moderation_hid_profile": _l(
        "A moderator has hidden your profile: other members do not see it for now. Read why."
    ),
    "appeal_approved": _l("A moderator has approved your appeal: the decision is lifted."),
    "appeal_rejected": _l("A moderator has read your appeal and rejected it. Read why."),
}

MAX_BACKOFF = timedelta(hours=1)
STALE_CLAIM = timedelta(minutes=15)


def _refuse_line_breaks(*values: str) -> None:
    for value in values:
        if "\r" in value or "\n" in value:
            raise ValueError("mail header values must not contain line breaks")


def queue_mail(
    recipient: str,
    template: str,
    language: str,
    subject_params: dict[str, Any] | None = None,
    attachment: tuple[str, str, str] | None = None,
    **context: Any,
) -> OutboxMail:
    """Render `template` in `language` and add it to the outbox in the caller's transaction.

    `attachment` is (file name, content type, text), e.g. a calendar file. Raises
    ValueError for an unknown template or a header with a line break.
    """
    if template not in MAIL_SUBJECTS:
        raise ValueError(f"unknown mail template {template!r}")
    source = MAIL_FILES.get(template, template)
    with force_locale(language):
        subject = str(MAIL_SUBJECTS[template]) % (subject_params or {})
        text = render_template(
            f"mail/{source}.txt", subject=subject, language=language, kind=template, **context
        )
        html = render_template(
            f"mail/{source}.html", subject=subject, language=language, kind=template, **context
        )
    _refuse_line_breaks(recipient, subject, *(attachment[:2] if attachment else ()))
    mail = OutboxMail(
        recipient=recipient, subject=subject, text_body=text, html_body=html, template=template
    )
    if attachment:
        mail.attachment_name, mail.attachment_type, mail.attachment_body = attachment
    db.session.add(mail)
    return mail


def notify(user_id: int, kind: str, link: str | None = None, **params: Any) -> Notification:
    """Add an in-app notification in the caller's transaction."""
    if kind not in NOTIFICATION_TEXTS:
        raise ValueError(f"unknown notification kind {kind!r}")
    notification = Notification(user_id=user_id, kind=kind, link=link, params=params)
    db.session.add(notification)
    return notification


def notification_text(notification: Notification) -> str:
    """The notification's text in the current language."""
    return str(NOTIFICATION_TEXTS[notification.kind]) % notification.params


def unread_count(user_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        )
        or 0
    )


def notifications_for(user_id: int):
    """The member's notifications, newest first, as a select for pagination."""
    return (
        select(Notification)
        .where(Notification.user_id == user_id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )


def mark_read(user_id: int, notification_id: int) -> Notification:
    """Mark one of the member's notifications read (again is harmless).

    Raises NotFound when it is not theirs.
    """
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != user_id:
        raise NotFound("notification")
    if notification.read_at is None:
        notification.read_at = utcnow()
    db.session.commit()
    return notification


def mark_all_read(user_id: int) -> int:
    """Mark every unread notification of the member read; returns how many changed."""
    result = db.session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    db.session.commit()
    return result.rowcount


# --- delivery -----------------------------------------------------------------


class Transport(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class SMTPTransport:
    """Sends over SMTP with the MAIL_* settings; one connection per batch."""

    def __init__(self, config: dict) -> None:
        self.config = config
        self.connection: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        if cfg["MAIL_USE_SSL"]:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=30)
        else:
            smtp = smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=30)
            if cfg["MAIL_USE_TLS"]:
                smtp.starttls()
        if cfg["MAIL_USERNAME"]:
            smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"] or "")
        return smtp

    def send(self, message: EmailMessage) -> None:
        if self.connection is None:
            self.connection = self._connect()
        try:
            self.connection.send_message(message)
        except smtplib.SMTPServerDisconnected:
            self.connection = self._connect()
            self.connection.send_message(message)

    def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.connection.quit()
            self.connection = None


class ConsoleTransport:
    """Development: prints each mail instead of sending it."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stdout

    def send(self, message: EmailMessage) -> None:
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        print(
            f"\n----- mail to {message['To']} -----\nSubject: {message['Subject']}\n\n{text}"
            "----- end of mail -----",
            file=self.stream,
            flush=True,
        )

    def close(self) -> None:
        pass


def transport_for(config: dict) -> SMTPTransport | ConsoleTransport:
    return SMTPTransport(config) if config.get("MAIL_SERVER") else ConsoleTransport()


def build_message(mail: OutboxMail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = formataddr(("", mail.recipient))
    message["Subject"] = mail.subject
    message["Message-ID"] = make_msgid(idstring=f"outbox{mail.id}", domain="peerhub")
    message.set_content(mail.text_body)
    message.add_alternative(mail.html_body, subtype="html")
    if mail.attachment_name and mail.attachment_body is not None:
        main, _slash, sub = (mail.attachment_type or "application/octet-stream").partition("/")
        sub, _semicolon, _params = sub.partition(";")
        message.add_attachment(
            mail.attachment_body.encode("utf-8"),
            maintype=main,
            subtype=sub.strip(),
            filename=mail.attachment_name,
        )
    return message


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes after each failure, capped at an hour."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def _claim(mail_id: int) -> bool:
    """Take one due mail for sending; False when another sender was first."""
    now = utcnow()
    result = db.session.execute(
        update(OutboxMail)
        .where(
            OutboxMail.id == mail_id,
            (OutboxMail.status == "pending")
            | ((OutboxMail.status == "sending") & (OutboxMail.claimed_at < now - STALE_CLAIM)),
        )
        .values(status="sending", claimed_at=now)
    )
    db.session.commit()
    return result.rowcount == 1


def send_pending(
    transport: Transport | None = None,
    limit: int = 100,
    now: Callable[[], Any] = utcnow,
) -> dict[str, int]:
    """Deliver due outbox mails, each exactly once; failures retry with capped backoff.

    Returns counts of sent, retried and failed mails.
    """
    config = current_app.config
    transport = transport or transport_for(config)
    counts = {"sent": 0, "retry": 0, "failed": 0}
    due = db.session.scalars(
        select(OutboxMail.id)
        .where(
            ((OutboxMail.status == "pending") & (OutboxMail.next_attempt_at <= now()))
            | ((OutboxMail.status == "sending") & (OutboxMail.claimed_at < now() - STALE_CLAIM))
        )
        .order_by(OutboxMail.id)
        .limit(limit)
    ).all()
    db.session.commit()
    try:
        for mail_id in due:
            if not _claim(mail_id):
                continue
            mail = db.session.get(OutboxMail, mail_id)
            try:
                transport.send(build_message(mail, config["MAIL_DEFAULT_SENDER"]))
            except (OSError, smtplib.SMTPException) as error:
                mail.attempts += 1
                mail.last_error = f"{type(error).__name__}: {error}"[:255]
                if mail.attempts >= config["MAIL_MAX_ATTEMPTS"]:
                    mail.status = "failed"
                    counts["failed"] += 1
                    log.error("mail %s failed for good after %s attempts", mail.id, mail.attempts)
                else:
                    mail.status = "pending"
                    mail.next_attempt_at = now() + backoff(mail.attempts)
                    counts["retry"] += 1
                    log.warning("mail %s will be retried: %s", mail.id, mail.last_error)
            else:
                mail.status = "sent"
                mail.sent_at = now()
                mail.attempts += 1
                counts["sent"] += 1
            db.session.commit()
    finally:
        close = getattr(transport, "close", None)
        if close:
            close()
    return counts
