"""The tandem page: the shared space of its members (404 for everyone else)."""

from __future__ import annotations

from flask import Blueprint, abort
from flask_login import current_user, login_required

from peerhub.accounts.models import User
from peerhub.errors import NotFound
from peerhub.extensions import db
from peerhub.intros.models import IntroRequest
from peerhub.tandems import service
from peerhub.web.htmx import render

bp = Blueprint("tandems", __name__)


@bp.before_request
@login_required
def _members_only():
    """Tandems are for signed-in members only."""


@bp.get("/tandems/<int:tandem_id>")
def show(tandem_id: int):
    """A tandem's page: its members, its state and what comes next."""
    me = current_user._get_current_object()
    try:
        tandem = service.tandem_for(me, tandem_id)
    except NotFound:
        abort(404)
    intro = (
        db.session.get(IntroRequest, tandem.intro_request_id) if tandem.intro_request_id else None
    )
    return render(
        "tandems/show.html",
        None,
        tandem=tandem,
        partners=service.partners(tandem, me.id),
        intro=intro,
        note=intro.feedback_for(me.id) if intro else None,
        note_author=db.session.get(User, intro.other_id(me.id)) if intro else None,
    )
