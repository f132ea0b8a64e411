"""Community figures: each figure on constructed data with exact numbers (members, new
members, completed and open profiles, intro requests sent / accepted / expired, suggestions
taken up, active tandems, sessions held and cancelled, the median days to a first tandem),
the CSV download, moderators only, and the page in German."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest
from sqlalchemy import select, update

from peerhub.accounts.models import User
from peerhub.extensions import db, utcnow
from peerhub.intros import service as intros
from peerhub.intros.models import IntroRequest
from peerhub.matching.models import MatchingRound, Proposal
from peerhub.meetings import series as timeline
from peerhub.meetings import service as meetings
from peerhub.meetings.models import Series, SessionRecord
from peerhub.meetings.occurrences import occurrences
from peerhub.moderation import figures
from peerhub.profiles.models import Profile
from peerhub.tandems import service as tandems
from peerhub.tandems.models import Tandem, TandemMember
from tests.conftest import HX_BOOSTED, make_user
from tests.intro_factories import ask, ready, scheduled
from tests.session_factories import FIRST, NOW, active_tandem, sessions_of

WEEK = timedelta(weeks=1)
# A Thursday, ten days after the factories' NOW (Monday 7 December 2026): the current week
# begins Monday 14 December.
THURSDAY = datetime(2026, 12, 17, 12, 0, tzinfo=UTC)
# A Wednesday: four Tuesday sessions of the factories' first term have begun by then.
LATER = datetime(2027, 1, 6, 12, 0, tzinfo=UTC)


def at(persona_id: int, **values) -> None:
    """Set a member's timestamps (in the test's app context)."""
    db.session.execute(update(User).where(User.id == persona_id).values(**values))
    db.session.commit()


def week_of(result: figures.CommunityFigures, monday: date) -> figures.WeekFigures:
    return next(row for row in result.weeks if row.week.start == monday)


# --- the weeks ---------------------------------------------------------------------------


def test_weeks_are_26_iso_weeks_in_utc_ending_with_the_current_one():
    weeks = figures.weeks_until(THURSDAY)
    assert len(weeks) == 26
    assert weeks[-1].start == date(2026, 12, 14) and weeks[-1].current
    assert weeks[-1].iso == "2026-W51"
    assert weeks[0].start == date(2026, 6, 22) and not weeks[0].current
    assert all(b.start - a.start == timedelta(days=7) for a, b in pairwise(weeks))
    assert weeks[0].begins == datetime(2026, 6, 22, tzinfo=UTC)
    # the ISO year of a week in early January
    assert figures.weeks_until(datetime(2027, 1, 1, tzinfo=UTC))[-1].iso == "2026-W53"


# --- members and profiles ----------------------------------------------------------------


def test_members_per_week_and_new_members(app, ctx):
    people = [make_user(app, f"m{n}@example.org", f"M{n}") for n in range(6)]
    signed_up = [
        datetime(2026, 1, 5, 10, 0, tzinfo=UTC),  # before the period
        datetime(2026, 11, 30, 0, 0, tzinfo=UTC),  # the first instant of week 49
        datetime(2026, 12, 6, 23, 59, tzinfo=UTC),  # the last minute of week 49
        datetime(2026, 12, 7, 0, 0, tzinfo=UTC),  # week 50
        datetime(2026, 12, 17, 12, 0, tzinfo=UTC),  # this week, exactly now
        datetime(2026, 12, 18, 8, 0, tzinfo=UTC),  # after now: not yet
    ]
    for persona, when in zip(people, signed_up, strict=True):
        at(persona.id, created_at=when)
    result = figures.community_figures(now=THURSDAY)
    members = [row.members for row in result.weeks]
    new = [row.new_members for row in result.weeks]
    assert members[:-3] == [1] * 23
    assert members[-3:] == [3, 4, 5]
    assert new[:-3] == [0] * 23
    assert new[-3:] == [2, 1, 1]
    assert result.total.members == 5
    assert result.total.new_members == 4


def test_profiles_completed_per_week_and_open_profiles_now(app, ctx):
    names = ("open", "paused", "hidden", "moderated", "unverified", "suspended")
    people = [
        make_user(app, f"{n}@example.org", n.title(), verified=n != "unverified") for n in names
    ]
    ready(app, people[0], people[3], people[4], people[5])
    ready(app, people[1], status="paused")
    ready(app, people[2], visibility="hidden")
    onboarded = {
        people[0].id: datetime(2026, 12, 8, 9, 0, tzinfo=UTC),
        people[1].id: datetime(2026, 12, 9, 9, 0, tzinfo=UTC),
        people[2].id: datetime(2026, 12, 15, 9, 0, tzinfo=UTC),
        people[3].id: datetime(2026, 5, 1, 9, 0, tzinfo=UTC),  # before the period
        people[4].id: datetime(2026, 12, 18, 9, 0, tzinfo=UTC),  # after now
        people[5].id: datetime(2026, 12, 16, 9, 0, tzinfo=UTC),
    }
    for user_id, when in onboarded.items():
        db.session.execute(
            update(Profile).where(Profile.user_id == user_id).values(onboarded_at=when)
        )
    db.session.execute(
        update(Profile)
        .where(Profile.user_id == people[3].id)
        .values(hidden_by_moderator_at=THURSDAY - WEEK)
    )
    at(people[5].id, status="suspended")
    result = figures.community_figures(now=THURSDAY)
    assert [row.profiles_completed for row in result.weeks][-2:] == [2, 2]
    assert sum(row.profiles_completed for row in result.weeks) == 4
    assert result.total.profiles_completed == 4
    # open, visible, not hidden by a moderator, an active account with a confirmed address
    assert result.total.open_profiles == 1


# --- intro requests and suggestions --------------------------------------------------------


def test_intro_requests_sent_accepted_expired_and_suggestions(app, ctx):
    alice, bob, carol, dave, erin = (
        make_user(app, f"{n}@example.org", n.title())
        for n in ("alice", "bob", "carol", "dave", "erin")
    )
    ready(app, alice, bob, carol, dave, erin)
    early = NOW - WEEK  # Monday 30 November: week 49
    accepted = scheduled(app, alice, bob)  # week 50, a call time agreed
    from_suggestion = ask(app, alice, carol, source="suggestion")  # week 50, expires later
    ask(app, bob, carol, now=early)  # week 49, expires later
    declined = ask(app, dave, erin)  # week 50, declined
    ask(app, erin, alice, now=THURSDAY - timedelta(hours=1))  # this week, still pending
    intros.decline(db.session.get(User, erin.id), declined, "other", now=NOW + timedelta(hours=2))
    # a week after the request, nobody answered: the tick closes it (Tuesday 15 December)
    report = intros.tick(now=NOW + timedelta(days=8))
    assert report.expired == 2
    # a round proposal everyone said yes to (Wednesday of week 50), one still waiting
    round_ = MatchingRound(status="published", opened_at=early, published_at=early)
    db.session.add(round_)
    db.session.flush()
    db.session.add_all(
        [
            Proposal(
                round_id=round_.id,
                status="accepted",
                score=80,
                decided_at=datetime(2026, 12, 9, 10, 0, tzinfo=UTC),
            ),
            Proposal(round_id=round_.id, status="proposed", score=70),
        ]
    )
    db.session.commit()

    result = figures.community_figures(now=THURSDAY)
    w49 = week_of(result, date(2026, 11, 30))
    w50 = week_of(result, date(2026, 12, 7))
    w51 = week_of(result, date(2026, 12, 14))
    assert (w49.intros_sent, w49.intros_accepted, w49.intros_expired) == (1, 0, 0)
    assert (w50.intros_sent, w50.intros_accepted, w50.intros_expired) == (3, 1, 0)
    assert (w51.intros_sent, w51.intros_accepted, w51.intros_expired) == (1, 0, 2)
    assert (w50.suggestion_intros, w50.proposals_accepted) == (1, 1)
    total = result.total
    assert (total.intros_sent, total.intros_accepted, total.intros_expired) == (5, 1, 2)
    assert (total.suggestion_intros, total.proposals_accepted) == (1, 1)
    # after the call, deciding to go on keeps the request accepted in the week it was sent
    after = NOW + timedelta(days=2)
    for persona in (alice, bob):
        intros.record_outcome(db.session.get(User, persona.id), accepted, "continue", now=after)
    again = figures.community_figures(now=THURSDAY)
    assert week_of(again, date(2026, 12, 7)).intros_accepted == 1
    assert db.session.get(IntroRequest, from_suggestion).state == "expired"


# --- tandems, sessions and the days to a first tandem ----------------------------------------


@pytest.fixture
def community(app, ctx):
    """Two tandems made active on Monday 7 December (alice & bob; carol & dave, which ends
    on Wednesday 23 December), a group member who joined a week later, and a tandem active
    since long before the period. Alice cancels the Tuesday 22 December session; the
    29 December one moves to Monday 4 January."""
    alice, bob, carol, dave, erin, old, older = (
        make_user(app, f"{n}@example.org", n.title())
        for n in ("alice", "bob", "carol", "dave", "erin", "old", "older")
    )
    signed_up = {
        alice.id: NOW - timedelta(days=10),
        bob.id: NOW - timedelta(days=20),
        carol.id: NOW - timedelta(days=3),
        dave.id: NOW - timedelta(days=30),
        erin.id: datetime(2026, 12, 5, 10, 0, tzinfo=UTC),
        old.id: datetime(2025, 1, 1, tzinfo=UTC),
        older.id: datetime(2025, 1, 1, tzinfo=UTC),
    }
    for user_id, when in signed_up.items():
        at(user_id, created_at=when)
    first = active_tandem(app, alice, bob)
    second = active_tandem(app, carol, dave)
    # erin joins the second as its third member a week and a bit after it became active
    db.session.add(
        TandemMember(
            tandem_id=second,
            user_id=erin.id,
            position=2,
            joined_at=datetime(2026, 12, 15, 10, 0, tzinfo=UTC),
        )
    )
    then = datetime(2025, 2, 1, tzinfo=UTC)
    long_ago = Tandem(state="active", created_at=then, activated_at=then)
    db.session.add(long_ago)
    db.session.flush()
    db.session.add_all(
        [
            TandemMember(tandem_id=long_ago.id, user_id=old.id, position=0, joined_at=then),
            TandemMember(tandem_id=long_ago.id, user_id=older.id, position=1, joined_at=then),
        ]
    )
    db.session.commit()
    long_ago_id = long_ago.id
    sessions = sessions_of(first)
    series_id = sessions[0].series.id
    alice_row = db.session.get(User, alice.id)
    meetings.cancel_session(alice_row, series_id, 1, "Ill, sorry.", now=NOW)
    meetings.move_session(alice_row, series_id, 2, datetime(2027, 1, 4, 17, 0, tzinfo=UTC), now=NOW)
    meetings.cancel_session(alice_row, series_id, 5, "Away.", now=NOW)  # in the future
    tandems.end_early(
        db.session.get(User, carol.id),
        second,
        "no_time",
        now=datetime(2026, 12, 23, 12, 0, tzinfo=UTC),
    )
    return {"first": first, "second": second, "long_ago": long_ago_id}


def test_active_tandems_at_each_weeks_end(community):
    result = figures.community_figures(now=LATER)
    active = [row.active_tandems for row in result.weeks]
    # weeks from 30 Nov: the old one; both new ones from 7 Dec; the second ended 23 Dec
    assert active[-6:] == [1, 3, 3, 2, 2, 2]
    assert active[:-6] == [1] * 20
    assert result.total.active_tandems == 2


def test_sessions_held_and_cancelled_per_week(community):
    result = figures.community_figures(now=LATER)
    held = [row.sessions_held for row in result.weeks]
    cancelled = [row.sessions_cancelled for row in result.weeks]
    # weeks from 14 Dec. Both tandems met on 15 Dec. On 22 Dec the first cancelled and the
    # second met (it ended the day after). The first's 29 Dec session moved to Monday
    # 4 Jan, next to its own Tuesday 5 Jan; the cancelled 12 Jan one is still to come.
    assert held[-4:] == [2, 1, 0, 2]
    assert cancelled[-4:] == [0, 1, 0, 0]
    assert sum(held[:-4]) == sum(cancelled[:-4]) == 0
    assert (result.total.sessions_held, result.total.sessions_cancelled) == (5, 1)
    # on the day of the first session, before it began: nothing was due yet
    early = figures.community_figures(now=FIRST - timedelta(minutes=1))
    assert early.total.sessions_held == 0
    assert figures.community_figures(now=FIRST).total.sessions_held == 2


def naive_sessions(now: datetime) -> tuple[list[int], list[int]]:
    """The same count the slow way: every series' whole timeline, session by session."""
    weeks = figures.weeks_until(now)
    held, cancelled = [0] * len(weeks), [0] * len(weeks)
    for session in timeline.timeline(db.session.scalars(select(Series))):
        if weeks[0].begins <= session.start <= now:
            week = (session.start - weeks[0].begins) // WEEK
            (cancelled if session.cancelled else held)[week] += 1
    return held, cancelled


