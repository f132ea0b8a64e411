"""The interop harness itself: a hand-written sample passes, and every negative control bites.

The sample is a fortnightly Berlin series across both DST changes of 2025 (two cancelled
sessions in a row, one moved session, UNTIL in UTC), a single New York call the day after
the US clocks went back, and a cancelled Berlin call that no calendar shows. The expected
instants are worked out here from wall times with zoneinfo, not by any iCalendar library.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from peerhub.calendar.ics import serialise, text, vtimezone_lines
from peerhub.calendar.lint import lint
from tests.interop import parsers
from tests.interop.parsers import (
    ICALJS_ZONES,
    IcalJsResult,
    Instance,
    ParserUnavailable,
    expand_icaljs,
    expand_python,
    icalendar_errors,
    interop_problems,
)
from tests.test_calendar_ics import items, replaced

WINDOW = (datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))
BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")
SERIES = "series-11@peerhub.example"
EVENING = "series-12@peerhub.example"
SINGLE = "intro-21@peerhub.example"
CANCELLED = "intro-22@peerhub.example"
# Long enough to be folded twice, and the piece after the first fold has no ":" or ";", so
# losing its leading space leaves a line that is not a content line at all.
NOTE = (
    "Bring the notes from last time and one question you would like to work on together "
    "in this session, and a short update on the goal you set"
)

FIRST, LAST = date(2025, 3, 11), date(2025, 11, 4)  # Tuesdays, 18:00–19:30 Berlin
EXCLUDED = (date(2025, 7, 29), date(2025, 8, 12))  # the summer break: two sessions in a row
MOVED_FROM, MOVED_TO = date(2025, 9, 23), date(2025, 9, 24)
SESSION = timedelta(minutes=90)
# A weekly New York series at the same wall time, across the US change on 2 November. Its
# 23 September is "2025-09-23T18:00:00" too: an ical.js that attached overrides by time
# alone, whatever their UID, would move it with the Berlin session.
EVENING_FIRST, EVENING_LAST = date(2025, 9, 16), date(2025, 11, 11)


def sample_bytes() -> bytes:
    """The hand-written calendar every test starts from."""
    stamp = ["DTSTAMP:20250301T090000Z", "LAST-MODIFIED:20250301T090000Z"]
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
            *vtimezone_lines("America/New_York", 2025, 2025),
            "BEGIN:VEVENT",
            f"UID:{SERIES}",
            *stamp,
            "SEQUENCE:3",
            "STATUS:CONFIRMED",
            "DTSTART;TZID=Europe/Berlin:20250311T180000",
            "DTEND;TZID=Europe/Berlin:20250311T193000",
            # 2025-11-04 18:00 in Berlin (CET, UTC+1) is 17:00 UTC.
            "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;WKST=MO;UNTIL=20251104T170000Z",
            "EXDATE;TZID=Europe/Berlin:20250729T180000",
            "EXDATE;TZID=Europe/Berlin:20250812T180000",
            "SUMMARY:Tandem session",
            f"DESCRIPTION:{text(NOTE)}",
            "END:VEVENT",
            "BEGIN:VEVENT",
            f"UID:{SERIES}",
            "RECURRENCE-ID;TZID=Europe/Berlin:20250923T180000",
            *stamp,
            "SEQUENCE:3",
            "STATUS:CONFIRMED",
            "DTSTART;TZID=Europe/Berlin:20250924T180000",
            "DTEND;TZID=Europe/Berlin:20250924T193000",
            "SUMMARY:Tandem session (moved to Wednesday)",
            f"DESCRIPTION:{text(NOTE)}",
            "END:VEVENT",
            "BEGIN:VEVENT",
            f"UID:{EVENING}",
            *stamp,
            "SEQUENCE:0",
            "STATUS:CONFIRMED",
            "DTSTART;TZID=America/New_York:20250916T180000",
            "DTEND;TZID=America/New_York:20250916T190000",
            # 2025-11-11 18:00 in New York (EST, UTC-5) is 23:00 UTC.
            "RRULE:FREQ=WEEKLY;UNTIL=20251111T230000Z",
            "SUMMARY:Evening tandem",
            "END:VEVENT",
            "BEGIN:VEVENT",
            f"UID:{SINGLE}",
            *stamp,
            "SEQUENCE:0",
            "STATUS:CONFIRMED",
            "DTSTART;TZID=America/New_York:20251103T090000",
            "DTEND;TZID=America/New_York:20251103T093000",
            "SUMMARY:Intro call",
            "END:VEVENT",
            "BEGIN:VEVENT",
            f"UID:{CANCELLED}",
            "DTSTAMP:20250301T090000Z",
            "LAST-MODIFIED:20250601T090000Z",
            "SEQUENCE:2",
            "STATUS:CANCELLED",
            "DTSTART;TZID=Europe/Berlin:20250605T100000",
            "DTEND;TZID=Europe/Berlin:20250605T103000",
            "SUMMARY:Intro call",
            "END:VEVENT",
            "END:VCALENDAR",
        ]
    )


def session(uid: str, day: date, at: time, zone: ZoneInfo, length: timedelta) -> Instance:
    """An instance from its wall time: placed with zoneinfo, returned in UTC."""
    begins = datetime.combine(day, at, tzinfo=zone).astimezone(UTC)
    return (uid, begins, begins + length)


def tuesday(day: date) -> Instance:
    """The series' session at 18:00 Berlin on `day`."""
    return session(SERIES, day, time(18), BERLIN, SESSION)


