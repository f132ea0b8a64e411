"""The personal calendar feed and the session reminders at scale.

Gives every active tandem the tandems bench made a weekly series (as the agreement in force
would: SERIES_DUE of them meet within the next 24 hours, the others later in the week), and
lives one member in through the services: five series (three tandems, one of which changed
its time three weeks ago, and a group) with 40 changed sessions (cancelled, moved, paused,
attendance and notes), past and to come. Then prints, as `what database: value unit`:

- `feed build`: the feed over HTTP without validators (200, the whole file), and its size;
- `feed state`: `feed_state` alone (the rows and the validators);
- `feed 304`: a revalidation with the ETag, and its throughput beside the throughput of a
  minimal Flask response measured the same way in the same run;
- `reminder tick busy`: `meetings.service.tick` sending the reminders of every session due
  within 24 hours (total and per reminder), and `reminder tick idle`: the tick right after,
  with nothing due (what cron pays every few minutes).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from sqlalchemy import exists, func, insert, select, text

from bench.directory import timed
from peerhub.accounts.models import User
from peerhub.calendar import service as feeds
from peerhub.calendar.feed import feed_state
from peerhub.extensions import db, utcnow
from peerhub.meetings import series as timeline
from peerhub.meetings import service as meetings
from peerhub.meetings.models import Series, SessionRecord, SessionReminder
from peerhub.profiles.availability import local_instant
from peerhub.profiles.seed import seed_members
from peerhub.tandems import service as tandems
from peerhub.tandems.models import Agreement, Tandem

SERIES_DUE = int(os.environ.get("BENCH_SERIES_DUE", "2000"))  # sessions within 24 h
SECONDS = float(os.environ.get("BENCH_THROUGHPUT_SECONDS", "3"))  # per throughput figure
MEMBER_SEED = 2  # the feed's member and partners: seed_members' members of another seed
ZONES = ("Europe/Berlin", "America/New_York", "Asia/Tokyo", "Europe/London")
LIVED = timedelta(days=75)  # the member's tandems became active this long ago
TERM_DAYS = 180
CHANGED = timedelta(days=22)  # tandem A changed its time then, from the next day on

# Each tandem of the member: its rhythm and how many partners it has (the last is a group).
TANDEMS = (
    ({"frequency": "weekly", "weekday": "1", "start": "18:00", "zone": "Europe/Berlin"}, 1),
    ({"frequency": "weekly", "weekday": "0", "start": "08:00", "zone": "America/New_York"}, 1),
    ({"frequency": "weekly", "weekday": "2", "start": "12:30", "zone": "Europe/London"}, 1),
    ({"frequency": "weekly", "weekday": "4", "start": "17:00", "zone": "Europe/Berlin"}, 2),
)
NEW_TIME = ("weekly", 3, "19:30", "Europe/Berlin", 60)  # tandem A from three weeks ago
# Changes per series (A before and after its change, B, C, the group), past and to come;
# B also pauses two sessions to come: 40 changed sessions in all.
QUOTAS = ((6, 0), (2, 6), (4, 3), (4, 4), (5, 4))
PAUSED = 2
PAST_CHANGES = ("cancel", "attend", "move", "late", "absent", "notes")
COMING_CHANGES = ("move", "cancel", "notes", "earlier")
CHANGED_SESSIONS = sum(p + c for p, c in QUOTAS) + PAUSED


def _series_rows(now: datetime) -> int:
    """A weekly series for every active tandem without one: SERIES_DUE meet within the next
    24 hours, the others in two to six days. `next_session_at` is their first session, as
    `series.refresh_next` sets it. Returns how many are due."""
    rows = db.session.execute(
        select(Tandem.id, Agreement.in_force_version)
        .join(Agreement, Agreement.tandem_id == Tandem.id)
        .where(Tandem.state == "active", ~exists().where(Series.tandem_id == Tandem.id))
        .order_by(Tandem.id)
    ).all()
    due = min(SERIES_DUE, len(rows))
    base = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    values = []
    for n, (tandem_id, version) in enumerate(rows):
        if n < due:  # 2 h to 21 h 45 from now
            offset = timedelta(hours=2, minutes=15 * (n % 80))
        else:  # 26 h to about six days from now
            offset = timedelta(hours=26, minutes=15 * ((n * 37) % 480))
        zone = ZONES[n % len(ZONES)]
        local = (base + offset).astimezone(ZoneInfo(zone))
        minute = local.hour * 60 + local.minute
        first = local_instant(local.date(), minute, zone)
        values.append(
            {
                "tandem_id": tandem_id,
                "agreement_version": version or 1,
                "state": "active",
                "interval_weeks": 1,
                "weekday": local.weekday(),
                "start_minute": minute,
                "zone": zone,
                "length_minutes": 90 if n % 3 == 0 else 60,
                "starts_on": local.date(),
                "ends_on": local.date() + timedelta(weeks=12),
                "sequence": 0,
                "created_at": now,
                "updated_at": now,
                "next_session_at": first,
            }
        )
    for start in range(0, len(values), 5000):
        db.session.execute(insert(Series), values[start : start + 5000])
    db.session.commit()
    # The bulk values are what the service would set: check a few.
    sample = db.session.scalars(
        select(Series).where(Series.tandem_id.in_([r[0] for r in rows[:: max(len(rows) // 40, 1)]]))
    ).all()
    for series in sample:
        stored = series.next_session_at
        timeline.refresh_next(series, now)
        assert series.next_session_at == stored, (series.id, stored, series.next_session_at)
    db.session.rollback()
    return due


def _live_in(now: datetime, password_hash: str) -> int:
    """The feed's member: four tandems through the services, changed as the module says.
    Returns the member's id."""
    seed_members(1 + sum(p for _, p in TANDEMS), seed=MEMBER_SEED, password_hash=password_hash)
    people = db.session.scalars(
        select(User).where(User.email.like(f"member-{MEMBER_SEED}-%")).order_by(User.id)
    ).all()
    me, others = people[0], iter(people[1:])
    begun = now - LIVED
    term_start = (begun + timedelta(days=1)).date()
    term = {
        "start": term_start.isoformat(),
        "end": (term_start + timedelta(days=TERM_DAYS)).isoformat(),
    }
    tandem_ids = []
    for rhythm, count in TANDEMS:
        members = [me] + [next(others) for _ in range(count)]
        tandem = tandems.start_tandem([m.id for m in members], now=begun)
        db.session.commit()
        tandem_ids.append(tandem.id)
        for name, data in (("rhythm", {**rhythm, "length": "60"}), ("term", term)):
            version = tandems.agreement_of(db.session.get(Tandem, tandem.id)).version
            tandems.save_section(me, tandem.id, name, data, version, begun)
        version = tandems.agreement_of(db.session.get(Tandem, tandem.id)).version
        for member in members:
            tandems.sign(member, tandem.id, version, member.display_name, True, now=begun)

    first, second = tandem_ids[0], tandem_ids[1]
    changed = now - CHANGED
    from_day = timeline.local_day(changed + timedelta(days=1), NEW_TIME[3])
    meetings.change_series(me, first, from_day, meetings.rhythm_fields(*NEW_TIME), now=changed)
    coming = [
        s
        for s in timeline.timeline(timeline.series_of(second))
        if s.start > now + timedelta(days=2)
    ]
    pause_day = timeline.local_day(coming[5].start, coming[5].series.zone)
    meetings.pause_series(me, second, pause_day, PAUSED, now=now - timedelta(days=2))

    series = [s for t in tandem_ids for s in timeline.series_of(t)]
    assert len(series) == len(QUOTAS), [(s.tandem_id, s.state) for s in series]
    for one, (past, to_come) in zip(series, QUOTAS, strict=True):
        _change(one.id, me, past, to_come, begun, now)
    for one in db.session.scalars(select(Series).where(Series.tandem_id.in_(tandem_ids))):
        timeline.refresh_next(one, now)  # as the ticks since would have left it
    db.session.commit()
    records = db.session.scalar(
        select(func.count())
        .select_from(SessionRecord)
        .join(Series, Series.id == SessionRecord.series_id)
        .where(Series.tandem_id.in_(tandem_ids))
    )
    assert records == CHANGED_SESSIONS, records
    return me.id


