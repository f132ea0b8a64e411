"""Onboarding and profile editing, tags, the directory, member pages and blocking."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from peerhub.errors import DomainError, Invalid, NotFound
from peerhub.profiles import service
from peerhub.profiles.availability import in_zone
from peerhub.profiles.forms import (
    WEEKDAYS,
    WINDOWS_PER_DAY,
    GoalsForm,
    HeadlineForm,
    PracticalitiesForm,
    TagForm,
    language_choices,
)
from peerhub.profiles.models import GOALS_MAX, LANGUAGE_CODES, TAG_KINDS
from peerhub.profiles.search import DirectoryQuery, search_members
from peerhub.web.forms import attach_error
from peerhub.web.htmx import redirect_after_post, render, wants_fragment
from peerhub.web.seclog import security_event
from peerhub.web.security import safe_next

bp = Blueprint("profiles", __name__)

STEPS = service.ONBOARDING_STEPS
DIRECTORY_PER_PAGE = 20


@bp.before_request
@login_required
def _members_only():
    """Profiles are for signed-in members only."""


def _me():
    return current_user._get_current_object()


# --- tags component -------------------------------------------------------------


def _tags_context(kind: str, form: TagForm | None = None, profile=None) -> dict:
    profile = profile or service.profile_view(current_user.id)
    return {
        "kind": kind,
        "tags": sorted(
            (pt.tag for pt in profile.tags if pt.kind == kind), key=lambda t: t.name.casefold()
        ),
        "tag_form": form or TagForm(formdata=None, prefix=kind),
        "back": request.args.get("next") or request.form.get("next") or request.path,
    }


@bp.post("/profile/tags/<kind>")
def add_tag(kind: str):
    """Add a tag (typed, or picked from the suggestions); answers the tags component."""
    if kind not in TAG_KINDS:
        abort(404)
    form = TagForm(prefix=kind)
    status = 200
    if form.validate_on_submit():
        name = request.form.get("pick") or form.name.data or ""
        try:
            service.add_tag(_me(), kind, name)
        except Invalid as error:
            form.name.errors = [*form.name.errors, error.message]
            status = 422
        else:
            form = TagForm(formdata=None, prefix=kind)
    else:
        status = 422
    if wants_fragment():
        return render("profiles/_tags.html", None, status=status, **_tags_context(kind, form))
    if status != 200:
        flash(form.name.errors[-1], "error")
    return redirect_after_post(safe_next(_tags_context(kind)["back"], url_for("profiles.own")))


@bp.post("/profile/tags/<kind>/<int:tag_id>/remove")
def remove_tag(kind: str, tag_id: int):
    """Remove one of the member's tags; answers the tags component."""
    if kind not in TAG_KINDS:
        abort(404)
    service.remove_tag(_me(), kind, tag_id)
    if wants_fragment():
        return render("profiles/_tags.html", None, **_tags_context(kind))
    return redirect_after_post(safe_next(_tags_context(kind)["back"], url_for("profiles.own")))


@bp.get("/tags/suggest")
def suggest_tags():
    """Existing tags matching what is being typed, with how many members use each."""
    kind = request.args.get("kind", "offer")
    if kind not in TAG_KINDS:
        abort(404)
    typed = request.args.get(f"{kind}-name", "")[:80]
    return render(
        "profiles/_suggestions.html",
        None,
        kind=kind,
        suggestions=service.suggest_tags(typed),
        typed=typed,
    )


# --- steps ----------------------------------------------------------------------


def _practicalities_form(profile) -> PracticalitiesForm:
    data = {
        "context": profile.context or "",
        "languages": [lang.code for lang in profile.languages],
        "meeting_mode": profile.meeting_mode,
        "city": profile.city or "",
        "rhythm": profile.rhythm,
        "session_length": str(profile.session_length),
        "capacity": str(profile.capacity),
        "status": profile.status,
        "visibility": profile.visibility,
    }
    counts: dict[int, int] = {}
    for window in profile.windows:
        i = counts.get(window.weekday, 0)
        counts[window.weekday] = i + 1
        if i < WINDOWS_PER_DAY:
            data[f"d{window.weekday}_{i}_from"] = _hhmm(window.start_minute)
            data[f"d{window.weekday}_{i}_to"] = _hhmm(window.end_minute)
    form = PracticalitiesForm(formdata=None, data=data)
    form.languages.choices = language_choices()
    return form


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _step_form(step: str, profile, submitted: bool):
    if step == "strengths":
        return HeadlineForm() if submitted else HeadlineForm(formdata=None, obj=profile)
    if step == "goals":
        if submitted:
            return GoalsForm()
        data = {"about": profile.about}
        data.update({f"goal_{i + 1}": goal.text for i, goal in enumerate(profile.goals)})
        return GoalsForm(formdata=None, data=data)
    if step == "practicalities":
        if submitted:
            form = PracticalitiesForm()
            form.languages.choices = language_choices()
            return form
        return _practicalities_form(profile)
    return None


