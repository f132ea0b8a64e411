"""Dates and times per language, in the viewer's zone, with the zone named."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from babel.dates import format_datetime as babel_format_datetime
from babel.dates import format_skeleton
from flask import Flask
from flask_babel import format_date, format_datetime, format_time, get_locale, get_timezone


@lru_cache(maxsize=1)
def timezone_names() -> tuple[str, ...]:
    """IANA zones a member may choose (area/location names, no legacy aliases)."""
    legacy = ("Etc/", "SystemV/", "US/", "posix/", "right/")
    zones = sorted(n for n in available_timezones() if "/" in n and not n.startswith(legacy))
    return (*zones, "UTC")


def is_timezone(name: str | None) -> bool:
    return bool(name) and name in timezone_names()


def local_datetime(value: datetime | None, style: str = "medium") -> str:
    """`value` in the viewer's zone and language, followed by the zone's name."""
    if value is None:
        return ""
    return f"{format_datetime(value, style)} ({zone_name()})"


def local_date(value: datetime | None, style: str = "medium") -> str:
    if value is None:
        return ""
    return format_date(value.astimezone(get_timezone()), style)


def calendar_day(value: date | str | None, style: str = "medium") -> str:
    """A calendar date (no instant, so no zone), as the viewer's language writes it."""
    if not value:
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.date()
    return format_date(value, style)


def weekday_name(value: datetime) -> str:
    """The weekday of an instant already placed in the viewer's zone, in their language."""
    return format_date(value, "EEEE")


def clock(value: datetime) -> str:
    """Hours and minutes in the viewer's zone."""
    return format_time(value, "HH:mm")


def zoned(value: datetime | None, zone: str, pattern: str | None = None) -> str:
    """`value` as wall time in `zone` (another member's, say), in the viewer's language:
    weekday, day and month as the language writes them, then the 24-hour clock."""
    if value is None:
        return ""
    if pattern:
        return babel_format_datetime(value, pattern, tzinfo=ZoneInfo(zone), locale=get_locale())
    local = value.astimezone(ZoneInfo(zone))
    # the year only when it is not this year's (a list that crosses New Year says so)
    skeleton = "MMMEd" if local.year == datetime.now(local.tzinfo).year else "yMMMEd"
    return f"{format_skeleton(skeleton, local, locale=get_locale())}, {local:%H:%M}"


def init_app(app: Flask) -> None:
    app.jinja_env.filters["zoned"] = zoned
    app.jinja_env.filters["datetime"] = local_datetime
    app.jinja_env.filters["date"] = local_date
    app.jinja_env.filters["day"] = calendar_day
    app.jinja_env.filters["weekday_name"] = weekday_name
    app.jinja_env.filters["clock"] = clock


def zone_name() -> str:
    """The IANA name of the viewer's zone."""
    zone = get_timezone()
    return getattr(zone, "key", None) or str(zone)
