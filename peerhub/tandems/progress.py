"""Reflection in a tandem: check-ins at the agreement's interval (nobody sees the others'
answers before everyone answered), each goal's journey from them, goals and milestones marked
reached and celebrated, success stories shared with the community when every member
consents, and the review of a term before the tandem decides how to go on."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from peerhub.accounts.models import User
from peerhub.errors import Conflict, Invalid, NotFound
from peerhub.extensions import db, transaction, utcnow
from peerhub.plaintext import clean
from peerhub.tandems import agreement as texts
from peerhub.tandems import service
from peerhub.tandems.models import (
    ACHIEVEMENT_KINDS,
    REFLECTION_MAX,
    STORY_MAX,
    Achievement,
    CheckIn,
    CheckInAnswer,
    GoalRating,
    StoryConsent,
    SuccessStory,
    Tandem,
    TandemMember,
)

REMIND_AFTER = timedelta(days=3)
CELEBRATE_FOR = timedelta(days=30)
REFLECTING = ("active", "completed")  # check-ins and celebrations go on after completing


def _content(tandem: Tandem) -> dict[str, Any]:
    """The agreement in force (the draft before any is)."""
    agreement = service.agreement_of(tandem)
    if agreement.in_force_version:
        return service.version_content(agreement, agreement.in_force_version)
    return agreement.content


def _goals(content: dict[str, Any]) -> list[dict[str, str]]:
    return [{"key": g["key"], "title": g["title"]} for g in content.get("goals", []) if g["title"]]


def _every(content: dict[str, Any]) -> timedelta:
    return timedelta(weeks=int(content["review"]["every_weeks"]))


# --- check-ins ------------------------------------------------------------------------------


def _target(check_in: CheckIn) -> tuple[str, dict]:
    return ("tandems.check_in", {"check_in_id": check_in.id})


def open_check_in(tandem: Tandem) -> CheckIn | None:
    return db.session.scalar(
        select(CheckIn).where(CheckIn.tandem_id == tandem.id, CheckIn.closed_at.is_(None))
    )


def check_ins_of(tandem: Tandem) -> list[CheckIn]:
    """The tandem's check-ins, newest first."""
    return list(
        db.session.scalars(
            select(CheckIn)
            .where(CheckIn.tandem_id == tandem.id)
            .order_by(CheckIn.number.desc())
            .options(selectinload(CheckIn.answers).selectinload(CheckInAnswer.ratings))
        )
    )


def _open(tandem: Tandem, due_on: date, by: User | None, now: datetime) -> CheckIn:
    """Close the open check-in (if any) and open the next one, in the caller's transaction
    with the tandem row locked."""
    db.session.execute(
        update(CheckIn)
        .where(CheckIn.tandem_id == tandem.id, CheckIn.closed_at.is_(None))
        .values(closed_at=now)
    )
    number = (
        db.session.scalar(select(func.max(CheckIn.number)).where(CheckIn.tandem_id == tandem.id))
        or 0
    ) + 1
    check_in = CheckIn(
        tandem_id=tandem.id,
        number=number,
        due_on=due_on,
        goals=_goals(_content(tandem)),
        opened_at=now,
        opened_by_id=by.id if by else None,
    )
    db.session.add(check_in)
    db.session.flush()
    for member in tandem.members:
        user = db.session.get(User, member.user_id)
        if by is None or user.id != by.id:
            service._tell(user, "check_in_open", tandem, None, target=_target(check_in))
    return check_in


def start_check_in(user: User, tandem_id: int, now: datetime | None = None) -> CheckIn:
    """Check in now rather than at the next date: opens a check-in (the open one, when there
    is one: twice is harmless) and counts the interval from today. Raises NotFound or
    Conflict (not active, or the agreement not in force)."""
    now = now or utcnow()
    with transaction():
        tandem = service.tandem_for(user, tandem_id, lock=True)
        if tandem.state != "active":
            raise Conflict(_("Check-ins begin once everyone has signed the agreement."))
        current = open_check_in(tandem)
        if current is not None and current.opened_at.date() == now.date():
            return current
        if current is not None and not _answered_by_all(tandem, current):
            return current
        check_in = _open(tandem, now.date(), user, now)
        tandem.next_check_in_on = now.date() + _every(_content(tandem))
    return check_in


