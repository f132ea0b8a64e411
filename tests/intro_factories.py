"""One-line builders for intro-call tests: profiles that overlap, a request, a scheduled call."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from flask import has_app_context
from flask_babel import force_locale

from peerhub.accounts.models import User
from peerhub.extensions import db
from peerhub.intros import service
from tests.profile_factories import fill_profile

# A Monday morning in winter; Berlin is UTC+1, New York UTC-5.
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
# Tuesday 17:00–20:00 UTC: 18–21 in Berlin, 12–15 in New York.
WINDOWS = {
    "Europe/Berlin": ((1, 18 * 60, 21 * 60),),
    "America/New_York": ((1, 12 * 60, 15 * 60),),
}


def ready(app, *personas, **profile) -> None:
    """Complete, open profiles whose Tuesday windows meet (by each member's zone)."""
    for persona in personas:
        with app.app_context():
            zone = db.session.get(User, persona.id).timezone
        fill_profile(app, persona, windows=WINDOWS.get(zone, WINDOWS["Europe/Berlin"]), **profile)


def slot(now: datetime = NOW, days: int = 1, hour: int | None = None) -> datetime:
    """A valid time to propose: `days` after `now`, on the hour."""
    moment = (now + timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=hour) if hour is not None else moment


def user(persona) -> User:
    return db.session.get(User, persona.id)


@contextmanager
def _context(app):
    """The test's app context when it has one (so its session sees the change), else a new one."""
    if has_app_context():
        db.session.rollback()  # end the test's read, so this write need not wait for it
        with force_locale("en"):
            yield
        return
    with app.app_context(), force_locale("en"):
        yield
        db.session.remove()


def ask(app, requester, recipient, now: datetime = NOW, starts=None, **options) -> int:
    """`requester` asks `recipient` for an intro call; returns the request's id."""
    with _context(app):
        intro = service.send_request(
            user(requester),
            recipient.id,
            options.pop("message", "Hello! I would like to talk."),
            starts or [slot(now, 1), slot(now, 2)],
            now=now,
            **options,
        )
        return intro.id


def scheduled(app, requester, recipient, now: datetime = NOW) -> int:
    """A request whose first proposed time the recipient accepted."""
    request_id = ask(app, requester, recipient, now)
    with _context(app):
        intro = service.request_for(user(recipient), request_id)
        service.accept_time(user(recipient), request_id, intro.open_slots[0].id, now=now)
    return request_id


def after_call(now: datetime = NOW) -> datetime:
    """A moment after the call that `scheduled` arranges (it starts a day after `now`)."""
    return now + timedelta(days=2)
