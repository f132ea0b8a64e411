"""Community figures for moderators: how the community grows and meets, week by week.

Weeks are ISO weeks (Monday 00:00 to Monday 00:00) in UTC, so the figures are the same for
every moderator and in every download; the last one is the current week, still running. A
figure "at a week's end" is its value at that week's last instant (for the current week:
now); a figure "per week" counts what happened in that week. Each figure is read with one
aggregate query over its table (a count per week side by side); the sessions with two reads
whatever the size (the series that could have met in the period, and those of their records
that change a count). Nothing here names a member: only counts leave this module.
"""

from __future__ import annotations

import csv
import io
import statistics
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, and_, case, func, or_, select

from peerhub.accounts.models import User
from peerhub.extensions import db, utcnow
from peerhub.intros.models import IntroRequest
from peerhub.matching.models import Proposal
from peerhub.meetings import series as meetings
from peerhub.meetings.models import Series, SessionRecord
from peerhub.meetings.occurrences import first_day
from peerhub.profiles.availability import local_instant
from peerhub.profiles.models import Profile
from peerhub.tandems.models import Tandem, TandemMember

WEEKS = 26
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Week:
    """One ISO week in UTC: from `begins` (a Monday, 00:00) to `ends` (the next Monday)."""

    start: date
    begins: datetime
    ends: datetime
    current: bool  # the week of `now`: its figures run up to now

    @property
    def iso(self) -> str:
        year, number, _day = self.start.isocalendar()
        return f"{year}-W{number:02d}"


@dataclass(frozen=True)
class WeekFigures:
    """The community in one week (counts; the median in days, None when nobody)."""

    week: Week
    members: int  # accounts signed up by the week's end
    new_members: int  # accounts signed up in the week
    profiles_completed: int  # profiles whose onboarding was finished in the week
    intros_sent: int  # intro requests sent in the week
    intros_accepted: int  # of those, the ones for which both agreed on a call time
    intros_expired: int  # intro requests that closed as expired in the week
    suggestion_intros: int  # intro requests sent in the week from the suggestions page
    proposals_accepted: int  # round proposals everyone said yes to in the week
    active_tandems: int  # tandems and groups active at the week's end
    sessions_held: int  # sessions due in the week (begun by now) and not cancelled
    sessions_cancelled: int  # sessions due in the week (begun by now) that were cancelled
    first_tandems: int  # members whose first tandem became active in the week
    median_days_to_tandem: float | None  # their median days from sign-up to that moment


@dataclass(frozen=True)
class Totals:
    """The whole period: stocks as they are now, flows summed over the weeks."""

    members: int
    new_members: int
    profiles_completed: int
    open_profiles: int  # now only: changes of a profile's status are not dated
    intros_sent: int
    intros_accepted: int
    intros_expired: int
    suggestion_intros: int
    proposals_accepted: int
    active_tandems: int
    sessions_held: int
    sessions_cancelled: int
    first_tandems: int
    median_days_to_tandem: float | None


@dataclass(frozen=True)
class CommunityFigures:
    now: datetime
    weeks: list[WeekFigures]
    total: Totals

    @property
    def begins(self) -> datetime:
        return self.weeks[0].week.begins


def weeks_until(now: datetime, count: int = WEEKS) -> list[Week]:
    """The `count` ISO weeks (UTC) up to and including the one `now` falls in, oldest first."""
    today = now.astimezone(UTC).date()
    monday = today - timedelta(days=today.weekday())
    out = []
    for back in range(count - 1, -1, -1):
        start = monday - timedelta(weeks=back)
        begins = datetime.combine(start, time(), UTC)
        out.append(Week(start, begins, begins + timedelta(weeks=1), back == 0))
    return out


