"""`flask backup PATH`: a consistent copy of the SQLite database (VACUUM INTO)."""

from __future__ import annotations

import os

import click
from flask import Blueprint

from peerhub.extensions import db

bp = Blueprint("backup_cli", __name__, cli_group=None)


@bp.cli.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
def backup(path: str) -> None:
    """Write a consistent copy of the SQLite database to PATH (PostgreSQL: use pg_dump)."""
    if db.engine.dialect.name != "sqlite":
        raise click.ClickException(
            "backup copies SQLite databases; for PostgreSQL run pg_dump (see README)."
        )
    if os.path.exists(path):
        raise click.ClickException(f"{path} exists already; choose a new file.")
    db.session.remove()
    # VACUUM cannot run inside a transaction: use the driver connection in autocommit.
    raw = db.engine.raw_connection()
    try:
        raw.driver_connection.execute("VACUUM INTO ?", (os.path.abspath(path),))
    finally:
        raw.close()
    click.echo(f"Backup written to {path}.")
