"""How well two members fit: hard constraints, and a symmetric score of 0–100 in parts.

Pure functions over `Candidate`s (no database, no request), so the suggestions page, the
matching rounds and the property tests all use the very same rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from peerhub.profiles.availability import Window, local_instant, week_start

# Points per part; the weights live here and nowhere else. They add up to 100.
WEIGHTS = {
    # The heart of peer coaching: each brings what the other seeks, so both gain. The
    # largest share, and mostly paid for mutuality (see complementary_points).
    "complementary": 45,
    # Free time in common decides whether a good fit can meet at all.
    "time": 25,
    # Shared goals (both seek the same) and interests give the pair a common ground.
    "shared": 20,
    # Same rhythm and same session length: small, since an agreement can settle either.
    "rhythm": 5,
    "length": 5,
}
# How much 0, 1, 2, 3+ matching tags are worth: the first counts most.
SATURATION = (0.0, 0.6, 0.85, 1.0)
# Hours of common free time a week that earn all the time points: room for a 90-minute
# session and a spare slot when one must move.
FULL_TIME_MINUTES = 180
WEEK_MINUTES = 7 * 24 * 60


def saturation(count: int) -> float:
    return SATURATION[min(count, len(SATURATION) - 1)]


@dataclass(frozen=True)
class Candidate:
    """What scoring needs of one member (tags as sets of tag ids)."""

    user_id: int
    name: str
    zone: str
    offers: frozenset[int]
    seeks: frozenset[int]
    interests: frozenset[int] = frozenset()
    language_mask: int = 0
    meeting_mode: str = "video"
    city_key: str | None = None
    rhythm: str = "weekly"
    session_length: int = 60
    windows: tuple[Window, ...] = ()
    # Member-level conditions: open, visible, active, confirmed, below capacity.
    available: bool = True
    unavailable_reason: str | None = None


@dataclass(frozen=True)
class Score:
    """A pair's score, part by part (each part in points; `total` is their sum)."""

    complementary: int
    time: int
    shared: int
    rhythm: int
    length: int
    overlap_minutes: int

    @property
    def total(self) -> int:
        return self.complementary + self.time + self.shared + self.rhythm + self.length


@dataclass(frozen=True)
class Fit:
    """Why two members fit, from one side (`me`) for showing: tag ids and the score."""

    me: Candidate
    other: Candidate
    score: Score
    i_get: frozenset[int]  # what I seek and they offer
    they_get: frozenset[int]  # what they seek and I offer
    shared_goals: frozenset[int]  # both seek
    shared_interests: frozenset[int]
    overlaps: tuple[tuple[int, int], ...] = field(default=())  # minutes into the UTC week


# --- availability in one fixed UTC week ------------------------------------------


def reference_monday(day: date) -> datetime:
    """Monday 00:00 UTC of `day`'s week: both sides of a pair are measured in this week."""
    return datetime.combine(week_start(day), time(), tzinfo=UTC)