def test_sessions_agree_with_the_whole_timeline(community):
    # a series of the tandem of long ago: every Thursday at 9:00 in Tokyo
    # (00:00 UTC) since March 2025, with a session cancelled and one moved to the Monday
    # after, both in the period: 25 Thursdays from 16 July to 31 December
    series = Series(
        tandem_id=community["long_ago"],
        agreement_version=1,
        state="ended",
        interval_weeks=1,
        weekday=3,
        start_minute=9 * 60,
        zone="Asia/Tokyo",
        length_minutes=60,
        starts_on=date(2025, 3, 6),
        ends_on=date(2026, 12, 31),
    )
    db.session.add(series)
    db.session.flush()
    planned = {o.index: o.start for o in occurrences(series)}
    in_period = [n for n, start in planned.items() if start >= datetime(2026, 11, 1, tzinfo=UTC)]
    db.session.add_all(
        [
            SessionRecord(
                series_id=series.id,
                number=in_period[0],
                planned_start=planned[in_period[0]],
                state="cancelled",
                cancel_kind="single",
            ),
            SessionRecord(
                series_id=series.id,
                number=in_period[1],
                planned_start=planned[in_period[1]],
                moved_start=planned[in_period[1]] + timedelta(days=4),
                moved_end=planned[in_period[1]] + timedelta(days=4, hours=1),
            ),
        ]
    )
    db.session.commit()
    for now in (LATER, FIRST, datetime(2026, 11, 20, tzinfo=UTC), datetime(2027, 6, 1, tzinfo=UTC)):
        result = figures.community_figures(now=now)
        counted = (
            [row.sessions_held for row in result.weeks],
            [row.sessions_cancelled for row in result.weeks],
        )
        assert counted == naive_sessions(now), now
    assert figures.community_figures(now=LATER).total.sessions_held == 5 + 25 - 1


