"""`flask seed-demo`: a small demo community for `make run`.

Alice and Bob are the textbook tandem (she offers agile project management and wants
better time management, he the reverse); Carol leads a team and looks for a group for
collegial case consultation. Around them, `DEMO_CROWD` seeded members fill the directory,
and an open matching round has Carol and `DEMO_ROUND` of them in it.
"""

from __future__ import annotations

import click
from flask import Blueprint
from sqlalchemy import func, select

from peerhub.accounts.models import User
from peerhub.accounts.passwords import hash_password
from peerhub.errors import DomainError
from peerhub.extensions import db, transaction, utcnow
from peerhub.profiles.seed import ProfileSpec, add_profile, seed_members

bp = Blueprint("demo_cli", __name__, cli_group=None)

DEMO_PASSWORD = "peerhub-demo-2026"  # noqa: S105 - published demo logins, development only
DEMO_MEMBERS = (
    ("alice@example.org", "Alice Becker", "de", "Europe/Berlin", "member"),
    ("bob@example.org", "Bob Okafor", "en", "Europe/London", "member"),
    ("carol@example.org", "Carol Nguyen", "de", "Europe/Vienna", "member"),
    ("mod@example.org", "Mo Derator", "de", "Europe/Berlin", "moderator"),
    ("admin@example.org", "Ada Admin", "en", "Europe/Zurich", "admin"),
)
DEMO_CROWD = 200  # seeded members around the demo logins
DEMO_ROUND = 40  # crowd members who joined the open matching round


def _hours(weekday: int, start: str, end: str) -> tuple[int, int, int]:
    def minute(hhmm: str) -> int:
        hours, minutes = hhmm.split(":")
        return int(hours) * 60 + int(minutes)

    return weekday, minute(start), minute(end)


# Windows are local wall time: Bob's London evenings are the same hours as Alice's in Berlin.
DEMO_PROFILES = {
    "alice@example.org": ProfileSpec(
        context="professional",
        headline="Projektleiterin · biete Agiles Projektmanagement, suche Zeitmanagement",
        about=(
            "Ich leite seit sechs Jahren Softwareprojekte in einem mittelständischen Unternehmen "
            "in Berlin. Scrum und Kanban habe ich in drei Teams eingeführt und teile gern, was "
            "dabei funktioniert hat und was nicht. Mein eigener Kalender ist dagegen oft zu voll: "
            "Ich möchte lernen, Prioritäten zu setzen und Zeit für konzentrierte Arbeit zu "
            "schützen. Englisch oder Deutsch, beides ist mir recht."
        ),
        offers=("Agiles Projektmanagement", "Scrum", "Stakeholder Management"),
        seeks=("Zeitmanagement", "Priorisierung"),
        interests=("Resilienz", "Remote Work"),
        goals=(
            "Bis Ende des Quartals möchte ich zwei Vormittage pro Woche für konzentrierte "
            "Arbeit freihalten.",
            "Ich möchte Nein sagen können, wenn mein Kalender schon voll ist.",
            "In drei Monaten möchte ich meine Aufgaben jeden Montag in 15 Minuten priorisieren.",
        ),
        languages=("de", "en"),
        windows=(_hours(1, "18:00", "20:00"), _hours(3, "18:30", "20:00")),
        meeting_mode="video",
        rhythm="weekly",
        session_length=90,
        capacity=2,
    ),
    "bob@example.org": ProfileSpec(
        context="professional",
        headline="Operations manager · offering time management, keen to learn agile projects",
        about=(
            "I run operations for a small logistics company in London and have spent years "
            "getting a chaotic week under control: time blocking, priorities, saying no. "
            "Now my team is moving to agile project management and I want to learn it from "
            "someone who has done it in practice. Ich spreche auch Deutsch, gern gemischt."
        ),
        offers=("Zeitmanagement", "Priorisierung", "Selbstorganisation"),
        seeks=("Agiles Projektmanagement", "Scrum"),
        interests=("Resilienz", "Public Speaking"),
        goals=(
            "By the end of the quarter I want to run our team's first three sprints with Scrum.",
            "I want to introduce a retrospective that my team actually looks forward to.",
        ),
        languages=("de", "en"),
        windows=(_hours(1, "17:00", "19:00"), _hours(3, "17:30", "19:30")),
        meeting_mode="video",
        rhythm="weekly",
        session_length=90,
        capacity=2,
    ),
    "carol@example.org": ProfileSpec(
        context="leader",
        headline="Teamleiterin in Wien · suche eine Gruppe für kollegiale Fallberatung",
        about=(
            "Ich leite ein Team von acht Entwicklerinnen und Entwicklern in Wien. Für schwierige "
            "Führungssituationen suche ich eine kleine Gruppe von drei bis vier Führungskräften "
            "für kollegiale Fallberatung: eine Person bringt einen Fall ein, eine moderiert, die "
            "anderen beraten. Ich bringe Erfahrung mit Mitarbeitergesprächen und Konflikten mit."
        ),
        offers=("Führung", "Mitarbeitergespräche", "Konfliktlösung"),
        seeks=("Delegieren", "Resilienz"),
        interests=("Kollegiale Fallberatung", "Teamentwicklung"),
        goals=(
            "Bis Ende des Quartals möchte ich eine Gruppe für kollegiale Fallberatung mit drei "
            "weiteren Führungskräften aufbauen.",
            "Ich möchte jede Woche eine Aufgabe bewusst an mein Team abgeben.",
            "In sechs Monaten möchte ich schwierige Gespräche ruhiger und klarer führen.",
        ),
        languages=("de", "en"),
        windows=(_hours(0, "18:00", "19:30"), _hours(2, "12:00", "13:30")),
        meeting_mode="either",
        city="Wien",
        rhythm="biweekly",
        session_length=90,
        capacity=3,
    ),
}