class _Cuts:
    """The SQL conditions for "by the end of week k" and "in week k", with `now` as the end
    of the current week (inclusive: what happened at `now` has happened)."""

    def __init__(self, weeks: list[Week], now: datetime) -> None:
        self.weeks, self.now = weeks, now

    def by_end(self, column, week: Week) -> ColumnElement[bool]:
        return column <= self.now if week.current else column < week.ends

    def after_end(self, column, week: Week) -> ColumnElement[bool]:
        return column > self.now if week.current else column >= week.ends

    def within(self, column, week: Week) -> ColumnElement[bool]:
        return and_(column >= week.begins, self.by_end(column, week))


def _counts(conditions: list[ColumnElement[bool]], table, *where) -> list[int]:
    """One aggregate query: how many rows of `table` meet each condition."""
    if not conditions:
        return []
    query = select(*(func.count().filter(c) for c in conditions)).select_from(table)
    if where:
        query = query.where(*where)
    return [int(n or 0) for n in db.session.execute(query).one()]


def _split(values: list[int], parts: int) -> list[list[int]]:
    size = len(values) // parts
    return [values[i * size : (i + 1) * size] for i in range(parts)]


def _member_counts(cuts: _Cuts) -> tuple[list[int], list[int], list[int]]:
    """Members at each week's end and signed up in each week; profiles completed per week."""
    weeks = cuts.weeks
    members, new = _split(
        _counts(
            [cuts.by_end(User.created_at, w) for w in weeks]
            + [cuts.within(User.created_at, w) for w in weeks],
            User,
        ),
        2,
    )
    completed = _counts([cuts.within(Profile.onboarded_at, w) for w in weeks], Profile)
    return members, new, completed


def open_profiles() -> int:
    """Profiles the directory can list now: open, visible to members, not hidden by a
    moderator, of an active account with a verified address."""
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(Profile)
            .join(User, User.id == Profile.user_id)
            .where(
                Profile.status == "open",
                Profile.visibility == "members",
                Profile.hidden_by_moderator_at.is_(None),
                User.status == "active",
                User.email_verified_at.is_not(None),
            )
        )
        or 0
    )


def _intro_counts(cuts: _Cuts) -> list[list[int]]:
    """Per week: requests sent, of those accepted, sent from a suggestion, and expired."""
    weeks, begins = cuts.weeks, cuts.weeks[0].begins
    sent = IntroRequest.created_at
    accepted = IntroRequest.scheduled_start.is_not(None)
    suggested = IntroRequest.source == "suggestion"
    counts = _split(
        _counts(
            [cuts.within(sent, w) for w in weeks]
            + [and_(accepted, cuts.within(sent, w)) for w in weeks]
            + [and_(suggested, cuts.within(sent, w)) for w in weeks],
            IntroRequest,
            sent >= begins,
        ),
        3,
    )
    expired = _counts(
        [cuts.within(IntroRequest.closed_at, w) for w in weeks],
        IntroRequest,
        IntroRequest.state == "expired",
        IntroRequest.closed_at >= begins,
    )
    return [*counts, expired]


def _proposal_counts(cuts: _Cuts) -> list[int]:
    """Round proposals that everyone in them said yes to, per week of the last yes."""
    return _counts(
        [cuts.within(Proposal.decided_at, w) for w in cuts.weeks],
        Proposal,
        Proposal.status == "accepted",
    )


def _active_tandems(cuts: _Cuts) -> list[int]:
    """Tandems and groups active at each week's end: activated by then, not ended by then
    (ended early or completed both set `ended_at`)."""
    return _counts(
        [
            and_(
                cuts.by_end(Tandem.activated_at, w),
                or_(Tandem.ended_at.is_(None), cuts.after_end(Tandem.ended_at, w)),
            )
            for w in cuts.weeks
        ],
        Tandem,
        Tandem.activated_at.is_not(None),
    )


