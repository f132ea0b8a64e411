"""`flask create-admin EMAIL`."""

from __future__ import annotations

import click
from flask import Blueprint

from peerhub.accounts import service
from peerhub.errors import Invalid

bp = Blueprint("accounts_cli", __name__, cli_group=None)


@bp.cli.command("create-admin")
@click.argument("email")
@click.option("--name", default=None, help="Display name for a new account.")
@click.option(
    "--password",
    default=None,
    envvar="PEERHUB_ADMIN_PASSWORD",
    help="Password for a new account (asked for when missing).",
)
def create_admin(email: str, name: str | None, password: str | None) -> None:
    """Make EMAIL an admin, creating the (verified) account if it does not exist."""
    existing = service.user_by_email(service.normalise_email(email)) if "@" in email else None
    if existing is None and password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = service.create_admin(email, password, name)
    except Invalid as error:
        raise click.ClickException(error.message) from error
    click.echo(f"{user.email} is now an admin.")
