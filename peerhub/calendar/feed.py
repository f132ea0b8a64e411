"""A member's calendar: the personal feed (every session and intro call, the past 90 days
and everything to come) and the download of one tandem's series.

What goes in is chosen from a few rows (`feed_state`), and from the same rows come the
validators: a strong ETag over everything the bytes depend on, and a Last-Modified that is
the last change of any of it (or the moment something left the rolling window). A
revalidation therefore never builds the calendar; only a 200 does (`feed_bytes`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from peerhub.accounts.models import User
from peerhub.calendar.ics import Moved, SeriesEvent, SingleEvent, calendar_bytes
from peerhub.extensions import db
from peerhub.intros.models import IntroRequest
from peerhub.intros.service import call_event, call_status
from peerhub.meetings import series as timeline_of
from peerhub.meetings.models import Series
from peerhub.meetings.occurrences import planned_span
from peerhub.tandems.models import (
    Agreement,
    AgreementVersion,
    Tandem,
    TandemDeparture,
    TandemMember,
)
from peerhub.tandems.service import partners
from peerhub.web.urls import absolute_url

PAST = timedelta(days=90)  # sessions and calls stay this long after they took place
GRACE = timedelta(days=30)  # a cancelled series or call stays this long, marked cancelled
# Raise when the feed's words or shape change: every ETag changes with it.
FORMAT = "peerhub-feed-1"


@dataclass
class SeriesItem:
    series: Series
    tandem: Tandem
    departed_at: datetime | None = None  # the member left this group

    @property
    def cancelled(self) -> bool:
        return self.series.state == "cancelled" or self.departed_at is not None

    def exit_at(self) -> datetime:
        """When the series leaves the feed: a month after it was called off (or the member
        left), else 90 days after its last session ended."""
        if self.departed_at is not None:
            return self.departed_at + GRACE
        last = last_end(self.series)
        if self.series.state == "cancelled" or last is None:
            return self.series.updated_at + GRACE
        return last + PAST

    def changed_at(self) -> datetime:
        return max(self.series.updated_at, self.tandem.updated_at, self.departed_at or _EPOCH)


@dataclass
class CallItem:
    intro: IntroRequest

    def exit_at(self) -> datetime:
        if call_status(self.intro) == "CANCELLED":
            return self.intro.updated_at + GRACE
        start = self.intro.scheduled_start or _first_slot(self.intro)
        return start + timedelta(minutes=self.intro.length_minutes) + PAST

    def changed_at(self) -> datetime:
        return self.intro.updated_at


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def last_end(series: Series) -> datetime | None:
    """When the series' last session ends (moved ones included), by arithmetic: the feed
    asks this of every series on every request, 304s included."""
    span = planned_span(series)
    if series.state == "cancelled" or span is None:
        return None
    ends = [span[1] + timedelta(minutes=series.length_minutes)]
    ends += [r.moved_end for r in series.records if r.moved_end is not None]
    return max(ends)


def _first_slot(intro: IntroRequest) -> datetime:
    slots = intro.open_slots
    return slots[0].start if slots else intro.updated_at


@dataclass
class FeedState:
    """What a member's feed holds right now, and its validators."""

    viewer: User
    series: list[SeriesItem] = field(default_factory=list)
    calls: list[CallItem] = field(default_factory=list)
    users: dict[int, User] = field(default_factory=dict)
    etag: str = ""
    last_modified: datetime = _EPOCH


def feed_state(viewer: User, now: datetime) -> FeedState:
    """The items of the member's feed and the validators, from a handful of small reads."""
    state = FeedState(viewer)
    exits: list[datetime] = []

    mine = set(
        db.session.scalars(select(TandemMember.tandem_id).where(TandemMember.user_id == viewer.id))
    )
    departed = {
        row.tandem_id: row.left_at
        for row in db.session.scalars(
            select(TandemDeparture).where(
                TandemDeparture.user_id == viewer.id, TandemDeparture.left_at > now - GRACE
            )
        )
    }
    # One IN list (not an OR of two), so PostgreSQL reads the index on series.tandem_id.
    rows = db.session.scalars(
        select(Series)
        .where(Series.tandem_id.in_(mine | departed.keys()))
        .options(selectinload(Series.records))
        .order_by(Series.tandem_id, Series.starts_on, Series.id)
    ).all()
    tandem_ids = {row.tandem_id for row in rows}
    tandems = {
        t.id: t
        for t in db.session.scalars(
            select(Tandem).where(Tandem.id.in_(tandem_ids)).options(selectinload(Tandem.members))
        )
    }
    for row in rows:
        tandem = tandems[row.tandem_id]
        left = departed.get(row.tandem_id) if viewer.id not in tandem.member_ids() else None
        item = SeriesItem(row, tandem, left)
        exit_at = item.exit_at()
        if now < exit_at:
            state.series.append(item)
        else:
            exits.append(exit_at)

    calls = db.session.scalars(
        select(IntroRequest)
        .where(
            or_(IntroRequest.requester_id == viewer.id, IntroRequest.recipient_id == viewer.id),
            or_(IntroRequest.scheduled_start.is_not(None), IntroRequest.sequence > 0),
        )
        .options(selectinload(IntroRequest.slots))
        .order_by(IntroRequest.id)
    ).all()
    for intro in calls:
        if call_status(intro) is None:
            continue
        item = CallItem(intro)
        exit_at = item.exit_at()
        if now < exit_at:
            state.calls.append(item)
        else:
            exits.append(exit_at)

    ids = {viewer.id}
    for item in state.series:
        ids.update(item.tandem.member_ids())
    ids.update(c.intro.other_id(viewer.id) for c in state.calls)
    state.users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}
    state.users[viewer.id] = viewer

    changes = [item.changed_at() for item in state.series]
    changes += [item.changed_at() for item in state.calls]
    changes += [user.details_since for user in state.users.values()]
    state.last_modified = max([*changes, *exits, _EPOCH]).replace(microsecond=0)
    state.etag = _etag(state)
    return state