def check_in_for(user: User, check_in_id: int, lock: bool = False) -> tuple[Tandem, CheckIn]:
    """A check-in of a tandem the member belongs to. Raises NotFound for anyone else."""
    check_in = db.session.get(CheckIn, check_in_id)
    if check_in is None:
        raise NotFound("check_in")
    tandem = service.tandem_for(user, check_in.tandem_id, lock=lock)
    if lock:
        db.session.refresh(check_in)
    return tandem, check_in


def _answered_by_all(tandem: Tandem, check_in: CheckIn) -> bool:
    answered = {a.user_id for a in check_in.answers}
    return set(tandem.member_ids()) <= answered


def answer(
    user: User,
    check_in_id: int,
    ratings: dict[str, Any],
    helped: str | None,
    change: str | None,
    now: datetime | None = None,
) -> CheckInAnswer:
    """Answer a check-in: a rating from 0 to 100 % for each of its goals, what helped and
    what to change. Until everyone has answered, a member may change their answer; after
    that, or once the next check-in closed it, it stays as it is. Raises NotFound, Conflict
    or Invalid (naming the goal's field)."""
    now = now or utcnow()
    helped = clean(helped, REFLECTION_MAX, "helped")
    change = clean(change, REFLECTION_MAX, "change")
    with transaction():
        tandem, check_in = check_in_for(user, check_in_id, lock=True)
        if tandem.state not in REFLECTING:
            raise Conflict(_("This tandem has ended; its check-ins are closed."))
        if check_in.closed_at is not None:
            raise Conflict(_("This check-in is closed: a newer one has opened."))
        if _answered_by_all(tandem, check_in):
            raise Conflict(_("Everyone has answered this check-in; the answers stay as they are."))
        progress = {}
        for goal in check_in.goals:
            name = f"goal_{goal['key']}"
            raw = str(ratings.get(goal["key"], "")).strip().rstrip("%").strip()
            if not (raw.isascii() and raw.isdigit()) or not 0 <= int(raw) <= 100:
                raise Invalid(_("Rate “%(goal)s” from 0 to 100 %%.", goal=goal["title"]), name)
            progress[goal["key"]] = int(raw)
        mine = next((a for a in check_in.answers if a.user_id == user.id), None)
        if mine is None:
            mine = CheckInAnswer(check_in_id=check_in.id, user_id=user.id, answered_at=now)
            check_in.answers.append(mine)
        mine.helped, mine.change, mine.answered_at = helped, change, now
        kept = {r.goal_key: r for r in mine.ratings}
        for key, value in progress.items():
            if key in kept:
                kept[key].progress = value
            else:
                mine.ratings.append(GoalRating(goal_key=key, progress=value))
        db.session.flush()
        if _answered_by_all(tandem, check_in) and check_in.revealed_at is None:
            check_in.revealed_at = now
            for member in tandem.members:
                service._tell(
                    db.session.get(User, member.user_id), "check_in_revealed", tandem, None,
                    mail=False, target=_target(check_in),
                )  # fmt: skip
    return mine


@dataclass
class CheckInView:
    """A check-in as one member may see it: whose answers are in, and the answers themselves
    only once everyone answered (or, once it closed, for those who answered)."""

    check_in: CheckIn
    mine: CheckInAnswer | None
    answered: list[int]
    waiting: list[int]
    answers: list[CheckInAnswer]
    complete: bool

    @property
    def visible(self) -> bool:
        return bool(self.answers)

    @property
    def open(self) -> bool:
        return self.check_in.closed_at is None and not self.complete


