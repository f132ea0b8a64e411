"""The learning journal: the member's own entries (search and filter, write, read, change,
delete), sharing a single entry with a tandem and taking it back, and the quick "what did I
learn today" entry from a session's page. Entries of others answer 404, whatever the role."""

from __future__ import annotations

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from peerhub.accounts.models import User
from peerhub.errors import DomainError, NotFound
from peerhub.extensions import db
from peerhub.journal import formatting, service
from peerhub.journal.models import BODY_MAX, TITLE_MAX, JournalEntry
from peerhub.tandems import service as tandems
from peerhub.web.htmx import redirect_after_post, render, wants_fragment
from peerhub.web.ids import db_id, db_index, page_number

bp = Blueprint("journal", __name__)

PER_PAGE = 20


@bp.before_request
@login_required
def _members_only():
    """The journal is for signed-in members only."""


def _me() -> User:
    return current_user._get_current_object()


def _session_arg(source) -> tuple[int, int] | None:
    series_id = source.get("series_id", type=db_id)
    number = source.get("number", type=db_index)
    return (series_id, number) if series_id is not None and number is not None else None


def _named_id(value: str | None) -> int | None:
    """A tandem the form names: none when left empty; 404 for a value naming nothing."""
    if not (value or "").strip():
        return None
    try:
        return db_id(value)
    except ValueError:
        abort(404)


def _filters() -> service.Filters:
    args = request.args
    return service.Filters(
        text=args.get("q", "")[:100].strip(),
        tandem_id=args.get("tandem", type=db_id),
        goal=args.get("goal", "")[:40],
        shared=args.get("shared", "") if args.get("shared") in ("shared", "private") else "",
        session=args.get("session") == "1",
    )


@bp.get("/journal")
def index():
    """The member's own entries, newest first, searched and filtered; htmx swaps the list."""
    me = _me()
    filters = _filters()
    page = page_number(request.args.get("page"))
    query = service.search(me, filters)
    results = db.paginate(query, page=page, per_page=PER_PAGE, error_out=False)
    context = {
        "me": me,
        "filters": filters,
        "results": results,
        "choices": service.goal_choices(me),
        "excerpt": formatting.excerpt,
        "total": db.session.query(JournalEntry).filter_by(author_id=me.id).count(),
    }
    return render("journal/index.html", "journal/_results.html", **context)


def _form_context(entry: JournalEntry | None = None, **extra) -> dict:
    me = _me()
    return {
        "me": me,
        "entry": entry,
        "choices": service.goal_choices(me),
        "title_max": TITLE_MAX,
        "body_max": BODY_MAX,
        "token": service.new_token(),
        **extra,
    }


def _typed(entry: JournalEntry | None = None) -> dict:
    form = request.form
    session = _session_arg(form)
    return {
        "title": form.get("title", ""),
        "body": form.get("body", ""),
        "tandem_id": _named_id(form.get("tandem")),
        "session": session,
        "goals": form.getlist("goals"),
    }


@bp.get("/journal/new")
def new():
    """A new entry; from a session's page it is about that session."""
    session = _session_arg(request.args)
    typed = {"title": "", "body": "", "tandem_id": None, "session": session, "goals": []}
    if session is not None:
        from peerhub.meetings import service as meetings

        try:
            tandem, _found, _all = meetings.session_for(_me(), *session)
        except NotFound:
            abort(404)
        typed["tandem_id"] = tandem.id
    return render("journal/edit.html", None, **_form_context(typed=typed))


@bp.post("/journal/new")
def create():
    typed = _typed()
    try:
        entry = service.write(
            _me(),
            request.form.get("token"),
            typed["title"],
            typed["body"],
            tandem_id=typed["tandem_id"],
            session=typed["session"],
            goals=typed["goals"],
        )
    except NotFound:
        abort(404)
    except DomainError as error:
        db.session.rollback()
        context = _form_context(typed=typed, error=error)
        context["token"] = request.form.get("token") or context["token"]
        return render("journal/edit.html", None, error.status, **context)
    flash(_("Your entry is saved. Only you can read it."), "success")
    return redirect_after_post(url_for("journal.entry", entry_id=entry.id))


def _entry_context(entry: JournalEntry, **extra) -> dict:
    me = _me()
    tandem = None
    if entry.tandem_id is not None:
        try:
            tandem = tandems.tandem_for(me, entry.tandem_id)
        except NotFound:
            tandem = None
    goals = []
    if tandem is not None:
        titles = {g["key"]: g["title"] for g in tandems.agreement_of(tandem).content["goals"]}
        goals = [titles[k] for k in entry.goal_keys or [] if k in titles]
    author = db.session.get(User, entry.author_id)
    return {
        "me": me,
        "entry": entry,
        "mine": entry.author_id == me.id,
        "author": author,
        "tandem": tandem,
        "tandem_names": ", ".join(u.display_name for u in tandems.partners(tandem, me.id))
        if tandem
        else "",
        "goal_titles": goals,
        "body": formatting.render(entry.body),
        "my_tandems": service.goal_choices(me),
        **extra,
    }