@lru_cache(maxsize=100_000)
def _week_minute(zone: str, day: date, minute: int, monday: datetime) -> int:
    """Local wall time `minute` on `day` in `zone`, as minutes after `monday` (UTC).

    Cached: members share zones and half-hour boundaries, so a few thousand entries serve
    a whole community (converting through zoneinfo for every window was most of the work).
    """
    return int((local_instant(day, minute, zone) - monday).total_seconds() // 60)


@lru_cache(maxsize=50_000)
def week_minutes(windows: tuple[Window, ...], zone: str, day: date) -> tuple[tuple[int, int], ...]:
    """The windows as minutes into the UTC week of `day`, clipped to it and merged.

    The member's own weeks before, of and after `day` are placed, so a window that the
    zone difference moves across Sunday midnight still counts. Clipping both members to
    the same UTC week makes the overlap symmetric, also in a week with a DST change.
    """
    monday = reference_monday(day)
    first_monday = week_start(day)
    spans = []
    for shift in (-7, 0, 7):
        for weekday, start, end in windows:
            local_day = first_monday + timedelta(days=shift + weekday)
            a = max(_week_minute(zone, local_day, start, monday), 0)
            b = min(_week_minute(zone, local_day, end, monday), WEEK_MINUTES)
            if a < b:
                spans.append((a, b))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return tuple(merged)


def overlap(
    first: tuple[tuple[int, int], ...], second: tuple[tuple[int, int], ...]
) -> tuple[tuple[int, int], ...]:
    """The common stretches of two sorted, merged lists of spans."""
    out = []
    i = j = 0
    while i < len(first) and j < len(second):
        start = max(first[i][0], second[j][0])
        end = min(first[i][1], second[j][1])
        if start < end:
            out.append((start, end))
        if first[i][1] < second[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


# --- hard constraints -------------------------------------------------------------

CAN_VIDEO = frozenset({"video", "either"})
CAN_MEET = frozenset({"in_person", "either"})


def meeting_compatible(a: Candidate, b: Candidate) -> bool:
    """By video when both can; in person only when both can and live in the same city."""
    if a.meeting_mode in CAN_VIDEO and b.meeting_mode in CAN_VIDEO:
        return True
    return (
        a.meeting_mode in CAN_MEET
        and b.meeting_mode in CAN_MEET
        and a.city_key is not None
        and a.city_key == b.city_key
    )


def member_violations(a: Candidate, b: Candidate) -> list[str]:
    """The hard constraints the two members' profiles break (codes; empty when none).

    Pair conditions that live elsewhere (blocks, pauses, past pairings, tandems) are
    checked by the caller, who knows them (`pair_violations`).
    """
    out = []
    if a.user_id == b.user_id:
        out.append("same_member")
    if not a.available or not b.available:
        out.append("unavailable")
    if not a.language_mask & b.language_mask:
        out.append("language")
    if not meeting_compatible(a, b):
        out.append("meeting")
    return out


@dataclass(frozen=True)
class PairRules:
    """Pairs that may not be matched, each as (lower id, higher id)."""

    blocked: frozenset[tuple[int, int]] = frozenset()
    paused: frozenset[tuple[int, int]] = frozenset()  # declined or dismissed, 90 days
    together: frozenset[tuple[int, int]] = frozenset()  # already matched or in a tandem
    past: frozenset[tuple[int, int]] = frozenset()  # paired in an earlier round (rounds only)


def pair_violations(a: Candidate, b: Candidate, rules: PairRules) -> list[str]:
    """Every hard constraint the pair breaks, profiles and pair rules together."""
    out = member_violations(a, b)
    key = (a.user_id, b.user_id) if a.user_id < b.user_id else (b.user_id, a.user_id)
    for code, pairs in (
        ("blocked", rules.blocked),
        ("paused", rules.paused),
        ("together", rules.together),
        ("past_pairing", rules.past),
    ):
        if key in pairs:
            out.append(code)
    return out


# --- the score --------------------------------------------------------------------


def complementary_points(i_get: int, they_get: int) -> int:
    """Points for what each side seeks and the other offers (counts of tags).

    Half the weight goes to the weaker direction, so a one-sided pair (at most a quarter
    of the points) scores clearly below a mutual one.
    """
    a, b = saturation(i_get), saturation(they_get)
    return round(WEIGHTS["complementary"] * (0.25 * (a + b) + 0.5 * min(a, b)))


def fit(me: Candidate, other: Candidate, day: date) -> Fit:
    """The score of the pair and what makes it, from `me`'s side (the score is symmetric)."""
    i_get = me.seeks & other.offers
    they_get = other.seeks & me.offers
    shared_goals = me.seeks & other.seeks
    shared_interests = me.interests & other.interests
    common = overlap(
        week_minutes(me.windows, me.zone, day), week_minutes(other.windows, other.zone, day)
    )
    minutes = sum(end - start for start, end in common)
    score = Score(
        complementary=complementary_points(len(i_get), len(they_get)),
        time=round(WEIGHTS["time"] * min(minutes, FULL_TIME_MINUTES) / FULL_TIME_MINUTES),
        shared=round(WEIGHTS["shared"] * saturation(len(shared_goals) + len(shared_interests))),
        rhythm=WEIGHTS["rhythm"] if me.rhythm == other.rhythm else 0,
        length=WEIGHTS["length"] if me.session_length == other.session_length else 0,
        overlap_minutes=minutes,
    )
    return Fit(me, other, score, i_get, they_get, shared_goals, shared_interests, common)


def score(a: Candidate, b: Candidate, day: date) -> int:
    """The pair's score, 0–100 (symmetric: score(a, b) == score(b, a))."""
    return fit(a, b, day).score.total
