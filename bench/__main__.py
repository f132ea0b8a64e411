"""Seed a large community; time the hot pages and the directory beside a minimal Flask response.

Prints one figure per line as `what database: value unit`. Runs on SQLite always and on
PostgreSQL when BENCH_DATABASE_URL (default: the local test database) answers, unless
BENCH_SKIP_POSTGRES=1 (the PostgreSQL run drops that database's schema first).
Set BENCH_MEMBERS to change the community size (default 100000); the members are the
complete, varied profiles `flask seed` makes (peerhub.profiles.seed.seed_members).
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable

from flask import Flask
from sqlalchemy import insert, text

from bench import calendar, directory, figures, intros, matching, reflection, tandems
from peerhub import create_app
from peerhub.accounts.passwords import hash_password
from peerhub.extensions import db, utcnow
from peerhub.notifications.models import Notification
from peerhub.profiles.seed import member_email, seed_members

MEMBERS = int(os.environ.get("BENCH_MEMBERS", "100000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "200"))
PASSWORD = "benchmark password sentence"  # noqa: S105 - seeded bench accounts
SEED = 1
PG_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def timed(call: Callable[[], object], rounds: int = ROUNDS) -> list[float]:
    for _ in range(min(10, rounds)):
        call()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def report(what: str, database: str, samples: list[float]) -> None:
    print(f"{what} p50 {database}: {statistics.median(samples):.2f} ms", flush=True)
    print(f"{what} p95 {database}: {percentile(samples, 95):.2f} ms", flush=True)


def make_app(url: str) -> Flask:
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench-secret-key-bench-secret-key-1234",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "MAIL_DELIVER_INLINE": False,
        }
    )
    logging.getLogger("peerhub.security").disabled = True  # a login per round is no news
    return app


def seed(app: Flask, database: str) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("DROP SCHEMA public CASCADE"))
            db.session.execute(text("CREATE SCHEMA public"))
            db.session.commit()
        upgrade()
        start = time.perf_counter()
        seed_members(MEMBERS, seed=SEED, password_hash=hash_password(PASSWORD))
        now = utcnow()
        ids = db.session.scalars(text("SELECT id FROM user_account ORDER BY id LIMIT 2000")).all()
        notes = [
            {
                "user_id": ids[i % len(ids)],
                "kind": "password_changed",
                "params": {},
                "created_at": now,
            }
            for i in range(20_000)
        ]
        db.session.execute(insert(Notification), notes)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            # A live database is kept vacuumed by autovacuum; right after a bulk load it is
            # not yet, and every index-only scan would visit the table as well.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as raw:
                raw.execute(text("VACUUM ANALYZE"))
        else:
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        print(f"seeded members {database}: {MEMBERS} members", flush=True)
        print(f"seeding time {database}: {time.perf_counter() - start:.1f} s", flush=True)


def run(url: str, database: str) -> None:
    app = make_app(url)
    seed(app, database)

    minimal = Flask("minimal")

    @minimal.get("/")
    def hello():
        return "ok"

    baseline = minimal.test_client()
    report("minimal flask response", database, timed(lambda: baseline.get("/")))

    anonymous = app.test_client()
    report("login page", database, timed(lambda: anonymous.get("/login")))

    member = app.test_client()
    viewer = member_email(SEED, 1)
    response = member.post("/login", data={"email": viewer, "password": PASSWORD})
    assert response.status_code == 303, response.status_code
    report("member home", database, timed(lambda: member.get("/")))
    report("notification bell", database, timed(lambda: member.get("/notifications/bell")))
    report("notification list", database, timed(lambda: member.get("/notifications/")))

    def login_once():
        client = app.test_client()
        email = member_email(SEED, min(77777, MEMBERS))
        client.post("/login", data={"email": email, "password": PASSWORD})

    report("login with argon2id", database, timed(login_once, rounds=max(10, ROUNDS // 10)))
    directory.run(app, database, viewer, member, report)
    matching.suggestions(app, database, member, report)
    intros.run(app, database, viewer, member, report)
    tandems.run(app, database, viewer, member, report)
    matching.round_of(app, database)
    calendar.run(app, database, viewer, member, report)
    reflection.run(app, database, viewer, member, report)
    figures.run(app, database, viewer, member, report)
    with app.app_context():
        db.engine.dispose()


def postgres_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_URL.replace("+psycopg", ""), connect_timeout=2):
            return True
    except Exception:
        return False


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        run(f"sqlite:///{folder}/bench.sqlite3", "sqlite")
    if os.environ.get("BENCH_SKIP_POSTGRES") == "1":
        print("postgres skipped: BENCH_SKIP_POSTGRES=1", file=sys.stderr)
    elif postgres_available():
        run(PG_URL, "postgres")
    else:
        print(f"postgres skipped: {PG_URL} does not answer", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