def test_median_days_from_sign_up_to_first_active_tandem(community):
    result = figures.community_figures(now=LATER)
    w50 = week_of(result, date(2026, 12, 7))
    w51 = week_of(result, date(2026, 12, 14))
    # alice 10, bob 20, carol 3 and dave 30 days: the median of four is the mean of 10 and 20
    assert (w50.first_tandems, w50.median_days_to_tandem) == (4, 15.0)
    # erin signed up on 5 Dec at 10:00 and joined the group on 15 Dec at 10:00
    assert (w51.first_tandems, w51.median_days_to_tandem) == (1, 10.0)
    others = [
        r for r in result.weeks if r.week.start not in (date(2026, 12, 7), date(2026, 12, 14))
    ]
    assert all(r.first_tandems == 0 and r.median_days_to_tandem is None for r in others)
    # the period: 3, 10, 10, 20, 30 (the tandem of long ago is before it)
    assert (result.total.first_tandems, result.total.median_days_to_tandem) == (5, 10.0)


def test_a_second_tandem_is_not_a_first(app, ctx, community):
    alice = db.session.scalar(select(User).where(User.email == "alice@example.org"))
    before = figures.community_figures(now=LATER).total.first_tandems
    then = LATER - timedelta(days=1)
    later_tandem = Tandem(state="active", activated_at=then)
    db.session.add(later_tandem)
    db.session.flush()
    db.session.add(
        TandemMember(tandem_id=later_tandem.id, user_id=alice.id, position=0, joined_at=then)
    )
    db.session.commit()
    assert figures.community_figures(now=LATER).total.first_tandems == before