def _windows_from(form: PracticalitiesForm) -> tuple[tuple[int, int, int], ...]:
    """The grid's filled rows; a half-filled or unreadable row raises Invalid for its day."""
    windows = []
    for weekday in range(7):
        for start_field, end_field in form.window_fields(weekday):
            try:
                start = service.parse_minute(start_field.data)
                end = service.parse_minute(end_field.data)
            except ValueError:
                raise Invalid(_("Please enter times as HH:MM."), f"day-{weekday}") from None
            if start is None and end is None:
                continue
            if start is None or end is None:
                raise Invalid(_("Please give both a start and an end."), f"day-{weekday}")
            windows.append((weekday, start, end))
    return tuple(windows)


def _save_step(step: str, form) -> None:
    """Call the step's service function with the form's values. Raises Invalid."""
    me = _me()
    if step == "strengths":
        service.save_headline(me, form.headline.data)
    elif step == "goals":
        service.save_goals(me, [f.data for f in form.goal_fields()], form.about.data)
    elif step == "practicalities":
        try:
            session_length, capacity = int(form.session_length.data), int(form.capacity.data)
        except (TypeError, ValueError):
            raise Invalid(_("Please choose from the options."), "session_length") from None
        service.save_practicalities(
            me,
            service.Practicalities(
                context=form.context.data or None,
                languages=tuple(form.languages.data or ()),
                meeting_mode=form.meeting_mode.data or "",
                city=form.city.data,
                rhythm=form.rhythm.data or "",
                session_length=session_length,
                capacity=capacity,
                status=form.status.data or "",
                visibility=form.visibility.data or "",
                windows=_windows_from(form),
            ),
        )


def _attach(form, error: DomainError) -> None:
    """A refused day of the availability grid is shown on its row; anything else by field."""
    if error.field and error.field.startswith("day-"):
        form.day_errors = {int(error.field[4:]): error.message}
    else:
        attach_error(form, error)


def _step(step: str, guided: bool):
    if step not in STEPS:
        abort(404)
    profile = service.profile_view(current_user.id)
    submitted = request.method == "POST"
    form = _step_form(step, profile, submitted)
    status = 200
    if submitted:
        if form is None or form.validate_on_submit():
            try:
                if form is not None:
                    _save_step(step, form)
            except Invalid as error:
                _attach(form, error)
                status = 422
            else:
                return redirect_after_post(_after(step, guided))
        else:
            status = 422
    profile = service.profile_view(current_user.id)
    return render(
        "profiles/step.html",
        None,
        status=status,
        step=step,
        steps=STEPS,
        guided=guided,
        form=form,
        profile=profile,
        completeness=service.completeness(profile),
        tag_blocks=[
            _tags_context(kind, profile=profile)
            for kind in {"strengths": ("offer",), "support": ("seek", "interest")}.get(step, ())
        ],
        weekdays=WEEKDAYS,
        goals_max=GOALS_MAX,
    )


def _after(step: str, guided: bool) -> str:
    if not guided:
        flash(_("Your profile is saved."), "success")
        return url_for("profiles.own")
    index = STEPS.index(step)
    if index + 1 < len(STEPS):
        return url_for("profiles.onboarding", step=STEPS[index + 1])
    service.finish_onboarding(_me())
    flash(
        _("Well done: your profile is ready. Now look for a partner in the directory."), "success"
    )
    return url_for("profiles.own")


@bp.route("/onboarding/<step>", methods=["GET", "POST"])
def onboarding(step: str):
    """The guided sequence: strengths, support, goals, practicalities."""
    return _step(step, guided=True)


