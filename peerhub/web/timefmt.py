"""Dates and times per language, in the viewer's zone, with the zone named."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import available_timezones

from flask import Flask
from flask_babel import format_date, format_datetime, format_time, get_timezone


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


def weekday_name(value: datetime) -> str:
    """The weekday of an instant already placed in the viewer's zone, in their language."""
    return format_date(value, "EEEE")


def clock(value: datetime) -> str:
    """Hours and minutes in the viewer's zone."""
    return format_time(value, "HH:mm")


def init_app(app: Flask) -> None:
    app.jinja_env.filters["datetime"] = local_datetime
    app.jinja_env.filters["date"] = local_date
    app.jinja_env.filters["weekday_name"] = weekday_name
    app.jinja_env.filters["clock"] = clock


def zone_name() -> str:
    """The IANA name of the viewer's zone."""
    zone = get_timezone()
    return getattr(zone, "key", None) or str(zone)
