"""Reflection pages of a tandem (they join the tandems blueprint): check-ins and each goal's
journey, goals and milestones marked reached, success stories and the community's successes
page, and the review of a term. Every form works without JavaScript; with htmx the part that
changed re-renders itself."""

from __future__ import annotations

from flask import abort, flash, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _

from peerhub.errors import DomainError, NotFound
from peerhub.extensions import db, utcnow
from peerhub.journal import service as journal
from peerhub.tandems import agreement as texts
from peerhub.tandems import progress, service
from peerhub.tandems.models import REFLECTION_MAX, STORY_MAX, Tandem
from peerhub.tandems.views import _me, _tandem, bp
from peerhub.web.charts import line_chart
from peerhub.web.htmx import redirect_after_post, render, wants_fragment
from peerhub.web.ids import page_number

SUCCESSES_PER_PAGE = 20


def _short_day(day) -> str:
    return format_date(day, "d MMM")


def charts_of(tandem: Tandem, journeys: list[progress.Journey]) -> dict[str, object]:
    """A small chart per goal, over the term in force (widened to its check-ins)."""
    start, end = texts.term_dates(progress._content(tandem))
    return {
        j.key: line_chart(
            [(line.name, line.points) for line in j.lines], start, end, date_label=_short_day
        )
        for j in journeys
    }


def goals_context(tandem: Tandem, **extra) -> dict:
    """What the goals part of the tandem page (and the check-ins page) shows."""
    me = _me()
    journeys = progress.journeys(tandem, me)
    content = progress._content(tandem)
    achievements = progress.achievements_of(tandem)
    reached = {(a.kind, a.key): a for a in achievements}
    return {
        "journeys": journeys,
        "charts": charts_of(tandem, journeys),
        "milestones": content.get("milestones", []),
        "reached": reached,
        "stories": progress.stories_of(tandem),
        "celebrations": progress.celebrations(tandem),
        "reflecting": tandem.state in progress.REFLECTING,
        **extra,
    }


# --- check-ins ---


def _check_in_context(tandem: Tandem, check_in, **extra) -> dict:
    me = _me()
    return {
        "tandem": tandem,
        "me": me,
        "names": service.names_of(tandem),
        "check_in": check_in,
        "view": progress.view_of(tandem, check_in, me) if check_in else None,
        "reflection_max": REFLECTION_MAX,
        "ratings": {},
        **extra,
    }


@bp.get("/tandems/<int:tandem_id>/check-ins")
def check_ins(tandem_id: int):
    """The open check-in, the goals' journeys so far, and every earlier check-in."""
    tandem = _tandem(tandem_id)
    me = _me()
    earlier = progress.check_ins_of(tandem)
    current = progress.open_check_in(tandem)
    context = _check_in_context(tandem, current)
    context.update(goals_context(tandem))
    context["earlier"] = [progress.view_of(tandem, c, me) for c in earlier if c is not current]
    return render("tandems/check_ins.html", None, **context)


@bp.post("/tandems/<int:tandem_id>/check-ins")
def start_check_in(tandem_id: int):
    """Check in now (or open the check-in that is open already)."""
    try:
        check_in = progress.start_check_in(_me(), tandem_id)
    except NotFound:
        abort(404)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        tandem = _tandem(tandem_id)
        context = _check_in_context(tandem, progress.open_check_in(tandem))
        context.update(goals_context(tandem), earlier=[])
        return render("tandems/check_ins.html", None, error.status, **context)
    return redirect_after_post(url_for("tandems.check_in", check_in_id=check_in.id))


def _check_in_or_404(check_in_id: int):
    try:
        return progress.check_in_for(_me(), check_in_id)
    except NotFound:
        abort(404)


@bp.get("/check-ins/<int:check_in_id>")
def check_in(check_in_id: int):
    """One check-in: the answer form while it is open, the answers once everyone answered."""
    tandem, found = _check_in_or_404(check_in_id)
    return render("tandems/check_in.html", None, **_check_in_context(tandem, found))


