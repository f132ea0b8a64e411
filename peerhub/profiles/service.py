"""Profile rules: editing in steps, tags, availability, completeness, blocking. No request here."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from flask_babel import gettext as _
from sqlalchemy import delete, func, insert, or_, select, tuple_
from sqlalchemy.exc import IntegrityError

from peerhub.accounts.models import User
from peerhub.errors import Conflict, Invalid, NotAllowed, NotFound
from peerhub.extensions import db, transaction, utcnow
from peerhub.profiles.models import (
    ABOUT_MAX,
    CITY_MAX,
    CONTEXTS,
    GOAL_MAX,
    GOALS_MAX,
    HEADLINE_MAX,
    LANGUAGE_CODES,
    MEETING_MODES,
    RHYTHMS,
    SESSION_LENGTHS,
    STATUSES,
    TAG_KINDS,
    TAG_NAME_MAX,
    TAGS_PER_KIND_MAX,
    VISIBILITIES,
    AvailabilityWindow,
    Block,
    Goal,
    Profile,
    ProfileLanguage,
    ProfileTag,
    Tag,
    language_mask,
    weekday_mask,
)
from peerhub.profiles.text import clean_tag_name, search_document, tag_key

MAX_WINDOWS_PER_DAY = 2
ONBOARDING_STEPS = ("strengths", "support", "goals", "practicalities")


# --- reading -------------------------------------------------------------------


def blank_profile(user_id: int) -> Profile:
    """An unsaved, empty profile with the defaults (for reading before anything is saved)."""
    return Profile(
        user_id=user_id,
        headline="",
        about="",
        meeting_mode="video",
        rhythm="weekly",
        session_length=60,
        capacity=2,
        status="open",
        visibility="members",
        search_document="",
    )


def profile_view(user_id: int) -> Profile:
    """The member's profile to read (GET never writes): saved, or blank."""
    return db.session.get(Profile, user_id) or blank_profile(user_id)


def profile_for(user_id: int) -> Profile:
    """The member's profile to change, made empty on first use."""
    profile = db.session.get(Profile, user_id)
    if profile is None:
        with transaction():
            profile = Profile(user_id=user_id)
            db.session.add(profile)
        profile = db.session.get(Profile, user_id)
    return profile


@dataclass(frozen=True)
class Completeness:
    done: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def percent(self) -> int:
        total = len(self.done) + len(self.missing)
        return round(100 * len(self.done) / total) if total else 100

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def next_step(self) -> str | None:
        """The first onboarding step that still has something missing."""
        for step, parts in STEP_PARTS.items():
            if any(part in self.missing for part in parts):
                return step
        return None


STEP_PARTS = {
    "strengths": ("headline", "offers"),
    "support": ("seeks",),
    "goals": ("goals",),
    "practicalities": ("languages", "availability"),
}


def completeness(profile: Profile) -> Completeness:
    """Which parts a good match needs are filled in."""
    checks = {
        "headline": bool(profile.headline.strip()),
        "offers": any(t.kind == "offer" for t in profile.tags),
        "seeks": any(t.kind == "seek" for t in profile.tags),
        "goals": bool(profile.goals),
        "languages": bool(profile.languages),
        "availability": bool(profile.windows),
    }
    return Completeness(
        done=tuple(k for k, ok in checks.items() if ok),
        missing=tuple(k for k, ok in checks.items() if not ok),
    )


def _refresh_search(profile: Profile) -> None:
    profile.search_document = search_document(
        profile.headline,
        profile.about,
        *(goal.text for goal in profile.goals),
        *(pt.tag.name for pt in profile.tags),
    )
    profile.updated_at = utcnow()


# --- editing -------------------------------------------------------------------


def _text(value: str | None, limit: int, field: str, message: str) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        raise Invalid(message, field)
    return value


def save_headline(user: User, headline: str) -> Profile:
    """Set the one-line headline. Raises Invalid when too long."""
    headline = " ".join(
        _text(
            headline,
            HEADLINE_MAX,
            "headline",
            _("Please keep the headline to %(max)d characters.", max=HEADLINE_MAX),
        ).split()
    )
    profile = profile_for(user.id)
    with transaction():
        profile.headline = headline
        _refresh_search(profile)
    return profile


def save_goals(user: User, goals: list[str], about: str) -> Profile:
    """Replace the learning goals (up to five, in order) and the about text. Raises Invalid."""
    about = _text(
        about, ABOUT_MAX, "about", _("Please keep this to %(max)d characters.", max=ABOUT_MAX)
    )
    cleaned = [" ".join((g or "").split()) for g in goals]
    cleaned = [g for g in cleaned if g]
    if len(cleaned) > GOALS_MAX:
        raise Invalid(_("Up to %(max)d goals, please.", max=GOALS_MAX), "goals")
    for goal in cleaned:
        if len(goal) > GOAL_MAX:
            raise Invalid(_("Please keep each goal to %(max)d characters.", max=GOAL_MAX), "goals")
    profile = profile_for(user.id)
    with transaction():
        profile.about = about
        profile.goals.clear()
        db.session.flush()
        profile.goals.extend(Goal(position=i, text=text) for i, text in enumerate(cleaned))
        _refresh_search(profile)
    return profile