# --- the download --------------------------------------------------------------------------


def test_csv_has_a_header_and_a_row_per_week(community):
    result = figures.community_figures(now=LATER)
    rows = list(csv.reader(io.StringIO(figures.figures_csv(result))))
    assert rows[0] == list(figures.CSV_COLUMNS)
    assert len(rows) == 27
    column = {name: n for n, name in enumerate(rows[0])}
    by_week = {row[0]: row for row in rows[1:]}
    w50 = by_week["2026-W50"]
    assert w50[column["week_start"]] == "2026-12-07"
    assert w50[column["active_tandems"]] == "3"
    assert w50[column["median_days_signup_to_first_tandem"]] == "15.0"
    assert w50[column["members_first_active_tandem"]] == "4"
    current = rows[-1]
    assert current[0] == "2027-W01"
    assert current[column["sessions_held"]] == "2"
    assert current[column["open_profiles"]] == str(result.total.open_profiles)
    assert by_week["2026-W49"][column["open_profiles"]] == ""  # known for now only
    assert by_week["2026-W49"][column["median_days_signup_to_first_tandem"]] == ""
    for row in rows[1:]:
        for value in row[2:]:
            assert value == "" or float(value) >= 0
    assert figures.csv_filename(LATER) == "peerhub-figures-2027-01-06.csv"


