"""The score and the hard constraints, without a database: symmetric, 0–100, mutual first."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peerhub.matching.scoring import (
    WEIGHTS,
    Candidate,
    PairRules,
    complementary_points,
    fit,
    meeting_compatible,
    member_violations,
    pair_violations,
    score,
    week_minutes,
)

DAY = date(2026, 11, 23)
DST_WEEK = date(2026, 3, 9)  # New York changes on 8 March, Berlin on 29 March
ZONES = ("Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "UTC")


def person(user_id: int = 1, **fields) -> Candidate:
    values = {
        "name": f"M{user_id}",
        "zone": "Europe/Berlin",
        "offers": frozenset({1}),
        "seeks": frozenset({2}),
        "language_mask": 0b11,
        "windows": ((1, 18 * 60, 20 * 60),),
    }
    values.update(fields)
    return Candidate(user_id=user_id, **values)


window = st.tuples(st.integers(0, 6), st.integers(0, 23 * 60), st.integers(30, 300)).map(
    lambda w: (w[0], w[1], min(w[1] + w[2], 1440))
)
tags = st.frozensets(st.integers(1, 8), max_size=4)
candidates = st.builds(
    Candidate,
    user_id=st.integers(1, 10_000),
    name=st.just("M"),
    zone=st.sampled_from(ZONES),
    offers=tags,
    seeks=tags,
    interests=tags,
    language_mask=st.integers(0, 7),
    meeting_mode=st.sampled_from(("video", "in_person", "either")),
    city_key=st.sampled_from((None, "berlin", "hamburg")),
    rhythm=st.sampled_from(("weekly", "biweekly")),
    session_length=st.sampled_from((60, 90)),
    windows=st.lists(window, max_size=4).map(tuple),
    available=st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(candidates, candidates, st.sampled_from((DAY, DST_WEEK, date(2026, 10, 26))))
def test_score_is_symmetric_and_within_0_to_100(a, b, day):
    ab, ba = fit(a, b, day), fit(b, a, day)
    assert ab.score == ba.score
    assert 0 <= ab.score.total <= 100
    assert ab.i_get == ba.they_get and ab.they_get == ba.i_get


@settings(max_examples=300, deadline=None)
@given(candidates, candidates)
def test_hard_constraints_are_symmetric(a, b):
    rules = PairRules(blocked=frozenset({(min(a.user_id, b.user_id), max(a.user_id, b.user_id))}))
    assert sorted(member_violations(a, b)) == sorted(member_violations(b, a))
    assert "blocked" in pair_violations(a, b, rules)


def test_weights_add_up_to_100_and_the_best_pair_gets_them_all():
    assert sum(WEIGHTS.values()) == 100
    a = person(
        1,
        offers=frozenset({1, 2, 3}),
        seeks=frozenset({4, 5, 6}),
        interests=frozenset({9}),
        windows=((1, 17 * 60, 21 * 60),),
    )
    b = person(
        2,
        offers=frozenset({4, 5, 6}),
        seeks=frozenset({1, 2, 3}),
        interests=frozenset({9}),
        windows=((1, 17 * 60, 21 * 60),),
    )
    parts = fit(a, b, DAY).score
    assert (
        parts.complementary == 45 and parts.time == 25 and parts.rhythm == 5 and parts.length == 5
    )
    assert parts.shared == 12  # one shared interest: 0.6 of 20


def test_one_sided_pair_scores_clearly_below_a_mutual_one():
    one_way = complementary_points(3, 0)
    mutual = complementary_points(1, 1)
    assert one_way <= WEIGHTS["complementary"] // 4
    assert mutual >= 2 * one_way
    me = person(1, offers=frozenset({1}), seeks=frozenset({2}))
    mutual_partner = person(2, offers=frozenset({2}), seeks=frozenset({1}))
    one_sided_partner = person(3, offers=frozenset({2}), seeks=frozenset({7}))
    assert score(me, mutual_partner, DAY) - score(me, one_sided_partner, DAY) >= 15


def test_overlap_across_zones_counts_real_hours():
    # Tuesday 18–20 Berlin is 12–14 New York in November: Bob free 12–13 there
    alice = person(1, zone="Europe/Berlin", windows=((1, 18 * 60, 20 * 60),))
    bob = person(2, zone="America/New_York", windows=((1, 12 * 60, 13 * 60),))
    assert fit(alice, bob, DAY).score.overlap_minutes == 60
    # In the week New York already has summer time and Berlin not, 12:00 NY is 17:00 Berlin
    assert fit(alice, bob, DST_WEEK).score.overlap_minutes == 0


def test_overlap_across_midnight_and_week_end():
    # Sunday 23:00–24:00 Berlin (22–23 UTC) meets Monday 07:00–08:00 Tokyo (Sun 22–23 UTC)
    berlin = person(1, zone="Europe/Berlin", windows=((6, 23 * 60, 24 * 60),))
    tokyo = person(2, zone="Asia/Tokyo", windows=((0, 7 * 60, 8 * 60),))
    assert fit(berlin, tokyo, DAY).score.overlap_minutes == 60
    assert fit(tokyo, berlin, DAY).score.overlap_minutes == 60


def test_week_minutes_are_clipped_to_the_week_and_merged():
    spans = week_minutes(((0, 0, 60), (6, 23 * 60, 1440)), "UTC", DAY)
    assert spans == ((0, 60), (6 * 1440 + 23 * 60, 7 * 1440))


@pytest.mark.parametrize(
    ("mode_a", "city_a", "mode_b", "city_b", "ok"),
    [
        ("video", None, "video", None, True),
        ("video", None, "either", "berlin", True),
        ("video", None, "in_person", "berlin", False),
        ("in_person", "berlin", "in_person", "berlin", True),
        ("in_person", "berlin", "in_person", "hamburg", False),
        ("in_person", "berlin", "either", "berlin", True),
        ("in_person", "berlin", "either", None, False),
        ("either", "hamburg", "either", "berlin", True),  # by video
    ],
)
def test_meeting_mode_rule(mode_a, city_a, mode_b, city_b, ok):
    a = person(1, meeting_mode=mode_a, city_key=city_a)
    b = person(2, meeting_mode=mode_b, city_key=city_b)
    assert meeting_compatible(a, b) is ok is meeting_compatible(b, a)
    assert ("meeting" in member_violations(a, b)) is not ok


def test_each_profile_constraint_is_named():
    a = person(1, language_mask=0b01)
    assert member_violations(a, person(2, language_mask=0b10)) == ["language"]
    assert member_violations(a, person(2, available=False)) == ["unavailable"]
    assert member_violations(a, person(1)) == ["same_member"]
    assert member_violations(a, person(2)) == []


@pytest.mark.parametrize("rule", ["blocked", "paused", "together", "past"])
def test_each_pair_rule_is_named(rule):
    rules = PairRules(**{rule: frozenset({(1, 2)})})
    code = "past_pairing" if rule == "past" else rule
    assert pair_violations(person(2), person(1), rules) == [code]
