"""Writing iCalendar files that satisfy the rules in CALENDAR.md (items 1–18).

The content lines are written here rather than through icalendar's components: icalendar
turns a literal ``\\N`` in a text into a line break, leaves commas in ``NAME`` unescaped and
writes ``TZID=UTC`` times as ``...Z``, and each of these breaks a rule. icalendar still formats
the durations (``vDuration``), and the tests parse our bytes back with it.

A file holds single events (intro calls) and weekly series (a tandem's sessions, with their
cancelled sessions as EXDATEs and moved ones as overrides of the same UID); the
calendar-level part (``calendar_document``, ``vtimezone_lines``, ``fold``) serves both.
"""

from __future__ import annotations

import calendar as gregorian
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import vDuration

ICS_CONTENT_TYPE = "text/calendar; charset=utf-8"
PRODID = "-//PeerHub//PeerHub//EN"
STATUSES = frozenset({"TENTATIVE", "CONFIRMED", "CANCELLED"})
# Clients poll a subscribed feed this often (RFC 7986 and its older Microsoft spelling).
REFRESH = timedelta(hours=1)
LINE_LIMIT = 75
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class SingleEvent:
    """One event that does not repeat (an intro call)."""

    uid: str
    start: datetime
    end: datetime
    zone: str
    summary: str
    description: str
    location: str
    url: str | None
    sequence: int
    status: str
    stamp: datetime
    created: datetime | None = None

    def __post_init__(self) -> None:
        """Refuse values that would make a file break the rules; raises ValueError."""
        for moment in (self.start, self.end, self.stamp, self.created):
            if moment is not None and moment.utcoffset() is None:
                raise ValueError("event times must be timezone-aware")
        if self.end <= self.start:
            raise ValueError("an event must end after it starts")
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")
        if self.sequence < 0:
            raise ValueError("SEQUENCE cannot be negative")
        if self.url is not None and any(ch in self.url for ch in "\r\n"):
            raise ValueError("a URL cannot contain line breaks")
        _check_zone(self.zone)


def _check_zone(zone: str) -> None:
    """An unknown zone fails when the event is made, not halfway through writing a file."""
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, OSError) as error:
        raise ValueError(f"unknown time zone {zone!r}") from error


@dataclass(frozen=True)
class Moved:
    """One session of a series at another time: `planned` is where the rule put it."""

    planned: datetime
    start: datetime
    end: datetime


@dataclass(frozen=True)
class SeriesEvent:
    """A weekly series (every week or every two weeks) in its own zone: its first and last
    planned starts, the sessions cancelled (EXDATE) and moved (overrides), and its texts."""

    uid: str
    zone: str
    first_start: datetime
    length: timedelta
    interval: int
    last_start: datetime
    cancelled: tuple[datetime, ...]
    moved: tuple[Moved, ...]
    summary: str
    description: str
    location: str
    url: str | None
    sequence: int
    status: str
    stamp: datetime
    created: datetime | None = None

    def __post_init__(self) -> None:
        """Refuse a series that would break the rules; raises ValueError."""
        moments = (self.first_start, self.last_start, self.stamp, *self.cancelled)
        if any(moment.utcoffset() is None for moment in moments):
            raise ValueError("series times must be timezone-aware")
        if self.interval not in (1, 2):
            raise ValueError("a series meets every week or every two weeks")
        if self.length <= timedelta() or self.last_start < self.first_start:
            raise ValueError("a series needs a length and a last session after its first")
        if self.status not in STATUSES or self.sequence < 0:
            raise ValueError("bad STATUS or SEQUENCE")
        if len(set(self.cancelled)) != len(self.cancelled):
            raise ValueError("a session is cancelled once")
        planned = [m.planned for m in self.moved]
        if len(set(planned)) != len(planned) or set(planned) & set(self.cancelled):
            raise ValueError("a session is moved once, and never when it is cancelled")
        _check_zone(self.zone)


Event = SingleEvent | SeriesEvent


def calendar_bytes(name: str, events: Sequence[Event]) -> bytes:
    """A whole VCALENDAR (METHOD:PUBLISH) as bytes, satisfying CALENDAR.md 1–18."""
    zone_years: dict[str, set[int]] = defaultdict(set)
    blocks: list[list[str]] = []
    for event in events:
        zone = ZoneInfo(event.zone)
        if isinstance(event, SeriesEvent):
            moments = [event.first_start, event.last_start + event.length]
            moments += [m.start for m in event.moved] + [m.end for m in event.moved]
            blocks += series_blocks(event)
        else:
            moments = [event.start, event.end]
            blocks.append(event_lines(event))
        zone_years[event.zone].update(moment.astimezone(zone).year for moment in moments)
    return calendar_document(name, zone_years, blocks)