def view_of(tandem: Tandem, check_in: CheckIn, viewer: User) -> CheckInView:
    """The no-peeking rule: a member sees the others' answers only after answering
    themselves, and only once every current member has answered or the check-in closed."""
    answers = list(check_in.answers)
    answered = [a.user_id for a in answers]
    waiting = [uid for uid in tandem.member_ids() if uid not in answered]
    mine = next((a for a in answers if a.user_id == viewer.id), None)
    complete = not waiting
    shown = answers if mine is not None and (complete or check_in.closed_at) else []
    return CheckInView(check_in, mine, answered, waiting, shown, complete)


def due_for(user: User) -> list[tuple[Tandem, CheckIn]]:
    """Open check-ins the member has not answered yet (the dashboard's "what to do next").
    The member's tandems come first: a plain IN list keeps the planner on the index
    whatever its statistics say about how many check-ins are open."""
    mine = db.session.scalars(
        select(TandemMember.tandem_id).where(TandemMember.user_id == user.id)
    ).all()
    if not mine:
        return []
    rows = db.session.execute(
        select(Tandem, CheckIn)
        .join(CheckIn, CheckIn.tandem_id == Tandem.id)
        .where(CheckIn.tandem_id.in_(mine), CheckIn.closed_at.is_(None))
        .where(Tandem.state.in_(REFLECTING))
        .where(
            ~select(CheckInAnswer.user_id)
            .where(CheckInAnswer.check_in_id == CheckIn.id, CheckInAnswer.user_id == user.id)
            .exists()
        )
        .order_by(CheckIn.opened_at)
    ).all()
    return [(t, c) for t, c in rows]


def tick(now: datetime | None = None) -> tuple[int, int]:
    """Open the check-ins that are due (telling everyone) and remind, once, those who have
    not answered after three days. Part of `flask --app app tick`; two ticks at once do
    nothing twice (the tandem row is locked and re-read). Returns (opened, reminded)."""
    now = now or utcnow()
    today = now.date()
    opened = reminded = 0
    due = db.session.scalars(
        select(Tandem.id).where(Tandem.state == "active", Tandem.next_check_in_on <= today)
    ).all()
    for tandem_id in due:
        with transaction():
            tandem = service.locked(tandem_id)
            if tandem.state != "active" or tandem.next_check_in_on is None:
                continue
            if tandem.next_check_in_on > today:
                continue
            content = _content(tandem)
            _start, end = texts.term_dates(content)
            due_on = tandem.next_check_in_on
            if due_on <= end:
                _open(tandem, due_on, None, now)
                opened += 1
            following = due_on + _every(content)
            tandem.next_check_in_on = following if following > today else today + _every(content)
    waiting = db.session.scalars(
        select(CheckIn.id).where(
            CheckIn.closed_at.is_(None),
            CheckIn.reminded_at.is_(None),
            CheckIn.opened_at <= now - REMIND_AFTER,
        )
    ).all()
    for check_in_id in waiting:
        with transaction():
            claimed = db.session.execute(
                update(CheckIn)
                .where(CheckIn.id == check_in_id, CheckIn.reminded_at.is_(None))
                .values(reminded_at=now)
            ).rowcount
            if not claimed:
                continue
            check_in = db.session.get(CheckIn, check_in_id)
            db.session.refresh(check_in)
            tandem = db.session.get(Tandem, check_in.tandem_id)
            if tandem.state not in REFLECTING:
                continue
            answered = {a.user_id for a in check_in.answers}
            for member in tandem.members:
                if member.user_id not in answered:
                    user = db.session.get(User, member.user_id)
                    service._tell(user, "check_in_reminder", tandem, None, target=_target(check_in))
                    reminded += 1
    return opened, reminded


# --- goals over time -----------------------------------------------------------------------


@dataclass
class Line:
    user_id: int
    name: str
    points: list[tuple[date, int]] = field(default_factory=list)


@dataclass
class Journey:
    """One goal across the check-ins: each member's ratings as points in time."""

    key: str
    title: str
    current: bool
    lines: list[Line]
    achievement: Achievement | None = None

    @property
    def latest(self) -> dict[int, int]:
        return {line.user_id: line.points[-1][1] for line in self.lines if line.points}


