"""Tandems at scale: the tandem page, the agreement page, a section save and the home page of
a member whose tandems are among TANDEMS others (each with a signed first version).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import date, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert, select

from bench.directory import timed
from peerhub.accounts.models import User
from peerhub.extensions import db, utcnow
from peerhub.tandems import agreement as texts
from peerhub.tandems.models import Agreement, AgreementVersion, Signature, Tandem, TandemMember

TANDEMS = int(os.environ.get("BENCH_TANDEMS", "20000"))


def seed(app: Flask, viewer_id: int) -> int:
    """Pairs of neighbouring members (the viewer among them) in active tandems with one
    signed version each; returns the viewer's tandem."""
    now = utcnow()
    content = texts.defaults(
        "de",
        ["Zwei Vormittage pro Woche für konzentrierte Arbeit"],
        {
            "frequency": "weekly",
            "weekday": 1,
            "start": "18:00",
            "zone": "Europe/Berlin",
            "length": 60,
        },
        {"mode": "video", "detail": "Jitsi"},
        date.today(),
    )
    canonical, digest = texts.canonical(content), texts.content_hash(content)
    with app.app_context():
        ids = db.session.scalars(
            select(User.id).where(User.id >= viewer_id).order_by(User.id).limit(TANDEMS * 2)
        ).all()
        pairs = [(ids[i], ids[i + 1]) for i in range(0, len(ids) - 1, 2)]
        db.session.execute(
            insert(Tandem),
            [
                {"state": "active", "created_at": now, "updated_at": now, "activated_at": now}
                for _ in pairs
            ],
        )
        tandem_ids = db.session.scalars(select(Tandem.id).order_by(Tandem.id)).all()[-len(pairs) :]
        db.session.execute(
            insert(TandemMember),
            [
                {"tandem_id": t, "user_id": uid, "position": n, "joined_at": now}
                for t, pair in zip(tandem_ids, pairs, strict=True)
                for n, uid in enumerate(pair)
            ],
        )
        db.session.execute(
            insert(Agreement),
            [
                {
                    "tandem_id": t,
                    "version": 1,
                    "in_force_version": 1,
                    "content": content,
                    "updated_at": now,
                }
                for t in tandem_ids
            ],
        )
        agreements = dict(db.session.execute(select(Agreement.tandem_id, Agreement.id)).all())
        db.session.execute(
            insert(AgreementVersion),
            [
                {
                    "agreement_id": agreements[t],
                    "number": 1,
                    "canonical": canonical,
                    "content_hash": digest,
                    "created_at": now - timedelta(days=1),
                }
                for t in tandem_ids
            ],
        )
        db.session.execute(
            insert(Signature),
            [
                {
                    "agreement_id": agreements[t],
                    "version": 1,
                    "user_id": uid,
                    "typed_name": "Bench",
                    "content_hash": digest,
                    "signed_at": now,
                }
                for t, pair in zip(tandem_ids, pairs, strict=True)
                for uid in pair
            ],
        )
        db.session.commit()
        return tandem_ids[0]


def run(
    app: Flask,
    database: str,
    viewer_email: str,
    client: FlaskClient,
    report: Callable[[str, str, list[float]], None],
) -> None:
    with app.app_context():
        viewer_id = db.session.scalar(select(User.id).where(User.email == viewer_email))
    start = time.perf_counter()
    tandem_id = seed(app, viewer_id)
    print(f"tandems seeded {database}: {TANDEMS} tandems", flush=True)
    print(f"tandem seeding time {database}: {time.perf_counter() - start:.1f} s", flush=True)
    assert client.get(f"/tandems/{tandem_id}").status_code == 200
    report("tandem page", database, timed(lambda: client.get(f"/tandems/{tandem_id}")))
    report("agreement page", database, timed(lambda: client.get(f"/tandems/{tandem_id}/agreement")))
    report("member home with tandems", database, timed(lambda: client.get("/")))
    texts_seen = iter(range(10**9))

    def save() -> None:
        with app.app_context():
            version = db.session.scalar(
                select(Agreement.version).where(Agreement.tandem_id == tandem_id)
            )
        response = client.post(
            f"/tandems/{tandem_id}/agreement/rules",
            data={"base": version, "text": f"Wir lassen einander ausreden. ({next(texts_seen)})"},
        )
        assert response.status_code == 303, response.status_code

    report("agreement section save", database, timed(save, rounds=50))