@bp.get("/journal/<int:entry_id>")
def entry(entry_id: int):
    """One entry: its author's, or shared with a tandem of the viewer's."""
    try:
        found = service.entry_for(_me(), entry_id)
    except NotFound:
        abort(404)
    return render("journal/entry.html", None, **_entry_context(found))


def _own(entry_id: int) -> JournalEntry:
    try:
        return service.own_entry(_me(), entry_id)
    except NotFound:
        abort(404)


@bp.get("/journal/<int:entry_id>/edit")
def edit(entry_id: int):
    found = _own(entry_id)
    typed = {
        "title": found.title,
        "body": found.body,
        "tandem_id": found.tandem_id,
        "session": (found.series_id, found.session_number) if found.series_id else None,
        "goals": [f"{found.tandem_id}:{k}" for k in found.goal_keys or []],
    }
    context = _form_context(found, typed=typed, base=found.version)
    return render("journal/edit.html", None, **context)


@bp.post("/journal/<int:entry_id>/edit")
def save(entry_id: int):
    found = _own(entry_id)
    typed = _typed(found)
    base = request.form.get("base", type=int) or 0
    try:
        service.edit(
            _me(),
            entry_id,
            typed["title"],
            typed["body"],
            base,
            tandem_id=typed["tandem_id"],
            session=typed["session"],
            goals=typed["goals"],
        )
    except NotFound:
        abort(404)
    except service.StaleEntry as stale:
        db.session.rollback()
        fresh = _own(entry_id)
        saved = {
            **typed,
            "title": fresh.title,
            "body": fresh.body,
        }
        context = _form_context(fresh, typed=saved, stale=stale, base=fresh.version)
        return render("journal/edit.html", None, 409, **context)
    except DomainError as error:
        db.session.rollback()
        context = _form_context(_own(entry_id), typed=typed, error=error, base=base)
        return render("journal/edit.html", None, error.status, **context)
    flash(_("Your entry is saved."), "success")
    return redirect_after_post(url_for("journal.entry", entry_id=entry_id))


@bp.post("/journal/<int:entry_id>/delete")
def delete(entry_id: int):
    try:
        service.delete(_me(), entry_id)
    except NotFound:
        abort(404)
    flash(_("The entry is deleted."), "success")
    return redirect_after_post(url_for("journal.index"))


def _sharing_answer(entry_id: int, action, done: str):
    """Share or take back: htmx re-renders the sharing box, a plain form the page."""
    try:
        action()
    except NotFound:
        abort(404)
    except DomainError as error:
        db.session.rollback()
        context = _entry_context(_own(entry_id), sharing_error=error)
        return render("journal/entry.html", "journal/_sharing.html", error.status, **context)
    if wants_fragment():
        context = _entry_context(_own(entry_id), sharing_done=done)
        return render("journal/entry.html", "journal/_sharing.html", **context)
    flash(done, "success")
    return redirect_after_post(url_for("journal.entry", entry_id=entry_id))


@bp.post("/journal/<int:entry_id>/share")
def share(entry_id: int):
    tandem_id = _named_id(request.form.get("tandem"))
    return _sharing_answer(
        entry_id,
        lambda: service.share(_me(), entry_id, tandem_id),
        _("Shared: the members of your tandem can read this entry now."),
    )


@bp.post("/journal/<int:entry_id>/unshare")
def unshare(entry_id: int):
    return _sharing_answer(
        entry_id,
        lambda: service.unshare(_me(), entry_id),
        _("Private again: only you can read this entry."),
    )


@bp.post("/sessions/<int:series_id>/<int:number>/learned")
def learned(series_id: int, number: int):
    """ "What did I learn today?" from a session's page: a private entry about the session."""
    from peerhub.meetings.views import quick_journal_context

    text, token = request.form.get("text", ""), request.form.get("token")
    try:
        found = service.quick(_me(), series_id, number, text, token)
    except NotFound:
        abort(404)
    except DomainError as error:
        db.session.rollback()
        context = quick_journal_context(series_id, number, quick_error=error, quick_text=text)
        context["quick_token"] = token or context["quick_token"]
        return render("meetings/session.html", "journal/_quick.html", error.status, **context)
    if wants_fragment():
        context = quick_journal_context(series_id, number, quick_saved=found)
        return render("meetings/session.html", "journal/_quick.html", **context)
    flash(_("Saved in your journal. Only you can read it."), "success")
    return redirect_after_post(
        url_for("meetings.session", series_id=series_id, number=number) + "#learned"
    )
