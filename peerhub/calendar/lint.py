"""Checking a calendar file against CALENDAR.md (items 1–18) on its raw bytes.

The file is read here line by line rather than through icalendar, which repairs (and so
hides) broken folding, bare line ends and bad escapes. Two rules compare a file with its
earlier versions and cannot be seen in one file: item 16 (a cancelled series stays for a
grace period, then leaves) and the "never decreases" half of item 9.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

LINE_LIMIT = 75
TEXT_PROPERTIES = frozenset(
    {"SUMMARY", "DESCRIPTION", "LOCATION", "COMMENT", "NAME", "X-WR-CALNAME", "X-WR-CALDESC"}
)
LOCAL_PROPERTIES = ("DTSTART", "DTEND", "EXDATE", "RECURRENCE-ID")
STATUSES = frozenset({"TENTATIVE", "CONFIRMED", "CANCELLED"})
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
RULE_PARTS = frozenset({"FREQ", "INTERVAL", "BYDAY", "WKST", "UNTIL", "COUNT"})
# A VTIMEZONE that spells out more changes than this one by one is the RDATE shape of item 5.
RDATE_LIMIT = 2
# Bounds the expansion of a series without end, or with an absurd COUNT.
MAX_OCCURRENCES = 5000
YEARS = (1900, 9000)

_NAME = r"[A-Za-z0-9-]+"
_PARAM_VALUE = r'(?:"[^"]*"|[^";:,]*)'
_PARAM = re.compile(rf";({_NAME})=({_PARAM_VALUE}(?:,{_PARAM_VALUE})*)")
_CONTENT_LINE = re.compile(
    rf"(?P<name>{_NAME})(?P<params>(?:;{_NAME}={_PARAM_VALUE}(?:,{_PARAM_VALUE})*)*):(?P<value>.*)",
    re.DOTALL,
)
_LOCAL_TIME = re.compile(r"\d{8}T\d{6}")
_DURATION = re.compile(r"\+?P(?:\d+W|(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+S)?)?)")


@dataclass
class _Property:
    """One unfolded content line."""

    name: str
    params: dict[str, str]
    value: str
    line: int


@dataclass
class _Component:
    """A BEGIN/END block with its properties and the blocks inside it."""

    name: str
    line: int
    properties: list[_Property] = field(default_factory=list)
    children: list[_Component] = field(default_factory=list)

    def all(self, name: str) -> list[_Property]:
        """Every property called `name`."""
        return [prop for prop in self.properties if prop.name == name]

    def get(self, name: str) -> _Property | None:
        """The first property called `name`, if any."""
        return next((prop for prop in self.properties if prop.name == name), None)

    def walk(self) -> Iterator[_Component]:
        """This component and every one inside it."""
        yield self
        for child in self.children:
            yield from child.walk()


def lint(raw: bytes) -> list[str]:
    """The CALENDAR.md rules `raw` breaks, as messages like "5: TZID X has no VTIMEZONE"."""
    problems: list[str] = []
    lines = _physical_lines(raw, problems)
    calendar = _parse(_unfold(lines, problems), problems)
    if calendar is not None:
        _check_calendar(calendar, problems)
        _check_timezones(calendar, problems)
        _check_events(calendar, problems)
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda message: int(message.split(":", 1)[0]))


# Reading ------------------------------------------------------------------------------------


def _physical_lines(raw: bytes, problems: list[str]) -> list[tuple[int, bytes]]:
    """The physical lines with their numbers; checks line ends, length and blank lines (2)."""
    pieces = re.split(rb"(\r\n|\r|\n)", raw)
    lines, bare_ends, too_long, blank = [], [], [], []
    for index in range(0, len(pieces), 2):
        number, content = index // 2 + 1, pieces[index]
        end = pieces[index + 1] if index + 1 < len(pieces) else None
        if end is None:
            if content:
                problems.append(f"2: the last line ({number}) does not end with CRLF")
            else:
                break
        elif end != b"\r\n":
            bare_ends.append(number)
        if not content:
            blank.append(number)
        if len(content) > LINE_LIMIT:
            too_long.append(number)
        lines.append((number, content))
    for numbers, what in (
        (bare_ends, "end with a bare LF or CR instead of CRLF"),
        (too_long, f"are longer than {LINE_LIMIT} octets"),
        (blank, "are blank"),
    ):
        if numbers:
            problems.append(f"2: {len(numbers)} line(s) {what} (first: line {numbers[0]})")
    return lines


def _unfold(lines: list[tuple[int, bytes]], problems: list[str]) -> list[tuple[int, str]]:
    """Content lines, each with the number of its first physical line; checks encoding (2, 4)."""
    logical: list[tuple[int, list[bytes]]] = []
    for number, content in lines:
        if content[:1] in (b" ", b"\t"):
            if not logical:
                problems.append(f"2: line {number} continues a line that does not exist")
                continue
            logical[-1][1].append(content[1:])
        elif content:
            logical.append((number, [content]))
    decoded, split, undecodable = [], [], []
    for number, pieces in logical:
        whole = b"".join(pieces)
        try:
            decoded.append((number, whole.decode("utf-8")))
        except UnicodeDecodeError:
            undecodable.append(number)
            decoded.append((number, whole.decode("utf-8", errors="replace")))
            continue
        # Each physical line must decode on its own: a fold inside a character breaks readers
        # that decode before they unfold.
        try:
            for piece in pieces:
                piece.decode("utf-8")
        except UnicodeDecodeError:
            split.append(number)
    if split:
        problems.append(
            f"2: {len(split)} line(s) fold inside a UTF-8 character (first: line {split[0]})"
        )
    if undecodable:
        problems.append(
            f"4: {len(undecodable)} line(s) are not UTF-8 (first: line {undecodable[0]})"
        )
    return decoded


def _parse(lines: list[tuple[int, str]], problems: list[str]) -> _Component | None:
    """The VCALENDAR as a tree, or None when there is none; checks structure (1, 2)."""
    roots: list[_Component] = []
    stack: list[_Component] = []
    for number, line in lines:
        match = _CONTENT_LINE.fullmatch(line)
        if match is None:
            problems.append(
                f"2: line {number} is not a content line (a fold without its leading space?)"
            )
            continue
        name, params, value = match["name"].upper(), match["params"], match["value"]
        if name == "BEGIN":
            component = _Component(value.upper(), number)
            (stack[-1].children if stack else roots).append(component)
            stack.append(component)
        elif name == "END":
            if stack and stack[-1].name == value.upper():
                stack.pop()
            else:
                problems.append(f"1: END:{value} at line {number} closes nothing open")
        elif stack:
            stack[-1].properties.append(
                _Property(
                    name,
                    {key.upper(): v.strip('"') for key, v in _PARAM.findall(params)},
                    value,
                    number,
                )
            )
        else:
            problems.append(f"1: {name} at line {number} is outside the VCALENDAR")
    for component in stack:
        problems.append(f"1: BEGIN:{component.name} at line {component.line} is never closed")
    calendars = [root for root in roots if root.name == "VCALENDAR"]
    if len(roots) != 1 or not calendars:
        names = ", ".join(root.name for root in roots) or "nothing"
        problems.append(f"1: the file must hold one VCALENDAR, not {names}")
    return calendars[0] if calendars else None


# Calendar level -----------------------------------------------------------------------------


def _check_calendar(calendar: _Component, problems: list[str]) -> None:
    """Items 1, 3, 17 and 18: the calendar's own properties and TEXT everywhere."""
    versions = calendar.all("VERSION")
    if [prop.value for prop in versions] != ["2.0"]:
        problems.append("1: the VCALENDAR needs exactly one VERSION:2.0")
    if len(calendar.all("PRODID")) != 1 or not calendar.all("PRODID")[0].value:
        problems.append("1: the VCALENDAR needs exactly one PRODID")

    for component in calendar.walk():
        for prop in component.properties:
            if prop.name in TEXT_PROPERTIES:
                fault = _text_fault(prop.value)
                if fault:
                    problems.append(f"3: {prop.name} at line {prop.line} has {fault}")

    method = calendar.get("METHOD")
    if method is not None and method.value.upper() != "PUBLISH":
        problems.append(f"17: METHOD:{method.value} (a published file has PUBLISH or none)")
    for component in calendar.walk():
        for prop in component.all("ATTENDEE"):
            problems.append(f"17: ATTENDEE at line {prop.line} in a published file")

    name, wr_name = calendar.get("NAME"), calendar.get("X-WR-CALNAME")
    if name is None or wr_name is None:
        problems.append("18: NAME and X-WR-CALNAME must both be present")
    elif _unescape(name.value) != _unescape(wr_name.value):
        problems.append("18: NAME and X-WR-CALNAME differ")
    refresh = calendar.get("REFRESH-INTERVAL")
    if refresh is None or refresh.value != "PT1H" or refresh.params.get("VALUE") != "DURATION":
        problems.append("18: REFRESH-INTERVAL;VALUE=DURATION:PT1H is missing")
    ttl = calendar.get("X-PUBLISHED-TTL")
    if ttl is None or ttl.value != "PT1H":
        problems.append("18: X-PUBLISHED-TTL:PT1H is missing")


