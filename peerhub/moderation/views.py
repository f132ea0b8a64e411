"""Moderator pages. The role is checked once, for the whole blueprint; others get 404."""

from __future__ import annotations

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from peerhub.errors import DomainError, NotFound
from peerhub.extensions import db
from peerhub.profiles import service as profiles
from peerhub.profiles.forms import MergeTagForm, RenameTagForm
from peerhub.profiles.models import ProfileTag, Tag
from peerhub.profiles.text import tag_key
from peerhub.web.htmx import redirect_after_post, render
from peerhub.web.seclog import security_event

bp = Blueprint("moderation", __name__, url_prefix="/moderation")

PER_PAGE = 50


@bp.before_request
def _moderators_only():
    """Members who are not moderators learn nothing: 404 on every moderation page."""
    if not current_user.is_authenticated or not current_user.is_moderator:
        security_event(
            "moderation_refused",
            actor=current_user.id if current_user.is_authenticated else None,
            target=request.path,
        )
        abort(404)


@bp.get("/tags")
def tags():
    """The shared vocabulary with how many members use each tag; rename and merge."""
    text = request.args.get("q", "")[:40]
    uses = (
        select(ProfileTag.tag_id, func.count(func.distinct(ProfileTag.user_id)).label("members"))
        .group_by(ProfileTag.tag_id)
        .subquery()
    )
    query = select(Tag, func.coalesce(uses.c.members, 0).label("members")).outerjoin(
        uses, uses.c.tag_id == Tag.id
    )
    if text:
        query = query.where(Tag.key.contains(tag_key(text), autoescape=True))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max((total + PER_PAGE - 1) // PER_PAGE, 1)
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
    rows = db.session.execute(
        query.order_by(func.coalesce(uses.c.members, 0).desc(), Tag.name)
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    ).all()
    return render(
        "moderation/tags.html",
        None,
        rows=rows,
        page_number=page,
        pages=pages,
        total=total,
        q=text,
        rename_form=RenameTagForm(formdata=None),
        merge_form=MergeTagForm(formdata=None),
    )


def _tag_or_404(tag_id: int) -> Tag:
    tag = db.session.get(Tag, tag_id)
    if tag is None:
        abort(404)
    return tag


@bp.post("/tags/<int:tag_id>/rename")
def rename_tag(tag_id: int):
    """Change a tag's spelling for everyone who uses it."""
    tag = _tag_or_404(tag_id)
    form = RenameTagForm()
    old = tag.name
    if form.validate_on_submit():
        try:
            profiles.rename_tag(current_user._get_current_object(), tag_id, form.name.data or "")
        except NotFound:
            abort(404)
        except DomainError as error:
            flash(error.message, "error")
        else:
            security_event("tag_renamed", actor=current_user.id, target=f"tag:{tag_id}:{old}")
            flash(_("“%(old)s” is now “%(new)s”.", old=old, new=form.name.data.strip()), "success")
    return redirect_after_post(url_for("moderation.tags", q=request.args.get("q", "")))


@bp.post("/tags/<int:tag_id>/merge")
def merge_tag(tag_id: int):
    """Move every use of this tag to another one (named exactly) and remove it."""
    source = _tag_or_404(tag_id)
    form = MergeTagForm()
    if form.validate_on_submit():
        target = db.session.scalar(select(Tag).where(Tag.key == tag_key(form.target.data or "")))
        if target is None:
            flash(_("There is no tag called “%(name)s”.", name=form.target.data), "error")
        else:
            name = source.name
            try:
                profiles.merge_tags(current_user._get_current_object(), tag_id, target.id)
            except DomainError as error:
                flash(error.message, "error")
            else:
                security_event(
                    "tag_merged", actor=current_user.id, target=f"tag:{tag_id}:{name}->{target.id}"
                )
                flash(
                    _("“%(old)s” is merged into “%(new)s”.", old=name, new=target.name), "success"
                )
    return redirect_after_post(url_for("moderation.tags", q=request.args.get("q", "")))
