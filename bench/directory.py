"""The member directory at scale: search_members with text, filters and both, and its page.

Called by `python -m bench` on a database `seed_members` has filled; prints, per query,
how many members match and the median and p95 time, as `what database: value unit`.
Each figure gets BENCH_DIRECTORY_ROUNDS rounds (default 100) or BENCH_DIRECTORY_SECONDS
(default 20) of timing, whichever ends first, and at least 5 rounds.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from peerhub.accounts.models import User
from peerhub.extensions import db

ROUNDS = int(os.environ.get("BENCH_DIRECTORY_ROUNDS", "100"))
SECONDS = float(os.environ.get("BENCH_DIRECTORY_SECONDS", "20"))
MIN_ROUNDS = 5
TEXT = "zeitmanagement"  # the most popular tag: the most matches to rank
PAGE_URL = f"/members?q={TEXT}&language=de&mode=video"


def queries():
    from peerhub.profiles.search import DirectoryQuery

    return (
        ("text only", DirectoryQuery(text=TEXT)),
        ("filters only", DirectoryQuery(language="de", meeting_mode="video")),
        ("text+2 filters", DirectoryQuery(text=TEXT, language="de", meeting_mode="video")),
    )


def timed(
    call: Callable[[], object], rounds: int = ROUNDS, seconds: float = SECONDS
) -> list[float]:
    """Milliseconds per call, after warming up; stops early when `seconds` are spent."""
    warm_until = time.perf_counter() + 1
    for _ in range(3):
        call()
        if time.perf_counter() > warm_until:
            break
    samples: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(samples) < rounds and (len(samples) < MIN_ROUNDS or time.perf_counter() < deadline):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def run(
    app: Flask,
    database: str,
    viewer_email: str,
    client: FlaskClient,
    report: Callable[[str, str, list[float]], None],
) -> None:
    """Time the directory for `viewer_email`; `client` is signed in as that member."""
    from peerhub.profiles.search import search_members

    with app.app_context():
        viewer_id = db.session.scalar(select(User.id).where(User.email == viewer_email))
        for name, query in queries():
            result = search_members(viewer_id, query)
            db.session.rollback()
            print(f"directory matches {name} {database}: {result.total} members", flush=True)

            def search(query=query) -> None:
                search_members(viewer_id, query)
                db.session.rollback()  # each request has its own transaction

            report(f"directory search {name}", database, timed(search))

    response = client.get(PAGE_URL)
    if response.status_code == 404:
        return  # no directory page yet
    assert response.status_code == 200, response.status_code
    report("directory page text+2 filters", database, timed(lambda: client.get(PAGE_URL)))
