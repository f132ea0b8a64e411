"""Community figures at scale: the moderators' figures page and its CSV download.

Seeds, beside what the other benches made (the members with their sign-up and onboarding
times spread over the past, the intro requests, the active tandems and their series to
come), half a year of lived sessions: for every active tandem without one, a weekly series
that ran from PAST_WEEKS weeks ago until yesterday (so it ended), with CANCELLED of its
sessions cancelled. The figures then lay out every session of the period from those series.

Then prints, as `what database: value unit`:

- `figures sessions in period` and `figures series read`: what the page computes from;
- `figures compute`: `community_figures` alone (the queries and the sessions' timeline);
- `figures page` (GET /moderation/figures) and `figures csv` (GET /moderation/figures.csv)
  as a moderator, with the statements each request runs.

The viewer is made a moderator for the while (and a member again after). The size comes
from BENCH_FIGURES_SERIES (default 20000 series at most).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from sqlalchemy import exists, func, insert, select, text, update

from bench.reflection import page
from peerhub.accounts.models import User
from peerhub.extensions import db, utcnow
from peerhub.meetings.models import Series, SessionRecord
from peerhub.meetings.occurrences import occurrences
from peerhub.moderation import figures
from peerhub.tandems.models import Tandem

SERIES = int(os.environ.get("BENCH_FIGURES_SERIES", "20000"))
PAST_WEEKS = 26
CANCELLED = (3, 11, 19)  # the numbers of the sessions each past series cancelled
ZONES = ("Europe/Berlin", "America/New_York", "Asia/Tokyo", "Europe/London")
BATCH = 5000


def _past_series(now: datetime) -> tuple[int, int]:
    """A weekly series that ended yesterday for every active tandem without an ended one
    (at most SERIES), with CANCELLED sessions each. Returns (series, cancelled records)."""
    tandem_ids = db.session.scalars(
        select(Tandem.id)
        .where(
            Tandem.state == "active",
            ~exists().where(Series.tandem_id == Tandem.id, Series.state == "ended"),
        )
        .order_by(Tandem.id)
        .limit(SERIES)
    ).all()
    today = now.date()
    rows = []
    for n, tandem_id in enumerate(tandem_ids):
        rows.append(
            {
                "tandem_id": tandem_id,
                "agreement_version": 1,
                "state": "ended",
                "interval_weeks": 1,
                "weekday": n % 5,
                "start_minute": 17 * 60 + 30 * (n % 6),
                "zone": ZONES[n % len(ZONES)],
                "length_minutes": 90 if n % 3 == 0 else 60,
                "starts_on": today - timedelta(weeks=PAST_WEEKS),
                "ends_on": today - timedelta(days=1),
                "sequence": 1,
                "created_at": now - timedelta(weeks=PAST_WEEKS + 1),
                "updated_at": now - timedelta(days=1),
                "next_session_at": None,
            }
        )
    for start in range(0, len(rows), BATCH):
        db.session.execute(insert(Series), rows[start : start + BATCH])
    db.session.commit()
    made = db.session.scalars(
        select(Series).where(Series.tandem_id.in_(tandem_ids), Series.state == "ended")
    ).all()
    records = []
    for series in made:
        planned = {o.index: o.start for o in occurrences(series)}
        for number in CANCELLED:
            if number in planned:
                moment = planned[number] - timedelta(days=2)
                records.append(
                    {
                        "series_id": series.id,
                        "number": number,
                        "planned_start": planned[number],
                        "state": "cancelled",
                        "cancel_kind": "single",
                        "cancel_reason": "Krank, sorry.",
                        "cancelled_at": moment,
                        "late": False,
                        "notes": {},
                        "notes_version": 0,
                        "created_at": moment,
                        "updated_at": moment,
                    }
                )
    for start in range(0, len(records), BATCH):
        db.session.execute(insert(SessionRecord), records[start : start + BATCH])
    db.session.commit()
    return len(made), len(records)


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
        made, cancelled = _past_series(now)
        for table in ("series", "session_record", "tandem", "tandem_member", "intro_request"):
            db.session.execute(text(f"ANALYZE {table}"))
        db.session.commit()
        period = figures.weeks_until(now)[0].begins
        read = db.session.scalar(
            select(func.count())
            .select_from(Series)
            .where(
                Series.state.in_(("active", "ended")),
                Series.ends_on >= period.date() - timedelta(days=1),
                Series.starts_on <= now.date() + timedelta(days=1),
            )
        )
        began = time.perf_counter()
        result = figures.community_figures(now=now)
        took = time.perf_counter() - began
        total = result.total
        db.session.execute(update(User).where(User.email == viewer_email).values(role="moderator"))
        db.session.commit()
    print(f"figures past series seeded {database}: {made} series", flush=True)
    print(f"figures cancelled sessions seeded {database}: {cancelled} sessions", flush=True)
    print(f"figures seeding time {database}: {time.perf_counter() - start:.1f} s", flush=True)
    print(f"figures series read {database}: {read} series", flush=True)
    sessions = total.sessions_held + total.sessions_cancelled
    print(f"figures sessions in period {database}: {sessions} sessions", flush=True)
    print(f"figures members {database}: {total.members} members", flush=True)
    print(f"figures active tandems {database}: {total.active_tandems} tandems", flush=True)
    print(f"figures intro requests sent {database}: {total.intros_sent} requests", flush=True)
    print(f"figures compute {database}: {took * 1000:.0f} ms", flush=True)
    try:
        page(app, database, client, "figures page", "/moderation/figures", report)
        page(app, database, client, "figures csv", "/moderation/figures.csv", report)
    finally:
        with app.app_context():
            db.session.execute(update(User).where(User.email == viewer_email).values(role="member"))
            db.session.commit()
