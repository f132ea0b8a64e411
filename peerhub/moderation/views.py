"""Moderator pages. The role is checked once, for the whole blueprint; others get 404."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from peerhub.accounts.models import User
from peerhub.errors import DomainError, NotFound
from peerhub.extensions import db
from peerhub.matching import service as matching
from peerhub.matching.models import MatchingRound, Proposal
from peerhub.profiles import service as profiles
from peerhub.profiles.forms import MergeTagForm, RenameTagForm
from peerhub.profiles.models import ProfileTag, Tag
from peerhub.profiles.text import tag_key
from peerhub.web.htmx import redirect_after_post, render, wants_fragment
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


# --- matching rounds ------------------------------------------------------------------


def _actor():
    return current_user._get_current_object()


def _round_context(round_) -> dict:
    from peerhub.matching.explain import UNMATCHED_REASONS

    proposals = db.session.scalars(
        select(Proposal).where(Proposal.round_id == round_.id).order_by(Proposal.score.desc())
    ).all()
    members = {
        user.id: user
        for user in db.session.scalars(
            select(User).where(User.id.in_([m.user_id for p in proposals for m in p.members]))
        )
    }
    sentences = matching.round_explanations(proposals, current_user.timezone)
    return {
        "round": round_,
        "figures": matching.round_figures(round_),
        "proposals": [
            (p, [members[m.user_id] for m in p.members], sentences[p.id]) for p in proposals
        ],
        "reasons": UNMATCHED_REASONS,
        "inline_flashes": wants_fragment(),  # the page shows them above; a swap only here
    }


def _round_or_404(round_id: int):
    try:
        return matching.round_for_moderator(_actor(), round_id)
    except NotFound:
        abort(404)


@bp.get("/rounds")
def rounds():
    """Matching rounds: the open one and those published, with their figures."""
    all_rounds = db.session.scalars(select(MatchingRound).order_by(MatchingRound.id.desc())).all()
    return render(
        "moderation/rounds.html",
        None,
        rounds=[(r, matching.round_figures(r)) for r in all_rounds],
        open_round=matching.open_round(),
    )


@bp.post("/rounds")
def start_round():
    """Open a round for members to join (the open one, if there is one)."""
    round_ = matching.start_round(_actor())
    security_event("round_opened", actor=current_user.id, target=f"round:{round_.id}")
    flash(_("The round is open: members can join it now."), "success")
    return redirect_after_post(url_for("moderation.round_detail", round_id=round_.id))


@bp.get("/rounds/<int:round_id>")
def round_detail(round_id: int):
    """A round's proposals with their explanations, the figures, and who stayed unmatched."""
    round_ = _round_or_404(round_id)
    return render("moderation/round.html", "moderation/_round.html", **_round_context(round_))


def _round_action(round_id: int, action) -> Response:
    """Run a change on the draft; answer the round again (fragment for htmx), or the error."""
    round_ = _round_or_404(round_id)
    status = 200
    try:
        message = action(round_)
    except NotFound:
        abort(404)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        status = error.status
    else:
        flash(message, "success")
    if not wants_fragment() and status == 200:
        return redirect_after_post(url_for("moderation.round_detail", round_id=round_id))
    db.session.expire_all()
    round_ = db.session.get(MatchingRound, round_id)
    return render(
        "moderation/round.html", "moderation/_round.html", status, **_round_context(round_)
    )


def _version() -> int:
    return request.form.get("version", -1, type=int)


@bp.post("/rounds/<int:round_id>/preview")
def preview_round(round_id: int):
    """Compute the best pairing of everyone in the round (replaces the drafts)."""

    def action(round_):
        matching.preview_round(_actor(), round_.id)
        security_event("round_previewed", actor=current_user.id, target=f"round:{round_.id}")
        return _("The best pairing is computed. Check it, adjust it, then publish.")

    return _round_action(round_id, action)


@bp.post("/rounds/<int:round_id>/proposals/<int:proposal_id>/dissolve")
def dissolve_proposal(round_id: int, proposal_id: int):
    """Take a draft pair or group apart."""

    def action(round_):
        proposal = db.session.get(Proposal, proposal_id)
        if proposal is None or proposal.round_id != round_.id:
            raise NotFound("proposal")
        matching.dissolve_proposal(_actor(), proposal_id, _version())
        return _("The proposal is taken apart; its members are unmatched now.")

    return _round_action(round_id, action)


@bp.post("/rounds/<int:round_id>/pair")
def pair_by_hand(round_id: int):
    """Put two to four unmatched members together by hand."""

    def action(round_):
        ids = request.form.getlist("member", type=int)
        matching.pair_by_hand(_actor(), round_.id, ids, _version())
        return _("The proposal is added.")

    return _round_action(round_id, action)


@bp.post("/rounds/<int:round_id>/publish")
def publish_round(round_id: int):
    """Publish the round: members see and answer their proposals."""

    def action(round_):
        matching.publish_round(_actor(), round_.id, _version())
        security_event("round_published", actor=current_user.id, target=f"round:{round_.id}")
        return _("The round is published. Every member in it has been told.")

    return _round_action(round_id, action)


from peerhub.moderation import figures_views, member_views, queue_views  # noqa: E402,F401