@bp.post("/check-ins/<int:check_in_id>")
def answer_check_in(check_in_id: int):
    """Send (or change) one's answer; a refusal shows the form again with what was typed."""
    tandem, found = _check_in_or_404(check_in_id)
    ratings = {g["key"]: request.form.get(f"goal_{g['key']}", "") for g in found.goals}
    helped, change = request.form.get("helped", ""), request.form.get("change", "")
    try:
        progress.answer(_me(), check_in_id, ratings, helped, change)
    except NotFound:
        abort(404)
    except DomainError as error:
        db.session.rollback()
        tandem, found = _check_in_or_404(check_in_id)
        context = _check_in_context(
            tandem, found, error=error, ratings=ratings, helped=helped, change=change
        )
        return render("tandems/check_in.html", "tandems/_check_in.html", error.status, **context)
    tandem, found = _check_in_or_404(check_in_id)
    db.session.refresh(found)
    view = progress.view_of(tandem, found, _me())
    done = (
        _("Thank you: everyone has answered, so you can read each other's answers now.")
        if view.complete
        else _("Thank you: your answer is saved. You read the others' once everyone has answered.")
    )
    if wants_fragment():
        context = _check_in_context(tandem, found, done=done)
        return render("tandems/check_in.html", "tandems/_check_in.html", **context)
    flash(done, "success")
    return redirect_after_post(url_for("tandems.check_in", check_in_id=check_in_id))


# --- reached: celebrations and stories --------------------------------------------------------


def _goals_answer(tandem_id: int, action, done: str):
    """Run an action of the goals part; htmx re-renders that part, a plain form goes back to
    the tandem page. A refusal says why (422/409) in the part or the page."""
    try:
        action()
    except NotFound:
        abort(404)
    except DomainError as error:
        db.session.rollback()
        tandem = _tandem(tandem_id)
        if wants_fragment():
            context = {"tandem": tandem, "me": _me(), **goals_context(tandem, error=error)}
            return render("tandems/show.html", "tandems/_goals.html", error.status, **context)
        flash(error.message, "error")
        from peerhub.tandems.views import _page_context

        return render("tandems/show.html", None, error.status, **_page_context(tandem))
    tandem = _tandem(tandem_id)
    if wants_fragment():
        context = {"tandem": tandem, "me": _me(), **goals_context(tandem, done=done)}
        return render("tandems/show.html", "tandems/_goals.html", **context)
    flash(done, "success")
    return redirect_after_post(url_for("tandems.show", tandem_id=tandem_id) + "#goals")


@bp.post("/tandems/<int:tandem_id>/reached")
def reached(tandem_id: int):
    """Mark a goal or a milestone as reached."""
    kind, key = request.form.get("kind", ""), request.form.get("key", "")
    return _goals_answer(
        tandem_id,
        lambda: progress.mark_reached(_me(), tandem_id, kind, key),
        _("Congratulations! We told the others."),
    )


@bp.post("/achievements/<int:achievement_id>/unmark")
def unmark(achievement_id: int):
    """Take back "reached" (marked by mistake)."""
    try:
        tandem, _achievement = progress.achievement_for(_me(), achievement_id)
    except NotFound:
        abort(404)
    return _goals_answer(
        tandem.id,
        lambda: progress.unmark(_me(), achievement_id),
        _("It is no longer marked as reached."),
    )


def _story_context(tandem: Tandem, achievement, **extra) -> dict:
    me = _me()
    story = progress.story_of(achievement)
    consents = {c.user_id: c for c in story.consents} if story else {}
    return {
        "tandem": tandem,
        "me": me,
        "names": service.names_of(tandem),
        "achievement": achievement,
        "story": story,
        "consents": consents,
        "mine": consents.get(me.id),
        "story_max": STORY_MAX,
        "text": story.text if story else "",
        **extra,
    }