@bp.route("/profile/edit/<step>", methods=["GET", "POST"])
def edit(step: str):
    """Edit one part of the profile outside the guided sequence."""
    return _step(step, guided=False)


@bp.get("/onboarding")
def onboarding_start():
    """Begin (or resume) the guided sequence where something is missing."""
    profile = service.profile_view(current_user.id)
    step = service.completeness(profile).next_step or STEPS[0]
    return redirect(url_for("profiles.onboarding", step=step))


# --- viewing ----------------------------------------------------------------------


def _profile_context(user, profile, viewer_zone: str) -> dict:
    return {
        "member": user,
        "profile": profile,
        "windows": in_zone(
            [(w.weekday, w.start_minute, w.end_minute) for w in profile.windows],
            user.timezone,
            viewer_zone,
            date.today(),
        ),
        "language_names": dict((c.value, c.label) for c in language_choices()),
    }


@bp.get("/profile")
def own():
    """The member's own profile as others see it, with what is missing and the edit links."""
    me = _me()
    profile = service.profile_view(me.id)
    return render(
        "profiles/own.html",
        None,
        completeness=service.completeness(profile),
        blocked=service.blocked_by(me.id),
        **_profile_context(me, profile, me.timezone),
    )


@bp.get("/members/<int:user_id>")
def member(user_id: int):
    """Another member's profile: what a partner needs to decide. 404 when not visible."""
    try:
        user, profile = service.member_for(current_user.id, user_id)
    except NotFound:
        abort(404)
    from peerhub.intros.service import open_requests_with
    from peerhub.tandems import service as tandems

    invitable = tandems.invitable_tandems(_me(), user.id)
    return render(
        "profiles/member.html",
        None,
        intro_with=open_requests_with(current_user.id, [user.id]).get(user.id),
        invitable=[(t, tandems.partners(t, current_user.id)) for t in invitable],
        **_profile_context(user, profile, current_user.timezone),
    )


@bp.post("/members/<int:user_id>/block")
def block(user_id: int):
    """Block a member: neither of you sees the other any more."""
    try:
        service.block(_me(), user_id)
    except NotFound:
        abort(404)
    security_event("member_blocked", actor=current_user.id, target=f"user:{user_id}")
    flash(
        _("Blocked. You will not see each other any more; you can undo this on your profile page."),
        "success",
    )
    return redirect_after_post(url_for("profiles.directory"))


@bp.post("/members/<int:user_id>/unblock")
def unblock(user_id: int):
    """Lift a block the member set."""
    service.unblock(_me(), user_id)
    flash(_("The block is lifted."), "success")
    return redirect_after_post(url_for("profiles.own") + "#blocked")


# --- directory --------------------------------------------------------------------


def _directory_query() -> tuple[DirectoryQuery, dict]:
    """The filters from the URL (bad values are dropped, never an error)."""
    args = request.args
    day = args.get("day", "")
    mode = args.get("mode", "")
    language = args.get("language", "")
    filters = {
        "q": args.get("q", "")[:200],
        "offers": args.get("offers", "")[:40],
        "seeks": args.get("seeks", "")[:40],
        "language": language if language in LANGUAGE_CODES else "",
        "mode": mode if mode in ("video", "in_person") else "",
        "city": args.get("city", "")[:80],
        "day": day if day in {str(d) for d in range(7)} else "",
        "room": args.get("room") == "1",
    }
    query = DirectoryQuery(
        text=filters["q"],
        offers=filters["offers"],
        seeks=filters["seeks"],
        language=filters["language"],
        meeting_mode=filters["mode"],
        city=filters["city"],
        weekday=int(filters["day"]) if filters["day"] else None,
        has_room=filters["room"],
    )
    return query, filters


@bp.get("/members")
def directory():
    """Search members by text and filters; htmx swaps the results while typing."""
    query, filters = _directory_query()
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    results = search_members(current_user.id, query, page=page, per_page=DIRECTORY_PER_PAGE)
    active = {k: v for k, v in filters.items() if v}
    return render(
        "profiles/directory.html",
        "profiles/_results.html",
        results=results,
        filters=filters,
        active=active,
        weekdays=WEEKDAYS,
        language_options=language_choices(),
        page_url=lambda n: url_for("profiles.directory", **active, page=n),
    )
