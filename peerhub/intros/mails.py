"""The words of intro-call mails: built as lazy strings, so that the mail template renders
them in the recipient's language (`queue_mail` sets it), with times in the recipient's zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date
from flask_babel import lazy_gettext as _l

from peerhub.accounts.models import User
from peerhub.intros.models import DECIDE_WITHIN, EXPIRY, REMINDER_AFTER, IntroRequest
from peerhub.matching.candidates import PAUSE


def when_for(instant: datetime | None, zone: str, language: str) -> str:
    """An instant as the member reads it: their zone and language, with the zone named."""
    if instant is None:
        return ""
    local = instant.astimezone(ZoneInfo(zone))
    return f"{format_date(local, 'full', locale=language)}, {local:%H:%M} ({zone})"


def decline_text(reason: str | None, name: str):
    """The kind words the requester reads when the other said no (lazy, for any language)."""
    if reason == "no_capacity":
        return _l("%(name)s has no room for a new partnership right now.", name=name)
    if reason == "goals_differ":
        return _l("%(name)s feels that your goals point in different directions.", name=name)
    return _l("%(name)s cannot take this up at the moment.", name=name)


LINK_LABELS = {
    "intro_request": _l("Answer the request"),
    "intro_times": _l("Pick a time"),
    "intro_moved": _l("Pick a new time"),
    "intro_reminder": _l("Answer the request"),
    "intro_decide": _l("Tell us how you want to go on"),
    "intro_decided": _l("Tell us how you want to go on"),
    "intro_continued": _l("Open your tandem"),
    "intro_declined": _l("See your suggestions"),
}


def _place_line(intro: IntroRequest):
    if intro.mode == "in_person":
        return _l("Meeting place: %(place)s", place=intro.place)
    if intro.place:
        return _l("Video link: %(place)s", place=intro.place)
    return _l("By video: agree on the link in your messages on PeerHub.")


def mail_text(kind: str, intro: IntroRequest, member: User, partner: User) -> dict:
    """The paragraphs, list and quote of an intro mail, as lazy strings that the mail
    template renders in the member's language (`queue_mail` sets it)."""
    name = partner.display_name
    when = when_for(intro.scheduled_start, member.timezone, member.language)
    times = [when_for(s.start, member.timezone, member.language) for s in intro.open_slots]
    paragraphs: list = []
    items: list[str] = []
    quote, quote_label = "", None
    if kind == "intro_request":
        paragraphs.append(
            _l(
                "%(name)s would like to get to know you in a short, non-binding intro call "
                "of %(num)d minutes.",
                name=name,
                num=intro.length_minutes,
            )
        )
        quote, quote_label = intro.message, _l("%(name)s writes:", name=name)
        items = times
        paragraphs.append(_place_line(intro))
        paragraphs.append(
            _l(
                "Pick a time that suits you, propose others, or say no kindly. Without an "
                "answer the request closes after %(num)d days.",
                num=EXPIRY.days,
            )
        )
    elif kind in ("intro_times", "intro_moved"):
        paragraphs.append(
            _l("%(name)s proposed other times for your intro call:", name=name)
            if kind == "intro_times"
            else _l(
                "%(name)s would like to move your intro call; the earlier time no longer "
                "holds. The new times:",
                name=name,
            )
        )
        items = times
        paragraphs.append(_l("Pick one of them, or propose others."))
    elif kind == "intro_scheduled":
        paragraphs.append(_l("Your intro call with %(name)s is on %(when)s.", name=name, when=when))
        if partner.timezone != member.timezone:
            paragraphs.append(
                _l(
                    "For %(name)s that is %(when)s.",
                    name=name,
                    when=when_for(intro.scheduled_start, partner.timezone, member.language),
                )
            )
        paragraphs.append(_place_line(intro))
        paragraphs.append(_l("The calendar file attached puts the call in your calendar."))
    elif kind == "intro_declined":
        paragraphs.append(decline_text(intro.decline_reason, name))
        paragraphs.append(
            _l(
                "That is part of finding the right fit and says nothing about you. Your "
                "suggestions show other members who complement you."
            )
        )
    elif kind == "intro_withdrawn":
        paragraphs.append(
            _l(
                "%(name)s withdrew the intro request. There is nothing left for you to do.",
                name=name,
            )
        )
    elif kind == "intro_cancelled":
        paragraphs.append(
            _l(
                "%(name)s cancelled your intro call on %(when)s.",
                name=name,
                when=when_for(intro.scheduled_start, member.timezone, member.language),
            )
        )
        paragraphs.append(_l("The calendar file attached takes the call out of your calendar."))
        paragraphs.append(_l("If you still want to talk, you can ask again on PeerHub."))
    elif kind == "intro_message":
        paragraphs.append(
            _l(
                "%(name)s wrote to you about your intro call. Read and answer on PeerHub.",
                name=name,
            )
        )
    elif kind == "intro_reminder":
        paragraphs.append(
            _l(
                "%(name)s is waiting for your answer about an intro call. A short no is kinder "
                "than none; without an answer the request closes in %(num)d days.",
                name=name,
                num=(EXPIRY - REMINDER_AFTER).days,
            )
        )
    elif kind in ("intro_decide", "intro_decided"):
        paragraphs.append(
            _l("How was your intro call with %(name)s?", name=name)
            if kind == "intro_decide"
            else _l("%(name)s has decided after your intro call.", name=name)
        )
        paragraphs.append(
            _l(
                "Tell us whether you would like to continue, or whether it is not a fit. "
                "Both answers are fine; when both want to continue, you become a tandem."
            )
        )
    elif kind == "intro_continued":
        paragraphs.append(
            _l(
                "You and %(name)s both want to continue: you are a tandem now. Congratulations!",
                name=name,
            )
        )
        paragraphs.append(
            _l(
                "Next, write your agreement together: goals, rhythm, confidentiality and how "
                "you handle cancellations."
            )
        )
        quote = intro.feedback_for(member.id) or ""
        quote_label = _l("%(name)s left you a note:", name=name)
    elif kind == "intro_not_a_fit":
        paragraphs.append(
            _l(
                "%(name)s felt that your intro call was not the right fit for a tandem. Thank "
                "you both for taking the time: finding the right partner often takes a few "
                "conversations.",
                name=name,
            )
        )
        quote = intro.feedback_for(member.id) or ""
        quote_label = _l("%(name)s left you a note:", name=name)
        paragraphs.append(
            _l("You will not be suggested to each other for %(num)d days.", num=PAUSE.days)
        )
    elif kind == "intro_expired":
        paragraphs.append(
            _l(
                "The intro request between you and %(name)s was closed because it waited "
                "%(num)d days for an answer. If you still want to talk, you can start a new one.",
                name=name,
                num=EXPIRY.days,
            )
        )
    elif kind == "intro_lapsed":
        paragraphs.append(
            _l(
                "%(num)d days after your intro call with %(name)s, one of you had not decided "
                "yet, so the request is closed. If you still want to work together, start a new "
                "request.",
                name=name,
                num=DECIDE_WITHIN.days,
            )
        )
    else:
        raise ValueError(f"unknown intro mail {kind!r}")
    return {"paragraphs": paragraphs, "items": items, "quote": quote, "quote_label": quote_label}
