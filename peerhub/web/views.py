"""Home, the legal pages, the language switch and a health check."""

from __future__ import annotations

from flask import Blueprint, current_app, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import text

from peerhub.accounts.service import set_language as save_language
from peerhub.community import service as community
from peerhub.extensions import db, utcnow
from peerhub.intros import service as intros
from peerhub.meetings import service as meetings
from peerhub.profiles import service as profiles
from peerhub.tandems import progress
from peerhub.web.errors import error_response
from peerhub.web.htmx import redirect_after_post, render
from peerhub.web.security import safe_next

bp = Blueprint("web", __name__)


@bp.get("/")
def home():
    """The front page: what PeerHub is, or the member's starting points."""
    completeness = overview = sessions = None
    due = []
    if current_user.is_authenticated:
        me = current_user._get_current_object()
        completeness = profiles.completeness(profiles.profile_view(me.id))
        overview = intros.overview(me, past=0)
        upcoming = meetings.next_across(me)
        sessions = [(s, meetings.partner_names(s, me.id)) for s in upcoming]
        due = progress.due_for(me)
    return render(
        "web/home.html",
        None,
        completeness=completeness,
        overview=overview,
        sessions=sessions,
        check_ins_due=due,
        now=utcnow(),
    )


@bp.get("/privacy")
def privacy():
    """The privacy notice, in its current version: the admins' text above the built-in one."""
    return render(
        "web/privacy.html",
        None,
        policy_version=community.current_privacy_version(),
        policy_text=community.current_html("privacy", str(get_locale())),
    )


@bp.get("/imprint")
def imprint():
    """Who runs PeerHub (Impressum): the admins' text above the configured address."""
    return render(
        "web/imprint.html", None, policy_text=community.current_html("imprint", str(get_locale()))
    )


@bp.post("/language")
def set_language():
    """Switch the language for this browser and, when signed in, for the member.

    An unknown language answers 400 with a message.
    """
    language = request.form.get("language", "")
    if language not in current_app.config["LANGUAGES"]:
        return error_response(400, _("This language is not available. Choose German or English."))
    session["lang"] = language
    if current_user.is_authenticated:
        save_language(current_user, language)
    return redirect_after_post(
        safe_next(request.form.get("next"), url_for("web.home")), reload=True
    )


@bp.get("/healthz")
def healthz():
    """Liveness for load balancers: the database answers."""
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}
