"""Reflection at scale: the journal, a tandem's goal charts, the check-in tick and the
successes page.

Seeds, beside the tandems the tandems bench made:

- journal entries in bulk: JOURNAL_ENTRIES for each of JOURNAL_AUTHORS members of active
  tandems (every eighth shared with their tandem), VIEWER_ENTRIES for the viewer (every
  tenth names SEARCH_WORD, every fourth is shared, the newest has a Markdown body of about
  LONG_BODY characters) and a few for the viewer's partner, shared with their tandem too;
- through the services, a tandem of the viewer's with a partner of its own: five goals, a
  check-in every two weeks (CHECK_INS, each answered by both members, over the past
  months) and one goal reached;
- STORIES published success stories (achievement, story and both members' consents, about
  half of them naming the member) over the active tandems.

Then prints, as `what database: value unit`:

- `journal list` (GET /journal), `journal search` (?q=SEARCH_WORD), `journal search with
  filters` (the word and shared=shared) and `journal entry` (the long entry, Markdown
  through nh3), with the number of matches and of statements per request;
- `tandem page with goal charts`, `check-ins page` and `term review page` of the viewer's
  tandem, with its check-ins and chart points;
- `successes page` (the first) and `successes page 100`;
- `check-in tick busy`: `progress.tick` opening the check-ins of the CHECK_INS_DUE tandems
  made due (total and per check-in opened), `check-in tick idle`: the tick right after,
  with nothing due, and `member home with check-ins due` (the viewer's, opened by it).

The sizes come from BENCH_JOURNAL_AUTHORS (5000), BENCH_JOURNAL_ENTRIES (40),
BENCH_VIEWER_ENTRIES (500), BENCH_STORIES (5000) and BENCH_CHECK_INS_DUE (2000); statements
are counted as the driver sends them (on SQLite with its BEGIN).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from sqlalchemy import event, exists, func, insert, select, text, update

from bench.directory import timed
from peerhub.accounts.models import User
from peerhub.extensions import db, utcnow
from peerhub.journal import service as journal
from peerhub.journal.models import JournalEntry
from peerhub.profiles.seed import seed_members
from peerhub.tandems import progress
from peerhub.tandems import service as tandems
from peerhub.tandems.models import (
    Achievement,
    Agreement,
    CheckIn,
    StoryConsent,
    SuccessStory,
    Tandem,
    TandemMember,
)

JOURNAL_AUTHORS = int(os.environ.get("BENCH_JOURNAL_AUTHORS", "5000"))
JOURNAL_ENTRIES = int(os.environ.get("BENCH_JOURNAL_ENTRIES", "40"))  # per author
VIEWER_ENTRIES = int(os.environ.get("BENCH_VIEWER_ENTRIES", "500"))
PARTNER_ENTRIES = 40
STORIES = int(os.environ.get("BENCH_STORIES", "5000"))
CHECK_INS_DUE = int(os.environ.get("BENCH_CHECK_INS_DUE", "2000"))
PARTNER_SEED = 3  # the viewer's reflection partner: seed_members' member of another seed
SEARCH_WORD = "pomodoro"  # in every tenth of the viewer's entries, nowhere else of theirs
LONG_BODY = 3000
CHECK_INS = 12
EVERY_WEEKS = 2
LIVED = timedelta(days=190)  # the viewer's reflection tandem became active this long ago
TERM_DAYS = 300
BATCH = 5000

GOALS = (
    ("Zwei Vormittage pro Woche für konzentrierte Arbeit", "Im Kalender geblockt"),
    ("Say no to one meeting a week", "Meetings declined"),
    ("Die Masterarbeit gliedern", "Gliederung steht"),
    ("Speak up in the team meeting", "Once per meeting"),
    ("Jeden Freitag den Wochenrückblick schreiben", "Zwölf Rückblicke"),
)
TITLES = (
    "Was ich heute gelernt habe",
    "Reflexion nach der Sitzung",
    "What went well this week",
    "Notes on focus",
    "Prioritäten und Grenzen",
    "Small wins",
)
SENTENCES = (
    "Heute habe ich den Vormittag ohne Mails durchgehalten.",
    "The check-in question about energy helped me see a pattern.",
    "Mein Tandem hat gefragt, was mich eigentlich aufhält.",
    "I blocked two hours and protected them from meetings.",
    "Es fällt mir leichter, Nein zu sagen, wenn ich den Grund kenne.",
    "Next time I want to prepare my topic the evening before.",
    "Die Gliederung ist noch wackelig, aber das zweite Kapitel steht.",
    "We talked about feedback that is kind and specific.",
    "Ich habe mir vorgenommen, freitags zurückzublicken.",
    "A short walk before the session made me calmer.",
)
WORD_SENTENCE = f"Mit der {SEARCH_WORD.capitalize()}-Technik ging es heute viel besser."
STORY_TEXTS = (
    "Wir haben uns jede Woche getroffen und uns gegenseitig an unsere Ziele erinnert. "
    "Nach drei Monaten steht die Gliederung und das erste Kapitel ist geschrieben.",
    "Blocking two mornings a week felt impossible at first. With a partner asking every "
    "week, it became a habit; our team noticed the difference.",
)


def _plain(n: int) -> str:
    """About 500 characters of an entry's text, varied by `n`."""
    return " ".join(SENTENCES[(n * 7 + k) % len(SENTENCES)] for k in range(8))


