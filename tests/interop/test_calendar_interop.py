"""Calendars see exactly the sessions PeerHub shows (CALENDAR.md, "How we prove it").

Alice has three tandems whose sessions cover what calendar programs disagree about: a
weekly Berlin series across the spring change of clocks with a cancelled session, a session
moved across that change and an early end; a series every two weeks in New York's zone
across both autumn changes (Europe's and America's), with a cancellation, a move and the
tandem ended early; and a Tokyo series whose time changed from a day on into Berlin's zone.
Three lists must be the same UTC instants: the sessions her own pages list, what
recurring-ical-events expands from her feed, and what ical.js expands from it under two
`TZ` values. The same holds for Bob's feed and for the download. Negative controls on the
real feed (no VTIMEZONE, a local UNTIL, a duplicated EXDATE, an orphan RECURRENCE-ID,
broken folding) each make the check fail.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from peerhub.calendar.lint import lint
from peerhub.extensions import db
from peerhub.meetings import service as meetings
from peerhub.tandems import service as tandems
from tests.conftest import make_user
from tests.interop.parsers import Instance, expand_icaljs, expand_python, interop_problems
from tests.session_factories import active_tandem, sessions_of, user

WINDOW = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2029, 1, 1, tzinfo=UTC))
BERLIN = ZoneInfo("Europe/Berlin")


def at(day: str, clock: str, zone: str) -> datetime:
    """A wall time in a zone, as a UTC instant."""
    local = datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=ZoneInfo(zone))
    return local.astimezone(UTC)


def rhythm(frequency: str, weekday: int, start: str, zone: str, length: int) -> dict:
    return {
        "frequency": frequency,
        "weekday": str(weekday),
        "start": start,
        "zone": zone,
        "length": str(length),
    }


def number_at(tandem_id: int, planned: datetime) -> tuple[int, int]:
    """(series id, number) of the session planned at `planned`."""
    [found] = [s for s in sessions_of(tandem_id) if s.occurrence.start == planned]
    return found.series.id, found.number


@pytest.fixture
def community(app, alice, bob, carol):
    """Alice's three tandems, lived in as the module's docstring tells."""
    dana = make_user(app, "dana@example.org", "Dana", timezone="Asia/Tokyo")
    spring = active_tandem(
        app,
        alice,
        bob,
        now=datetime(2027, 2, 20, 9, 0, tzinfo=UTC),
        rhythm=rhythm("weekly", 1, "18:00", "Europe/Berlin", 60),
        term={"start": "2027-03-01", "end": "2027-05-31"},
    )
    autumn = active_tandem(
        app,
        alice,
        carol,
        now=datetime(2027, 9, 1, 9, 0, tzinfo=UTC),
        rhythm=rhythm("biweekly", 2, "08:00", "America/New_York", 90),
        term={"start": "2027-09-15", "end": "2027-12-15"},
    )
    tokyo = active_tandem(
        app,
        alice,
        dana,
        now=datetime(2027, 1, 2, 9, 0, tzinfo=UTC),
        rhythm=rhythm("weekly", 0, "07:00", "Asia/Tokyo", 60),
        term={"start": "2027-01-04", "end": "2027-04-30"},
    )
    with app.app_context():
        # spring: a cancellation, a move across the change of clocks (28 March), an early end
        march = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
        series_id, number = number_at(spring, at("2027-03-23", "18:00", "Europe/Berlin"))
        meetings.cancel_session(user(bob), series_id, number, "Conference; sorry!", now=march)
        series_id, number = number_at(spring, at("2027-03-30", "18:00", "Europe/Berlin"))
        moved = at("2027-03-31", "19:30", "Europe/Berlin")
        meetings.move_session(user(alice), series_id, number, moved, now=march)
        meetings.end_series(user(alice), spring, date(2027, 5, 11), now=march)
        # autumn: every two weeks in New York's zone, a cancellation and a move, then the end
        september = datetime(2027, 9, 20, 9, 0, tzinfo=UTC)
        series_id, number = number_at(autumn, at("2027-10-27", "08:00", "America/New_York"))
        meetings.cancel_session(user(carol), series_id, number, "Krank.", now=september)
        series_id, number = number_at(autumn, at("2027-11-10", "08:00", "America/New_York"))
        moved = at("2027-11-11", "08:30", "America/New_York")
        meetings.move_session(user(alice), series_id, number, moved, now=september)
        tandems.end_early(
            user(carol), autumn, "circumstances", now=datetime(2027, 11, 20, 9, 0, tzinfo=UTC)
        )
        # Tokyo: from 15 February every two weeks on Fridays, 19:00 in Berlin
        february = datetime(2027, 2, 10, 9, 0, tzinfo=UTC)
        meetings.change_series(
            user(dana),
            tokyo,
            date(2027, 2, 15),
            meetings.rhythm_fields("biweekly", "4", "19:00", "Europe/Berlin", "60"),
            now=february,
        )
        db.session.remove()
    return {"spring": spring, "autumn": autumn, "tokyo": tokyo}


SHOWN = re.compile(
    r'<li class="">\s*<a href="/sessions/(\d+)/\d+"><time datetime="([^"]+)">[^<]*</time>'
    r'–<time datetime="([^"]+)">'
)


def shown(client, tandem_id: int, host: str = "peerhub.test") -> set[Instance]:
    """The sessions a tandem's page lists as taking place, as (uid, UTC start, UTC end)."""
    page = client.get(f"/tandems/{tandem_id}/sessions")
    assert page.status_code == 200
    found = set()
    for series_id, start, end in SHOWN.findall(page.get_data(as_text=True)):
        found.add(
            (
                f"series-{series_id}@{host}",
                datetime.fromisoformat(start).astimezone(UTC),
                datetime.fromisoformat(end).astimezone(UTC),
            )
        )
    return found


