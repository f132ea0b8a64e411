"""Why two members fit, in plain words in the reader's language, and the times they share."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.lists import format_list
from flask_babel import get_locale, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from peerhub.extensions import db
from peerhub.matching.scoring import WEEK_MINUTES, Fit, reference_monday
from peerhub.profiles.models import Tag

ON_WEEKDAYS = (
    _l("on Mondays"),
    _l("on Tuesdays"),
    _l("on Wednesdays"),
    _l("on Thursdays"),
    _l("on Fridays"),
    _l("on Saturdays"),
    _l("on Sundays"),
)

# Why a member of a round stayed without a partner (codes stored on the entry).
UNMATCHED_REASONS = {
    "suspended": _l("The account is suspended."),
    "unconfirmed": _l("The e-mail address is not confirmed."),
    "no_profile": _l("The profile is not filled in yet."),
    "hidden": _l("The profile is hidden."),
    "paused": _l("The profile is paused."),
    "full": _l("No room for another partnership."),
    "no_complement": _l("Nobody else in the round offers what they seek or seeks what they offer."),
    "language": _l("Everyone who would complement them speaks other languages."),
    "meeting": _l("Everyone who would complement them meets in another way or another city."),
    "blocked": _l("Everyone who would complement them is blocked either way."),
    "paused_pair": _l("Everyone who would complement them said “not now” in the last 90 days."),
    "together": _l("They are already matched with everyone who would complement them."),
    "past_pairing": _l("Everyone who would complement them was proposed to them before."),
    "outscored": _l(
        "Everyone who would fit was matched with someone else, for a better total of the round."
    ),
    "moderator": _l("A moderator took them out of a proposal."),
}


@dataclass(frozen=True)
class Span:
    """A stretch of shared free time, in the reader's zone."""

    start: datetime
    end: datetime

    @property
    def weekday(self) -> int:
        return self.start.weekday()


def tag_names(ids: Iterable[int]) -> dict[int, str]:
    """Tag names for ids, in one query."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return dict(db.session.execute(select(Tag.id, Tag.name).where(Tag.id.in_(wanted))).all())


def shared_spans(fit: Fit, day: date, zone: str) -> list[Span]:
    """The pair's common free time in the week of `day`, as local times in `zone`.

    The week is measured in UTC, so a stretch cut at Sunday midnight UTC is joined again
    with its other half at the start of the week.
    """
    spans = [list(span) for span in fit.overlaps]
    if len(spans) > 1 and spans[0][0] == 0 and spans[-1][1] == WEEK_MINUTES:
        first = spans.pop(0)
        spans[-1][1] += first[1]
    monday = reference_monday(day)
    target = ZoneInfo(zone)
    out = [
        Span(
            (monday + timedelta(minutes=start)).astimezone(target),
            (monday + timedelta(minutes=end)).astimezone(target),
        )
        for start, end in spans
    ]
    return sorted(out, key=lambda s: (s.start.weekday(), s.start.time()))


def explain(fit: Fit, day: date, zone: str, me_reads: bool = True, names=None):
    """(tag names, shared spans in `zone`, sentence) for one fit; `names` may be preloaded."""
    if names is None:
        names = tag_names(fit_tags(fit))
    spans = shared_spans(fit, day, zone)
    return names, spans, explanation(fit, names, spans, me_reads)


def fit_tags(fit: Fit) -> set[int]:
    """Every tag id a fit's explanation names."""
    return {*fit.i_get, *fit.they_get, *fit.shared_goals, *fit.shared_interests}


def _list(names: Iterable[str]) -> str:
    return format_list(sorted(names, key=str.casefold), locale=get_locale())


def _names(ids: Iterable[int], names: dict[int, str]) -> list[str]:
    return [names[i] for i in ids if i in names]


def when(span: Span) -> str:
    """ "on Tuesdays 18:00–20:00" in the reader's language."""
    return f"{ON_WEEKDAYS[span.weekday]} {span.start:%H:%M}–{span.end:%H:%M}"


def _seeks_offers(seeker: str, tags: list[str], offerer: str) -> str:
    """ "A seeks X – B offers it", for a reader who is neither of them."""
    return ngettext(
        "%(a)s seeks %(tags)s – %(b)s offers it",
        "%(a)s seeks %(tags)s – %(b)s offers them",
        len(tags),
        tags=_list(tags),
        a=seeker,
        b=offerer,
    )


def explanation(fit: Fit, names: dict[int, str], spans: list[Span], me_reads: bool = True) -> str:
    """One sentence on why the pair fits: what each seeks and the other offers, what they
    share, and when both are free. `me_reads`: addressed to `fit.me` ("you"), else to a
    third person such as a moderator."""
    me, other = fit.me.name, fit.other.name
    parts = []
    i_get = _names(fit.i_get, names)
    they_get = _names(fit.they_get, names)
    if i_get:
        parts.append(
            ngettext(
                "you seek %(tags)s – %(name)s offers it",
                "you seek %(tags)s – %(name)s offers them",
                len(i_get),
                tags=_list(i_get),
                name=other,
            )
            if me_reads
            else _seeks_offers(me, i_get, other)
        )
    if they_get:
        parts.append(
            ngettext(
                "%(name)s seeks %(tags)s – you offer it",
                "%(name)s seeks %(tags)s – you offer them",
                len(they_get),
                tags=_list(they_get),
                name=other,
            )
            if me_reads
            else _seeks_offers(other, they_get, me)
        )
    shared_goals = _names(fit.shared_goals, names)
    if shared_goals:
        parts.append(
            (
                _l("you both want to grow in %(tags)s")
                if me_reads
                else _l("both want to grow in %(tags)s")
            )
            % {"tags": _list(shared_goals)}
        )
    shared_interests = _names(fit.shared_interests, names)
    if shared_interests:
        parts.append(
            (
                _l("you share an interest in %(tags)s")
                if me_reads
                else _l("both share an interest in %(tags)s")
            )
            % {"tags": _list(shared_interests)}
        )
    if spans:
        longest = max(spans, key=lambda s: (s.end - s.start, -s.start.weekday()))
        text = (_l("you are both free %(when)s") if me_reads else _l("both are free %(when)s")) % {
            "when": when(longest)
        }
        if len(spans) > 1:
            text += " " + ngettext(
                "(and %(num)d more time)", "(and %(num)d more times)", len(spans) - 1
            )
        parts.append(text)
    else:
        parts.append(
            str(
                _l("you have no free time in common yet")
                if me_reads
                else _l("they have no free time in common yet")
            )
        )
    sentence = "; ".join(str(part) for part in parts)
    return sentence[:1].upper() + sentence[1:] + "."