def _name(user_id: int, names: dict[int, str], viewer: User) -> str:
    if user_id == viewer.id:
        return _("You")
    if user_id not in names:
        user = db.session.get(User, user_id)
        names[user_id] = user.display_name if user else _("A former member")
    return names[user_id]


def journeys(tandem: Tandem, viewer: User, check_ins: list[CheckIn] | None = None) -> list[Journey]:
    """Every goal of the agreement in force, then goals no longer in it that were rated,
    each with the ratings the viewer may see (their own always; the others' under the
    check-in rule), oldest first, dated by the check-in's date."""
    check_ins = sorted(check_ins if check_ins is not None else check_ins_of(tandem),
                       key=lambda c: c.number)  # fmt: skip
    names = service.names_of(tandem)
    reached = {(a.kind, a.key): a for a in achievements_of(tandem)}
    goals = {g["key"]: g["title"] for g in _goals(_content(tandem))}
    current = list(goals)
    for check_in in check_ins:
        for goal in check_in.goals:
            goals.setdefault(goal["key"], goal["title"])
    lines: dict[str, dict[int, Line]] = {key: {} for key in goals}
    for check_in in check_ins:
        view = view_of(tandem, check_in, viewer)
        shown = view.answers or ([view.mine] if view.mine else [])
        for answer_ in shown:
            for key, value in answer_.progress().items():
                if key not in lines:
                    continue
                line = lines[key].get(answer_.user_id)
                if line is None:
                    line = lines[key][answer_.user_id] = Line(
                        answer_.user_id, _name(answer_.user_id, names, viewer)
                    )
                line.points.append((check_in.due_on, value))
    result = []
    for key, title in goals.items():
        if key not in current and not lines[key]:
            continue
        ordered = sorted(lines[key].values(), key=lambda ln: (ln.user_id != viewer.id, ln.name))
        result.append(Journey(key, title, key in current, ordered, reached.get(("goal", key))))
    return result


# --- reached: celebrations and success stories ---------------------------------------------


def achievements_of(tandem: Tandem) -> list[Achievement]:
    return list(
        db.session.scalars(
            select(Achievement)
            .where(Achievement.tandem_id == tandem.id)
            .order_by(Achievement.reached_at.desc(), Achievement.id.desc())
        )
    )


def celebrations(tandem: Tandem, now: datetime | None = None) -> list[Achievement]:
    """What was reached in the last 30 days: the tandem page celebrates it."""
    since = (now or utcnow()) - CELEBRATE_FOR
    return [a for a in achievements_of(tandem) if a.reached_at >= since]


def mark_reached(
    user: User, tandem_id: int, kind: str, key: str, now: datetime | None = None
) -> Achievement:
    """Mark a goal or milestone of the agreement in force as reached; the others are told.
    Twice returns the first. Raises NotFound, Conflict (not active or completed) or
    Invalid (no such goal or milestone)."""
    now = now or utcnow()
    if kind not in ACHIEVEMENT_KINDS:
        raise Invalid(_("Choose a goal or a milestone."), "kind")
    with transaction():
        tandem = service.tandem_for(user, tandem_id, lock=True)
        if tandem.state not in REFLECTING:
            raise Conflict(_("Goals can be marked reached while your tandem is active."))
        items = _content(tandem).get("goals" if kind == "goal" else "milestones", [])
        item = next((i for i in items if i.get("key") == key), None)
        if item is None:
            raise Invalid(_("This goal or milestone is not in your agreement."), "key")
        existing = _achievement(tandem.id, kind, key)
        if existing is not None:
            return existing
        achievement = Achievement(
            tandem_id=tandem.id,
            kind=kind,
            key=key,
            title=item["title"],
            reached_at=now,
            marked_by_id=user.id,
        )
        db.session.add(achievement)
        db.session.flush()
        for other in service.partners(tandem, user.id):
            service._tell(other, f"{kind}_reached", tandem, user, mail=False)
    return achievement


