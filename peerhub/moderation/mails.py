"""The words of moderation mails, as lazy strings the mail template renders in the member's
language (`queue_mail` sets it). Members who cannot log in learn here what happened, why,
and how to appeal; none of these mails names who reported."""

from __future__ import annotations

from typing import Any

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from peerhub.accounts.models import User
from peerhub.web.timefmt import zoned
from peerhub.web.urls import absolute_url

WHAT_WAS_LIFTED = {
    "warn": _l("the warning is withdrawn"),
    "hide": _l("what was hidden shows again"),
    "suspend": _l("the suspension is lifted and you can log in again"),
}


def mail_text(kind: str, member: User, **context: Any) -> dict:
    """Paragraphs, quote and link of a moderation mail."""
    from peerhub.moderation.cases import APPEAL_DAYS, appeal_link

    action = context.get("action")
    reason = context.get("reason") or (action.reason if action is not None else "")
    paragraphs: list = []
    link, link_label = absolute_url("accounts.login"), _l("Log in")
    quote_label = _l("The moderators' reason:")
    if kind == "moderation_suspended":
        with force_locale(member.language):
            until = zoned(action.until, member.timezone)
        paragraphs.append(
            _l(
                "A moderator has suspended your PeerHub account until %(until)s (%(zone)s). "
                "Until then you cannot log in, and your calendar address stops working.",
                until=until,
                zone=member.timezone,
            )
        )
        paragraphs.append(
            _l(
                "If you think this was wrong, you can appeal within %(days)d days: another "
                "moderator than the one who decided will read it.",
                days=APPEAL_DAYS,
            )
        )
        link, link_label = appeal_link(action), _l("Appeal the suspension")
    elif kind == "moderation_banned":
        paragraphs.append(
            _l("A moderator has banned your PeerHub account: you cannot log in any more.")
        )
        link, link_label = absolute_url("web.imprint"), _l("Contact the people who run PeerHub")
    elif kind == "moderation_lifted":
        if context.get("ended"):
            paragraphs.append(_l("Your suspension has ended: you can log in to PeerHub again."))
            reason = ""
        else:
            paragraphs.append(_l("A moderator has lifted your suspension: you can log in again."))
    elif kind == "appeal_approved":
        paragraphs.append(
            _l(
                "A moderator has read your appeal and agrees with you: %(what)s.",
                what=WHAT_WAS_LIFTED.get(action.kind, ""),
            )
        )
        quote_label = _l("Their words:")
        if action.kind != "suspend":
            link, link_label = absolute_url("reports.my_actions"), _l("Read it on PeerHub")
    elif kind == "appeal_rejected":
        paragraphs.append(
            _l(
                "A moderator has read your appeal and decided that the decision stands. "
                "Thank you for explaining your view."
            )
        )
        quote_label = _l("Their reason:")
        if action.kind == "suspend" and action.subject_id and _still_out(member):
            link, link_label = absolute_url("web.imprint"), _l("Contact the people who run PeerHub")
        else:
            link, link_label = absolute_url("reports.my_actions"), _l("Read it on PeerHub")
    return {
        "paragraphs": paragraphs,
        "quote": reason or "",
        "quote_label": quote_label,
        "link": link,
        "link_label": link_label,
    }


def _still_out(member: User) -> bool:
    return member.status != "active"
