"""Matching at scale: one member's suggestions among all seeded members, and a round.

Called by `python -m bench` on a database `seed_members` has filled. Prints, as
`what database: value unit`: the median and p95 of `suggestions_for` (the service) and of
the suggestions page over HTTP, for viewers spread over the community; then a round of
BENCH_ROUND_MEMBERS (default 2,000) opted-in members: building the candidate graph, the
pairing, the whole preview as a moderator runs it, and the pairing's total score against
the exact optimum (Edmonds' blossom, networkx) on the same candidate graph.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, insert, select, update

from bench.directory import timed
from peerhub.accounts.models import User
from peerhub.extensions import db, utcnow

VIEWERS = 50
ROUND_MEMBERS = int(os.environ.get("BENCH_ROUND_MEMBERS", "2000"))
EXACT = os.environ.get("BENCH_EXACT", "1") != "0"


def _viewer_ids(count: int) -> list[int]:
    """Members spread over the whole community, every one with a saved profile."""
    from peerhub.profiles.models import Profile

    total = db.session.scalar(select(db.func.count()).select_from(Profile)) or 0
    step = max(total // count, 1)
    ids = db.session.scalars(select(Profile.user_id).order_by(Profile.user_id)).all()
    return list(ids[::step][:count])


def suggestions(
    app: Flask,
    database: str,
    client: FlaskClient,
    report: Callable[[str, str, list[float]], None],
) -> None:
    """Time one member's suggestions (service, then page) across VIEWERS members."""
    from peerhub.matching.service import suggestions_for

    with app.app_context():
        viewers = _viewer_ids(VIEWERS)
        found = [len(suggestions_for(v, "Europe/Berlin")) for v in viewers]
        db.session.rollback()
        print(
            f"suggestions shown mean {database}: {sum(found) / len(found):.1f} members",
            flush=True,
        )
        turn = iter(range(10**9))

        def one() -> None:
            suggestions_for(viewers[next(turn) % len(viewers)], "Europe/Berlin")
            db.session.rollback()

        report("suggestions service", database, timed(one))
    response = client.get("/suggestions")
    assert response.status_code == 200, response.status_code
    report("suggestions page", database, timed(lambda: client.get("/suggestions")))


def round_of(app: Flask, database: str) -> None:
    """Open a round with ROUND_MEMBERS entrants (10 % want a group); time the preview."""
    from bench.rounds_graph import exact_max_weight
    from peerhub.matching import service
    from peerhub.matching.models import MatchingRound, RoundEntry
    from peerhub.matching.pairing import max_weight_pairs

    with app.app_context():
        db.session.execute(delete(MatchingRound))
        moderator_id = _viewer_ids(1)[0]
        db.session.execute(update(User).where(User.id == moderator_id).values(role="moderator"))
        db.session.commit()
        moderator = db.session.get(User, moderator_id)
        round_ = service.start_round(moderator)
        entrants = _viewer_ids(ROUND_MEMBERS)
        now = utcnow()
        db.session.execute(
            insert(RoundEntry),
            [
                {
                    "round_id": round_.id,
                    "user_id": uid,
                    "wants_group": n % 10 == 0,
                    "created_at": now,
                }
                for n, uid in enumerate(entrants)
            ],
        )
        db.session.commit()
        day = now.date()

        start = time.perf_counter()
        graph = service.round_graph(entrants, day)
        graph_seconds = time.perf_counter() - start
        members = sorted(graph.people)
        start = time.perf_counter()
        _pairs, total = max_weight_pairs(members, graph.edges)
        pairing_seconds = time.perf_counter() - start
        db.session.rollback()

        start = time.perf_counter()
        service.preview_round(moderator, round_.id, day)
        preview_seconds = time.perf_counter() - start
        figures = service.round_figures(db.session.get(MatchingRound, round_.id))
        n = len(entrants)
        print(f"round {n} members candidate edges {database}: {len(graph.edges)} edges", flush=True)
        print(f"round {n} members candidate graph {database}: {graph_seconds:.2f} s", flush=True)
        print(f"round {n} members pairing time {database}: {pairing_seconds:.2f} s", flush=True)
        print(f"round {n} members preview time {database}: {preview_seconds:.2f} s", flush=True)
        print(f"round {n} members matched {database}: {figures.matched} members", flush=True)
        print(f"round {n} members groups {database}: {figures.groups} groups", flush=True)
        print(f"round {n} members mean score {database}: {figures.mean_score} points", flush=True)
        print(f"round {n} members pair total {database}: {total} points", flush=True)
        if EXACT:
            start = time.perf_counter()
            optimum = exact_max_weight(members, graph.edges)
            exact_seconds = time.perf_counter() - start
            print(f"round {n} members exact optimum {database}: {optimum} points", flush=True)
            print(
                f"round {n} members exact optimum time {database}: {exact_seconds:.1f} s",
                flush=True,
            )
            share = 100 * total / optimum if optimum else 100.0
            print(f"round {n} members of optimum {database}: {share:.2f} %", flush=True)
        db.session.rollback()