def series_days() -> list[date]:
    """Every other Tuesday from FIRST to LAST, before exclusions and moves."""
    days = [FIRST]
    while days[-1] < LAST:
        days.append(days[-1] + timedelta(weeks=2))
    assert days[-1] == LAST
    return days


def expected() -> set[Instance]:
    """What PeerHub shows: the Berlin series without its break, moved once; New York's."""
    found = {tuesday(day) for day in series_days() if day not in EXCLUDED}
    found.remove(tuesday(MOVED_FROM))
    found.add(session(SERIES, MOVED_TO, time(18), BERLIN, SESSION))
    day = EVENING_FIRST
    while day <= EVENING_LAST:
        found.add(session(EVENING, day, time(18), NEW_YORK, timedelta(hours=1)))
        day += timedelta(weeks=1)
    found.add(session(SINGLE, date(2025, 11, 3), time(9), NEW_YORK, timedelta(minutes=30)))
    return found


EXPECTED = expected()
MOVED = session(SERIES, MOVED_TO, time(18), BERLIN, SESSION)


# The sample --------------------------------------------------------------------------------


def test_the_sample_is_what_it_claims():
    raw = sample_bytes()
    assert lint(raw) == []
    assert b"\r\n " in raw  # the notes really were folded
    series = sorted(start for uid, start, _ in EXPECTED if uid == SERIES)
    assert len(series) == len(series_days()) - len(EXCLUDED) == 16
    # 18:00 Berlin is 17:00 UTC in winter time and 16:00 UTC in summer time: the series
    # starts before the March change and ends after the October one.
    hours = [start.hour for start in series]
    assert hours[:3] == [17, 17, 16] and hours[-2:] == [16, 17]
    evening = sorted(start for uid, start, _ in EXPECTED if uid == EVENING)
    assert len(evening) == 9
    assert (evening[0].hour, evening[-1].hour) == (22, 23)  # 18:00 EDT, then 18:00 EST
    assert evening[1].astimezone(NEW_YORK).date() == MOVED_FROM
    # The New York call is the day after the US change: 09:00 EST is 14:00 UTC.
    call = datetime(2025, 11, 3, 14, tzinfo=UTC)
    assert (SINGLE, call, call + timedelta(minutes=30)) in EXPECTED


def test_everything_agrees_on_the_sample():
    assert interop_problems(sample_bytes(), EXPECTED, *WINDOW) == []


def test_both_parsers_expand_the_sample_as_expected():
    raw = sample_bytes()
    assert expand_python(raw, *WINDOW) == EXPECTED
    runs = [expand_icaljs(raw, *WINDOW, tz) for tz in ICALJS_ZONES]
    assert runs[0] == runs[1] == IcalJsResult(EXPECTED, [])
    assert icalendar_errors(raw) == []


def test_icaljs_output_does_not_depend_on_the_zone_of_the_process():
    raw = sample_bytes()
    zones = (*ICALJS_ZONES, "UTC", "Pacific/Kiritimati", "Europe/Berlin")
    results = {tz: expand_icaljs(raw, *WINDOW, tz) for tz in zones}
    assert all(result == results["UTC"] for result in results.values())
    assert results["UTC"].instances == EXPECTED


def test_the_window_limits_both_expansions():
    raw = sample_bytes()
    start, end = datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 7, 1, tzinfo=UTC)
    inside = {instance for instance in EXPECTED if start <= instance[1] < end}
    assert inside == {tuesday(date(2025, 6, 3)), tuesday(date(2025, 6, 17))}
    assert expand_python(raw, start, end) == inside
    assert expand_icaljs(raw, start, end, ICALJS_ZONES[0]).instances == inside
    assert interop_problems(raw, inside, start, end) == []


def test_cancelled_events_are_left_out_by_both_parsers():
    raw = sample_bytes()
    call = session(CANCELLED, date(2025, 6, 5), time(10), BERLIN, timedelta(minutes=30))
    assert call not in EXPECTED
    confirmed = replaced(raw, b"STATUS:CANCELLED", b"STATUS:CONFIRMED")
    # Confirmed, both parsers show the call, so it is the filter that hides it in the sample.
    assert expand_python(confirmed, *WINDOW) == EXPECTED | {call}
    assert expand_icaljs(confirmed, *WINDOW, ICALJS_ZONES[0]).instances == EXPECTED | {call}