def _text_fault(value: str) -> str | None:
    """What is wrongly escaped in a TEXT value, if anything (3)."""
    index = 0
    while index < len(value):
        char = value[index]
        if char == "\\":
            if value[index + 1 : index + 2] not in ("\\", ";", ",", "n", "N"):
                return "a backslash that escapes nothing"
            index += 2
            continue
        if char in ";,":
            return f"an unescaped {char!r}"
        index += 1
    return None


def _unescape(value: str) -> str:
    """The text a TEXT value stands for."""
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m[1] in "nN" else m[1], value)


def _check_timezones(calendar: _Component, problems: list[str]) -> None:
    """Item 5: every TZID used has a VTIMEZONE, and VTIMEZONEs are made of yearly rules."""
    defined: Counter[str] = Counter()
    for zone in (child for child in calendar.children if child.name == "VTIMEZONE"):
        tzid = zone.get("TZID")
        if tzid is None:
            problems.append(f"5: VTIMEZONE at line {zone.line} has no TZID")
            continue
        defined[tzid.value] += 1
        parts = [child for child in zone.children if child.name in ("STANDARD", "DAYLIGHT")]
        if not parts:
            problems.append(f"5: VTIMEZONE {tzid.value} has no STANDARD or DAYLIGHT")
        for part in parts:
            for needed in ("DTSTART", "TZOFFSETFROM", "TZOFFSETTO"):
                if part.get(needed) is None:
                    problems.append(f"5: {part.name} at line {part.line} has no {needed}")
            dates = sum(len(prop.value.split(",")) for prop in part.all("RDATE"))
            if dates > RDATE_LIMIT:
                problems.append(
                    f"5: VTIMEZONE {tzid.value} lists {dates} RDATEs; write a yearly RRULE"
                )
    for tzid, count in defined.items():
        if count > 1:
            problems.append(f"5: TZID {tzid} has {count} VTIMEZONEs")
    used = {
        prop.params["TZID"]
        for component in calendar.walk()
        if component.name not in ("VTIMEZONE", "STANDARD", "DAYLIGHT")
        for prop in component.properties
        if "TZID" in prop.params
    }
    for tzid in sorted(used - defined.keys()):
        problems.append(f"5: TZID {tzid} has no VTIMEZONE")