def _markdown(n: int, word: bool) -> str:
    """About 900 characters with the formatting the journal knows."""
    first = SENTENCES[n % len(SENTENCES)]
    if word:
        first = f"{first} {WORD_SENTENCE}"
    items = "\n".join(f"- {SENTENCES[(n + k) % len(SENTENCES)]}" for k in range(1, 4))
    return (
        f"{first}\n\n**Was half:** {SENTENCES[(n + 4) % len(SENTENCES)]} "
        f"*{SENTENCES[(n + 5) % len(SENTENCES)]}*\n\n{items}\n\n"
        f"> {SENTENCES[(n + 6) % len(SENTENCES)]}\n\n"
        f"Nächster Schritt: `{SENTENCES[(n + 7) % len(SENTENCES)]}` "
        f"Mehr dazu: [unser Leitfaden](https://example.org/leitfaden/{n}).\n"
        f"{SENTENCES[(n + 8) % len(SENTENCES)]}\n{SENTENCES[(n + 9) % len(SENTENCES)]}"
    )


def _long_markdown() -> str:
    """About LONG_BODY characters of Markdown: paragraphs, lists, quotes, code and links."""
    parts, n = [], 0
    while sum(len(p) + 2 for p in parts) < LONG_BODY:
        parts.append(_markdown(n, word=n == 0))
        if n % 2:
            parts.append(
                "1. Ziel prüfen\n2. **Eine** Sache streichen\n3. Zeit blocken\n\n---\n\n"
                "```\nMo 9-11  Fokus\nDo 9-11  Fokus\n```"
            )
        n += 1
    return "\n\n".join(parts)[:LONG_BODY]


def _token(n: int) -> str:
    return f"bench-{n}"  # one form per entry: unique per author


def _entry(author_id: int, n: int, body: str, created: datetime, **extra) -> dict:
    return {
        "author_id": author_id,
        "client_token": _token(n),
        "title": f"{TITLES[n % len(TITLES)]} ({n})",
        "body": body,
        "tandem_id": extra.get("tandem_id"),
        "series_id": None,
        "session_number": None,
        "goal_keys": extra.get("goal_keys", []),
        "version": 1,
        "shared_at": extra.get("shared_at"),
        "created_at": created,
        "updated_at": created,
    }


def _insert(model, rows: list[dict]) -> None:
    for start in range(0, len(rows), BATCH):
        db.session.execute(insert(model), rows[start : start + BATCH])