@pytest.mark.parametrize(
    ("wrong", "what"),
    [
        (EXPECTED - {MOVED}, "adds 1: series-11@peerhub.example@2025-09-24T16:00Z–17:30Z"),
        (
            EXPECTED | {tuesday(MOVED_FROM)},
            "misses 1: series-11@peerhub.example@2025-09-23T16:00Z–17:30Z",
        ),
    ],
    ids=["pages-miss-the-moved-session", "pages-show-the-replaced-session"],
)
def test_a_wrong_expectation_is_named_for_every_parser(wrong: set[Instance], what: str):
    problems = interop_problems(sample_bytes(), wrong, *WINDOW)
    labels = ["recurring-ical-events", *(f"ical.js (TZ={tz})" for tz in ICALJS_ZONES)]
    assert problems == [f"{label} {what}" for label in labels]


def test_a_missing_icaljs_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(parsers, "ICALJS_PACKAGE", tmp_path / "package.json")
    with pytest.raises(ParserUnavailable, match="make test"):
        expand_icaljs(sample_bytes(), *WINDOW, "UTC")
    with pytest.raises(ParserUnavailable, match="make test"):
        interop_problems(sample_bytes(), EXPECTED, *WINDOW)


def test_a_missing_node_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(parsers.shutil, "which", lambda name: None)
    with pytest.raises(ParserUnavailable, match="node is not installed"):
        expand_icaljs(sample_bytes(), *WINDOW, "UTC")


# Negative controls -------------------------------------------------------------------------


@dataclass
class Observed:
    """What the lint and each parser made of a damaged file."""

    lint_items: set[int]
    problems: list[str]
    python: set[Instance] | Exception
    icaljs: dict[str, IcalJsResult | Exception]


def observe(raw: bytes) -> Observed:
    """Runs the lint, both parsers (ical.js under both zones) and the whole check on `raw`."""
    python: set[Instance] | Exception
    try:
        python = expand_python(raw, *WINDOW)
    except Exception as error:  # recorded, and each control says what it expects
        python = error
    icaljs: dict[str, IcalJsResult | Exception] = {}
    for tz in ICALJS_ZONES:
        try:
            icaljs[tz] = expand_icaljs(raw, *WINDOW, tz)
        except parsers.ParserFailed as error:
            icaljs[tz] = error
    return Observed(items(lint(raw)), interop_problems(raw, EXPECTED, *WINDOW), python, icaljs)


def icaljs_instances(seen: Observed) -> dict[str, set[Instance]]:
    """The ical.js instances per zone, failing if ical.js rejected the file."""
    found = {}
    for tz, result in seen.icaljs.items():
        assert isinstance(result, IcalJsResult), result
        assert result.floating == []
        found[tz] = result.instances
    return found


def only_lint(seen: Observed, item: int) -> None:
    """Both parsers read the file as intended: only the lint (with `item`) catches it."""
    assert seen.python == EXPECTED
    assert all(found == EXPECTED for found in icaljs_instances(seen).values())
    assert seen.problems
    assert all(problem.startswith(f"lint: {item}:") for problem in seen.problems)


def drop_vtimezones(raw: bytes) -> bytes:
    """The sample without its VTIMEZONEs (both of them)."""
    damaged, count = re.subn(rb"BEGIN:VTIMEZONE\r\n.*?END:VTIMEZONE\r\n", b"", raw, flags=re.S)
    assert count == 2
    return damaged


def check_no_vtimezone(seen: Observed) -> None:
    """Lint 5; icalendar still knows the zones; ical.js floats every time into the process zone."""
    assert 5 in seen.lint_items
    # icalendar falls back on its own zone database for a known TZID: Python is not fooled.
    assert seen.python == EXPECTED
    runs = {}
    for tz, result in seen.icaljs.items():
        assert isinstance(result, IcalJsResult), result
        assert f"{SERIES} DTSTART 2025-03-11T18:00:00" in result.floating
        assert f"{SINGLE} DTSTART 2025-11-03T09:00:00" in result.floating
        assert f"{SERIES} EXDATE 2025-07-29T18:00:00" in result.floating
        # The first session is 18:00 wherever the program runs, not 18:00 in Berlin.
        first = datetime(2025, 3, 11, 18, tzinfo=ZoneInfo(tz)).astimezone(UTC)
        assert (SERIES, first, first + SESSION) in result.instances
        runs[tz] = result.instances
    assert runs[ICALJS_ZONES[0]] != runs[ICALJS_ZONES[1]]
    # Floating 18:00 is compared with the UTC UNTIL (17:00Z) as if it were UTC: the last
    # session is lost too.
    assert all(len(found) == len(EXPECTED) - 1 for found in runs.values())
    assert any("floating time" in problem for problem in seen.problems)
    assert any(problem.startswith("ical.js under TZ=") for problem in seen.problems)