# Events -------------------------------------------------------------------------------------


@dataclass
class _Series:
    """The occurrences a master VEVENT describes, in the wall time of its TZID."""

    start: datetime
    zone: ZoneInfo | None
    interval: int = 1
    days: tuple[int, ...] = ()
    week_start: int = 0
    until: datetime | None = None
    count: int | None = 1
    repeats: bool = False

    def instant(self, local: datetime) -> datetime:
        """The UTC instant of a wall time (the earlier one when clocks go back)."""
        return local.replace(tzinfo=self.zone or UTC).astimezone(UTC)

    def occurrences(self, horizon: datetime) -> list[datetime]:
        """The occurrences up to `horizon` (all of them if the series ends before)."""
        found: list[datetime] = []
        days = self.days or (self.start.weekday(),)
        offsets = sorted((day - self.week_start) % 7 for day in days)
        into_week = (self.start.weekday() - self.week_start) % 7
        first_week = self.start.date() - timedelta(days=into_week)
        week = 0
        while len(found) < MAX_OCCURRENCES:
            week_begins = first_week + timedelta(weeks=week * self.interval)
            for offset in offsets:
                day = week_begins + timedelta(days=offset)
                candidate = datetime.combine(day, self.start.time())
                if candidate < self.start:
                    continue
                if candidate > horizon or (
                    self.until is not None and self.instant(candidate) > self.until
                ):
                    return found
                found.append(candidate)
                if self.count is not None and len(found) >= self.count:
                    return found
            week += 1
        return found

    def is_occurrence(self, local: datetime) -> bool:
        """Whether the rule produces exactly this wall time."""
        return local in self.occurrences(local)

    def is_after_end(self, local: datetime) -> bool:
        """Whether a wall time lies after the last occurrence the rule allows (15)."""
        if not self.repeats:
            return False
        if self.until is not None:
            return self.instant(local) > self.until
        if self.count is not None:
            every = self.occurrences(datetime.max)
            return bool(every) and local > every[-1]
        return False