def feed_of(client) -> bytes:
    """The signed-in member's feed, fetched through its secret URL."""
    page = client.post("/settings/calendar")
    assert page.status_code == 200
    url = re.search(r">https://peerhub\.test(/calendar/[^<]+\.ics)<", page.get_data(as_text=True))
    response = client.get(url[1])
    assert response.status_code == 200
    return response.data


@pytest.fixture
def alice_sees(client, auth, alice, community):
    """What Alice's pages list and her feed."""
    auth.login(alice)
    expected = set().union(*(shown(client, tandem) for tandem in community.values()))
    return expected, feed_of(client)


def test_the_scenario_is_what_it_claims(alice_sees, community):
    expected, raw = alice_sees
    starts = {start for _uid, start, _end in expected}
    # the cancelled sessions are not listed, the moved ones at their new time
    assert at("2027-03-23", "18:00", "Europe/Berlin") not in starts
    assert at("2027-03-30", "18:00", "Europe/Berlin") not in starts
    assert at("2027-03-31", "19:30", "Europe/Berlin") in starts
    assert at("2027-10-27", "08:00", "America/New_York") not in starts
    assert at("2027-11-11", "08:30", "America/New_York") in starts
    # the early ends: nothing after 11 May in spring, nothing after 20 November in autumn
    spring = {
        s
        for uid, s, _e in expected
        if s.astimezone(BERLIN).weekday() == 1 and s.year == 2027 and s.month in (3, 4, 5)
    }
    assert max(spring) == at("2027-05-11", "18:00", "Europe/Berlin")
    assert max(s for s in starts if s.month in (9, 10, 11, 12)) < datetime(2027, 11, 20, tzinfo=UTC)
    # 18:00 in Berlin across the change of clocks: 17:00 UTC before it, 16:00 after
    assert at("2027-03-16", "18:00", "Europe/Berlin").hour == 17
    assert at("2027-04-06", "18:00", "Europe/Berlin").hour == 16
    assert {
        at("2027-03-16", "18:00", "Europe/Berlin"),
        at("2027-04-06", "18:00", "Europe/Berlin"),
    } <= starts
    # four series: spring, autumn, Tokyo until 15 February, Berlin Fridays from then
    assert len({uid for uid, _s, _e in expected}) == 4
    assert b"INTERVAL=2" in raw and raw.count(b"RECURRENCE-ID") == 2 and raw.count(b"EXDATE") == 2
    # Tokyo's Monday 07:00 is Sunday 22:00 UTC: the series' dates are Tokyo's
    assert at("2027-01-04", "07:00", "Asia/Tokyo") in starts