@dataclass(frozen=True)
class Practicalities:
    context: str | None
    languages: tuple[str, ...]
    meeting_mode: str
    city: str | None
    rhythm: str
    session_length: int
    capacity: int
    status: str
    visibility: str
    windows: tuple[tuple[int, int, int], ...] = ()


def _check_windows(windows: list[tuple[int, int, int]]) -> dict[int, list[tuple[int, int]]]:
    """Weekly windows (weekday, start minute, end minute) grouped by day, checked.

    Raises Invalid with field `day-<weekday>` for an inverted, overlapping or out-of-day window.
    """
    by_day: dict[int, list[tuple[int, int]]] = {}
    for weekday, start, end in windows:
        if weekday not in range(7):
            raise Invalid(_("Unknown weekday."), "availability")
        if not (0 <= start < 24 * 60 and 0 < end <= 24 * 60):
            raise Invalid(_("Times must lie within the day."), f"day-{weekday}")
        if start >= end:
            raise Invalid(_("A window must end after it starts."), f"day-{weekday}")
        by_day.setdefault(weekday, []).append((start, end))
    for weekday, day in by_day.items():
        if len(day) > MAX_WINDOWS_PER_DAY:
            raise Invalid(
                _("Up to %(max)d windows a day, please.", max=MAX_WINDOWS_PER_DAY),
                f"day-{weekday}",
            )
        day.sort()
        for (_s1, end1), (start2, _e2) in pairwise(day):
            if start2 < end1:
                raise Invalid(
                    _("These windows overlap. Please join or separate them."), f"day-{weekday}"
                )
    return by_day


def save_practicalities(user: User, data: Practicalities) -> Profile:
    """Languages, meeting mode and place, rhythm, length, capacity, status, visibility, and
    the weekly availability windows (local wall time in the member's zone).

    Raises Invalid naming the field at fault; nothing is saved then.
    """
    if data.context is not None and data.context not in CONTEXTS:
        raise Invalid(_("Please choose one of the listed contexts."), "context")
    unknown = [code for code in data.languages if code not in LANGUAGE_CODES]
    if unknown:
        raise Invalid(_("Please choose languages from the list."), "languages")
    if not data.languages:
        raise Invalid(_("Please choose at least one language you can meet in."), "languages")
    if data.meeting_mode not in MEETING_MODES:
        raise Invalid(_("Please choose how you want to meet."), "meeting_mode")
    city = " ".join((data.city or "").split()) or None
    if city and len(city) > CITY_MAX:
        raise Invalid(_("Please keep the city to %(max)d characters.", max=CITY_MAX), "city")
    if city and data.meeting_mode == "video":
        raise Invalid(
            _(
                "A city only matters when you meet in person. "
                "Choose in person or either, or leave the city empty."
            ),
            "city",
        )
    if data.meeting_mode == "in_person" and not city:
        raise Invalid(_("Please name the city where you can meet in person."), "city")
    if data.rhythm not in RHYTHMS:
        raise Invalid(_("Please choose weekly or every two weeks."), "rhythm")
    if data.session_length not in SESSION_LENGTHS:
        raise Invalid(_("Please choose 60 or 90 minutes."), "session_length")
    if not 1 <= data.capacity <= 3:
        raise Invalid(_("Please choose between 1 and 3 partnerships."), "capacity")
    if data.status not in STATUSES:
        raise Invalid(_("Please choose open or paused."), "status")
    if data.visibility not in VISIBILITIES:
        raise Invalid(_("Please choose who can find you."), "visibility")
    by_day = _check_windows(list(data.windows))
    profile = profile_for(user.id)
    with transaction():
        profile.context = data.context
        profile.meeting_mode = data.meeting_mode
        profile.city = city
        profile.city_key = tag_key(city) if city else None
        profile.rhythm = data.rhythm
        profile.session_length = data.session_length
        profile.capacity = data.capacity
        profile.status = data.status
        profile.visibility = data.visibility
        profile.languages.clear()
        db.session.flush()
        profile.languages.extend(ProfileLanguage(code=code) for code in sorted(set(data.languages)))
        profile.windows.clear()
        db.session.flush()
        profile.windows.extend(
            AvailabilityWindow(weekday=weekday, start_minute=start, end_minute=end)
            for weekday, day in sorted(by_day.items())
            for start, end in day
        )
        profile.language_mask = language_mask(data.languages)
        profile.weekday_mask = weekday_mask(by_day)
        profile.updated_at = utcnow()
    return profile


