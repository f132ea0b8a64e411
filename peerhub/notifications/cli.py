"""`flask send-mail`: deliver what waits in the outbox."""

from __future__ import annotations

import time

import click
from flask import Blueprint

from peerhub.notifications.service import send_pending

bp = Blueprint("mail_cli", __name__, cli_group=None)


@bp.cli.command("send-mail")
@click.option("--loop", is_flag=True, help="Keep running, checking the outbox every few seconds.")
@click.option("--interval", default=10, show_default=True, help="Seconds between checks.")
def send_mail(loop: bool, interval: int) -> None:
    """Send pending mails over SMTP (printed when MAIL_SERVER is unset)."""
    while True:
        counts = send_pending()
        click.echo(f"sent {counts['sent']}, to retry {counts['retry']}, failed {counts['failed']}")
        if not loop:
            return
        time.sleep(interval)
