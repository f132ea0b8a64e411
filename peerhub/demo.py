"""`flask seed-demo`: a small demo community for `make run`."""

from __future__ import annotations

import click
from flask import Blueprint
from sqlalchemy import func, select

from peerhub.accounts.models import User
from peerhub.accounts.passwords import hash_password
from peerhub.extensions import db, transaction, utcnow

bp = Blueprint("demo_cli", __name__, cli_group=None)

DEMO_PASSWORD = "peerhub-demo-2026"  # noqa: S105 - published demo logins, development only
DEMO_MEMBERS = (
    ("alice@example.org", "Alice Becker", "de", "Europe/Berlin", "member"),
    ("bob@example.org", "Bob Okafor", "en", "Europe/London", "member"),
    ("carol@example.org", "Carol Nguyen", "de", "Europe/Vienna", "member"),
    ("mod@example.org", "Mo Derator", "de", "Europe/Berlin", "moderator"),
    ("admin@example.org", "Ada Admin", "en", "Europe/Zurich", "admin"),
)


def seed_demo() -> bool:
    """Add the demo members when the database has no members; True when it seeded."""
    with transaction():
        if db.session.scalar(select(func.count()).select_from(User)):
            return False
        password_hash = hash_password(DEMO_PASSWORD)
        for email, name, language, zone, role in DEMO_MEMBERS:
            db.session.add(
                User(
                    email=email,
                    display_name=name,
                    password_hash=password_hash,
                    language=language,
                    timezone=zone,
                    role=role,
                    email_verified_at=utcnow(),
                )
            )
    return True


@bp.cli.command("seed-demo")
def seed_demo_command() -> None:
    """Seed the demo community when the database is empty, and print the demo logins."""
    if seed_demo():
        click.echo("Seeded a demo community.")
    demo = db.session.scalars(
        select(User).where(User.email.in_([m[0] for m in DEMO_MEMBERS])).order_by(User.id)
    ).all()
    if not demo:
        click.echo("The database already has members; no demo logins were added.")
        return
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for user in demo:
        click.echo(f"  {user.email:<22} {user.role:<10} {user.display_name}")
