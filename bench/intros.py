"""Intro calls at scale: the pages a member opens, free-time offers, and the tick.

Adds REQUESTS intro requests among the seeded members (open and closed, within the rules:
one open request per pair, at most five per sender), then times the request page, the
list, the home page with its overview, the request form with its offered times, and
`tick` — once with nothing due (what cron pays every few minutes) and once expiring
DUE requests.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert, select, update

from bench.directory import timed
from peerhub.accounts.models import User
from peerhub.extensions import db, utcnow
from peerhub.intros import service
from peerhub.intros.models import IntroRequest, IntroSlot
from peerhub.matching.models import pair_key

REQUESTS = int(os.environ.get("BENCH_INTRO_REQUESTS", "60000"))
DUE = int(os.environ.get("BENCH_INTRO_DUE", "2000"))
CLOSED = ("declined", "withdrawn", "expired", "not_a_fit", "cancelled", "continued")


def _rows(member_ids: list[int], viewer_id: int, count: int) -> list[dict]:
    """Requests: each sender asks the next members along, three open and three closed."""
    now = utcnow()
    rows: list[dict] = []
    per_sender = 6
    for n, requester in enumerate(member_ids):
        if len(rows) >= count:
            break
        for k in range(1, per_sender + 1):
            recipient = member_ids[(n + k) % len(member_ids)]
            if recipient == requester:
                continue
            low, high = pair_key(requester, recipient)
            open_ = k <= 3
            state = ("pending" if k != 3 else "scheduled") if open_ else CLOSED[(n + k) % 6]
            created = now - timedelta(days=(n % 6) + 1, minutes=k)
            rows.append(
                {
                    "requester_id": requester,
                    "recipient_id": recipient,
                    "low_id": low,
                    "high_id": high,
                    "state": state,
                    "source": "suggestion",
                    "sender_slot": k if open_ else 1,
                    "message": "Hallo! Hast du Lust auf ein kurzes Kennenlernen?",
                    "length_minutes": 30,
                    "mode": "video",
                    "place": "",
                    "turn_id": recipient if state == "pending" else None,
                    "awaiting_since": created,
                    # reminded already: the idle tick below finds nothing due
                    "reminded_at": created if state == "pending" else None,
                    "slot_round": 1,
                    "scheduled_start": now + timedelta(days=2, hours=k)
                    if state == "scheduled"
                    else None,
                    "scheduled_end": now + timedelta(days=2, hours=k, minutes=30)
                    if state == "scheduled"
                    else None,
                    "closed_at": created if not open_ else None,
                    "created_at": created,
                    "updated_at": created,
                    "sequence": 0,
                }
            )
    return rows


def seed(app: Flask, viewer_id: int) -> None:
    with app.app_context():
        # pairs of neighbours never repeat (a pair key (i, i+k) is made once), so the
        # partial unique index on open pairs holds; the viewer's neighbours include the viewer.
        ids = db.session.scalars(
            select(User.id).where(User.id >= viewer_id).order_by(User.id)
        ).all()
        rows = _rows(list(ids), viewer_id, REQUESTS)
        for start in range(0, len(rows), 5000):
            db.session.execute(insert(IntroRequest), rows[start : start + 5000])
        db.session.commit()
        request_ids = db.session.execute(
            select(IntroRequest.id, IntroRequest.requester_id, IntroRequest.created_at)
        ).all()
        slots = [
            {
                "request_id": rid,
                "round": 1,
                "proposed_by_id": requester,
                "start": created + timedelta(days=day),
                "end": created + timedelta(days=day, minutes=30),
            }
            for rid, requester, created in request_ids
            for day in (2, 3)
        ]
        for start in range(0, len(slots), 10000):
            db.session.execute(insert(IntroSlot), slots[start : start + 10000])
        db.session.commit()


def run(
    app: Flask,
    database: str,
    viewer_email: str,
    client: FlaskClient,
    report: Callable[[str, str, list[float]], None],
) -> None:
    with app.app_context():
        viewer = db.session.scalar(select(User).where(User.email == viewer_email))
        viewer_id = viewer.id
    start = time.perf_counter()
    seed(app, viewer_id)
    with app.app_context():
        total = db.session.scalar(select(db.func.count()).select_from(IntroRequest))
        mine = db.session.scalar(
            select(IntroRequest.id)
            .where(IntroRequest.requester_id == viewer_id, IntroRequest.state == "pending")
            .limit(1)
        )
        other = db.session.scalar(select(IntroRequest.recipient_id).where(IntroRequest.id == mine))
        stranger = db.session.scalar(
            select(User.id).where(User.id > viewer_id + 50).order_by(User.id).limit(1)
        )
    print(f"intro requests seeded {database}: {total} requests", flush=True)
    print(f"intro seeding time {database}: {time.perf_counter() - start:.1f} s", flush=True)

    report("member home with intro calls", database, timed(lambda: client.get("/")))
    report("intro list page", database, timed(lambda: client.get("/intros")))
    assert client.get(f"/intros/{mine}").status_code == 200
    report("intro request page", database, timed(lambda: client.get(f"/intros/{mine}")))
    form = client.get(f"/members/{stranger}/intro")
    assert form.status_code == 200, form.status_code
    report("intro request form", database, timed(lambda: client.get(f"/members/{stranger}/intro")))

    with app.app_context():
        me, them = db.session.get(User, viewer_id), db.session.get(User, other)

        def offer() -> None:
            service.offered_times(me, them, 30)
            db.session.rollback()

        report("offered times service", database, timed(offer))

        def idle_tick() -> None:
            service.tick()
            db.session.rollback()

        report("tick with nothing due", database, timed(idle_tick, rounds=50))

        due = db.session.scalars(
            select(IntroRequest.id).where(IntroRequest.state == "pending").limit(DUE)
        ).all()
        db.session.execute(
            update(IntroRequest)
            .where(IntroRequest.id.in_(due))
            .values(awaiting_since=utcnow() - timedelta(days=8))
        )
        db.session.commit()
        began = time.perf_counter()
        result = service.tick()
        took = time.perf_counter() - began
        print(f"tick expiring {database}: {result.expired} requests", flush=True)
        print(f"tick expiring time {database}: {took:.2f} s", flush=True)
        print(
            f"tick per expired request {database}: {took * 1000 / max(result.expired, 1):.2f} ms",
            flush=True,
        )