def parse_minute(value: str | None) -> int | None:
    """'18:30' → 1110; '24:00' is the end of the day. Raises ValueError for anything else."""
    value = (value or "").strip()
    if not value:
        return None
    hours, _sep, minutes = value.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(value)
    total = int(hours) * 60 + int(minutes)
    if int(minutes) >= 60 or total > 24 * 60:
        raise ValueError(value)
    return total


def finish_onboarding(user: User) -> Profile:
    """Note that the member went through the guided steps (again is harmless)."""
    profile = profile_for(user.id)
    if profile.onboarded_at is None:
        with transaction():
            profile.onboarded_at = utcnow()
    return profile


# --- tags ----------------------------------------------------------------------


def _tag_for(name: str) -> Tag:
    """The tag this spelling belongs to, created on first use (a racing twin is reused)."""
    name = clean_tag_name(name)
    key = tag_key(name)
    if not key:
        raise Invalid(_("Please enter a word."), "tag")
    if len(name) > TAG_NAME_MAX:
        raise Invalid(_("Please keep a tag to %(max)d characters.", max=TAG_NAME_MAX), "tag")
    tag = db.session.scalar(select(Tag).where(Tag.key == key))
    if tag is not None:
        return tag
    try:
        with db.session.begin_nested():
            tag = Tag(name=name, key=key)
            db.session.add(tag)
    except IntegrityError:
        tag = db.session.scalar(select(Tag).where(Tag.key == key))
    return tag


def _check_kind(kind: str) -> None:
    if kind not in TAG_KINDS:
        raise NotFound("tag kind")


def add_tag(user: User, kind: str, name: str) -> Profile:
    """Add a tag as offer, seek or interest (adding it twice is harmless).

    Raises Invalid for an empty or long name, too many tags, or offering and seeking the same.
    """
    _check_kind(kind)
    profile = profile_for(user.id)
    with transaction():
        tag = _tag_for(name)
        mine = [pt for pt in profile.tags if pt.kind == kind]
        if any(pt.tag_id == tag.id for pt in mine):
            return profile
        opposite = {"offer": "seek", "seek": "offer"}.get(kind)
        if opposite and any(pt.tag_id == tag.id and pt.kind == opposite for pt in profile.tags):
            raise Invalid(
                _("You cannot offer and seek the same thing. Choose a more specific word."), "tag"
            )
        if len(mine) >= TAGS_PER_KIND_MAX:
            raise Invalid(_("Up to %(max)d tags here, please.", max=TAGS_PER_KIND_MAX), "tag")
        profile.tags.append(ProfileTag(tag=tag, kind=kind))
        db.session.flush()
        _refresh_search(profile)
    return profile


def remove_tag(user: User, kind: str, tag_id: int) -> Profile:
    """Remove a tag from the profile (already gone is harmless)."""
    _check_kind(kind)
    profile = profile_for(user.id)
    with transaction():
        profile.tags = [pt for pt in profile.tags if not (pt.kind == kind and pt.tag_id == tag_id)]
        db.session.flush()
        _refresh_search(profile)
    return profile


def suggest_tags(text: str, limit: int = 8) -> list[tuple[Tag, int]]:
    """Existing tags whose key starts with (then contains) what was typed, most used first."""
    key = tag_key(clean_tag_name(text))
    if not key:
        return []
    uses = (
        select(ProfileTag.tag_id, func.count(func.distinct(ProfileTag.user_id)).label("members"))
        .group_by(ProfileTag.tag_id)
        .subquery()
    )
    like = key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = db.session.execute(
        select(Tag, func.coalesce(uses.c.members, 0))
        .outerjoin(uses, uses.c.tag_id == Tag.id)
        .where(Tag.key.like(f"%{like}%", escape="\\"))
        .order_by(
            Tag.key.like(f"{like}%", escape="\\").desc(),
            func.coalesce(uses.c.members, 0).desc(),
            Tag.name,
        )
        .limit(limit)
    ).all()
    return [(tag, members) for tag, members in rows]


def _refresh_profiles_with(tag_ids: list[int]) -> None:
    user_ids = db.session.scalars(
        select(ProfileTag.user_id).where(ProfileTag.tag_id.in_(tag_ids)).distinct()
    ).all()
    for profile in db.session.scalars(select(Profile).where(Profile.user_id.in_(user_ids))):
        _refresh_search(profile)


def _require_moderator(actor: User) -> None:
    if not actor.is_moderator:
        raise NotAllowed(_("Only moderators can change the shared vocabulary."))