def _achievement(tandem_id: int, kind: str, key: str) -> Achievement | None:
    return db.session.scalar(
        select(Achievement).where(
            Achievement.tandem_id == tandem_id, Achievement.kind == kind, Achievement.key == key
        )
    )


def achievement_for(user: User, achievement_id: int, lock: bool = False):
    achievement = db.session.get(Achievement, achievement_id)
    if achievement is None:
        raise NotFound("achievement")
    tandem = service.tandem_for(user, achievement.tandem_id, lock=lock)
    return tandem, achievement


def unmark(user: User, achievement_id: int) -> Tandem:
    """Take back "reached" (marked by mistake): its story leaves the successes page too.
    Raises NotFound (also when taken back already) or Conflict (the tandem ended)."""
    with transaction():
        tandem, achievement = achievement_for(user, achievement_id, lock=True)
        if tandem.state not in REFLECTING:
            raise Conflict(_("Goals can be marked reached while your tandem is active."))
        db.session.delete(achievement)
    return tandem


def story_of(achievement: Achievement) -> SuccessStory | None:
    return db.session.scalar(
        select(SuccessStory).where(SuccessStory.achievement_id == achievement.id)
    )


def stories_of(tandem: Tandem) -> dict[int, SuccessStory]:
    """The tandem's stories by achievement."""
    return {
        s.achievement_id: s
        for s in db.session.scalars(select(SuccessStory).where(SuccessStory.tandem_id == tandem.id))
    }


def _publish_if_agreed(tandem: Tandem, story: SuccessStory, now: datetime) -> None:
    agreed = {c.user_id for c in story.consents if c.version == story.version}
    if set(tandem.member_ids()) <= agreed:
        if story.published_at is None:
            story.published_at = now
            for member in tandem.members:
                service._tell(
                    db.session.get(User, member.user_id), "story_published", tandem, None,
                    mail=False,
                )  # fmt: skip
    else:
        story.published_at = None


def _consent(story: SuccessStory, user: User, show_name: bool, now: datetime) -> None:
    mine = next((c for c in story.consents if c.user_id == user.id), None)
    if mine is None:
        story.consents.append(
            StoryConsent(
                user_id=user.id, version=story.version, show_name=show_name, consented_at=now
            )
        )
    else:
        mine.version, mine.show_name, mine.consented_at = story.version, show_name, now


def write_story(
    user: User, achievement_id: int, text: str | None, show_name: bool, now: datetime | None = None
) -> SuccessStory:
    """Write (or change) the short story of an achievement for the successes page, and agree
    to it. New words need everyone's consent again; until then it does not appear. Raises
    NotFound, Conflict or Invalid."""
    now = now or utcnow()
    text = clean(text, STORY_MAX, "text", _("Write a few sentences about what you reached."))
    try:
        with transaction():
            tandem, achievement = achievement_for(user, achievement_id, lock=True)
            if tandem.state not in REFLECTING:
                raise Conflict(_("Goals can be marked reached while your tandem is active."))
            story = story_of(achievement)
            if story is None:
                story = SuccessStory(
                    achievement_id=achievement.id,
                    tandem_id=tandem.id,
                    text=text,
                    version=1,
                    written_by_id=user.id,
                    created_at=now,
                    updated_at=now,
                )
                db.session.add(story)
                fresh = True
            else:
                fresh = story.text != text
                if fresh:
                    story.text, story.version = text, story.version + 1
                    story.written_by_id, story.updated_at = user.id, now
            _consent(story, user, show_name, now)
            db.session.flush()
            _publish_if_agreed(tandem, story, now)
            if fresh:
                for other in service.partners(tandem, user.id):
                    service._tell(other, "story_proposed", tandem, user, mail=False)
    except IntegrityError:
        # two first stories at once: the other one was written; add this one's words to it
        return write_story(user, achievement_id, text, show_name, now)
    return story