def _journal_rows(viewer_id: int, partner_id: int, tandem_id: int, goal_keys: list[str]) -> int:
    """The journal entries the module says; returns the id of the viewer's long entry."""
    now = utcnow()
    rows = db.session.execute(
        select(TandemMember.user_id, TandemMember.tandem_id)
        .join(Tandem, Tandem.id == TandemMember.tandem_id)
        .where(Tandem.state == "active", TandemMember.user_id.not_in([viewer_id, partner_id]))
        .order_by(TandemMember.user_id, TandemMember.tandem_id)
    ).all()
    first: dict[int, int] = {}
    for user_id, own_tandem in rows:
        first.setdefault(user_id, own_tandem)  # one tandem each
    authors = list(first.items())[:JOURNAL_AUTHORS]
    values = []
    for a, (author_id, own_tandem) in enumerate(authors):
        for n in range(JOURNAL_ENTRIES):
            created = now - timedelta(hours=17 * n + a % 17, minutes=a % 60)
            shared = n % 8 == 0
            values.append(
                _entry(
                    author_id,
                    n,
                    _plain(a + n),
                    created,
                    tandem_id=own_tandem if shared or n % 8 == 1 else None,
                    shared_at=created + timedelta(hours=1) if shared else None,
                )
            )
            if len(values) >= BATCH:
                _insert(JournalEntry, values)
                values = []
    for n in range(PARTNER_ENTRIES):
        created = now - timedelta(days=3 * n, hours=5)
        shared = n % 4 == 0
        values.append(
            _entry(
                partner_id,
                n,
                _markdown(n + 3, word=False),
                created,
                tandem_id=tandem_id if n % 2 == 0 else None,
                shared_at=created + timedelta(hours=2) if shared else None,
            )
        )
    for n in range(VIEWER_ENTRIES):
        created = now - timedelta(hours=35 * n + 1)
        shared, linked = n % 4 == 0, n % 4 in (0, 1)
        body = _long_markdown() if n == 0 else _markdown(n, word=n % 10 == 0)
        values.append(
            _entry(
                viewer_id,
                n,
                body,
                created,
                tandem_id=tandem_id if linked else None,
                goal_keys=[goal_keys[n % len(goal_keys)]] if linked else [],
                shared_at=created + timedelta(minutes=30) if shared else None,
            )
        )
    _insert(JournalEntry, values)
    db.session.commit()
    return db.session.scalar(
        select(JournalEntry.id).where(
            JournalEntry.author_id == viewer_id, JournalEntry.client_token == _token(0)
        )
    )


def _reflection_tandem(viewer: User, now: datetime) -> int:
    """The viewer's tandem with a partner of its own, through the services: five goals, a
    two-weekly check-in answered by both CHECK_INS times, one goal reached. Its id."""
    seed_members(1, seed=PARTNER_SEED, password_hash=viewer.password_hash)
    partner = db.session.scalars(
        select(User).where(User.email.like(f"member-{PARTNER_SEED}-%")).order_by(User.id.desc())
    ).first()
    begun = now - LIVED
    tandem_id = tandems.start_tandem([viewer.id, partner.id], now=begun).id
    db.session.commit()
    term_start = (begun + timedelta(days=1)).date()
    sections = (
        (
            "goals",
            {
                field: value
                for n, (title, measure) in enumerate(GOALS)
                for field, value in ((f"goal_title_{n}", title), (f"goal_measure_{n}", measure))
            },
        ),
        (
            "term",
            {
                "start": term_start.isoformat(),
                "end": (term_start + timedelta(days=TERM_DAYS)).isoformat(),
            },
        ),
        ("review", {"every_weeks": str(EVERY_WEEKS)}),
    )
    for name, data in sections:
        version = tandems.agreement_of(db.session.get(Tandem, tandem_id)).version
        tandems.save_section(viewer, tandem_id, name, data, version, begun)
    version = tandems.agreement_of(db.session.get(Tandem, tandem_id)).version
    for member in (viewer, partner):
        tandems.sign(member, tandem_id, version, member.display_name, True, now=begun)
    keys = [g["key"] for g in progress._content(db.session.get(Tandem, tandem_id))["goals"]]
    assert len(keys) == len(GOALS), keys
    for k in range(CHECK_INS):
        at = begun + timedelta(weeks=EVERY_WEEKS * (k + 1), hours=2)
        check_in = progress.start_check_in(viewer, tandem_id, now=at)
        for m, member in enumerate((viewer, partner)):
            ratings = {key: min(100, 5 + 7 * k + 4 * g + 3 * m) for g, key in enumerate(keys)}
            helped, change = SENTENCES[(k + m) % len(SENTENCES)], SENTENCES[(k + 5) % 10]
            when = at + timedelta(days=1 + m)
            progress.answer(member, check_in.id, ratings, helped, change, now=when)
    progress.mark_reached(viewer, tandem_id, "goal", keys[0], now=now - timedelta(days=10))
    db.session.commit()
    return tandem_id