def rename_tag(actor: User, tag_id: int, new_name: str) -> Tag:
    """Change a tag's spelling for everyone. Raises NotFound, Invalid, or Conflict when the
    new spelling is another tag's (merge them instead)."""
    _require_moderator(actor)
    tag = db.session.get(Tag, tag_id)
    if tag is None:
        raise NotFound("tag")
    name = clean_tag_name(new_name)
    key = tag_key(name)
    if not key or len(name) > TAG_NAME_MAX:
        raise Invalid(
            _("Please enter a name of up to %(max)d characters.", max=TAG_NAME_MAX), "name"
        )
    other = db.session.scalar(select(Tag).where(Tag.key == key, Tag.id != tag.id))
    if other is not None:
        raise Conflict(
            _("“%(name)s” exists already. Merge the two tags instead.", name=other.name), "name"
        )
    with transaction():
        tag.name, tag.key = name, key
        db.session.flush()
        _refresh_profiles_with([tag.id])
    return tag


def merge_tags(actor: User, source_id: int, target_id: int) -> Tag:
    """Move every use of `source` to `target` and remove `source`. Raises NotFound, Invalid."""
    _require_moderator(actor)
    if source_id == target_id:
        raise Invalid(_("Choose two different tags."), "target")
    source, target = db.session.get(Tag, source_id), db.session.get(Tag, target_id)
    if source is None or target is None:
        raise NotFound("tag")
    with transaction():
        already = select(ProfileTag.user_id, ProfileTag.kind).where(ProfileTag.tag_id == target_id)
        moving = db.session.execute(
            select(ProfileTag.user_id, ProfileTag.kind).where(
                ProfileTag.tag_id == source_id,
                tuple_(ProfileTag.user_id, ProfileTag.kind).not_in(already),
            )
        ).all()
        if moving:
            db.session.execute(
                insert(ProfileTag),
                [{"user_id": u, "tag_id": target_id, "kind": k} for u, k in moving],
            )
        affected = db.session.scalars(
            select(ProfileTag.user_id).where(ProfileTag.tag_id == source_id).distinct()
        ).all()
        db.session.execute(delete(ProfileTag).where(ProfileTag.tag_id == source_id))
        db.session.delete(source)
        db.session.flush()
        db.session.expire_all()
        for profile in db.session.scalars(select(Profile).where(Profile.user_id.in_(affected))):
            _refresh_search(profile)
    return db.session.get(Tag, target_id)


# --- blocking and seeing each other --------------------------------------------


def blocked_between(a: int, b: int) -> bool:
    """Whether either member blocked the other."""
    return bool(
        db.session.scalar(
            select(func.count())
            .select_from(Block)
            .where(
                or_(
                    (Block.blocker_id == a) & (Block.blocked_id == b),
                    (Block.blocker_id == b) & (Block.blocked_id == a),
                )
            )
        )
    )


def _visible_member(viewer_id: int, user_id: int) -> User:
    user = db.session.get(User, user_id)
    if (
        user is None
        or user.id == viewer_id
        or not user.is_active
        or not user.is_verified
        or blocked_between(viewer_id, user_id)
    ):
        raise NotFound("member")
    return user


def member_for(viewer_id: int, user_id: int) -> tuple[User, Profile]:
    """Another member and their profile as `viewer` may see them. Raises NotFound otherwise
    (inactive, unconfirmed, blocked either way, the viewer themself, or hidden by a
    moderator)."""
    user = _visible_member(viewer_id, user_id)
    profile = profile_view(user.id)
    if profile.hidden_by_moderator_at is not None:
        raise NotFound("member")
    return user, profile


def block(viewer: User, user_id: int) -> None:
    """Block a member: neither sees the other any more (again is harmless). Raises NotFound."""
    if db.session.get(Block, (viewer.id, user_id)) is not None:
        return
    _visible_member(viewer.id, user_id)
    from peerhub.intros.service import close_for_block

    try:
        with transaction():
            db.session.add(Block(blocker_id=viewer.id, blocked_id=user_id))
            close_for_block(viewer.id, user_id)
    except IntegrityError:
        pass  # a second click won the race: the block exists


def unblock(viewer: User, user_id: int) -> None:
    """Lift the viewer's own block (not there is harmless)."""
    with transaction():
        db.session.execute(
            delete(Block).where(Block.blocker_id == viewer.id, Block.blocked_id == user_id)
        )


def blocked_by(viewer_id: int) -> list[User]:
    """The members this member blocked, for the list where they can unblock."""
    return list(
        db.session.scalars(
            select(User)
            .join(Block, Block.blocked_id == User.id)
            .where(Block.blocker_id == viewer_id)
            .order_by(User.display_name)
        )
    )