def check_local_until(seen: Observed) -> None:
    """Lint 12; neither parser minds a local UNTIL here (both compare it as Berlin time)."""
    only_lint(seen, 12)


def check_duplicated_exdate(seen: Observed) -> None:
    """Lint 13; ical.js then ignores the next EXDATE (12 August) and shows that session."""
    assert 13 in seen.lint_items
    assert seen.python == EXPECTED
    for found in icaljs_instances(seen).values():
        assert found == EXPECTED | {tuesday(EXCLUDED[1])}
    assert any("adds 1: series-11@peerhub.example@2025-08-12" in p for p in seen.problems)


def check_duplicated_last_exdate(seen: Observed) -> None:
    """Lint 13; with no EXDATE after the duplicate, ical.js loses nothing."""
    only_lint(seen, 13)


def check_orphan_recurrence_id(seen: Observed) -> None:
    """Lint 14; Python shows the override and the original, ical.js only the original."""
    assert 14 in seen.lint_items
    original = tuesday(MOVED_FROM)
    assert seen.python == EXPECTED | {original}
    for found in icaljs_instances(seen).values():
        assert found == (EXPECTED - {MOVED}) | {original}
    assert any(p.startswith("recurring-ical-events adds 1") for p in seen.problems)


def check_fold_without_space(seen: Observed) -> None:
    """Lint 2; ical.js rejects the file; icalendar records the line and reads on."""
    assert 2 in seen.lint_items
    for result in seen.icaljs.values():
        assert isinstance(result, parsers.ParserFailed)
        assert "invalid line" in str(result)
    # icalendar cuts the DESCRIPTION short and does not raise; the times are unharmed.
    assert seen.python == EXPECTED
    assert any(p.startswith("icalendar: VEVENT: Content line") for p in seen.problems)
    assert sum(" failed: " in p for p in seen.problems) == len(ICALJS_ZONES)


def check_fold_with_bare_lf(seen: Observed) -> None:
    """Lint 2; both parsers accept a bare LF before the continuation."""
    only_lint(seen, 2)


EXDATE_JULY = b"EXDATE;TZID=Europe/Berlin:20250729T180000\r\n"
EXDATE_AUGUST = b"EXDATE;TZID=Europe/Berlin:20250812T180000\r\n"


@dataclass(frozen=True)
class Control:
    """A damage done to the sample, and what the harness must then report."""

    name: str
    damage: Callable[[bytes], bytes]
    check: Callable[[Observed], None]


CONTROLS = [
    Control("no-vtimezone", drop_vtimezones, check_no_vtimezone),
    Control(
        "local-until",
        lambda raw: replaced(raw, b"UNTIL=20251104T170000Z", b"UNTIL=20251104T180000"),
        check_local_until,
    ),
    Control(
        "duplicated-exdate",
        lambda raw: replaced(raw, EXDATE_JULY, EXDATE_JULY * 2),
        check_duplicated_exdate,
    ),
    Control(
        "duplicated-exdate-in-one-line",
        lambda raw: replaced(
            raw, EXDATE_JULY, b"EXDATE;TZID=Europe/Berlin:20250729T180000,20250729T180000\r\n"
        ),
        check_duplicated_exdate,
    ),
    Control(
        "duplicated-last-exdate",
        lambda raw: replaced(raw, EXDATE_AUGUST, EXDATE_AUGUST * 2),
        check_duplicated_last_exdate,
    ),
    Control(
        "orphan-recurrence-id",
        lambda raw: replaced(
            raw,
            b"RECURRENCE-ID;TZID=Europe/Berlin:20250923T180000",
            b"RECURRENCE-ID;TZID=Europe/Berlin:20250924T180000",
        ),
        check_orphan_recurrence_id,
    ),
    Control(
        "fold-without-leading-space",
        lambda raw: replaced(raw, b"\r\n ", b"\r\n"),
        check_fold_without_space,
    ),
    Control(
        "fold-with-bare-lf", lambda raw: replaced(raw, b"\r\n ", b"\n "), check_fold_with_bare_lf
    ),
]


@pytest.mark.parametrize("control", CONTROLS, ids=[control.name for control in CONTROLS])
def test_each_negative_control_fails_the_check(control: Control):
    raw = sample_bytes()
    damaged = control.damage(raw)
    assert damaged != raw
    seen = observe(damaged)
    assert seen.problems, f"{control.name} went unnoticed"
    control.check(seen)
