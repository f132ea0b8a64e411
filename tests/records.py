"""What tests read back (notifications and mails of a member) and how they race two calls."""

from __future__ import annotations

import threading
from collections.abc import Callable

from flask_babel import force_locale
from sqlalchemy import select

from peerhub.extensions import db
from peerhub.notifications.models import Notification, OutboxMail


def kinds(user_id: int) -> list[str]:
    """The kinds of the member's notifications, oldest first (in the current app context)."""
    return list(
        db.session.scalars(
            select(Notification.kind)
            .where(Notification.user_id == user_id)
            .order_by(Notification.id)
        )
    )


def mails(email: str) -> list[OutboxMail]:
    """The mails queued for `email`, oldest first (in the current app context)."""
    return list(
        db.session.scalars(
            select(OutboxMail).where(OutboxMail.recipient == email).order_by(OutboxMail.id)
        )
    )


def race(app, *calls: Callable[[], object]) -> list[object]:
    """Run the calls at the same moment, each in its own thread and app context; returns
    each call's result (an object's id) or the exception it raised."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index: int, call: Callable[[], object]) -> None:
        with app.app_context(), force_locale("en"):
            barrier.wait()
            try:
                outcome = call()
                results[index] = getattr(outcome, "id", outcome)
            except Exception as error:  # collected for the assertions
                results[index] = error
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results
