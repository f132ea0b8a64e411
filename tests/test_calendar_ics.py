"""Calendar files: the builder's output satisfies CALENDAR.md, and the lint bites."""

from __future__ import annotations

import re
from bisect import bisect_right
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar, Timezone

from peerhub.calendar.ics import (
    ICS_CONTENT_TYPE,
    SingleEvent,
    calendar_bytes,
    calendar_document,
    serialise,
    text,
    vtimezone_lines,
)
from peerhub.calendar.lint import lint

STAMP = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
LONG_TEXT = (
    "Bring: notes; questions, and a C:\\Temp path.\n"
    "Zweite Zeile mit Umlauten: Jörg, Müße, Größe – und Emoji 😀🎉🧭, "
    "long enough that the line has to be folded more than once, somewhere in the middle "
    "of a multi-byte character if the folding were careless: ÄÖÜäöüß😀😀😀😀😀."
)


def intro(number: int, start: datetime, zone: str, **changes: object) -> SingleEvent:
    """An intro call of 30 minutes, with changes."""
    values: dict[str, object] = {
        "uid": f"intro-{number}@peerhub.example",
        "start": start,
        "end": start + timedelta(minutes=30),
        "zone": zone,
        "summary": f"Intro call, {zone}",
        "description": LONG_TEXT,
        "location": "Café Müller; Raum 2, 1. OG",
        "url": f"https://peerhub.example/intros/{number}",
        "sequence": 0,
        "status": "CONFIRMED",
        "stamp": STAMP,
        "created": STAMP - timedelta(days=2),
    }
    values.update(changes)
    return SingleEvent(**values)  # type: ignore[arg-type]


def sample_events() -> list[SingleEvent]:
    """Berlin, New York, Tokyo and a cancelled call, across a DST change and a year end."""
    return [
        intro(12, datetime(2025, 3, 28, 17, 0, tzinfo=UTC), "Europe/Berlin"),
        intro(13, datetime(2025, 11, 3, 23, 30, tzinfo=UTC), "America/New_York", location=""),
        intro(14, datetime(2026, 1, 9, 1, 0, tzinfo=UTC), "Asia/Tokyo", url=None),
        intro(
            15,
            datetime(2025, 10, 26, 9, 0, tzinfo=UTC),
            "Europe/Berlin",
            status="CANCELLED",
            sequence=3,
            summary="Abgesagt: Intro\\Kennenlernen; bis bald, Jörg",
            description="Leider abgesagt.\nNotizen: C:\\Notes\\neu.txt\nNeuer Termin folgt.",
        ),
    ]


def sample_bytes() -> bytes:
    """The builder's output for the sample events."""
    return calendar_bytes("PeerHub – Jörg, Intros", sample_events())


def recurring_bytes(
    replaces: str = "20250415T180000",
    moved_start: str = "20250416T180000",
    moved_end: str = "20250416T193000",
) -> bytes:
    """A hand-written series: every other Tuesday across a DST change, one EXDATE, one move."""
    return serialise(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//PeerHub//Tests//EN",
            "METHOD:PUBLISH",
            "NAME:Tandem",
            "X-WR-CALNAME:Tandem",
            "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
            "X-PUBLISHED-TTL:PT1H",
            *vtimezone_lines("Europe/Berlin", 2025, 2025),
            "BEGIN:VEVENT",
            "UID:series-7@peerhub.example",
            "DTSTAMP:20250301T090000Z",
            "LAST-MODIFIED:20250301T090000Z",
            "SEQUENCE:2",
            "STATUS:CONFIRMED",
            "DTSTART;TZID=Europe/Berlin:20250304T180000",
            "DTEND;TZID=Europe/Berlin:20250304T193000",
            "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;WKST=MO;UNTIL=20250527T160000Z",
            "EXDATE;TZID=Europe/Berlin:20250401T180000",
            "SUMMARY:Tandem session",
            "END:VEVENT",
            "BEGIN:VEVENT",
            "UID:series-7@peerhub.example",
            f"RECURRENCE-ID;TZID=Europe/Berlin:{replaces}",
            "DTSTAMP:20250301T090000Z",
            "LAST-MODIFIED:20250301T090000Z",
            "SEQUENCE:2",
            "STATUS:CONFIRMED",
            f"DTSTART;TZID=Europe/Berlin:{moved_start}",
            f"DTEND;TZID=Europe/Berlin:{moved_end}",
            "SUMMARY:Tandem session (moved)",
            "END:VEVENT",
            "END:VCALENDAR",
        ]
    )