def test_pages_and_both_parsers_see_the_same_sessions(alice_sees):
    expected, raw = alice_sees
    assert lint(raw) == []
    assert interop_problems(raw, expected, *WINDOW) == []


def test_icaljs_reads_the_feed_alike_in_any_zone(alice_sees):
    expected, raw = alice_sees
    runs = [expand_icaljs(raw, *WINDOW, tz) for tz in ("Pacific/Auckland", "America/Sao_Paulo")]
    assert runs[0].instances == runs[1].instances == expected
    assert runs[0].floating == runs[1].floating == []


def test_bob_and_the_download_agree_too(app, client, auth, bob, community, alice_sees):
    expected, _raw = alice_sees
    auth.logout()
    auth.login(bob)
    bobs = shown(client, community["spring"])
    assert bobs == {i for i in expected if i[0] in {uid for uid, _s, _e in bobs}}
    assert interop_problems(feed_of(client), bobs, *WINDOW) == []
    download = client.get(f"/tandems/{community['spring']}/sessions.ics")
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert interop_problems(download.data, bobs, *WINDOW) == []


# Negative controls on the real feed: each mutation must make the check fail ---------------


def _replace(raw: bytes, pattern: bytes, replacement, count: int = 1) -> bytes:
    mutated, made = re.subn(pattern, replacement, raw, count=count)
    assert made, pattern  # no control may be vacuous
    return mutated


def no_vtimezone(raw: bytes) -> bytes:
    return _replace(raw, rb"(?s)BEGIN:VTIMEZONE\r\n.*?END:VTIMEZONE\r\n", b"", count=0)


def local_until(raw: bytes) -> bytes:
    def wall(match: re.Match) -> bytes:
        moment = datetime.strptime(match[1].decode(), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        return b"UNTIL=" + moment.astimezone(BERLIN).strftime("%Y%m%dT%H%M%S").encode()

    return _replace(raw, rb"UNTIL=(\d{8}T\d{6})Z", wall)


def duplicated_exdate(raw: bytes) -> bytes:
    return _replace(raw, rb"(\r\nEXDATE;[^\r]*)", rb"\1\1")


def orphan_recurrence_id(raw: bytes) -> bytes:
    def next_day(match: re.Match) -> bytes:
        moment = datetime.strptime(match[2].decode(), "%Y%m%dT%H%M%S") + timedelta(days=1)
        return match[1] + moment.strftime("%Y%m%dT%H%M%S").encode()

    return _replace(raw, rb"(RECURRENCE-ID;TZID=[^:]+:)(\d{8}T\d{6})", next_day)


def broken_folding(raw: bytes) -> bytes:
    return _replace(raw, rb"\r\n ", b"\r\n")


CONTROLS = {
    "no VTIMEZONE": (no_vtimezone, 5),
    "local UNTIL": (local_until, 12),
    "duplicated EXDATE": (duplicated_exdate, 13),
    "orphan RECURRENCE-ID": (orphan_recurrence_id, 14),
    "broken folding": (broken_folding, 2),
}


@pytest.mark.parametrize("name", sorted(CONTROLS))
def test_each_negative_control_fails_the_check(alice_sees, name):
    expected, raw = alice_sees
    mutate, item = CONTROLS[name]
    mutated = mutate(raw)
    assert mutated != raw
    problems = interop_problems(mutated, expected, *WINDOW)
    assert problems, name
    assert any(p.startswith(f"lint: {item}:") for p in problems), problems


def test_the_parsers_themselves_notice_the_missing_zone_and_the_orphan(alice_sees):
    expected, raw = alice_sees
    floating = expand_icaljs(no_vtimezone(raw), *WINDOW, "Asia/Kolkata")
    assert floating.floating and floating.instances != expected
    orphan = orphan_recurrence_id(raw)
    assert expand_python(orphan, *WINDOW) != expected
    assert expand_icaljs(orphan, *WINDOW, "America/Los_Angeles").instances != expected
