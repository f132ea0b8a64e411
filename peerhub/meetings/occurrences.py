"""When a series meets: its occurrences as UTC instants, computed from wall time and zone."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from peerhub.profiles.availability import local_instant


@dataclass(frozen=True)
class Occurrence:
    """One session of a series: its number in the series (from 0) and its UTC start and end."""

    index: int
    start: datetime
    end: datetime


def first_day(starts_on: date, weekday: int) -> date:
    """The first date on or after `starts_on` that falls on `weekday`."""
    return starts_on + timedelta(days=(weekday - starts_on.weekday()) % 7)


def occurrences(
    series, after: datetime | None = None, limit: int | None = None
) -> Iterator[Occurrence]:
    """The series' sessions in order (those ending after `after`, at most `limit`).

    18:00 Berlin stays 18:00 Berlin across daylight saving time: every date is placed in
    the zone on its own.
    """
    if series.state == "cancelled":  # called off before it ever met
        return
    day = first_day(series.starts_on, series.weekday)
    step = timedelta(weeks=series.interval_weeks)
    index = found = 0
    while day <= series.ends_on:
        start = local_instant(day, series.start_minute, series.zone)
        end = start + timedelta(minutes=series.length_minutes)
        if after is None or end > after:
            yield Occurrence(index, start, end)
            found += 1
            if limit is not None and found >= limit:
                return
        day += step
        index += 1


def planned_span(series) -> tuple[datetime, datetime] | None:
    """The first and last planned starts of the series' rule, whatever its state (a series
    called off still names the sessions it had planned), or None when no date fits."""
    first = first_day(series.starts_on, series.weekday)
    if first > series.ends_on:
        return None
    step = 7 * series.interval_weeks
    last = first + timedelta(days=(series.ends_on - first).days // step * step)
    return (
        local_instant(first, series.start_minute, series.zone),
        local_instant(last, series.start_minute, series.zone),
    )