def replaced(raw: bytes, old: bytes, new: bytes, count: int = 1) -> bytes:
    """`raw` with `old` replaced; fails if `old` is not there, so no control is vacuous."""
    assert old in raw, old
    return raw.replace(old, new, count)


def items(problems: list[str]) -> set[int]:
    """The CALENDAR.md item numbers the lint reported."""
    return {int(problem.split(":", 1)[0]) for problem in problems}


# The builder ---------------------------------------------------------------------------------


def test_builder_output_lints_clean():
    raw = sample_bytes()
    assert lint(raw) == []
    assert b"\r\n " in raw  # the long texts really were folded
    assert ICS_CONTENT_TYPE == "text/calendar; charset=utf-8"


def test_builder_writes_the_calendar_level_properties():
    lines = sample_bytes().decode().split("\r\n")
    assert lines[:2] == ["BEGIN:VCALENDAR", "VERSION:2.0"]
    for expected in (
        "PRODID:-//PeerHub//PeerHub//EN",
        "METHOD:PUBLISH",
        "NAME:PeerHub – Jörg\\, Intros",
        "X-WR-CALNAME:PeerHub – Jörg\\, Intros",
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
        "X-PUBLISHED-TTL:PT1H",
        "DTSTART;TZID=Europe/Berlin:20250328T180000",
        "DTEND;TZID=America/New_York:20251103T190000",
        "DTSTART;TZID=Asia/Tokyo:20260109T100000",
        "DTSTAMP:20250301T090000Z",
        "LAST-MODIFIED:20250301T090000Z",
    ):
        assert expected in lines
    assert not any(line.startswith(("ATTENDEE", "DURATION")) for line in lines)


def test_round_trip_through_icalendar():
    events = sample_events()
    parsed = Calendar.from_ical(sample_bytes()).walk("VEVENT")
    assert len(parsed) == len(events)
    for event, vevent in zip(events, parsed, strict=True):
        assert str(vevent["UID"]) == event.uid
        assert vevent["DTSTART"].dt == event.start
        assert vevent["DTEND"].dt == event.end
        assert vevent["DTSTART"].params["TZID"] == event.zone
        assert vevent["DTSTAMP"].dt == event.stamp
        assert str(vevent["SUMMARY"]) == event.summary
        assert str(vevent["DESCRIPTION"]) == event.description
        assert str(vevent.get("LOCATION", "")) == event.location
        assert vevent.get("URL") == event.url
        assert vevent["SEQUENCE"] == event.sequence
        assert str(vevent["STATUS"]) == event.status


def test_same_input_gives_the_same_bytes():
    assert sample_bytes() == sample_bytes()
    assert calendar_bytes("X", sample_events()[:1]) == calendar_bytes("X", sample_events()[:1])


def test_text_escaping_keeps_every_character():
    # icalendar's writer turns a literal backslash-N into a line break: ours keeps both.
    assert text("C:\\Notes; a,b\nnext\r\nlast") == "C:\\\\Notes\\; a\\,b\\nnext\\nlast"


def test_event_rejects_values_that_break_the_rules():
    start = datetime(2025, 3, 28, 17, tzinfo=UTC)
    with pytest.raises(ValueError, match="after"):
        intro(1, start, "Europe/Berlin", end=start)
    with pytest.raises(ValueError, match="status"):
        intro(1, start, "Europe/Berlin", status="MAYBE")
    with pytest.raises(ValueError, match="aware"):
        intro(1, start.replace(tzinfo=None), "Europe/Berlin", end=start)
    for zone in ("Mars/Olympus", "Europe", "../etc"):
        with pytest.raises(ValueError, match="zone"):
            intro(1, start, zone)


# VTIMEZONE ----------------------------------------------------------------------------------