def calendar_document(
    name: str, zone_years: Mapping[str, Iterable[int]], blocks: Iterable[Sequence[str]]
) -> bytes:
    """A VCALENDAR around finished VEVENT blocks, with one VTIMEZONE per zone they use."""
    refresh = vDuration(REFRESH).to_ical().decode()
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"NAME:{text(name)}",
        f"X-WR-CALNAME:{text(name)}",
        # icalendar writes a bare timedelta without VALUE=DURATION, which RFC 7986 requires.
        f"REFRESH-INTERVAL;VALUE=DURATION:{refresh}",
        f"X-PUBLISHED-TTL:{refresh}",
    ]
    # VTIMEZONEs first, as the major clients write them: a reader meets each before its use.
    for zone in sorted(zone_years):
        years = set(zone_years[zone])
        if years:
            lines += vtimezone_lines(zone, min(years), max(years))
    for block in blocks:
        lines += block
    lines.append("END:VCALENDAR")
    return serialise(lines)


def event_lines(event: SingleEvent) -> list[str]:
    """The VEVENT of one single event, as unfolded content lines."""
    return [
        "BEGIN:VEVENT",
        *_stamp_lines(event),
        f"STATUS:{event.status}",
        local_property("DTSTART", event.start, event.zone),
        local_property("DTEND", event.end, event.zone),
        *_text_lines(event),
        "END:VEVENT",
    ]


def _stamp_lines(event: Event) -> list[str]:
    """UID, DTSTAMP, CREATED, LAST-MODIFIED and SEQUENCE, as every VEVENT begins."""
    lines = [f"UID:{text(event.uid)}", f"DTSTAMP:{utc_value(event.stamp)}"]
    if event.created is not None:
        lines.append(f"CREATED:{utc_value(event.created)}")
    return [*lines, f"LAST-MODIFIED:{utc_value(event.stamp)}", f"SEQUENCE:{event.sequence}"]


def _text_lines(event: Event) -> list[str]:
    """SUMMARY, DESCRIPTION and, when there are any, LOCATION and URL."""
    lines = [f"SUMMARY:{text(event.summary)}", f"DESCRIPTION:{text(event.description)}"]
    if event.location:
        lines.append(f"LOCATION:{text(event.location)}")
    if event.url:
        lines.append(f"URL:{event.url}")
    return lines


def series_blocks(event: SeriesEvent) -> list[list[str]]:
    """The master VEVENT of a series, then one override per moved session (same UID)."""
    zone = ZoneInfo(event.zone)
    weekday = WEEKDAYS[event.first_start.astimezone(zone).weekday()]
    rule = f"FREQ=WEEKLY;INTERVAL={event.interval};BYDAY={weekday};WKST=MO"
    # UNTIL in UTC, exactly the last session's start (a local or date-only UNTIL is read
    # differently by different parsers).
    rule += f";UNTIL={utc_value(event.last_start)}"
    common, texts_ = _stamp_lines(event), _text_lines(event)
    master = [
        "BEGIN:VEVENT",
        *common,
        f"STATUS:{event.status}",
        local_property("DTSTART", event.first_start, event.zone),
        local_property("DTEND", event.first_start + event.length, event.zone),
        f"RRULE:{rule}",
        *(local_property("EXDATE", day, event.zone) for day in sorted(event.cancelled)),
        *texts_,
        "END:VEVENT",
    ]
    blocks = [master]
    for moved in sorted(event.moved, key=lambda m: m.planned):
        blocks.append(
            [
                "BEGIN:VEVENT",
                *common,
                local_property("RECURRENCE-ID", moved.planned, event.zone),
                "STATUS:CONFIRMED",
                local_property("DTSTART", moved.start, event.zone),
                local_property("DTEND", moved.end, event.zone),
                *texts_,
                "END:VEVENT",
            ]
        )
    return blocks