def _etag(state: FeedState) -> str:
    """A strong ETag: the digest of every input the feed's bytes are made of."""
    viewer = state.viewer
    parts: list[object] = [
        FORMAT,
        current_app.config["PEERHUB_BASE_URL"],
        viewer.id,
        viewer.display_name,
        viewer.language,
        viewer.timezone,
    ]
    for item in state.series:
        s = item.series
        parts.append(
            (
                "series",
                s.id,
                s.sequence,
                s.state,
                s.updated_at.isoformat(),
                item.tandem.updated_at.isoformat(),
                item.departed_at.isoformat() if item.departed_at else "",
                tuple(_name(state, uid) for uid in item.tandem.member_ids()),
            )
        )
    for item in state.calls:
        intro = item.intro
        parts.append(
            (
                "call",
                intro.id,
                intro.sequence,
                intro.state,
                intro.updated_at.isoformat(),
                _name(state, intro.other_id(viewer.id)),
            )
        )
    return hashlib.sha256(repr(parts).encode("utf-8")).hexdigest()[:40]


def _name(state: FeedState, user_id: int) -> str:
    user = state.users.get(user_id)
    return user.display_name if user else ""


def feed_bytes(state: FeedState) -> bytes:
    """The member's feed as an iCalendar file."""
    viewer = state.viewer
    events: list[SeriesEvent | SingleEvent] = []
    places = _places([item.tandem.id for item in state.series])
    for item in state.series:
        event = series_event(item, viewer, places.get(item.tandem.id))
        if event is not None:
            events.append(event)
    for item in state.calls:
        event = call_event(item.intro, viewer)
        if event is not None:
            events.append(event)
    with force_locale(viewer.language):
        name = _("PeerHub – %(name)s", name=viewer.display_name)
    return calendar_bytes(name, events)


def tandem_bytes(tandem: Tandem, viewer: User, now: datetime) -> bytes:
    """One tandem's series as a file to download (cancelled series only for a while)."""
    places = _places([tandem.id])
    events = []
    for row in timeline_of.series_of(tandem.id):
        item = SeriesItem(row, tandem)
        if now < item.exit_at() or row.state != "cancelled":
            event = series_event(item, viewer, places.get(tandem.id))
            if event is not None:
                events.append(event)
    with force_locale(viewer.language):
        name = _summary(tandem, viewer)
    return calendar_bytes(name, events)


def _places(tandem_ids: list[int]) -> dict[int, dict]:
    """The place (or video tool) of each tandem's agreement in force."""
    if not tandem_ids:
        return {}
    rows = db.session.execute(
        select(Agreement.tandem_id, AgreementVersion.canonical)
        .join(
            AgreementVersion,
            (AgreementVersion.agreement_id == Agreement.id)
            & (AgreementVersion.number == Agreement.in_force_version),
        )
        .where(Agreement.tandem_id.in_(tandem_ids))
    )
    return {tandem_id: json.loads(canonical).get("place", {}) for tandem_id, canonical in rows}


def _summary(tandem: Tandem, viewer: User) -> str:
    names = ", ".join(u.display_name for u in partners(tandem, viewer.id))
    if len(tandem.member_ids()) > 2:
        return _("Peer-coaching group with %(names)s", names=names)
    return _("Peer coaching with %(names)s", names=names or _("your partner"))


def series_event(item: SeriesItem, viewer: User, place: dict | None) -> SeriesEvent | None:
    """A series as an event with its cancelled and moved sessions, in the viewer's language
    (the times stay in the series' own zone)."""
    series = item.series
    span = planned_span(series)  # called off before it met: the rule as it was planned
    if span is None:
        return None
    first, last = span
    sessions = timeline_of.timeline([series])
    cancelled_whole = item.cancelled
    with force_locale(viewer.language):
        summary = _summary(item.tandem, viewer)
        description = _(
            "Your regular peer-coaching session on PeerHub. Your sessions' page has your "
            "shared notes, and there you can move or cancel a session: %(url)s",
            url=absolute_url("meetings.sessions", tandem_id=item.tandem.id),
        )
        location = ""
        if place:
            if place.get("mode") == "in_person":
                location = place.get("detail", "")
            else:
                location = place.get("detail") or _("Video call")
    host = urlsplit(current_app.config["PEERHUB_BASE_URL"]).hostname or "peerhub"
    return SeriesEvent(
        uid=f"series-{series.id}@{host}",
        zone=series.zone,
        first_start=first,
        length=timedelta(minutes=series.length_minutes),
        interval=series.interval_weeks,
        last_start=last,
        cancelled=tuple(s.occurrence.start for s in sessions if s.cancelled),
        moved=tuple(
            Moved(s.occurrence.start, s.start, s.end)
            for s in sessions
            if s.moved and not s.cancelled
        ),
        summary=summary,
        description=description,
        location=location,
        url=absolute_url("meetings.sessions", tandem_id=item.tandem.id),
        # Leaving a group is a change the member's calendar must see, once more than the
        # series' own changes.
        sequence=series.sequence + (1 if item.departed_at is not None else 0),
        status="CANCELLED" if cancelled_whole else "CONFIRMED",
        stamp=item.changed_at(),
        created=series.created_at,
    )