def _check_events(calendar: _Component, problems: list[str]) -> None:
    """Items 6–15 on every VEVENT, masters first, then their overrides."""
    events = [child for child in calendar.children if child.name == "VEVENT"]
    masters: dict[str, tuple[int, _Component, _Series | None]] = {}
    uids: Counter[str] = Counter()
    for position, event in enumerate(events):
        _check_event(event, problems)
        uid = event.get("UID")
        if event.get("RECURRENCE-ID") is None and uid is not None:
            uids[uid.value] += 1
            masters.setdefault(uid.value, (position, event, _check_master(event, problems)))
    for uid, count in uids.items():
        if count > 1:
            problems.append(f"7: UID {uid} is used by {count} events without RECURRENCE-ID")
    seen: Counter[tuple[str, str]] = Counter()
    for position, event in enumerate(events):
        recurrence_id, uid = event.get("RECURRENCE-ID"), event.get("UID")
        if recurrence_id is None or uid is None:
            continue
        label = f"override {uid.value} {recurrence_id.value}"
        seen[(uid.value, recurrence_id.value)] += 1
        if seen[(uid.value, recurrence_id.value)] == 2:
            problems.append(f"14: {label} is overridden more than once")
        if uid.value not in masters:
            problems.append(f"7: {label} shares no master's UID")
            continue
        master_position, master, series = masters[uid.value]
        _check_override(event, label, master, series, problems)
        if position < master_position:
            problems.append(f"14: {label} comes before its master")


def _label(event: _Component) -> str:
    """How messages name an event."""
    uid = event.get("UID")
    return f"VEVENT {uid.value}" if uid else f"VEVENT at line {event.line}"


def _check_event(event: _Component, problems: list[str]) -> None:
    """Items 6–10, which every VEVENT must satisfy by itself."""
    label = _label(event)
    for name in LOCAL_PROPERTIES:
        for prop in event.all(name):
            values = prop.value.split(",")
            if any(value.endswith("Z") for value in values):
                problems.append(f"6: {label} {name} is in UTC; write local time with TZID")
            elif "TZID" not in prop.params:
                problems.append(f"6: {label} {name} has no TZID (floating time)")
            elif prop.params.get("VALUE", "DATE-TIME") != "DATE-TIME" or not all(
                _parse_local(value) for value in values
            ):
                problems.append(f"6: {label} {name} {prop.value} is not a local date-time")
    if len(event.all("UID")) != 1:
        problems.append(f"7: {label} needs exactly one UID")
    stamp = event.get("DTSTAMP")
    if stamp is None:
        problems.append(f"7: {label} has no DTSTAMP")
    elif _parse_utc(stamp.value) is None:
        problems.append(f"7: {label} DTSTAMP {stamp.value} is not UTC")

    start, end, duration = event.get("DTSTART"), event.get("DTEND"), event.get("DURATION")
    if start is None:
        problems.append(f"8: {label} has no DTSTART")
    if end is not None and duration is not None:
        problems.append(f"8: {label} has both DTEND and DURATION")
    elif end is None and duration is None:
        problems.append(f"8: {label} has neither DTEND nor DURATION")
    elif duration is not None and (
        not _DURATION.fullmatch(duration.value) or not re.search(r"[1-9]", duration.value)
    ):
        problems.append(f"8: {label} DURATION {duration.value} is not a positive duration")
    if start is not None and end is not None:
        if start.params.get("TZID") != end.params.get("TZID"):
            problems.append(f"8: {label} DTEND is not in the zone of DTSTART")
        begins, ends = _instant(start), _instant(end)
        if begins is not None and ends is not None and ends <= begins:
            problems.append(f"8: {label} DTEND is not after DTSTART")

    sequence = event.get("SEQUENCE")
    if sequence is None:
        problems.append(f"9: {label} has no SEQUENCE")
    elif not sequence.value.isdigit():
        problems.append(f"9: {label} SEQUENCE {sequence.value} is not a non-negative integer")
    modified = event.get("LAST-MODIFIED")
    if modified is None:
        problems.append(f"9: {label} has no LAST-MODIFIED")
    elif _parse_utc(modified.value) is None:
        problems.append(f"9: {label} LAST-MODIFIED {modified.value} is not UTC")

    status = event.get("STATUS")
    if status is None or status.value not in STATUSES:
        shown = status.value if status else "no STATUS"
        problems.append(f"10: {label} has {shown}, not TENTATIVE, CONFIRMED or CANCELLED")