def _change(series_id: int, me: User, past: int, to_come: int, begun: datetime, now: datetime):
    """`past` changes to sessions held and `to_come` to sessions still to come, each made
    at a moment that fits it (a cancellation days before, notes after the session)."""
    one = db.session.get(Series, series_id)
    tandem = db.session.get(Tandem, one.tandem_id)
    partner_id = next(uid for uid in tandem.member_ids() if uid != me.id)
    sessions = [s for s in timeline.timeline([one]) if not s.cancelled]
    held = [s for s in sessions if begun + timedelta(days=4) < s.start < now - timedelta(hours=3)]
    ahead = [s for s in sessions if s.start > now + timedelta(days=2)]
    assert len(held) >= past and len(ahead) >= to_come, (series_id, len(held), len(ahead))
    plan = [(s, PAST_CHANGES[n % len(PAST_CHANGES)]) for n, s in enumerate(held[:past])]
    plan += [(s, COMING_CHANGES[n % len(COMING_CHANGES)]) for n, s in enumerate(ahead[:to_come])]
    for n, (session, kind) in enumerate(plan):
        actor = me if n % 2 == 0 else db.session.get(User, partner_id)
        number, start = session.number, session.occurrence.start
        notes = {"update": "Viel los diese Woche.", "topic": "Prioritäten", "next_steps": "Plan"}
        if kind == "cancel":
            early = start - timedelta(days=3)
            meetings.cancel_session(actor, series_id, number, "Krank", now=early)
        elif kind == "late":
            late = start - timedelta(hours=2)
            meetings.cancel_session(actor, series_id, number, "Zug fällt aus", now=late)
        elif kind in ("attend", "absent"):
            absent = [partner_id if actor is me else me.id] if kind == "absent" else []
            after = start + timedelta(minutes=75)
            meetings.record_attendance(actor, series_id, number, absent, now=after)
            if kind == "attend":
                after += timedelta(hours=1)
                meetings.save_notes(actor, series_id, number, notes, 0, now=after)
        elif kind == "notes":
            when = min(start + timedelta(hours=2), now - timedelta(days=1))
            meetings.save_notes(actor, series_id, number, notes, 0, now=when)
        elif kind == "move":
            when = min(start - timedelta(days=3), now - timedelta(days=1))
            moved = start + timedelta(days=1)
            meetings.move_session(actor, series_id, number, moved, now=when)
        else:  # earlier the same day
            moved = start - timedelta(hours=2)
            meetings.move_session(actor, series_id, number, moved, now=now - timedelta(days=1))


