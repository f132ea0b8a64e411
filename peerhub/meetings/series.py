"""A tandem's sessions on one timeline, and the changes that shape its series.

Reading: `timeline` lays every session of a tandem's series out in order, each with what
happened to it (cancelled, moved) and, in a group, who brings the case and who moderates.
Shaping: a series is ended before a moment (the sessions begun stay), clipped to a term's
end, started anew, or made to follow the agreement in force. Every shaping step raises the
series' SEQUENCE and moves `updated_at`, so calendars see each change; none commits (the
caller's transaction does).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from peerhub.extensions import db
from peerhub.meetings.models import Series, SessionRecord
from peerhub.meetings.occurrences import Occurrence, first_day, occurrences
from peerhub.profiles.availability import local_instant

LIVE = ("active", "ended")  # series with sessions; a cancelled one never met


@dataclass(frozen=True)
class Session:
    """One session: where its series' rule put it, what happened to it, and in a group who
    brings the case and who moderates (those roles rotate over the sessions that happen)."""

    series: Series
    occurrence: Occurrence
    record: SessionRecord | None = None
    case_giver_id: int | None = None
    moderator_id: int | None = None

    @property
    def number(self) -> int:
        return self.occurrence.index

    @property
    def moved(self) -> bool:
        return self.record is not None and self.record.moved

    @property
    def cancelled(self) -> bool:
        return self.record is not None and self.record.cancelled

    @property
    def paused(self) -> bool:
        return self.cancelled and self.record.cancel_kind == "pause"

    @property
    def start(self) -> datetime:
        """When the session takes place (moved, or as planned)."""
        return self.record.moved_start if self.moved else self.occurrence.start

    @property
    def end(self) -> datetime:
        return self.record.moved_end if self.moved else self.occurrence.end

    def begun(self, now: datetime) -> bool:
        return self.start <= now

    @property
    def key(self) -> tuple[int, int]:
        return (self.series.id, self.number)


def series_of(tandem_id: int) -> list[Series]:
    """A tandem's series in order, each with its session records loaded in the same read.

    Always read afresh: a change that waited for the tandem's lock must see what the change
    before it wrote, not what this session read earlier (PostgreSQL, READ COMMITTED)."""
    query = (
        select(Series)
        .where(Series.tandem_id == tandem_id)
        .options(selectinload(Series.records))
        .execution_options(populate_existing=True)
    )
    return list(db.session.scalars(query.order_by(Series.starts_on, Series.id)))


def timeline(series: Iterable[Series], member_ids: Sequence[int] = ()) -> list[Session]:
    """Every session of the series (cancelled ones included), in the order they happen.

    With three or more members, the session that takes place is a turn: one brings the case
    and the next one moderates, one step per session held, across changes of rhythm.
    """
    sessions: list[Session] = []
    for one in series:
        if one.state not in LIVE:
            continue
        records = {record.number: record for record in one.records}
        for occurrence in occurrences(one):
            sessions.append(Session(one, occurrence, records.get(occurrence.index)))
    sessions.sort(key=lambda s: (s.occurrence.start, s.series.id))
    if len(member_ids) < 3:
        return sessions
    out, turn, ids = [], 0, list(member_ids)
    for session in sessions:
        if session.cancelled:
            out.append(session)
            continue
        case, moderator = ids[turn % len(ids)], ids[(turn + 1) % len(ids)]
        out.append(Session(session.series, session.occurrence, session.record, case, moderator))
        turn += 1
    return out


def upcoming(
    sessions: Iterable[Session],
    now: datetime,
    limit: int | None = None,
    cancelled: bool = False,
) -> list[Session]:
    """The sessions not yet over, soonest first (cancelled ones only when asked)."""
    out = [s for s in sessions if s.end > now and (cancelled or not s.cancelled)]
    out.sort(key=lambda s: s.start)
    return out[:limit] if limit is not None else out


def next_sessions(tandem, now: datetime, limit: int = 4) -> list[Session]:
    """The next sessions of a tandem that will take place."""
    return upcoming(timeline(series_of(tandem.id), tandem.member_ids()), now, limit)


# --- shaping -------------------------------------------------------------------------------


def local_day(moment: datetime, zone: str) -> date:
    """The date of an instant on the wall calendar of `zone`."""
    return moment.astimezone(ZoneInfo(zone)).date()


def midnight(day: date, zone: str) -> datetime:
    """The first instant of a local day (UTC)."""
    return local_instant(day, 0, zone)


def touch(series: Series, now: datetime, actor_id: int | None = None) -> None:
    """Record a change calendars must see: SEQUENCE up, LAST-MODIFIED now."""
    series.sequence += 1
    # LAST-MODIFIED always moves forward, by at least the second HTTP dates can tell apart.
    series.updated_at = max(now, series.updated_at + timedelta(seconds=1))
    series.changed_by_id = actor_id
    refresh_next(series, now)


def refresh_next(series: Series, now: datetime) -> None:
    """Point the reminders at the next session of the series that takes place."""
    coming = upcoming(timeline([series]), now)
    series.next_session_at = next((s.start for s in coming if s.start > now), None)


def end_before(series: Series, moment: datetime, now: datetime, actor_id: int | None) -> bool:
    """End the series so that no session starting at or after `moment` is left (those begun
    by `now` always stay). A series left without any session is cancelled. Returns whether
    anything changed."""
    if series.state == "cancelled":
        return False
    boundary = max(moment, now)
    kept = [s for s in timeline([series]) if s.start < boundary]
    every = list(occurrences(series))
    if len(kept) == len(every):
        return False  # nothing at or after the moment
    if not kept:
        series.state = "cancelled"
    else:
        series.state = "ended"
        series.ends_on = max(series.starts_on, local_day(kept[-1].occurrence.start, series.zone))
    touch(series, now, actor_id)
    return True


def clip(series: Series, last_day: date, now: datetime, actor_id: int | None) -> bool:
    """No session of the series after the local day `last_day` (those begun stay)."""
    if series.state == "cancelled" or series.ends_on <= last_day:
        return False
    return end_before(series, midnight(last_day + timedelta(days=1), series.zone), now, actor_id)


def rhythm_of(content: dict[str, Any]) -> dict[str, Any]:
    """The series' fields an agreement's rhythm section asks for."""
    rhythm = content["rhythm"]
    hours, minutes = rhythm["start"].split(":")
    return {
        "interval_weeks": 2 if rhythm["frequency"] == "biweekly" else 1,
        "weekday": rhythm["weekday"],
        "start_minute": int(hours) * 60 + int(minutes),
        "zone": rhythm["zone"],
        "length_minutes": rhythm["length"],
    }


def same_rhythm(series: Series, wanted: dict[str, Any]) -> bool:
    return all(getattr(series, key) == value for key, value in wanted.items())


def first_begin(start: date, wanted: dict[str, Any], now: datetime) -> date:
    """The first local day, from `start` on, whose session in this rhythm is still to come."""
    begin = max(start, local_day(now, wanted["zone"]))
    first = first_day(begin, wanted["weekday"])
    if local_instant(first, wanted["start_minute"], wanted["zone"]) <= now:
        begin = first + timedelta(days=1)
    return begin


def start_series(
    tandem_id: int,
    version: int,
    begin: date,
    end: date,
    wanted: dict[str, Any],
    now: datetime,
    actor_id: int | None = None,
) -> Series | None:
    """A new series from `begin` to `end` (None when no session fits in between)."""
    if first_day(begin, wanted["weekday"]) > end:
        return None
    series = Series(
        tandem_id=tandem_id,
        agreement_version=version,
        state="active",  # set now, not at the flush: refresh_next reads it below
        sequence=0,
        starts_on=begin,
        ends_on=end,
        created_at=now,
        updated_at=now,
        changed_by_id=actor_id,
        **wanted,
    )
    db.session.add(series)
    refresh_next(series, now)
    return series


def follow_agreement(
    tandem_id: int,
    version: int,
    content: dict[str, Any],
    previous: dict[str, Any] | None,
    now: datetime,
) -> None:
    """Make the series follow an agreement version that came into force.

    Rhythm and term unchanged: nothing moves. The term alone changed: the running series
    keeps its time (a member may have moved it) and ends with the new term. A new rhythm, or
    no running series left: every session not yet begun gives way to a new series from the
    next session on (the past stays as it was).
    """
    from peerhub.tandems.agreement import term_dates

    start, end = term_dates(content)
    wanted = rhythm_of(content)
    series = [s for s in series_of(tandem_id) if s.state in LIVE]
    running = next((s for s in series if s.state == "active"), None)
    if running is not None:
        running.agreement_version = version
    rhythm_changed = previous is None or previous["rhythm"] != content["rhythm"]
    term_changed = previous is None or previous["term"] != content["term"]
    if not (rhythm_changed or term_changed):
        return
    begin = first_begin(start, wanted, now)
    if running is not None and (not rhythm_changed or same_rhythm(running, wanted)):
        start_moved = previous is not None and previous["term"]["start"] != content["term"]["start"]
        nothing_held = not any(s.begun(now) for s in timeline([running]))
        if start_moved and nothing_held and running.starts_on != begin:
            running.starts_on = min(begin, running.ends_on)
            touch(running, now)
        for other in series:
            if other is not running:
                clip(other, end, now, None)
        if end < running.ends_on:
            clip(running, end, now, None)
            if running.state == "ended":
                running.state = "active"  # clipped to the term, it still follows it
        elif end > running.ends_on:
            running.ends_on = end
            touch(running, now)
        return
    for other in series:
        end_before(other, now, now, None)
    start_series(tandem_id, version, begin, end, wanted, now)


def end_all(tandem_id: int, now: datetime, actor_id: int | None = None) -> None:
    """No session of the tandem after now (ending the tandem): the past stays."""
    for series in series_of(tandem_id):
        end_before(series, now, now, actor_id)


def window(day: date, zone: str) -> tuple[datetime, datetime]:
    """A local day as a UTC interval."""
    return midnight(day, zone), midnight(day + timedelta(days=1), zone)


def clock(minute: int) -> time:
    return time(minute // 60, minute % 60)