def _check_master(event: _Component, problems: list[str]) -> _Series | None:
    """Items 11–13 and 15 on a VEVENT without RECURRENCE-ID; returns its series if readable."""
    label = _label(event)
    start = event.get("DTSTART")
    local = _local(start) if start is not None else None
    if start is None or local is None:
        return None
    series = _Series(local, _zone(start.params.get("TZID")))
    rules = event.all("RRULE")
    if len(rules) > 1:
        problems.append(f"11: {label} has {len(rules)} RRULEs")
    if event.get("RDATE") is not None:
        problems.append(f"11: {label} uses RDATE; a series is one weekly RRULE")
    if rules:
        _read_rule(rules[0].value, series, label, problems)

    exdates = [(prop, value) for prop in event.all("EXDATE") for value in prop.value.split(",")]
    counts = Counter(value for _, value in exdates)
    for value, count in counts.items():
        if count > 1:
            problems.append(f"13: {label} lists EXDATE {value} {count} times")
    for prop, value in exdates:
        if prop.params.get("TZID") != start.params.get("TZID"):
            problems.append(f"13: {label} EXDATE {value} is not in the TZID of DTSTART")
            continue
        excluded = _parse_local(value)
        if excluded is None:
            continue
        if series.is_after_end(excluded):
            problems.append(f"15: {label} EXDATE {value} lies after the end of the series")
        elif not series.is_occurrence(excluded):
            problems.append(f"13: {label} EXDATE {value} is not an occurrence")
    return series


def _read_rule(rule: str, series: _Series, label: str, problems: list[str]) -> None:
    """Items 11 and 12 on an RRULE; fills in `series` from it."""
    parts: dict[str, str] = {}
    for piece in rule.split(";"):
        key, equals, value = piece.partition("=")
        if not equals or not value:
            problems.append(f"11: {label} RRULE part {piece!r} cannot be read")
            continue
        parts[key.upper()] = value.upper()
    for key in sorted(parts.keys() - RULE_PARTS):
        problems.append(f"11: {label} RRULE uses {key}, beyond a weekly rule")
    if parts.get("FREQ") != "WEEKLY":
        problems.append(f"11: {label} RRULE is not FREQ=WEEKLY")
    interval = parts.get("INTERVAL", "1")
    if interval not in ("1", "2"):
        problems.append(f"11: {label} RRULE INTERVAL={interval} is not 1 or 2")
    else:
        series.interval = int(interval)
    days = parts["BYDAY"].split(",") if "BYDAY" in parts else []
    if any(day not in WEEKDAYS for day in days):
        problems.append(f"11: {label} RRULE BYDAY={parts['BYDAY']} is not a list of weekdays")
    else:
        series.days = tuple(WEEKDAYS.index(day) for day in days)
        if days and series.start.weekday() not in series.days:
            problems.append(f"11: {label} DTSTART is not an occurrence of its RRULE")
    if interval == "2" and days and "WKST" not in parts:
        problems.append(f"11: {label} RRULE has INTERVAL=2 and BYDAY but no WKST")
    if "WKST" in parts:
        if parts["WKST"] in WEEKDAYS:
            series.week_start = WEEKDAYS.index(parts["WKST"])
        else:
            problems.append(f"11: {label} RRULE WKST={parts['WKST']} is not a weekday")

    series.count, series.repeats = None, True
    if "UNTIL" in parts and "COUNT" in parts:
        problems.append(f"12: {label} RRULE has both UNTIL and COUNT")
    if "COUNT" in parts:
        if parts["COUNT"].isdigit() and int(parts["COUNT"]) > 0:
            series.count = int(parts["COUNT"])
        else:
            problems.append(f"12: {label} RRULE COUNT={parts['COUNT']} is not positive")
    if "UNTIL" in parts:
        until = parts["UNTIL"]
        series.until = _parse_utc(until)
        if series.until is None:
            problems.append(f"12: {label} RRULE UNTIL={until} is not a UTC date-time ending in Z")
        elif series.until < series.instant(series.start):
            problems.append(f"12: {label} RRULE UNTIL={until} is before DTSTART")