def _story_rows(now: datetime) -> int:
    """STORIES published stories over the active pairs, each with both consents. Returns
    how many were published."""
    pairs: dict[int, list[int]] = {}
    for tandem_id, user_id in db.session.execute(
        select(TandemMember.tandem_id, TandemMember.user_id)
        .join(Tandem, Tandem.id == TandemMember.tandem_id)
        .where(Tandem.state == "active")
        .order_by(TandemMember.tandem_id, TandemMember.position)
    ):
        pairs.setdefault(tandem_id, []).append(user_id)
    pairs = {t: ids for t, ids in pairs.items() if len(ids) == 2}
    order = sorted(pairs)
    plan = []
    for j in range(STORIES):
        tandem_id, round_ = order[j % len(order)], j // len(order)
        kind = "goal" if j % 3 else "milestone"
        plan.append((tandem_id, kind, f"b{round_}"))
    reached = [now - timedelta(hours=3 * (STORIES - j)) for j in range(STORIES)]
    achievement_ids = []
    for start in range(0, STORIES, BATCH):
        achievement_ids += db.session.scalars(
            insert(Achievement).returning(Achievement.id, sort_by_parameter_order=True),
            [
                {
                    "tandem_id": tandem_id,
                    "kind": kind,
                    "key": key,
                    "title": GOALS[j % len(GOALS)][0],
                    "reached_at": reached[j],
                    "marked_by_id": pairs[tandem_id][0],
                }
                for j, (tandem_id, kind, key) in enumerate(plan[start : start + BATCH], start)
            ],
        ).all()
    story_ids = []
    for start in range(0, STORIES, BATCH):
        story_ids += db.session.scalars(
            insert(SuccessStory).returning(SuccessStory.id, sort_by_parameter_order=True),
            [
                {
                    "achievement_id": achievement_ids[j],
                    "tandem_id": plan[j][0],
                    "text": STORY_TEXTS[j % len(STORY_TEXTS)],
                    "version": 1,
                    "written_by_id": pairs[plan[j][0]][0],
                    "created_at": reached[j],
                    "updated_at": reached[j],
                    "published_at": reached[j] + timedelta(hours=1),
                }
                for j in range(start, min(start + BATCH, STORIES))
            ],
        ).all()
    _insert(
        StoryConsent,
        [
            {
                "story_id": story_ids[j],
                "user_id": user_id,
                "version": 1,
                "show_name": (j * 7 + position * 3) % 4 < 2,
                "consented_at": reached[j] + timedelta(minutes=30 * (position + 1)),
            }
            for j in range(STORIES)
            for position, user_id in enumerate(pairs[plan[j][0]])
        ],
    )
    db.session.commit()
    return db.session.scalar(
        select(func.count()).select_from(SuccessStory).where(SuccessStory.published_at.is_not(None))
    )


