"""`flask --app app tick`: the timed work of the site, meant for cron every few minutes."""

from __future__ import annotations

import click
from flask import Blueprint

from peerhub.intros import service as intros
from peerhub.meetings import service as meetings
from peerhub.moderation import cases as moderation
from peerhub.tandems import progress
from peerhub.tandems import service as tandems

bp = Blueprint("tick_cli", __name__, cli_group=None)


@bp.cli.command("tick")
def tick() -> None:
    """Expire unanswered intro requests, send reminders and after-call prompts, ask tandems
    near the end of their term how to go on, remind members of tomorrow's sessions, and
    open the check-ins that are due, reminding who has not answered, and end suspensions
    whose time is over (idempotent)."""
    report = intros.tick()
    click.echo(
        f"intro requests: {report.expired} expired, {report.reminded} reminded, "
        f"{report.prompted} asked to decide, {report.lapsed} closed undecided"
    )
    click.echo(f"tandems: {tandems.tick()} asked how to go on at the end of their term")
    click.echo(f"sessions: {meetings.tick()} reminders sent")
    opened, reminded = progress.tick()
    click.echo(f"check-ins: {opened} opened, {reminded} reminders sent")
    click.echo(f"suspensions: {moderation.tick()} ended")