def vtimezone_blocks(raw: bytes) -> dict[str, list[str]]:
    """The unfolded lines of each VTIMEZONE in a file, by TZID."""
    lines = raw.decode().replace("\r\n ", "").split("\r\n")
    blocks: dict[str, list[str]] = {}
    for index, line in enumerate(lines):
        if line == "BEGIN:VTIMEZONE":
            end = lines.index("END:VTIMEZONE", index)
            blocks[lines[index + 1].removeprefix("TZID:")] = lines[index : end + 1]
    return blocks


def test_vtimezone_has_the_outlook_shape():
    blocks = vtimezone_blocks(sample_bytes())
    berlin, new_york, tokyo = (
        blocks["Europe/Berlin"],
        blocks["America/New_York"],
        blocks["Asia/Tokyo"],
    )
    assert "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU" in berlin
    assert "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU" in berlin
    assert "DTSTART:20240331T020000" in berlin  # written in the offset before the change
    assert "DTSTART:20241027T030000" in berlin
    assert "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU" in new_york
    assert "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU" in new_york
    assert [line for line in tokyo if line.startswith(("BEGIN:", "RRULE", "RDATE"))] == [
        "BEGIN:VTIMEZONE",
        "BEGIN:STANDARD",
    ]
    assert "TZOFFSETTO:+0900" in tokyo
    assert not any(line.startswith("RDATE") for block in blocks.values() for line in block)


def vtimezone_offsets(raw: bytes, tzid: str, moments: list[datetime]) -> list[timedelta]:
    """The UTC offset a file's VTIMEZONE gives each instant, read with icalendar and dateutil."""
    (zone,) = [tz for tz in Calendar.from_ical(raw).timezones if tz.tz_name == tzid]
    horizon = moments[-1]
    onsets: list[tuple[datetime, timedelta]] = []
    for part in zone.subcomponents:
        assert "RDATE" not in part  # the builder writes rules, never lists of dates
        before, after = part["TZOFFSETFROM"].td, part["TZOFFSETTO"].td
        # DTSTART and the rule's dates are wall times in the offset before the change.
        start = part["DTSTART"].dt.replace(tzinfo=timezone(before))
        rule = part.get("RRULE")
        starts = (
            rrulestr(rule.to_ical().decode(), dtstart=start).between(start, horizon, inc=True)
            if rule
            else [start]
        )
        onsets += [(when.astimezone(UTC), after) for when in starts]
    onsets.sort()
    instants = [when for when, _ in onsets]
    offsets = []
    for moment in moments:
        index = bisect_right(instants, moment)
        assert index > 0, f"{moment} lies before every observance of {tzid}"
        offsets.append(onsets[index - 1][1])
    return offsets


@pytest.mark.parametrize(
    ("zone", "first_year", "last_year"),
    [
        ("Europe/Berlin", 2025, 2027),
        ("America/New_York", 2025, 2027),
        ("Asia/Tokyo", 2025, 2027),
        ("Australia/Sydney", 2025, 2027),
        ("Asia/Kolkata", 2025, 2027),
        ("UTC", 2025, 2027),
        ("America/New_York", 2005, 2009),  # the 2007 change of rules
        ("Europe/Moscow", 2010, 2015),  # permanent summer time, then back
        ("America/Santiago", 2025, 2027),  # a change no yearly weekday rule describes
    ],
)
def test_vtimezone_offsets_match_zoneinfo_every_hour(zone, first_year, last_year):
    events = [
        intro(1, datetime(first_year, 6, 1, 12, tzinfo=UTC), zone),
        intro(2, datetime(last_year, 6, 1, 12, tzinfo=UTC), zone),
    ]
    raw = calendar_bytes("Zones", events)
    assert lint(raw) == []
    tz = ZoneInfo(zone)
    start, end = datetime(first_year, 1, 1, tzinfo=UTC), datetime(last_year + 1, 1, 1, tzinfo=UTC)
    hours = [start + timedelta(hours=n) for n in range(int((end - start) / timedelta(hours=1)))]
    expected = [moment.astimezone(tz).utcoffset() for moment in hours]
    assert vtimezone_offsets(raw, zone, hours) == expected
    # A second reader: dateutil's tzical, which icalendar uses for zones it does not know. It
    # misplaces the repeated hour when clocks go back between two STANDARD observances
    # (Moscow, October 2014), so that zone is left to the reader above.
    if zone != "Europe/Moscow":
        read = Calendar.from_ical(raw).timezones[0].to_tz(lookup_tzid=False)
        assert [moment.astimezone(read).utcoffset() for moment in hours] == expected