def first_tandem_days(begins: datetime, now: datetime) -> list[tuple[datetime, float]]:
    """For each member whose first tandem became active for them in [begins, now]: that
    moment and the days since they signed up. A member's moment in a tandem is when it became
    active, or when they joined it if that was later (a group they were invited into)."""
    became = case(
        (TandemMember.joined_at > Tandem.activated_at, TandemMember.joined_at),
        else_=Tandem.activated_at,
    )
    first = func.min(became).label("first")
    rows = db.session.execute(
        select(User.created_at, first)
        .select_from(TandemMember)
        .join(Tandem, Tandem.id == TandemMember.tandem_id)
        .join(User, User.id == TandemMember.user_id)
        .where(Tandem.activated_at.is_not(None))
        .group_by(TandemMember.user_id, User.created_at)
        .having(and_(first >= begins, first <= now))
    ).all()
    return [(moment, (moment - created) / DAY) for created, moment in rows]


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _sessions(weeks: list[Week], now: datetime) -> tuple[list[int], list[int]]:
    """Per week: sessions begun by now that took place (not cancelled) and that were
    cancelled, each in the week it began (or would have begun; a moved one where it moved
    to), as `meetings.series.Session` tells them apart (`start`, `cancelled`).

    Two reads whatever the size: the series that could have met in the period (plain rows),
    and the records that change the count (cancelled or moved ones; a record of notes or
    attendance alone changes nothing). Each series' rule is walked only from shortly before
    the period (or its first moved session) up to now (or its last session moved to before
    now); wall times are placed in their zone once per day, time and zone, since most series
    share them."""
    begins = weeks[0].begins
    live = (
        Series.state.in_(meetings.LIVE),
        # local dates: a day's margin either side for the zones
        Series.ends_on >= begins.date() - DAY,
        Series.starts_on <= now.date() + DAY,
    )
    rows = db.session.execute(
        select(
            Series.id,
            Series.state,
            Series.interval_weeks,
            Series.weekday,
            Series.start_minute,
            Series.zone,
            Series.length_minutes,
            Series.starts_on,
            Series.ends_on,
        ).where(*live)
    ).all()
    # (number, cancelled, moved start) of the sessions whose record changes the count
    records: dict[int, dict[int, tuple[bool, datetime | None]]] = {}
    for series_id, number, state, moved_start in db.session.execute(
        select(
            SessionRecord.series_id,
            SessionRecord.number,
            SessionRecord.state,
            SessionRecord.moved_start,
        )
        .join(Series, Series.id == SessionRecord.series_id)
        .where(
            *live,
            or_(SessionRecord.state == "cancelled", SessionRecord.moved_start.is_not(None)),
        )
    ):
        records.setdefault(series_id, {})[number] = (state == "cancelled", moved_start)
    one_week = timedelta(weeks=1)

    def week_of(start: datetime) -> int | None:
        return (start - begins) // one_week if begins <= start <= now else None

    # (local day, minute, zone) -> (the instant, its week or None outside the period)
    placed: dict[tuple[int, int, str], tuple[datetime, int | None]] = {}
    held, cancelled = [0] * len(weeks), [0] * len(weeks)
    for series in rows:
        changed = records.get(series.id, {})
        # beyond now, only a session moved to before now can still count
        last_moved_in = max(
            (n for n, (_c, moved) in changed.items() if moved is not None and moved <= now),
            default=-1,
        )
        minute, zone = series.start_minute, series.zone
        step = 7 * series.interval_weeks
        day = first_day(series.starts_on, series.weekday).toordinal()
        last = series.ends_on.toordinal()
        # skip the sessions before the period, up to the first one that moved
        skip = max(0, (begins.date().toordinal() - step - day) // step)
        index = min([skip, *(n for n, (_c, moved) in changed.items() if moved is not None)])
        day += index * step
        while day <= last:
            key = (day, minute, zone)
            slot = placed.get(key)
            if slot is None:
                instant = local_instant(date.fromordinal(day), minute, zone)
                slot = placed[key] = (instant, week_of(instant))
            planned, week = slot
            if planned > now and index > last_moved_in:
                break
            change = changed.get(index)
            if change is None:
                if week is not None:
                    held[week] += 1
            else:
                # as meetings.series.Session has it: a moved session begins where it moved to
                is_cancelled, moved = change
                week = week_of(moved) if moved is not None else week
                if week is not None:
                    (cancelled if is_cancelled else held)[week] += 1
            day += step
            index += 1
    return held, cancelled


def community_figures(now: datetime | None = None, weeks: int = WEEKS) -> CommunityFigures:
    """The figures of the last `weeks` ISO weeks up to `now`, and their totals."""
    now = now or utcnow()
    period = weeks_until(now, weeks)
    cuts = _Cuts(period, now)
    members, new, completed = _member_counts(cuts)
    sent, accepted, suggested, expired = _intro_counts(cuts)
    proposals = _proposal_counts(cuts)
    active = _active_tandems(cuts)
    held, cancelled = _sessions(period, now)
    firsts = first_tandem_days(period[0].begins, now)
    per_week: list[list[float]] = [[] for _ in period]
    for moment, days in firsts:
        per_week[(moment - period[0].begins) // timedelta(weeks=1)].append(days)
    rows = [
        WeekFigures(
            week=week,
            members=members[k],
            new_members=new[k],
            profiles_completed=completed[k],
            intros_sent=sent[k],
            intros_accepted=accepted[k],
            intros_expired=expired[k],
            suggestion_intros=suggested[k],
            proposals_accepted=proposals[k],
            active_tandems=active[k],
            sessions_held=held[k],
            sessions_cancelled=cancelled[k],
            first_tandems=len(per_week[k]),
            median_days_to_tandem=_median(per_week[k]),
        )
        for k, week in enumerate(period)
    ]
    total = Totals(
        members=members[-1],
        new_members=sum(new),
        profiles_completed=sum(completed),
        open_profiles=open_profiles(),
        intros_sent=sum(sent),
        intros_accepted=sum(accepted),
        intros_expired=sum(expired),
        suggestion_intros=sum(suggested),
        proposals_accepted=sum(proposals),
        active_tandems=active[-1],
        sessions_held=sum(held),
        sessions_cancelled=sum(cancelled),
        first_tandems=len(firsts),
        median_days_to_tandem=_median([days for _moment, days in firsts]),
    )
    return CommunityFigures(now, rows, total)


# --- the download --------------------------------------------------------------------------

# Column names are stable identifiers (not translated), so a spreadsheet built on the file
# keeps working whichever language the moderator reads the site in.
CSV_COLUMNS = (
    "week",
    "week_start",
    "members",
    "new_members",
    "profiles_completed",
    "open_profiles",
    "intro_requests_sent",
    "intro_requests_accepted",
    "intro_requests_expired",
    "intro_requests_from_suggestions",
    "round_proposals_accepted",
    "active_tandems",
    "sessions_held",
    "sessions_cancelled",
    "members_first_active_tandem",
    "median_days_signup_to_first_tandem",
)


def csv_rows(figures: CommunityFigures) -> list[list[str]]:
    """The header, then one row per week, oldest first: numbers only. Open profiles are
    known for now only (the current week's row); a median is empty when nobody started."""
    out = [list(CSV_COLUMNS)]
    for row in figures.weeks:
        median = row.median_days_to_tandem
        counts = (
            row.members,
            row.new_members,
            row.profiles_completed,
            figures.total.open_profiles if row.week.current else None,
            row.intros_sent,
            row.intros_accepted,
            row.intros_expired,
            row.suggestion_intros,
            row.proposals_accepted,
            row.active_tandems,
            row.sessions_held,
            row.sessions_cancelled,
            row.first_tandems,
        )
        out.append(
            [
                row.week.iso,
                row.week.start.isoformat(),
                *("" if n is None else str(n) for n in counts),
                "" if median is None else f"{median:.1f}",
            ]
        )
    return out


def figures_csv(figures: CommunityFigures) -> str:
    """The figures as a CSV file (comma-separated, a header row, CRLF line ends)."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(csv_rows(figures))
    return buffer.getvalue()


def csv_filename(now: datetime) -> str:
    return f"peerhub-figures-{now.astimezone(UTC).date().isoformat()}.csv"
