"""Weekly windows in real weeks: local wall time + IANA zone → instants, so overlaps across
zones and DST changes are exact for the week they are asked about."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

Window = tuple[int, int, int]  # weekday (0 = Monday), start minute, end minute


def week_start(day: date) -> date:
    """The Monday of `day`'s week."""
    return day - timedelta(days=day.weekday())


def local_instant(day: date, minute: int, zone_name: str) -> datetime:
    """The UTC instant of wall time `minute` after local midnight of `day` in the zone."""
    return _instant(day, minute, ZoneInfo(zone_name))


def _instant(day: date, minute: int, zone: ZoneInfo) -> datetime:
    local = datetime.combine(day, time()) + timedelta(minutes=minute)
    # Wall time that a DST jump skips or repeats resolves as zoneinfo does (fold=0).
    return local.replace(tzinfo=zone).astimezone(UTC)


def intervals(
    windows: Iterable[Window], zone_name: str, week_of: date
) -> list[tuple[datetime, datetime]]:
    """The windows as UTC intervals in the week (Monday to Sunday, local) containing `week_of`."""
    zone = ZoneInfo(zone_name)
    monday = week_start(week_of)
    out = []
    for weekday, start, end in windows:
        day = monday + timedelta(days=weekday)
        out.append((_instant(day, start, zone), _instant(day, end, zone)))
    return sorted(out)


def overlap_minutes(
    a: Iterable[Window], a_zone: str, b: Iterable[Window], b_zone: str, week_of: date
) -> int:
    """Minutes both members are available in the week of `week_of` (each in their own zone).

    Both weeks are taken around the same date, and the neighbouring weeks of `b` too, so
    windows that cross into another day or week through the zone difference still meet.
    """
    first = intervals(a, a_zone, week_of)
    b = list(b)
    second = [
        iv for shift in (-7, 0, 7) for iv in intervals(b, b_zone, week_of + timedelta(days=shift))
    ]
    total = timedelta()
    for start_a, end_a in first:
        for start_b, end_b in second:
            start, end = max(start_a, start_b), min(end_a, end_b)
            if start < end:
                total += end - start
    return int(total.total_seconds() // 60)


def in_zone(
    windows: Iterable[Window], from_zone: str, to_zone: str, week_of: date
) -> list[tuple[datetime, datetime]]:
    """The windows of the week of `week_of` as local times in `to_zone` (for showing them)."""
    target = ZoneInfo(to_zone)
    return [
        (start.astimezone(target), end.astimezone(target))
        for start, end in intervals(windows, from_zone, week_of)
    ]