def throughput(call: Callable[[], object], seconds: float = SECONDS) -> float:
    """Calls per second, one after the other for `seconds`, after warming up."""
    for _ in range(10):
        call()
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        call()
        count += 1
    return count / elapsed


def run(
    app: Flask,
    database: str,
    viewer_email: str,
    client: FlaskClient,
    report: Callable[[str, str, list[float]], None],
) -> None:
    now = utcnow()
    start = time.perf_counter()
    with app.app_context(), force_locale("en"):
        password_hash = db.session.scalar(
            select(User.password_hash).where(User.email == viewer_email)
        )
        due = _series_rows(now)
        member_id = _live_in(now, password_hash)
        total = db.session.scalar(select(func.count()).select_from(Series))
        db.session.execute(text("ANALYZE series"))
        db.session.execute(text("ANALYZE session_record"))
        db.session.commit()
        token = feeds.new_token(db.session.get(User, member_id))
    print(f"series seeded {database}: {total} series", flush=True)
    print(f"series due within 24 h {database}: {due} series", flush=True)
    print(f"calendar seeding time {database}: {time.perf_counter() - start:.1f} s", flush=True)

    feed = app.test_client()  # no login: the token is the key
    url = f"/calendar/{token}.ics"

    def build():
        response = feed.get(url)
        assert response.status_code == 200, response.status_code
        return response

    first = build()
    body = first.get_data()
    assert body.startswith(b"BEGIN:VCALENDAR"), body[:40]
    with app.app_context():
        state = feed_state(db.session.get(User, member_id), utcnow())
        changed = sum(len(item.series.records) for item in state.series)
        assert (len(state.series), changed) == (len(QUOTAS), CHANGED_SESSIONS), (
            len(state.series),
            changed,
        )
        db.session.rollback()
    print(f"feed series {database}: {len(state.series)} series", flush=True)
    print(f"feed changed sessions {database}: {changed} sessions", flush=True)
    print(f"feed size {database}: {len(body) / 1024:.1f} KiB", flush=True)
    report("feed build", database, timed(build))

    with app.app_context():

        def validators() -> None:
            feed_state(db.session.get(User, member_id), utcnow())
            db.session.rollback()  # each request has its own transaction

        report("feed state", database, timed(validators))

    etag = first.headers["ETag"]

    def revalidate():
        response = feed.get(url, headers={"If-None-Match": etag})
        assert response.status_code == 304, response.status_code
        assert not response.get_data()

    report("feed 304", database, timed(revalidate, rounds=200))

    minimal = Flask("minimal")

    @minimal.get("/")
    def hello():
        return "ok"

    baseline = minimal.test_client()

    def plain():
        assert baseline.get("/").status_code == 200

    print(f"minimal response throughput {database}: {throughput(plain):.0f} req/s", flush=True)
    print(f"feed 304 throughput {database}: {throughput(revalidate):.0f} req/s", flush=True)

    with app.app_context():
        began = time.perf_counter()
        sent = meetings.tick(now)
        took = time.perf_counter() - began
        sessions = db.session.scalar(
            select(func.count()).select_from(
                select(SessionReminder.series_id, SessionReminder.number).distinct().subquery()
            )
        )
        assert sent >= 2 * due and sessions >= due, (sent, sessions, due)
        print(f"reminder tick busy sessions {database}: {sessions} sessions", flush=True)
        print(f"reminder tick busy reminders {database}: {sent} reminders", flush=True)
        print(f"reminder tick busy total {database}: {took:.2f} s", flush=True)
        print(
            f"reminder tick busy per reminder {database}: {took * 1000 / sent:.2f} ms",
            flush=True,
        )

        def idle() -> None:
            assert meetings.tick(now) == 0
            db.session.rollback()

        report("reminder tick idle", database, timed(idle, rounds=50))