def test_rdate_shaped_vtimezone_is_reported():
    # icalendar's own Timezone.from_tzid lists each change as an RDATE: the shape item 5 avoids.
    rdates = Timezone.from_tzid(
        "Europe/Berlin", first_date=date(2024, 1, 1), last_date=date(2028, 1, 1)
    ).to_ical()
    raw = without_vtimezone(sample_bytes()).replace(b"BEGIN:VEVENT", rdates + b"BEGIN:VEVENT", 1)
    assert "5: VTIMEZONE Europe/Berlin lists 3 RDATEs; write a yearly RRULE" in lint(raw)


def test_zone_without_events_years_gets_no_vtimezone():
    raw = calendar_document("Empty", {}, [])
    assert b"VTIMEZONE" not in raw
    assert lint(raw) == []


# The lint on a series -----------------------------------------------------------------------


def test_hand_written_series_lints_clean():
    assert lint(recurring_bytes()) == []


def occurrences_from_dateutil(raw: bytes) -> list[datetime]:
    """The series' wall times as dateutil expands its RRULE (EXDATE left in)."""
    master = Calendar.from_ical(raw).walk("VEVENT")[0]
    start = master["DTSTART"].dt
    return [
        when.replace(tzinfo=None)
        for when in rrulestr(master["RRULE"].to_ical().decode(), dtstart=start)
    ]


def test_lint_and_dateutil_agree_on_the_occurrences():
    walls = occurrences_from_dateutil(recurring_bytes())
    assert len(walls) == 7  # UNTIL is the last start, 18:00 summer time in UTC
    for wall in walls:
        value = f"{wall:%Y%m%dT%H%M%S}"
        problems = lint(
            recurring_bytes(
                replaces=value,
                moved_start=f"{wall + timedelta(hours=1):%Y%m%dT%H%M%S}",
                moved_end=f"{wall + timedelta(hours=2):%Y%m%dT%H%M%S}",
            )
        )
        if value == "20250401T180000":
            assert problems == [
                "14: override series-7@peerhub.example 20250401T180000 replaces an occurrence "
                "that EXDATE removes"
            ]
        else:
            assert problems == [], (wall, problems)


# Negative controls: each mutation must make the lint report its item ------------------------


def without_vtimezone(raw: bytes) -> bytes:
    """`raw` with its VTIMEZONE blocks removed."""
    stripped = re.sub(rb"BEGIN:VTIMEZONE\r\n.*?END:VTIMEZONE\r\n", b"", raw, flags=re.DOTALL)
    assert stripped != raw
    return stripped


def without_first(raw: bytes, name: bytes) -> bytes:
    """`raw` without the first content line called `name`."""
    stripped = re.sub(rb"\r\n" + name + rb"[;:][^\r]*", b"", raw, count=1)
    assert stripped != raw
    return stripped