# --- HTTP ----------------------------------------------------------------------------------


def test_members_get_404(app, client, auth, alice):
    auth.login(alice)
    assert client.get("/moderation/figures").status_code == 404
    assert client.get("/moderation/figures.csv").status_code == 404
    auth.logout()
    assert client.get("/moderation/figures.csv").status_code == 404


def test_moderators_see_the_page_with_a_chart_per_figure(app, client, auth, mod, alice):
    auth.login(mod)
    response = client.get("/moderation/figures")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Community figures" in body
    assert 'aria-current="page">Figures<' in body
    for panel in (
        "figure-members",
        "figure-new-members",
        "figure-intros",
        "figure-suggestions",
        "figure-tandems",
        "figure-sessions",
    ):
        assert f'id="{panel}"' in body
    assert "/moderation/figures.csv" in body
    assert body.count("<tr>") >= 27  # the weeks' table: a header, 26 weeks, the period
    # counts have no percent sign (the progress charts keep theirs)
    assert " %" not in body.split('id="figure-members"')[1].split("</figure>")[0]
    # boosted navigation gets the whole page as well
    boosted = client.get("/moderation/figures", headers=HX_BOOSTED)
    assert boosted.status_code == 200 and "<html" in boosted.get_data(as_text=True)


def test_csv_download_as_a_moderator(app, client, auth, mod, alice):
    auth.login(mod)
    response = client.get("/moderation/figures.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    today = utcnow().date().isoformat()
    assert (
        response.headers["Content-Disposition"]
        == f"attachment; filename=peerhub-figures-{today}.csv"
    )
    text = response.get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == list(figures.CSV_COLUMNS) and len(rows) == 27
    assert rows[-1][rows[0].index("members")] == "2"  # the moderator and alice
    for secret in ("Alice", "alice@example.org", "Mo", "mod@example.org"):
        assert secret not in text


def test_the_page_in_german(app, client, auth):
    german = make_user(app, "moderatorin@example.org", "Marta", role="moderator", language="de")
    auth.login(german)
    response = client.get("/moderation/figures", headers={"Accept-Language": "de"})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert '<html lang="de">' in body
    assert 'id="figure-sessions"' in body