def _make_due(viewer_id: int, today) -> int:
    """CHECK_INS_DUE active tandems with an agreement in force (the viewer's first) get a
    check-in date up to a week past. Returns how many active tandems are due now."""
    candidates = (
        select(Tandem.id)
        .join(Agreement, Agreement.tandem_id == Tandem.id)
        .where(
            Tandem.state == "active",
            Agreement.in_force_version.is_not(None),
            Tandem.next_check_in_on.is_(None),
            ~exists().where(CheckIn.tandem_id == Tandem.id, CheckIn.closed_at.is_(None)),
        )
    )
    viewers = select(TandemMember.tandem_id).where(TandemMember.user_id == viewer_id)
    chosen = db.session.scalars(candidates.where(Tandem.id.in_(viewers))).all()
    chosen += db.session.scalars(
        candidates.where(Tandem.id.not_in(viewers))
        .order_by(Tandem.id)
        .limit(max(CHECK_INS_DUE - len(chosen), 0))
    ).all()
    for late in range(7):
        ids = chosen[late::7]
        for start in range(0, len(ids), BATCH):
            db.session.execute(
                update(Tandem)
                .where(Tandem.id.in_(ids[start : start + BATCH]))
                .values(next_check_in_on=today - timedelta(days=late))
            )
    db.session.commit()
    return db.session.scalar(
        select(func.count())
        .select_from(Tandem)
        .where(Tandem.state == "active", Tandem.next_check_in_on <= today)
    )


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    """The SQL statements run meanwhile (to count what a request asks the database)."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _many):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def page(
    app: Flask,
    database: str,
    client: FlaskClient,
    what: str,
    url: str,
    report: Callable[[str, str, list[float]], None],
) -> None:
    """Time one page; print how many statements one request runs."""

    def get():
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response

    get()
    with statements(app) as seen:
        get()
    print(f"{what} statements {database}: {len(seen)} statements", flush=True)
    report(what, database, timed(get))


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
        viewer = db.session.scalar(select(User).where(User.email == viewer_email))
        viewer_id = viewer.id
        tandem_id = _reflection_tandem(viewer, now)
        tandem = db.session.get(Tandem, tandem_id)
        keys = [g["key"] for g in progress._content(tandem)["goals"]]
        partner_id = next(uid for uid in tandem.member_ids() if uid != viewer_id)
        entry_id = _journal_rows(viewer_id, partner_id, tandem_id, keys)
        entries = db.session.scalar(select(func.count()).select_from(JournalEntry))
        authors = db.session.scalar(select(func.count(func.distinct(JournalEntry.author_id))))
        found = {
            name: db.session.scalar(
                select(func.count()).select_from(journal.search(viewer, filters).subquery())
            )
            for name, filters in (
                ("search", journal.Filters(text=SEARCH_WORD)),
                ("search with filters", journal.Filters(text=SEARCH_WORD, shared="shared")),
            )
        }
        long_body = len(db.session.get(JournalEntry, entry_id).body)
        stories = _story_rows(now)
        for table in ("journal_entry", "check_in", "achievement", "success_story", "tandem"):
            db.session.execute(text(f"ANALYZE {table}"))
        db.session.commit()
    print(f"journal entries seeded {database}: {entries} entries", flush=True)
    print(f"journal authors {database}: {authors} members", flush=True)
    print(f"viewer journal entries {database}: {VIEWER_ENTRIES} entries", flush=True)
    print(f"success stories published {database}: {stories} stories", flush=True)
    print(f"reflection seeding time {database}: {time.perf_counter() - start:.1f} s", flush=True)

    page(app, database, client, "journal list", "/journal", report)
    for name, url in (
        ("search", f"/journal?q={SEARCH_WORD}"),
        ("search with filters", f"/journal?q={SEARCH_WORD}&shared=shared"),
    ):
        print(f"journal {name} matches {database}: {found[name]} entries", flush=True)
        page(app, database, client, f"journal {name}", url, report)
    print(f"journal entry body {database}: {long_body} characters", flush=True)
    page(app, database, client, "journal entry", f"/journal/{entry_id}", report)

    with app.app_context(), force_locale("en"):
        tandem = db.session.get(Tandem, tandem_id)
        journeys = progress.journeys(tandem, db.session.get(User, viewer_id))
        check_ins = len(progress.check_ins_of(tandem))
        points = sum(len(line.points) for j in journeys for line in j.lines)
        assert (len(journeys), check_ins) == (len(GOALS), CHECK_INS), (len(journeys), check_ins)
        assert points == len(GOALS) * 2 * CHECK_INS, points
        db.session.rollback()
    print(f"tandem check-ins {database}: {check_ins} check-ins", flush=True)
    print(f"tandem goal charts {database}: {len(journeys)} charts", flush=True)
    print(f"tandem chart points {database}: {points} points", flush=True)
    page(app, database, client, "tandem page with goal charts", f"/tandems/{tandem_id}", report)
    page(app, database, client, "check-ins page", f"/tandems/{tandem_id}/check-ins", report)
    page(app, database, client, "term review page", f"/tandems/{tandem_id}/review", report)

    page(app, database, client, "successes page", "/successes", report)
    page(app, database, client, "successes page 100", "/successes?page=100", report)

    with app.app_context(), force_locale("en"):
        due = _make_due(viewer_id, now.date())
        began = time.perf_counter()
        opened, _reminded = progress.tick(now)
        took = time.perf_counter() - began
        assert opened == due, (opened, due)
        print(f"check-in tick busy check-ins {database}: {opened} check-ins", flush=True)
        print(f"check-in tick busy total {database}: {took:.2f} s", flush=True)
        print(
            f"check-in tick busy per check-in {database}: {took * 1000 / opened:.2f} ms",
            flush=True,
        )

        def idle() -> None:
            assert progress.tick(now) == (0, 0)
            db.session.rollback()

        report("check-in tick idle", database, timed(idle, rounds=50))
        db.session.execute(text("ANALYZE check_in"))  # as after any bulk load: fresh statistics
        db.session.commit()
        waiting = len(progress.due_for(db.session.get(User, viewer_id)))
        db.session.rollback()
    print(f"viewer check-ins due {database}: {waiting} check-ins", flush=True)
    page(app, database, client, "member home with check-ins due", "/", report)