def seed_demo(crowd: int = DEMO_CROWD) -> bool:
    """Add the demo members when the database has no members; True when it seeded."""
    with transaction():
        if db.session.scalar(select(func.count()).select_from(User)):
            return False
        password_hash = hash_password(DEMO_PASSWORD)
        users = {}
        for email, name, language, zone, role in DEMO_MEMBERS:
            users[email] = User(
                email=email,
                display_name=name,
                password_hash=password_hash,
                language=language,
                timezone=zone,
                role=role,
                email_verified_at=utcnow(),
            )
            db.session.add(users[email])
        db.session.flush()
        for email, spec in DEMO_PROFILES.items():
            add_profile(users[email].id, spec)
    seed_members(crowd, seed=1, password_hash=password_hash)
    _open_demo_round(users["mod@example.org"].id, users["carol@example.org"].id)
    _demo_intros(users)
    return True


def _demo_intros(users: dict[str, User]) -> None:
    """Bob has asked Alice for an intro call (her turn to answer), and Carol has a call
    scheduled with a crowd member, so the home page shows both sides of the flow."""
    from datetime import timedelta

    from peerhub.intros import service as intros

    alice, bob, carol = (users[f"{n}@example.org"] for n in ("alice", "bob", "carol"))
    soon = (utcnow() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    times = intros.offered_times(bob, alice, 30)[:2] or [soon]
    intros.send_request(
        bob,
        alice.id,
        "Hi Alice! You offer exactly what I am looking for, and I have run time-management "
        "workshops for years. Shall we find out in half an hour whether we click?",
        times,
        source="suggestion",
    )
    crowd = db.session.scalars(
        select(User)
        .where(User.role == "member", User.email.not_like("%@example.org"))
        .order_by(User.id)
        .limit(60)
    ).all()
    for member in crowd:
        times = intros.offered_times(member, carol, 30)
        if not times:
            continue
        try:
            request = intros.send_request(
                member,
                carol.id,
                "Hallo Carol, ich leite auch ein Team und suche Austausch auf Augenhöhe. "
                "Hast du Lust auf ein kurzes Kennenlernen?",
                times[:2],
            )
        except DomainError:
            continue  # this member cannot ask (paused, hidden …): try the next
        intros.accept_time(carol, request.id, request.open_slots[0].id)
        break
    _demo_tandem(bob, crowd)
    _demo_reports(crowd)


def _demo_reports(crowd: list[User]) -> None:
    """Two open cases in the moderators' queue: a profile reported twice as spam, and a
    member reported once with a concern, so `/moderation/queue` has work to show."""
    from peerhub.moderation import cases

    reports = (
        (20, "profile", 30, "spam", "The profile only advertises paid courses."),
        (21, "profile", 30, "spam", "Sent me a link to a sales page right away."),
        (22, "member", 31, "other", "Asked for my phone number twice in the first message."),
    )
    for reporter, kind, target, category, details in reports:
        if max(reporter, target) >= len(crowd):
            return
        try:
            cases.report(crowd[reporter], kind, crowd[target].id, category, details)
        except DomainError:
            continue  # that one cannot be reported by this member (hidden, blocked …)


def _demo_tandem(bob: User, crowd: list[User]) -> None:
    """Bob already works with a crowd member: they signed their agreement five weeks ago, so
    sessions lie behind them (who came, notes) and ahead (one cancelled, one moved)."""
    from datetime import timedelta

    from peerhub.meetings import series as timeline
    from peerhub.meetings import service as meetings
    from peerhub.tandems import service as tandems

    partner = next((m for m in reversed(crowd) if tandems.has_room(m.id)), None)
    if partner is None or not tandems.has_room(bob.id):
        return
    began = utcnow() - timedelta(days=35)
    with transaction():
        tandem = tandems.start_tandem([bob.id, partner.id], now=began)
    version = tandems.agreement_of(tandem).version
    for member in (bob, partner):
        tandems.sign(member, tandem.id, version, member.display_name, True, now=began)
    now = utcnow()
    sessions = timeline.timeline(timeline.series_of(tandem.id))
    held = [s for s in sessions if s.end <= now]
    for session in held:
        meetings.record_attendance(bob, session.series.id, session.number, [], now=now)
    if held:
        notes = {
            "update": "New role in the team since Monday; Bob's workshop went well.",
            "topic": "Saying no to meetings without an agenda: what Bob tried, what stopped him.",
            "next_steps": "Block two mornings a week; try the 'agenda or no meeting' rule once.",
        }
        meetings.save_notes(bob, held[-1].series.id, held[-1].number, notes, 0, now=now)
    coming = [s for s in sessions if s.start > now + timedelta(days=2)]
    if len(coming) >= 3:
        meetings.cancel_session(
            partner, coming[1].series.id, coming[1].number, "A work trip, sorry!", now=now
        )
        later = coming[2].start + timedelta(days=1)
        meetings.move_session(bob, coming[2].series.id, coming[2].number, later, now=now)
    _demo_reflection(bob, partner, tandem.id, held, now)


def _demo_reflection(bob: User, partner: User, tandem_id: int, held: list, now) -> None:
    """Bob's tandem reflects: a first check-in both answered two weeks ago and a second that
    waits for Bob, a milestone reached with its story on the successes page, feedback on the
    last session, and two entries in Bob's journal (one shared)."""
    from datetime import timedelta

    from peerhub.journal import service as journal
    from peerhub.meetings import service as meetings
    from peerhub.tandems import progress

    then = now - timedelta(days=14)
    first = progress.start_check_in(bob, tandem_id, now=then)
    for member, values, helped, change in (
        (bob, (30, 20, 40), "Writing my week's priorities down on Monday.", "Shorter updates."),
        (partner, (40, 35, 25), "Bob's questions instead of advice.", "Start on time."),
    ):
        ratings = {g["key"]: v for g, v in zip(first.goals, values, strict=False)}
        progress.answer(member, first.id, ratings, helped, change, now=then)
    second = progress.start_check_in(partner, tandem_id, now=now)
    ratings = {g["key"]: v for g, v in zip(second.goals, (55, 50, 45), strict=False)}
    progress.answer(partner, second.id, ratings, "Our new agenda rule.", "", now=now)
    milestones = progress._content(_tandem(tandem_id)).get("milestones")
    if milestones:
        reached = progress.mark_reached(bob, tandem_id, "milestone", milestones[0]["key"], now=then)
        story = progress.write_story(
            bob,
            reached.id,
            "Halfway through our term we both protect two focus mornings a week. What helped "
            "most: asking each other questions instead of giving advice.",
            True,
            now=then,
        )
        progress.consent(partner, story.id, story.version, False, now=then)
    if held:
        last = held[-1]
        meetings.give_feedback(
            partner,
            last.series.id,
            last.number,
            "Your question about what I would stop doing first.",
            "A few minutes more for next steps.",
            now=now,
        )
        journal.quick(
            bob,
            last.series.id,
            last.number,
            "An agenda is a kindness, not bureaucracy. Try it with the Monday meeting.",
            journal.new_token(),
            now=now,
        )
    entry = journal.write(
        bob,
        journal.new_token(),
        "Saying no, kindly",
        "What worked this week:\n\n- **Offer another time** instead of a plain no\n"
        "- Ask *what the meeting is for*\n\n> Protect the mornings.",
        tandem_id=tandem_id,
        now=then,
    )
    journal.share(bob, entry.id, now=then)


def _tandem(tandem_id: int):
    from peerhub.tandems.models import Tandem

    return db.session.get(Tandem, tandem_id)


def _open_demo_round(moderator_id: int, carol_id: int) -> None:
    """An open matching round that Carol (who wants a group) and part of the crowd joined,
    so a moderator can preview, adjust and publish one right away."""
    from peerhub.matching.models import MatchingRound, RoundEntry
    from peerhub.profiles.models import Profile

    with transaction():
        round_ = MatchingRound(opened_by_id=moderator_id)
        db.session.add(round_)
        db.session.flush()
        crowd = db.session.scalars(
            select(Profile.user_id)
            .join(User, User.id == Profile.user_id)
            .where(User.role == "member", Profile.status == "open", User.id != carol_id)
            .order_by(Profile.user_id.desc())
            .limit(DEMO_ROUND)
        ).all()
        for n, user_id in enumerate([carol_id, *crowd]):
            db.session.add(RoundEntry(round_id=round_.id, user_id=user_id, wants_group=n % 4 == 0))


@bp.cli.command("seed-demo")
def seed_demo_command() -> None:
    """Seed the demo community when the database is empty, and print the demo logins."""
    if seed_demo():
        click.echo(f"Seeded a demo community: the demo logins and {DEMO_CROWD} more members.")
    demo = db.session.scalars(
        select(User).where(User.email.in_([m[0] for m in DEMO_MEMBERS])).order_by(User.id)
    ).all()
    if not demo:
        click.echo("The database already has members; no demo logins were added.")
        return
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for user in demo:
        click.echo(f"  {user.email:<22} {user.role:<10} {user.display_name}")