def text(value: str) -> str:
    """A TEXT value escaped as RFC 5545 §3.3.11 says, so that it reads back exactly."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def utc_value(moment: datetime) -> str:
    """An aware instant as a UTC DATE-TIME value (``...Z``)."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def local_property(name: str, moment: datetime, zone: str) -> str:
    """A property holding `moment` as wall time in `zone`, e.g. ``DTSTART;TZID=...:...``."""
    # An instant in the second run of a repeated hour (clocks going back) reads back an hour
    # early: RFC 5545 resolves an ambiguous wall time to its first reading, and has no other.
    local = moment.astimezone(ZoneInfo(zone))
    return f"{name};TZID={_param(zone)}:{local.strftime('%Y%m%dT%H%M%S')}"


def serialise(lines: Iterable[str]) -> bytes:
    """Content lines folded and joined with CRLF, UTF-8 encoded."""
    return b"".join(fold(line) + b"\r\n" for line in lines)


def fold(line: str) -> bytes:
    """One content line folded into physical lines of at most 75 octets."""
    encoded = line.encode()
    if len(encoded) <= LINE_LIMIT:
        return encoded  # most lines: nothing to fold
    physical: list[str] = []
    current: list[str] = []
    size = 0
    for unit in _units(line):
        width = len(unit.encode())
        if size + width > LINE_LIMIT:
            physical.append("".join(current))
            current, size = [" "], 1
        current.append(unit)
        size += width
    physical.append("".join(current))
    return "\r\n".join(physical).encode()


def _units(line: str) -> Iterator[str]:
    """Characters of a line, with each backslash escape kept whole."""
    # Splitting an escape across a fold is legal, but some parsers unescape before unfolding.
    chars = iter(line)
    for char in chars:
        yield char + next(chars, "") if char == "\\" else char


def _param(value: str) -> str:
    """A parameter value, quoted when it holds a character that would end it."""
    return f'"{value}"' if any(ch in value for ch in ":;,") else value


# Time zones ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Transition:
    """A change of UTC offset, as zoneinfo reports it."""

    at: datetime  # first UTC instant with the new offset
    before: timedelta
    after: timedelta
    daylight: bool
    name: str

    @property
    def local(self) -> datetime:
        """The wall time of the change, read in the old offset (how VTIMEZONE writes DTSTART)."""
        return (self.at + self.before).replace(tzinfo=None)


@dataclass(frozen=True)
class _Observance:
    """One STANDARD or DAYLIGHT component."""

    kind: str
    start: datetime
    before: timedelta
    after: timedelta
    name: str
    rule: str | None


def vtimezone_lines(zone: str, first_year: int, last_year: int) -> list[str]:
    """A VTIMEZONE for `zone` made of yearly RRULEs, exact from first_year to last_year."""
    lines = ["BEGIN:VTIMEZONE", f"TZID:{zone}"]
    for part in _observances(zone, first_year, last_year):
        lines += [
            f"BEGIN:{part.kind}",
            f"DTSTART:{part.start.strftime('%Y%m%dT%H%M%S')}",
            f"TZOFFSETFROM:{_offset(part.before)}",
            f"TZOFFSETTO:{_offset(part.after)}",
            f"TZNAME:{text(part.name)}",
        ]
        if part.rule:
            lines.append(f"RRULE:{part.rule}")
        lines.append(f"END:{part.kind}")
    lines.append("END:VTIMEZONE")
    return lines


@lru_cache(maxsize=64)
def _observances(zone: str, first_year: int, last_year: int) -> tuple[_Observance, ...]:
    """The STANDARD and DAYLIGHT parts of `zone` for the given years (cached)."""
    # zoneinfo has no public list of changes, so they are searched for, from the year before
    # `first_year` (whose last change says which offset holds on 1 January) to `last_year`.
    # Changes that recur in consecutive years (same month, time, offsets and weekday of the
    # month) become one part with FREQ=YEARLY;BYMONTH=m;BYDAY=nSU or -1SU: the shape Outlook
    # reads. A rule still in force in `last_year` stays open; one that stopped gets an UNTIL.
    tz = ZoneInfo(zone)
    since = datetime(first_year - 1, 1, 1, tzinfo=UTC)
    until = datetime(last_year + 1, 1, 2, tzinfo=UTC)
    changes = [c for c in _transitions(tz, since, until) if c.local.year <= last_year]
    parts: list[_Observance] = []
    if not any(c.local.year < first_year for c in changes):
        # Nothing in the year before says which offset holds on 1 January: state it from 1970.
        opening = since.astimezone(tz)
        offset = opening.utcoffset() or timedelta()
        parts.append(
            _Observance(
                "DAYLIGHT" if opening.dst() else "STANDARD",
                datetime(1970, 1, 1),
                offset,
                offset,
                opening.tzname() or _offset(offset),
                None,
            )
        )
    groups: dict[tuple, list[_Transition]] = defaultdict(list)
    for change in changes:
        local = change.local
        key = (change.daylight, change.before, change.after, change.name)
        groups[(*key, local.month, local.time())].append(change)
    for group in groups.values():
        for run in _yearly_runs(group):
            parts += _run_observances(run, last_year)
    return tuple(sorted(parts, key=lambda part: part.start))


