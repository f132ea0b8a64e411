"""The agreement's content: its sections, good defaults from peer-coaching practice, the
checks on each section, and the canonical text whose SHA-256 a signature records.

Content is a plain dict (stored as JSON); each section is edited on its own.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from peerhub.errors import Invalid
from peerhub.plaintext import clean
from peerhub.web.timefmt import is_timezone

SECTIONS = (
    "goals",
    "milestones",
    "rhythm",
    "term",
    "place",
    "structure",
    "rules",
    "confidentiality",
    "feedback",
    "cancellation",
    "review",
)
SECTION_TITLES = {
    "goals": _l("Goals"),
    "milestones": _l("Milestones"),
    "rhythm": _l("Rhythm"),
    "term": _l("Term"),
    "place": _l("Place or video tool"),
    "structure": _l("How a session goes"),
    "rules": _l("Conversation rules"),
    "confidentiality": _l("Confidentiality"),
    "feedback": _l("Feedback"),
    "cancellation": _l("Cancellations and no-shows"),
    "review": _l("Check-ins"),
}
GOALS_MAX = 5
MILESTONES_MAX = 10
TITLE_MAX = 200
TEXT_MAX = 2000
DETAIL_MAX = 300
TERM_MONTHS_DEFAULT = 3
TERM_DAYS_MIN, TERM_DAYS_MAX = 28, 366  # from four weeks to a year; 3–6 months is advised
NOTICE_HOURS = (1, 168)
NO_SHOW_LIMIT = (1, 5)
REVIEW_WEEKS = (2, 12)
LENGTHS = (60, 90)


def add_months(day: date, months: int) -> date:
    """The same day `months` later (the month's last day when it has fewer)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)


def defaults(
    language: str,
    goals: list[str],
    rhythm: dict[str, Any],
    place: dict[str, str],
    today: date,
) -> dict[str, Any]:
    """A first draft in `language`: the members' own goals, a rhythm they are both free for,
    a three-month term from next week, and the practice's usual framework."""
    start = today + timedelta(days=7)
    end = add_months(start, TERM_MONTHS_DEFAULT) - timedelta(days=1)
    with force_locale(language):
        halfway = start + (end - start) / 2
        return {
            "goals": [
                {"key": f"g{n + 1}", "title": title[:TITLE_MAX], "measure": ""}
                for n, title in enumerate(goals[:GOALS_MAX])
            ]
            or [{"key": "g1", "title": "", "measure": ""}],
            "milestones": [
                {
                    "key": "m1",
                    "title": _("Halfway: what has changed so far?"),
                    "target": halfway.isoformat(),
                }
            ],
            "rhythm": rhythm,
            "term": {"start": start.isoformat(), "end": end.isoformat()},
            "place": place,
            "structure": {
                "plan": _(
                    "10 min personal update · 40 min main topic · 10 min goals and next steps"
                ),
                "methods": _(
                    "For a main topic a method can help, such as the four-sides model (what is "
                    "said, and what is meant) or the Walt Disney method (dreamer, realist, "
                    "critic)."
                ),
            },
            "rules": {
                "text": _(
                    "We meet on equal footing and let each other finish. Whoever brings a "
                    "topic owns it: we ask questions rather than give advice, unless advice "
                    "is asked for. We start and end on time."
                )
            },
            "confidentiality": {
                "text": _(
                    "What is said in our sessions stays between us. We share nothing personal "
                    "about each other without asking first."
                )
            },
            "feedback": {
                "text": _(
                    "Our feedback is specific, kind and about what we did, not who we are. We "
                    "ask before we give it, and every few sessions we talk about how our "
                    "collaboration is going."
                )
            },
            "cancellation": {
                "notice_hours": 24,
                "no_show": _(
                    "Whoever does not come and has not cancelled within the first 10 minutes "
                    "missed the session."
                ),
                "no_show_limit": 2,
                "repeated": _(
                    "After repeated no-shows we talk about whether our rhythm still fits, and "
                    "adjust it or part with respect."
                ),
            },
            "review": {"every_weeks": 4},
        }


def canonical(content: dict[str, Any]) -> str:
    """The one text of a version: JSON with sorted keys and no spaces, UTF-8 as it is."""
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def content_hash(content: dict[str, Any]) -> str:
    """The SHA-256 of the canonical text, in hex (what a signature records)."""
    return hashlib.sha256(canonical(content).encode("utf-8")).hexdigest()


# --- checking one section ---------------------------------------------------------------


def _text(data: dict, name: str, limit: int, required: str | None = None) -> str:
    return clean(data.get(name), limit, name, required)


def _number(data: dict, name: str, bounds: tuple[int, int], message: str) -> int:
    try:
        value = int(str(data.get(name, "")).strip())
    except ValueError:
        raise Invalid(message, name) from None
    if not bounds[0] <= value <= bounds[1]:
        raise Invalid(message, name)
    return value


def _date(value: str | None, name: str) -> date:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        raise Invalid(_("Please give a date."), name) from None


def _rows(data: dict, prefix: str, fields: tuple[str, ...], most: int) -> list[dict[str, str]]:
    """Numbered rows (`goal_title_0`, `goal_key_0` …) as dicts; rows left empty are dropped."""
    rows = []
    for n in range(most + 2):  # the form shows two empty rows to add
        row = {
            f: (data.get(f"{prefix}_{f}_{n}") or "").replace("\r\n", "\n").strip() for f in fields
        }
        row["key"] = (data.get(f"{prefix}_key_{n}") or "").strip()[:16]
        row["_n"] = str(n)
        if any(row[f] for f in fields):
            rows.append(row)
    return rows


def _keys(rows: list[dict], prefix: str, previous: list[dict]) -> None:
    """Keep each row's key when the section had it (goals keep theirs across versions, so
    their progress can follow them); any other row gets a new random key, so that a key
    never names two different goals in the agreement's life."""
    known = {r.get("key") for r in previous}
    seen: set[str] = set()
    for row in rows:
        if row["key"] not in known or row["key"] in seen:
            row["key"] = f"{prefix}-{secrets.token_hex(4)}"
        seen.add(row["key"])


def clean_section(name: str, data: dict, previous: dict[str, Any], today: date) -> Any:
    """The section `name` from form `data`, checked. Raises Invalid naming the field."""
    if name == "goals":
        rows = _rows(data, "goal", ("title", "measure"), GOALS_MAX)
        if not rows:
            raise Invalid(_("Name at least one goal."), "goal_title_0")
        if len(rows) > GOALS_MAX:
            raise Invalid(_("Up to %(num)d goals, please.", num=GOALS_MAX), "goal_title_0")
        for row in rows:
            field = f"goal_title_{row['_n']}"
            if not row["title"]:
                raise Invalid(_("Every goal needs a title."), field)
            if len(row["title"]) > TITLE_MAX or len(row["measure"]) > DETAIL_MAX:
                raise Invalid(_("Please use at most %(num)d characters.", num=TITLE_MAX), field)
        _keys(rows, "g", previous.get("goals", []))
        return [{"key": r["key"], "title": r["title"], "measure": r["measure"]} for r in rows]
    if name == "milestones":
        rows = _rows(data, "milestone", ("title", "target"), MILESTONES_MAX)
        if len(rows) > MILESTONES_MAX:
            raise Invalid(
                _("Up to %(num)d milestones, please.", num=MILESTONES_MAX), "milestone_title_0"
            )
        for row in rows:
            if not row["title"]:
                raise Invalid(_("Every milestone needs a title."), f"milestone_title_{row['_n']}")
            if len(row["title"]) > TITLE_MAX:
                raise Invalid(
                    _("Please use at most %(num)d characters.", num=TITLE_MAX),
                    f"milestone_title_{row['_n']}",
                )
            row["target"] = _date(row["target"], f"milestone_target_{row['_n']}").isoformat()
        _keys(rows, "m", previous.get("milestones", []))
        rows.sort(key=lambda r: r["target"])
        return [{"key": r["key"], "title": r["title"], "target": r["target"]} for r in rows]
    if name == "rhythm":
        frequency = data.get("frequency")
        if frequency not in ("weekly", "biweekly"):
            raise Invalid(_("Choose weekly or every two weeks."), "frequency")
        weekday = _number(data, "weekday", (0, 6), _("Choose a weekday."))
        start = (data.get("start") or "").strip()
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", start):
            raise Invalid(_("Give the start time as hours and minutes, such as 18:00."), "start")
        zone = (data.get("zone") or "").strip()
        if not is_timezone(zone):
            raise Invalid(_("Choose a time zone from the list."), "zone")
        length = _number(data, "length", (60, 90), _("A session lasts 60 or 90 minutes."))
        if length not in LENGTHS:
            raise Invalid(_("A session lasts 60 or 90 minutes."), "length")
        return {
            "frequency": frequency,
            "weekday": weekday,
            "start": start,
            "zone": zone,
            "length": length,
        }
    if name == "term":
        start, end = _date(data.get("start"), "start"), _date(data.get("end"), "end")
        if end <= start:
            raise Invalid(_("The term ends after it starts."), "end")
        if not TERM_DAYS_MIN <= (end - start).days <= TERM_DAYS_MAX:
            raise Invalid(
                _("A term lasts from four weeks to a year; three to six months work well."), "end"
            )
        old_start = previous.get("term", {}).get("start")
        if start < today and start.isoformat() != old_start:
            raise Invalid(_("A new term cannot start in the past."), "start")
        return {"start": start.isoformat(), "end": end.isoformat()}
    if name == "place":
        mode = data.get("mode")
        if mode not in ("video", "in_person"):
            raise Invalid(_("Choose video or in person."), "mode")
        detail = _text(data, "detail", DETAIL_MAX)
        if mode == "in_person" and not detail:
            raise Invalid(_("Name a public place, such as a café or a coworking space."), "detail")
        if mode == "video" and detail.startswith(("http:", "https:", "javascript:", "data:")):
            parts = urlsplit(detail)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise Invalid(_("A link must start with https:// or http://."), "detail")
        return {"mode": mode, "detail": detail}
    if name == "structure":
        return {
            "plan": _text(data, "plan", TEXT_MAX, _("Describe how a session goes.")),
            "methods": _text(data, "methods", TEXT_MAX),
        }
    if name in ("rules", "confidentiality", "feedback"):
        return {"text": _text(data, "text", TEXT_MAX, _("Please write a few words."))}
    if name == "cancellation":
        return {
            "notice_hours": _number(
                data, "notice_hours", NOTICE_HOURS, _("Give the notice in hours, from 1 to 168.")
            ),
            "no_show": _text(data, "no_show", TEXT_MAX, _("Say what counts as a no-show.")),
            "no_show_limit": _number(
                data, "no_show_limit", NO_SHOW_LIMIT, _("Give a number from 1 to 5.")
            ),
            "repeated": _text(
                data, "repeated", TEXT_MAX, _("Say what happens after repeated no-shows.")
            ),
        }
    if name == "review":
        return {
            "every_weeks": _number(
                data, "every_weeks", REVIEW_WEEKS, _("Check in every 2 to 12 weeks.")
            )
        }
    raise Invalid(_("This part of the agreement does not exist."), "section")


def term_dates(content: dict[str, Any]) -> tuple[date, date]:
    term = content["term"]
    return date.fromisoformat(term["start"]), date.fromisoformat(term["end"])


def start_minute(content: dict[str, Any]) -> int:
    hours, minutes = content["rhythm"]["start"].split(":")
    return int(hours) * 60 + int(minutes)


# --- reading a section as text -----------------------------------------------------------

WEEKDAYS = (
    _l("Mondays"), _l("Tuesdays"), _l("Wednesdays"), _l("Thursdays"), _l("Fridays"),
    _l("Saturdays"), _l("Sundays"),
)  # fmt: skip


def long_date(value: str) -> str:
    """An ISO date as the current language writes it in full."""
    from flask_babel import format_date

    return format_date(date.fromisoformat(value), "long")


def section_lines(name: str, value: Any) -> list[str]:
    """A section as lines of text in the current language: what the agreement page, the
    printable view and the history's comparison all show, so they never disagree."""
    if value is None:
        return []
    if name == "goals":
        lines = []
        for goal in value:
            lines.append(goal["title"])
            if goal.get("measure"):
                lines.append(_("How we will know: %(measure)s", measure=goal["measure"]))
        return lines
    if name == "milestones":
        return [
            _("%(title)s (by %(date)s)", title=m["title"], date=long_date(m["target"]))
            for m in value
        ] or [_("No milestones yet.")]
    if name == "rhythm":
        every = _("Every week") if value["frequency"] == "weekly" else _("Every two weeks")
        return [
            _(
                "%(every)s on %(weekdays)s at %(start)s (%(zone)s), %(num)d minutes",
                every=every,
                weekdays=WEEKDAYS[value["weekday"]],
                start=value["start"],
                zone=value["zone"],
                num=value["length"],
            )
        ]
    if name == "term":
        return [
            _(
                "From %(start)s to %(end)s",
                start=long_date(value["start"]),
                end=long_date(value["end"]),
            )
        ]
    if name == "place":
        if value["mode"] == "in_person":
            return [_("In person: %(place)s", place=value["detail"])]
        return [_("By video: %(tool)s", tool=value["detail"]) if value["detail"] else _("By video")]
    if name == "structure":
        lines = value["plan"].splitlines()
        if value.get("methods"):
            lines += value["methods"].splitlines()
        return lines
    if name in ("rules", "confidentiality", "feedback"):
        return value["text"].splitlines()
    if name == "cancellation":
        return [
            ngettext(
                "Cancel at least %(num)d hour before a session.",
                "Cancel at least %(num)d hours before a session.",
                value["notice_hours"],
            ),
            *value["no_show"].splitlines(),
            ngettext("After %(num)d no-show:", "After %(num)d no-shows:", value["no_show_limit"]),
            *value["repeated"].splitlines(),
        ]
    if name == "review":
        return [_("We check in on our goals every %(num)d weeks.", num=value["every_weeks"])]
    return []
