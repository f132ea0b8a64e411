"""Expanding a calendar file with recurring-ical-events and ical.js, and comparing the two.

CALENDAR.md ("How we prove it"): the occurrences PeerHub shows, the occurrences Python's
recurring-ical-events expands and the occurrences Mozilla's ical.js (Thunderbird's parser,
run with node) expands must be the same UTC instants; ical.js runs under two TZ values and
must not notice, which proves the embedded VTIMEZONEs are used.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import icalendar
import recurring_ical_events

from peerhub.calendar.lint import lint

Instance = tuple[str, datetime, datetime]  # uid, UTC start, UTC end (aware, in UTC)

ICALJS_ZONES = ("America/Los_Angeles", "Asia/Kolkata")
SCRIPT = Path(__file__).with_name("icaljs_expand.mjs")
ICALJS_PACKAGE = Path(__file__).parents[2] / ".cache/icaljs/node_modules/ical.js/package.json"
NODE_TIMEOUT = 60  # seconds; one expansion takes well under one
SHOWN = 3  # instants named per difference message


class ParserUnavailable(RuntimeError):
    """Node or the ical.js package is not installed."""


class ParserFailed(RuntimeError):
    """A parser rejected the file or could not expand it."""


@dataclass
class IcalJsResult:
    """What ical.js expanded: the instances and the times it could only read as floating."""

    instances: set[Instance] = field(default_factory=set)
    floating: list[str] = field(default_factory=list)


def expand_python(raw: bytes, start: datetime, end: datetime) -> set[Instance]:
    """The non-cancelled occurrences recurring-ical-events finds between start and end."""
    calendar = icalendar.Calendar.from_ical(raw)
    found: set[Instance] = set()
    for event in recurring_ical_events.of(calendar).between(start, end):
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        uid = str(event.get("UID"))
        found.add((uid, _utc(event.get("DTSTART"), uid), _utc(event.get("DTEND"), uid)))
    return found


def icalendar_errors(raw: bytes) -> list[str]:
    """The content lines icalendar skipped as unreadable (it records them instead of raising)."""
    calendar = icalendar.Calendar.from_ical(raw)
    return [
        f"{component.name}: {message}"
        for component in calendar.walk()
        for _, message in component.errors
    ]


def expand_icaljs(raw: bytes, start: datetime, end: datetime, tz: str) -> IcalJsResult:
    """The non-cancelled occurrences ical.js finds between start and end, run under TZ=tz."""
    node = shutil.which("node")
    if node is None:
        raise ParserUnavailable("node is not installed; `make test` sets up the test tools")
    if not ICALJS_PACKAGE.is_file():
        raise ParserUnavailable(
            f"ical.js is not installed at {ICALJS_PACKAGE.parent}; run `make test` "
            "(or `make setup-test`), which installs it"
        )
    with tempfile.TemporaryDirectory(prefix="peerhub-icaljs-") as folder:
        path = Path(folder) / "calendar.ics"
        path.write_bytes(raw)
        completed = subprocess.run(
            [node, str(SCRIPT), str(path), _iso(start), _iso(end)],
            capture_output=True,
            text=True,
            timeout=NODE_TIMEOUT,
            check=False,
            env={**os.environ, "TZ": tz},
        )
    if completed.returncode != 0:
        raise ParserFailed(completed.stderr.strip() or f"node exited {completed.returncode}")
    output = json.loads(completed.stdout)
    return IcalJsResult(
        {
            (item["uid"], _from_iso(item["start"]), _from_iso(item["end"]))
            for item in output["instances"]
        },
        list(output["floating"]),
    )


def interop_problems(
    raw: bytes, expected: set[Instance], start: datetime, end: datetime
) -> list[str]:
    """Everything on which the lint, recurring-ical-events and ical.js disagree with expected."""
    problems = [f"lint: {problem}" for problem in lint(raw)]
    try:
        python = expand_python(raw, start, end)
    except Exception as error:  # a damaged file may break the parser in any way
        problems.append(f"recurring-ical-events failed: {type(error).__name__}: {error}")
    else:
        problems += _differences("recurring-ical-events", expected, python)
        problems += [f"icalendar: {error}" for error in icalendar_errors(raw)[:SHOWN]]

    runs: dict[str, set[Instance]] = {}
    for tz in ICALJS_ZONES:
        label = f"ical.js (TZ={tz})"
        try:
            result = expand_icaljs(raw, start, end, tz)  # ParserUnavailable goes up
        except (ParserFailed, subprocess.TimeoutExpired, ValueError, KeyError) as error:
            problems.append(f"{label} failed: {type(error).__name__}: {error}")
            continue
        runs[tz] = result.instances
        problems += _differences(label, expected, result.instances)
        if result.floating:
            problems.append(
                f"{label} read {len(result.floating)} floating time(s): "
                + ", ".join(result.floating[:SHOWN])
            )
    if len(runs) == len(ICALJS_ZONES):
        first, second = (runs[tz] for tz in ICALJS_ZONES)
        if first != second:
            problems += _differences(
                f"ical.js under TZ={ICALJS_ZONES[1]} against TZ={ICALJS_ZONES[0]}", first, second
            )
    return problems


def _differences(label: str, wanted: set[Instance], found: set[Instance]) -> list[str]:
    """Messages naming the instants missing from `found` and the extra ones in it."""
    messages = []
    for what, instances in (("misses", wanted - found), ("adds", found - wanted)):
        if instances:
            shown = ", ".join(_show(instance) for instance in sorted(instances)[:SHOWN])
            more = f" and {len(instances) - SHOWN} more" if len(instances) > SHOWN else ""
            messages.append(f"{label} {what} {len(instances)}: {shown}{more}")
    return messages


def _show(instance: Instance) -> str:
    """An instance in a few characters: uid@start–end."""
    uid, begins, ends = instance
    return f"{uid}@{begins:%Y-%m-%dT%H:%MZ}–{ends:%H:%MZ}"


def _utc(prop: object, uid: str) -> datetime:
    """An icalendar date-time property as an aware UTC datetime (no floating, no dates)."""
    value = getattr(prop, "dt", prop)
    if not isinstance(value, datetime):
        kind = "an all-day date" if isinstance(value, date) else f"{value!r}"
        raise ParserFailed(f"{uid} has {kind} where a date-time belongs")
    if value.tzinfo is None:
        raise ParserFailed(f"{uid} has a floating time {value.isoformat()}")
    return value.astimezone(UTC)


def _iso(moment: datetime) -> str:
    """An aware datetime as ISO 8601 in UTC, e.g. 2025-03-01T00:00:00Z."""
    if moment.tzinfo is None:
        raise ValueError("window bounds must be aware datetimes")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _from_iso(text: str) -> datetime:
    """A ...Z timestamp from the node script as an aware UTC datetime."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