SINGLE_CONTROLS = {
    "no VTIMEZONE": (without_vtimezone, 5),
    "DTSTART in UTC": (
        lambda raw: replaced(
            raw, b"DTSTART;TZID=Europe/Berlin:20250328T180000", b"DTSTART:20250328T170000Z"
        ),
        6,
    ),
    "line over 75 octets": (lambda raw: replaced(raw, b"\r\n ", b"", count=-1), 2),
    "LF line ends": (lambda raw: replaced(raw, b"\r\n", b"\n", count=-1), 2),
    "blank line": (lambda raw: replaced(raw, b"BEGIN:VEVENT", b"\r\nBEGIN:VEVENT"), 2),
    "fold inside a character": (lambda raw: replaced(raw, "Jörg".encode(), b"J\xc3\r\n \xb6rg"), 2),
    "not UTF-8": (lambda raw: replaced(raw, "Jörg".encode(), "Jörg".encode("latin-1")), 4),
    "unescaped comma in SUMMARY": (
        lambda raw: replaced(raw, b"SUMMARY:Intro call\\, ", b"SUMMARY:Intro call, "),
        3,
    ),
    "bare backslash": (lambda raw: replaced(raw, b"C:\\\\Temp", b"C:\\Temp"), 3),
    "METHOD:REQUEST": (lambda raw: replaced(raw, b"METHOD:PUBLISH", b"METHOD:REQUEST"), 17),
    "ATTENDEE": (
        lambda raw: replaced(raw, b"END:VEVENT", b"ATTENDEE:mailto:a@example.org\r\nEND:VEVENT"),
        17,
    ),
    "NAME differs from X-WR-CALNAME": (
        lambda raw: replaced(raw, b"\r\nNAME:PeerHub", b"\r\nNAME:Other PeerHub"),
        18,
    ),
    "REFRESH-INTERVAL without VALUE": (
        lambda raw: replaced(raw, b"REFRESH-INTERVAL;VALUE=DURATION:", b"REFRESH-INTERVAL:"),
        18,
    ),
    "missing DTSTAMP": (lambda raw: without_first(raw, b"DTSTAMP"), 7),
    "DTEND before DTSTART": (
        lambda raw: replaced(
            raw,
            b"DTEND;TZID=Europe/Berlin:20250328T183000",
            b"DTEND;TZID=Europe/Berlin:20250328T173000",
        ),
        8,
    ),
    "DTEND and DURATION": (
        lambda raw: replaced(raw, b"END:VEVENT", b"DURATION:PT30M\r\nEND:VEVENT"),
        8,
    ),
    "missing SEQUENCE": (lambda raw: without_first(raw, b"SEQUENCE"), 9),
    "LAST-MODIFIED not UTC": (
        lambda raw: replaced(raw, b"LAST-MODIFIED:20250301T090000Z", b"LAST-MODIFIED:20250301"),
        9,
    ),
    "unknown STATUS": (lambda raw: replaced(raw, b"STATUS:CONFIRMED", b"STATUS:MAYBE"), 10),
    "two VCALENDARs": (lambda raw: raw + raw, 1),
    "no PRODID": (lambda raw: without_first(raw, b"PRODID"), 1),
}


@pytest.mark.parametrize("name", sorted(SINGLE_CONTROLS))
def test_lint_bites_on_a_broken_builder_file(name):
    mutate, item = SINGLE_CONTROLS[name]
    assert item in items(lint(mutate(sample_bytes())))


