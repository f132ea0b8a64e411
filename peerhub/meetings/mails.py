"""The words of session mails, as lazy strings the mail template renders in the recipient's
language (`queue_mail` sets it); times come already written in the recipient's zone."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from peerhub.tandems import agreement as texts

LINK_LABELS = {
    "session_reminder": _l("Open the session"),
    "session_cancelled": _l("Open the session"),
    "session_cancelled_late": _l("Open the session"),
    "session_restored": _l("Open the session"),
    "session_moved": _l("Open the session"),
}


def rhythm_words(series) -> str:
    """A series' rhythm as the agreement writes one, in the current language."""
    hours, minutes = divmod(series.start_minute, 60)
    value = {
        "frequency": "biweekly" if series.interval_weeks == 2 else "weekly",
        "weekday": series.weekday,
        "start": f"{hours:02d}:{minutes:02d}",
        "zone": series.zone,
        "length": series.length_minutes,
    }
    return texts.section_lines("rhythm", value)[0]


def mail_text(
    kind: str,
    member,
    actor,
    names: str,
    when: str,
    session=None,
    reason: str = "",
    every: str = "",
    until: str = "",
    count: int = 0,
    rules: str = "",
    was: str = "",
) -> dict:
    """Paragraphs, quote and link label of a session mail."""
    name = actor.display_name if actor else ""
    paragraphs: list = []
    quote, quote_label = "", None
    calendar = _l("Calendars that subscribe to your PeerHub feed follow the change by themselves.")
    if kind == "session_reminder":
        paragraphs.append(
            _l(
                "A reminder of your peer-coaching session with %(names)s on %(when)s.",
                names=names,
                when=when,
            )
        )
        paragraphs.append(
            _l(
                "The session page has your shared notes; there you can also move or cancel "
                "the session if you must."
            )
        )
    elif kind in ("session_cancelled", "session_cancelled_late"):
        paragraphs.append(_l("%(name)s cancelled your session on %(when)s.", name=name, when=when))
        quote, quote_label = reason, _l("%(name)s writes:", name=name)
        if kind == "session_cancelled_late":
            paragraphs.append(
                _l(
                    "This is later than the notice your agreement asks for. If it happens "
                    "again, talk about whether your rhythm still fits."
                )
            )
        paragraphs.append(calendar)
    elif kind == "session_restored":
        paragraphs.append(
            _l(
                "%(name)s took back the cancellation: your session on %(when)s takes place.",
                name=name,
                when=when,
            )
        )
        paragraphs.append(calendar)
    elif kind == "session_moved":
        paragraphs.append(
            _l(
                "%(name)s moved your session of %(was)s to %(when)s.",
                name=name,
                was=was,
                when=when,
            )
        )
        paragraphs.append(calendar)
    elif kind == "series_changed":
        paragraphs.append(
            _l(
                "%(name)s changed the time of your sessions: %(every)s, from %(when)s on. The "
                "sessions before stay as they were.",
                name=name,
                every=every,
                when=when,
            )
        )
        paragraphs.append(calendar)
    elif kind == "series_paused":
        paragraphs.append(
            _l(
                "%(name)s paused your sessions: the sessions from %(when)s to %(until)s do "
                "not take place. The ones after them do.",
                name=name,
                when=when,
                until=until,
            )
        )
        paragraphs.append(calendar)
    elif kind == "series_resumed":
        paragraphs.append(
            _l(
                "%(name)s ended your pause early: your sessions take place again from %(when)s.",
                name=name,
                when=when,
            )
        )
        paragraphs.append(calendar)
    elif kind == "series_ended":
        if when:
            paragraphs.append(
                _l(
                    "%(name)s ended your regular sessions early. Your last session is on "
                    "%(when)s; your tandem goes on, and you can set a new time together.",
                    name=name,
                    when=when,
                )
            )
        else:
            paragraphs.append(
                _l(
                    "%(name)s ended your regular sessions before the first one. Your tandem "
                    "goes on, and you can set a new time together.",
                    name=name,
                )
            )
        paragraphs.append(calendar)
    elif kind in ("no_shows", "no_shows_you"):
        if kind == "no_shows":
            paragraphs.append(
                _l(
                    "Sessions %(name)s missed without cancelling: %(num)d, as many as your "
                    "agreement names. It says what you do then:",
                    name=name,
                    num=count,
                )
            )
        else:
            paragraphs.append(
                _l(
                    "Sessions you missed without cancelling: %(num)d, as many as your "
                    "agreement names. It says what you do then:",
                    num=count,
                )
            )
        quote, quote_label = rules, _l("From your agreement:")
        paragraphs.append(
            _l(
                "Talk about it in your next session, kindly and openly: maybe your rhythm "
                "needs to change, or your time together has run its course."
            )
        )
    else:
        raise ValueError(f"unknown session mail {kind!r}")
    return {
        "paragraphs": paragraphs,
        "items": [],
        "quote": quote,
        "quote_label": quote_label,
        "link_label": LINK_LABELS.get(kind, _l("See your sessions")),
    }