def _achievement_or_404(achievement_id: int):
    try:
        return progress.achievement_for(_me(), achievement_id)
    except NotFound:
        abort(404)


@bp.get("/achievements/<int:achievement_id>/story")
def story(achievement_id: int):
    """The story of an achievement for the successes page: write it, agree to it, or not."""
    tandem, achievement = _achievement_or_404(achievement_id)
    return render("tandems/story.html", None, **_story_context(tandem, achievement))


def _story_action(achievement_id: int, action, done: str, **typed):
    try:
        action()
    except NotFound:
        abort(404)
    except DomainError as error:
        db.session.rollback()
        tandem, achievement = _achievement_or_404(achievement_id)
        context = _story_context(tandem, achievement, error=error, **typed)
        return render("tandems/story.html", None, error.status, **context)
    flash(done, "success")
    return redirect_after_post(url_for("tandems.story", achievement_id=achievement_id))


@bp.post("/achievements/<int:achievement_id>/story")
def write_story(achievement_id: int):
    """Write or change the story; the writer agrees to it (with or without their name)."""
    text, show_name = request.form.get("text", ""), request.form.get("show_name") == "1"
    return _story_action(
        achievement_id,
        lambda: progress.write_story(_me(), achievement_id, text, show_name),
        _("Your story is saved. It appears on the successes page once everyone agrees."),
        text=text,
    )


def _story_or_404(story_id: int):
    from peerhub.tandems.models import SuccessStory

    story = db.session.get(SuccessStory, story_id)
    if story is None:
        abort(404)
    return story


@bp.post("/stories/<int:story_id>/consent")
def consent(story_id: int):
    """Agree that the story (in the words read) appears on the successes page."""
    found = _story_or_404(story_id)
    version = request.form.get("version", type=int) or 0
    show_name = request.form.get("show_name") == "1"
    return _story_action(
        found.achievement_id,
        lambda: progress.consent(_me(), story_id, version, show_name),
        _("Thank you: you agreed to share this story."),
    )


@bp.post("/stories/<int:story_id>/withdraw")
def withdraw(story_id: int):
    """Take one's consent back: the story leaves the successes page at once."""
    found = _story_or_404(story_id)
    return _story_action(
        found.achievement_id,
        lambda: progress.withdraw(_me(), story_id),
        _("You took your consent back; the story is not shown on the successes page."),
    )


@bp.get("/successes")
def successes():
    """The community's successes: stories every member of a tandem agreed to share."""
    page = page_number(request.args.get("page"))
    stories, total = progress.published(page, SUCCESSES_PER_PAGE)
    pages = max((total + SUCCESSES_PER_PAGE - 1) // SUCCESSES_PER_PAGE, 1)
    if page > pages:  # past the last page: show the last one
        page = pages
        stories, total = progress.published(page, SUCCESSES_PER_PAGE)
    return render(
        "tandems/successes.html",
        None,
        stories=stories,
        page_number=min(page, pages),
        pages=pages,
        total=total,
    )


# --- the review of a term ---------------------------------------------------------------------


@bp.get("/tandems/<int:tandem_id>/review")
def review(tandem_id: int):
    """The term in review: sessions held and cancelled, each goal's journey, the check-ins and
    what was reached, before deciding to continue, adjust or complete."""
    tandem = _tandem(tandem_id)
    if tandem.state == "forming":
        abort(404)
    me = _me()
    summary = progress.review(tandem, me)
    agreement = service.agreement_of(tandem)
    return render(
        "tandems/review.html",
        None,
        tandem=tandem,
        me=me,
        names=service.names_of(tandem),
        partners=service.partners(tandem, me.id),
        review=summary,
        charts=charts_of(tandem, summary.journeys),
        term_ending=service.term_ending(tandem, agreement, utcnow().date()),
        shared=journal.shared_in(tandem, me),
        texts=texts,
    )