SERIES_CONTROLS = {
    "local UNTIL": (b"UNTIL=20250527T160000Z", b"UNTIL=20250527T180000", 12),
    "date-only UNTIL": (b"UNTIL=20250527T160000Z", b"UNTIL=20250527", 12),
    "UNTIL and COUNT": (b"UNTIL=20250527T160000Z", b"UNTIL=20250527T160000Z;COUNT=7", 12),
    "UNTIL before DTSTART": (b"UNTIL=20250527T160000Z", b"UNTIL=20250301T160000Z", 12),
    "duplicated EXDATE": (
        b"EXDATE;TZID=Europe/Berlin:20250401T180000\r\n",
        b"EXDATE;TZID=Europe/Berlin:20250401T180000\r\n" * 2,
        13,
    ),
    "duplicated EXDATE in one line": (
        b"EXDATE;TZID=Europe/Berlin:20250401T180000",
        b"EXDATE;TZID=Europe/Berlin:20250401T180000,20250401T180000",
        13,
    ),
    "EXDATE off the rule": (
        b"EXDATE;TZID=Europe/Berlin:20250401T180000",
        b"EXDATE;TZID=Europe/Berlin:20250408T180000",
        13,
    ),
    "EXDATE in UTC": (
        b"EXDATE;TZID=Europe/Berlin:20250401T180000",
        b"EXDATE:20250401T160000Z",
        6,
    ),
    "cancelled override": (
        b"STATUS:CONFIRMED\r\nDTSTART;TZID=Europe/Berlin:20250416",
        b"STATUS:CANCELLED\r\nDTSTART;TZID=Europe/Berlin:20250416",
        13,
    ),
    "RECURRENCE-ID not an occurrence": (
        b"RECURRENCE-ID;TZID=Europe/Berlin:20250415T180000",
        b"RECURRENCE-ID;TZID=Europe/Berlin:20250408T180000",
        14,
    ),
    "RECURRENCE-ID at another time of day": (
        b"RECURRENCE-ID;TZID=Europe/Berlin:20250415T180000",
        b"RECURRENCE-ID;TZID=Europe/Berlin:20250415T170000",
        14,
    ),
    "RECURRENCE-ID in another zone": (
        b"RECURRENCE-ID;TZID=Europe/Berlin:20250415T180000",
        b"RECURRENCE-ID;TZID=Europe/Paris:20250415T180000",
        14,
    ),
    "override moved past its neighbour": (
        b"DTSTART;TZID=Europe/Berlin:20250416T180000\r\nDTEND;TZID=Europe/Berlin:20250416",
        b"DTSTART;TZID=Europe/Berlin:20250430T180000\r\nDTEND;TZID=Europe/Berlin:20250430",
        14,
    ),
    "override with an RRULE": (
        b"SUMMARY:Tandem session (moved)",
        b"SUMMARY:Tandem session (moved)\r\nRRULE:FREQ=WEEKLY",
        14,
    ),
    "override without master": (
        b"UID:series-7@peerhub.example\r\nRECURRENCE-ID",
        b"UID:series-8@peerhub.example\r\nRECURRENCE-ID",
        7,
    ),
    "override after UNTIL": (
        b"RECURRENCE-ID;TZID=Europe/Berlin:20250415T180000",
        b"RECURRENCE-ID;TZID=Europe/Berlin:20250610T180000",
        15,
    ),
    "EXDATE after UNTIL": (
        b"EXDATE;TZID=Europe/Berlin:20250401T180000",
        b"EXDATE;TZID=Europe/Berlin:20250610T180000",
        15,
    ),
    "INTERVAL=2 without WKST": (b";WKST=MO", b"", 11),
    "INTERVAL=3": (b"INTERVAL=2", b"INTERVAL=3", 11),
    "monthly rule": (b"FREQ=WEEKLY", b"FREQ=MONTHLY", 11),
    "DTSTART not an occurrence": (b"BYDAY=TU", b"BYDAY=WE", 11),
    "two RRULEs": (
        b"EXDATE;",
        b"RRULE:FREQ=WEEKLY;BYDAY=TU;UNTIL=20250527T160000Z\r\nEXDATE;",
        11,
    ),
}


@pytest.mark.parametrize("name", sorted(SERIES_CONTROLS))
def test_lint_bites_on_a_broken_series(name):
    old, new, item = SERIES_CONTROLS[name]
    assert item in items(lint(replaced(recurring_bytes(), old, new)))


def test_override_before_its_master_is_reported():
    raw = recurring_bytes()
    master = re.search(rb"BEGIN:VEVENT\r\n.*?END:VEVENT\r\n", raw, flags=re.DOTALL)
    assert master is not None
    moved = raw.replace(master[0], b"").replace(b"END:VCALENDAR", master[0] + b"END:VCALENDAR")
    assert items(lint(moved)) == {14}


def test_series_without_vtimezone_is_reported():
    assert items(lint(without_vtimezone(recurring_bytes()))) == {5}


def test_two_overrides_of_one_occurrence_are_reported():
    raw = recurring_bytes()
    override = re.findall(rb"BEGIN:VEVENT\r\n.*?END:VEVENT\r\n", raw, flags=re.DOTALL)[1]
    doubled = raw.replace(override, override * 2)
    assert "14: override series-7@peerhub.example 20250415T180000 is overridden more than once" in (
        lint(doubled)
    )


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["single", "series"]),
    st.lists(
        st.tuples(st.integers(min_value=0), st.integers(0, 12), st.binary(max_size=4)),
        min_size=1,
        max_size=4,
    ),
)
def test_lint_reports_rather_than_crashes_on_damaged_files(source, edits):
    raw = sample_bytes() if source == "single" else recurring_bytes()
    for position, length, insert in edits:
        position %= len(raw) or 1
        raw = raw[:position] + insert + raw[position + length :]
    problems = lint(raw)
    assert all(re.match(r"\d{1,2}: ", problem) for problem in problems)