def _check_override(
    event: _Component,
    label: str,
    master: _Component,
    series: _Series | None,
    problems: list[str],
) -> None:
    """Items 13–15 on a VEVENT with RECURRENCE-ID, against its master."""
    for name in ("RRULE", "EXDATE", "RDATE"):
        if event.get(name) is not None:
            problems.append(f"14: {label} carries {name}, which belongs to the master only")
    status = event.get("STATUS")
    if status is not None and status.value == "CANCELLED":
        problems.append(f"13: {label} cancels with STATUS:CANCELLED; use an EXDATE")
    recurrence_id, master_start = event.get("RECURRENCE-ID"), master.get("DTSTART")
    if recurrence_id is None or master_start is None:
        return
    if "RANGE" in recurrence_id.params:
        problems.append(f"14: {label} has a RANGE, which parsers read differently")
    if recurrence_id.params.get("TZID") != master_start.params.get("TZID") or (
        recurrence_id.params.get("VALUE") != master_start.params.get("VALUE")
    ):
        problems.append(f"14: {label} RECURRENCE-ID is not in the form of the master's DTSTART")
        return
    replaced = _local(recurrence_id)
    if series is None or replaced is None:
        return
    if series.is_after_end(replaced):
        problems.append(f"15: {label} lies after the end of the series")
        return
    if not series.is_occurrence(replaced):
        problems.append(f"14: {label} RECURRENCE-ID is not an occurrence of the master")
        return
    if recurrence_id.value in {
        value for prop in master.all("EXDATE") for value in prop.value.split(",")
    }:
        problems.append(f"14: {label} replaces an occurrence that EXDATE removes")
    _check_between_neighbours(event, label, master, series, replaced, problems)


def _check_between_neighbours(
    event: _Component,
    label: str,
    master: _Component,
    series: _Series,
    replaced: datetime,
    problems: list[str],
) -> None:
    """A moved occurrence stays between the occurrences before and after it (14)."""
    start = event.get("DTSTART")
    moved = _instant(start) if start is not None else None
    if moved is None:
        return
    excluded = {
        _parse_local(value) for prop in master.all("EXDATE") for value in prop.value.split(",")
    }
    reach = replaced + timedelta(weeks=2 * series.interval)
    remaining = [when for when in series.occurrences(reach) if when not in excluded]
    before = [when for when in remaining if when < replaced]
    after = [when for when in remaining if when > replaced]
    if (before and moved <= series.instant(before[-1])) or (
        after and moved >= series.instant(after[0])
    ):
        problems.append(f"14: {label} moves past a neighbouring occurrence")


def _zone(tzid: str | None) -> ZoneInfo | None:
    """The zoneinfo zone of a TZID, if it names one."""
    if not tzid:
        return None
    try:
        return ZoneInfo(tzid)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "Europe" alone is a directory
        return None


def _parse_local(value: str) -> datetime | None:
    """A local DATE-TIME value as a naive datetime."""
    if not _LOCAL_TIME.fullmatch(value):
        return None
    try:
        moment = datetime.strptime(value, "%Y%m%dT%H%M%S")
    except ValueError:
        return None
    # No session lies outside these years, and inside them the week arithmetic cannot overflow.
    return moment if YEARS[0] <= moment.year <= YEARS[1] else None


def _parse_utc(value: str) -> datetime | None:
    """A UTC DATE-TIME value (``...Z``) as an aware datetime."""
    local = _parse_local(value[:-1]) if value.endswith("Z") else None
    return local.replace(tzinfo=UTC) if local else None


def _local(prop: _Property) -> datetime | None:
    """The wall time of a property written as local time with TZID."""
    if "TZID" not in prop.params:
        return None
    return _parse_local(prop.value)


def _instant(prop: _Property) -> datetime | None:
    """The UTC instant of a DATE-TIME property, local (with its TZID) or UTC."""
    if prop.value.endswith("Z"):
        return _parse_utc(prop.value)
    local = _parse_local(prop.value)
    if local is None:
        return None
    # A TZID zoneinfo does not know is compared as if it were UTC: good enough for an order.
    return local.replace(tzinfo=_zone(prop.params.get("TZID")) or UTC).astimezone(UTC)