def _transitions(tz: ZoneInfo, since: datetime, until: datetime) -> list[_Transition]:
    """Every change of UTC offset in `tz` between two UTC instants."""
    # Six hours is shorter than any gap between two real changes, so none is stepped over.
    step = int(timedelta(hours=6).total_seconds())

    def offset(seconds: int) -> timedelta:
        """The zone's UTC offset at a Unix time."""
        return datetime.fromtimestamp(seconds, tz).utcoffset() or timedelta()

    found = []
    low, end = int(since.timestamp()), int(until.timestamp())
    current = offset(low)
    while low < end:
        high = low + step
        if offset(high) != current:
            left, right = low, high
            while right - left > 1:
                middle = (left + right) // 2
                left, right = (middle, right) if offset(middle) == current else (left, middle)
            after = datetime.fromtimestamp(right, tz)
            new = after.utcoffset() or timedelta()
            found.append(
                _Transition(
                    datetime.fromtimestamp(right, UTC),
                    current,
                    new,
                    bool(after.dst()),
                    after.tzname() or _offset(new),
                )
            )
            current = new
        low = high
    return found


def _yearly_runs(group: list[_Transition]) -> Iterator[list[_Transition]]:
    """Split alike transitions into runs of consecutive years."""
    run: list[_Transition] = []
    for change in group:
        if run and change.local.year != run[-1].local.year + 1:
            yield run
            run = []
        run.append(change)
    if run:
        yield run


def _run_observances(run: list[_Transition], last_year: int) -> list[_Observance]:
    """Observances for a run: the longest stretches one yearly RRULE describes, in turn."""
    kind = "DAYLIGHT" if run[0].daylight else "STANDARD"
    parts = []
    start = 0
    while start < len(run):
        stop = len(run)
        while stop - start > 1 and _yearly_rule(run[start:stop]) is None:
            stop -= 1
        piece = run[start:stop]
        first = piece[0]
        rule = None
        # A one-off change is written as it happened: a rule from one date would be a guess.
        if len(piece) > 1:
            rule = f"FREQ=YEARLY;BYMONTH={first.local.month};{_yearly_rule(piece)}"
            if piece[-1].local.year < last_year:
                # dateutil's tzical (icalendar's fallback reader) compares UNTIL with the wall
                # time, so east of UTC the exact instant would drop the last change. The later
                # of the two is still a year before the next date the rule would give.
                last = piece[-1]
                until = max(last.at, last.local.replace(tzinfo=UTC))
                rule += f";UNTIL={utc_value(until)}"
        parts.append(_Observance(kind, first.local, first.before, first.after, first.name, rule))
        start = stop
    return parts


def _yearly_rule(run: list[_Transition]) -> str | None:
    """The BYDAY (or BYMONTHDAY) part that gives exactly the dates of `run`, if any."""
    dates = [change.local.date() for change in run]
    weekdays = {d.weekday() for d in dates}
    if len(weekdays) == 1:
        weekday = WEEKDAYS[weekdays.pop()]
        # "Last Sunday" is preferred to "fifth Sunday": it is how such rules are made, and it
        # still holds in the years the scan did not look at.
        if all(d.day > gregorian.monthrange(d.year, d.month)[1] - 7 for d in dates):
            return f"BYDAY=-1{weekday}"
        nths = {(d.day - 1) // 7 + 1 for d in dates}
        if len(nths) == 1:
            return f"BYDAY={nths.pop()}{weekday}"
    days = {d.day for d in dates}
    if len(days) == 1:
        return f"BYMONTHDAY={days.pop()}"
    return None


def _offset(offset: timedelta) -> str:
    """A UTC offset as ``+HHMM`` (``+HHMMSS`` when it has seconds)."""
    seconds = int(offset.total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{sign}{hours:02d}{minutes:02d}" + (f"{seconds:02d}" if seconds else "")