def consent(
    user: User, story_id: int, version: int, show_name: bool, now: datetime | None = None
) -> SuccessStory:
    """Agree that the story, in the words the member read (`version`), appears on the
    successes page, with or without their name. Raises NotFound, or Conflict when the
    words changed meanwhile."""
    now = now or utcnow()
    with transaction():
        story = db.session.get(SuccessStory, story_id)
        if story is None:
            raise NotFound("story")
        tandem = service.tandem_for(user, story.tandem_id, lock=True)
        db.session.refresh(story)
        if version != story.version:
            raise Conflict(_("The story changed while you were reading it: please read it again."))
        _consent(story, user, show_name, now)
        db.session.flush()
        _publish_if_agreed(tandem, story, now)
    return story


def withdraw(user: User, story_id: int) -> SuccessStory:
    """Take one's consent back: the story leaves the successes page at once."""
    with transaction():
        story = db.session.get(SuccessStory, story_id)
        if story is None:
            raise NotFound("story")
        tandem = service.tandem_for(user, story.tandem_id, lock=True)
        db.session.refresh(story)
        story.consents = [c for c in story.consents if c.user_id != user.id]
        db.session.flush()
        _publish_if_agreed(tandem, story, utcnow())
    return story


@dataclass
class PublishedStory:
    story: SuccessStory
    title: str
    kind: str
    names: list[str]
    members: int


def published(page: int, per_page: int = 20):
    """The successes page: published stories newest first, each with the names of those
    who agreed to be named (the others are counted, not named)."""
    total = (
        db.session.scalar(
            select(func.count())
            .select_from(SuccessStory)
            .where(SuccessStory.published_at.is_not(None))
        )
        or 0
    )
    rows = db.session.execute(
        select(SuccessStory, Achievement)
        .join(Achievement, Achievement.id == SuccessStory.achievement_id)
        .where(SuccessStory.published_at.is_not(None))
        .order_by(SuccessStory.published_at.desc(), SuccessStory.id.desc())
        .options(selectinload(SuccessStory.consents))
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    named = {c.user_id for story, _a in rows for c in story.consents if c.show_name}
    names = {}
    if named:
        names = dict(
            db.session.execute(select(User.id, User.display_name).where(User.id.in_(named))).all()
        )
    stories = [
        PublishedStory(
            story,
            achievement.title,
            achievement.kind,
            sorted(names[c.user_id] for c in story.consents if c.show_name and c.user_id in names),
            len(story.consents),
        )
        for story, achievement in rows
    ]
    return stories, total


# --- the review at the end of a term -----------------------------------------------------------


@dataclass
class TermReview:
    start: date
    end: date
    held: int
    cancelled: int
    late: int
    planned: int
    missed: Counter
    journeys: list[Journey]
    check_ins: list[CheckInView]
    achievements: list[Achievement]


def review(tandem: Tandem, viewer: User, now: datetime | None = None) -> TermReview:
    """The term in force as a whole: sessions held, cancelled and still to come, no-shows,
    each goal's journey, the check-ins (under their rule) and what was reached."""
    from peerhub.meetings import service as meetings
    from peerhub.meetings.series import local_day

    now = now or utcnow()
    content = _content(tandem)
    start, end = texts.term_dates(content)
    sessions = [
        s
        for s in meetings.overview(tandem, now).sessions
        if start <= local_day(s.occurrence.start, s.series.zone) <= end
    ]
    held = [s for s in sessions if not s.cancelled and s.start <= now]
    cancelled = [s for s in sessions if s.cancelled]
    check_ins = check_ins_of(tandem)
    return TermReview(
        start=start,
        end=end,
        held=len(held),
        cancelled=len(cancelled),
        late=sum(1 for s in cancelled if s.record.late),
        planned=sum(1 for s in sessions if not s.cancelled and s.start > now),
        missed=meetings.no_show_counts(tandem, sessions),
        journeys=journeys(tandem, viewer, check_ins),
        check_ins=[view_of(tandem, c, viewer) for c in check_ins],
        achievements=achievements_of(tandem),
    )
