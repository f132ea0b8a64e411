"""One-line builders for session tests: an active tandem with its series, the sessions as
its pages list them, and a member's calendar feed."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from peerhub.accounts.models import User
from peerhub.extensions import db
from peerhub.meetings import series as timeline
from peerhub.meetings.models import SessionRecord
from peerhub.profiles.models import Profile
from peerhub.tandems import service as tandems
from peerhub.tandems.models import Tandem
from tests.intro_factories import _context, ready

# A Monday in winter. The first draft's term runs from 14 December 2026 to 13 March 2027,
# every Tuesday at 18:00 in Berlin (17:00 UTC), 60 minutes: Alice (Berlin) and Bob (New
# York) are both free then.
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
FIRST = datetime(2026, 12, 15, 17, 0, tzinfo=UTC)


def user(persona) -> User:
    return db.session.get(User, persona.id)


def active_tandem(app, *personas, now: datetime = NOW, **sections: dict) -> int:
    """An active tandem of the personas (complete profiles), after the first member saved
    `sections` (e.g. rhythm={...}, term={...}) and everyone signed; returns its id."""
    with _context(app):
        fresh = [p for p in personas if db.session.get(Profile, p.id) is None]
        db.session.rollback()  # end this read: ready() writes from its own context
    ready(app, *fresh)
    with _context(app):
        tandem = tandems.start_tandem([p.id for p in personas], now=now)
        db.session.commit()
        tandem_id = tandem.id
        for name, data in sections.items():
            agreement = tandems.agreement_of(db.session.get(Tandem, tandem_id))
            tandems.save_section(user(personas[0]), tandem_id, name, data, agreement.version, now)
        version = tandems.agreement_of(db.session.get(Tandem, tandem_id)).version
        for persona in personas:
            tandems.sign(user(persona), tandem_id, version, persona.name, True, now=now)
    return tandem_id


def sessions_of(tandem_id: int) -> list[timeline.Session]:
    """Every session of the tandem (in the current app context), in order."""
    tandem = db.session.get(Tandem, tandem_id, populate_existing=True)
    db.session.expire_all()
    return timeline.timeline(timeline.series_of(tandem_id), tandem.member_ids())


def record_of(app, session: timeline.Session) -> SessionRecord | None:
    """The session's record as the database has it now (detached, absences loaded)."""
    with app.app_context():
        found = db.session.scalar(
            select(SessionRecord).where(
                SessionRecord.series_id == session.series.id,
                SessionRecord.number == session.number,
            )
        )
        if found is not None:
            found.absences  # noqa: B018 - loaded before the row leaves the session
            db.session.expunge_all()
        return found
