"""Community settings for admins (/admin/…: 404 to everyone else, checked once), invite links
(/join/<token>), and the page where members accept a new privacy notice (/consent)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from peerhub.community import service
from peerhub.community.forms import ConsentForm, InviteForm, PolicyTextForm, SignupModeForm
from peerhub.community.models import POLICY_KINDS, POLICY_LANGUAGES
from peerhub.errors import DomainError, NotFound
from peerhub.extensions import utcnow
from peerhub.journal.formatting import render as formatted
from peerhub.web.forms import attach_error
from peerhub.web.htmx import is_htmx, redirect_after_post, render, wants_fragment
from peerhub.web.seclog import security_event
from peerhub.web.security import safe_next
from peerhub.web.urls import absolute_url

bp = Blueprint("community", __name__)
admin = Blueprint("admin", __name__, url_prefix="/admin")

# Where the sign-up form finds the invite link the visitor came with.
INVITE_SESSION_KEY = "invite_token"

# Pages a member who has not accepted the new privacy notice still reaches: the notice and
# imprint, the consent page, logging out, their own account (to export their data or delete
# it instead), the calendar feed (a calendar app cannot answer), static files.
CONSENT_FREE = {
    "static",
    "community.consent",
    "community.accept_consent",
    "community.decline_consent",
    "web.privacy",
    "web.imprint",
    "web.healthz",
    "calendar.feed",
}


def _actor():
    return current_user._get_current_object()


# --- asking for consent to a new privacy notice ---------------------------------------------


def _page_url() -> str:
    """The page the member was on: for htmx requests the page in the address bar."""
    if is_htmx():
        current = urlsplit(request.headers.get("HX-Current-URL", ""))
        if current.netloc == request.host and current.path:
            return current.path + (f"?{current.query}" if current.query else "")
        return url_for("web.home")
    return request.full_path.rstrip("?")


@bp.before_app_request
def _ask_for_consent():
    """Until a member accepts the current privacy notice, page requests lead to /consent."""
    if request.method not in ("GET", "HEAD"):
        return None  # a form sent from a page shown before goes through; its answer asks
    endpoint = request.endpoint
    if endpoint is None or endpoint in CONSENT_FREE or endpoint.startswith("accounts."):
        return None
    if not current_user.is_authenticated or not service.needs_consent(current_user):
        return None
    target = url_for("community.consent", next=_page_url())
    if is_htmx():  # a partial swap must not show the consent page in a corner
        return redirect_after_post(target, reload=True)
    return redirect(target)


def _consent_page(form: ConsentForm, status: int = 200, message: str | None = None):
    version = service.current_privacy_version()
    form.version.data = version
    return render(
        "community/consent.html",
        None,
        status=status,
        form=form,
        version=version,
        notice=service.current_html("privacy", str(get_locale())),
        message=message,
    )


@bp.get("/consent")
@login_required
def consent():
    """The new privacy notice, to accept (or to decline and take one's data)."""
    next_url = safe_next(request.args.get("next"), url_for("web.home"))
    if not service.needs_consent(current_user):
        return redirect(next_url)
    return _consent_page(ConsentForm(formdata=None, next=next_url))


@bp.post("/consent")
@login_required
def accept_consent():
    """Record the member's consent to the notice they read; a stale version is shown anew."""
    form = ConsentForm()
    if not form.validate_on_submit():
        return _consent_page(form, status=400)
    try:
        recorded = service.accept_privacy(_actor(), form.version.data or "")
    except service.StaleVersion as error:
        return _consent_page(ConsentForm(formdata=None, next=form.next.data), 409, error.message)
    if recorded:
        security_event("consent_given", actor=current_user.id, target="privacy")
        flash(_("Thank you. You have agreed to the new privacy notice."), "success")
    return redirect_after_post(safe_next(form.next.data, url_for("web.home")))


@bp.get("/consent/decline")
@login_required
def decline_consent():
    """What a member who does not agree can do: take their data, delete the account, leave."""
    return render("community/consent_declined.html", None)


# --- invite links ----------------------------------------------------------------------------


@bp.get("/join/<token>")
def join(token: str):
    """An invite link: remembered for the sign-up form, or kindly explained when it is
    unknown (404), expired, used up or withdrawn (410)."""
    if current_user.is_authenticated:
        flash(_("You are already a member."), "info")
        return redirect(url_for("web.home"))
    try:
        service.invite_for_token(token)
    except DomainError as error:
        response = render(
            "community/join_problem.html", None, status=error.status, message=error.message
        )
    else:
        session[INVITE_SESSION_KEY] = token
        response = redirect(url_for("accounts.signup"))
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


# --- admin pages -------------------------------------------------------------------------------


@admin.before_request
def _admins_only():
    """Anyone but an admin learns nothing: 404 on every admin page."""
    if not current_user.is_authenticated or not current_user.is_admin:
        security_event(
            "admin_refused",
            actor=current_user.id if current_user.is_authenticated else None,
            target=request.path,
        )
        abort(404)


def _settings_context(**values):
    """Everything the community page shows, for the page and each of its components alike."""
    settings = service.community_settings()
    mode_form = values.get("mode_form") or SignupModeForm(
        formdata=None, signup_mode=settings.signup_mode, domains="\n".join(settings.domain_list)
    )
    return {
        "settings": settings,
        "mode_form": mode_form,
        "invite_form": values.get("invite_form") or InviteForm(formdata=None),
        "invites": service.invites(),
        "new_invite_url": values.get("new_invite_url"),
        "saved": values.get("saved"),
        "refresh_hint": values.get("refresh_hint"),  # the invites' hint follows the mode (htmx)
        "notice": values.get("notice"),
        "now": utcnow(),
        "versions": {kind: service.current_version(kind) for kind in POLICY_KINDS},
    }


def _component(fragment: str, status: int = 200, **values):
    return render("community/admin.html", fragment, status=status, **_settings_context(**values))


@admin.get("/community")
def settings():
    """Sign-up mode, invite links, and the texts' current versions."""
    return _component(None)


@admin.post("/community/signup")
def save_signup_mode():
    """Choose who may join; answers the form component for htmx."""
    form = SignupModeForm()
    if form.validate_on_submit():
        try:
            service.save_settings(_actor(), form.signup_mode.data, form.domains.data or "")
        except DomainError as error:
            attach_error(form, error)
        else:
            if wants_fragment():
                return _component("community/_signup_mode.html", saved="mode", refresh_hint=True)
            flash(_("Sign-up settings are saved."), "success")
            return redirect_after_post(url_for("community.admin.settings"))
    return _component("community/_signup_mode.html", status=422, mode_form=form)


@admin.post("/community/invites")
def create_invite():
    """Make an invite link; its address is shown once (only its hash is kept)."""
    form = InviteForm()
    if form.validate_on_submit():
        try:
            _invite, token = service.create_invite(
                _actor(), form.label.data or "", form.days.data, form.max_uses.data
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            url = absolute_url("community.join", token=token)
            if wants_fragment():
                return _component("community/_invites.html", new_invite_url=url)
            flash(_("The invite link, shown only now, so copy it: %(url)s", url=url), "success")
            return redirect_after_post(url_for("community.admin.settings"))
    return _component("community/_invites.html", status=422, invite_form=form)


@admin.post("/community/invites/<int:invite_id>/revoke")
def revoke_invite(invite_id: int):
    """Withdraw an invite link (a second click changes nothing)."""
    try:
        revoked = service.revoke_invite(_actor(), invite_id)
    except NotFound:
        abort(404)
    message = _("The link is withdrawn.") if revoked else _("The link was already withdrawn.")
    if wants_fragment():
        return _component("community/_invites.html", notice=message)
    flash(message, "success" if revoked else "info")
    return redirect_after_post(url_for("community.admin.settings"))


def _kind_or_404(kind: str) -> str:
    if kind not in POLICY_KINDS:
        abort(404)
    return kind


def _texts_page(kind: str, form: PolicyTextForm | None = None, status: int = 200):
    if form is None:
        current = {language: service.current_text(kind, language) for language in POLICY_LANGUAGES}
        form = PolicyTextForm(
            formdata=None,
            **{
                f"text_{language}": row.text
                for language, row in current.items()
                if row is not None and row.language == language
            },
        )
    return render(
        "community/texts.html",
        None,
        status=status,
        kind=kind,
        form=form,
        versions=[
            (version, {lang: formatted(text) for lang, text in version.texts.items()})
            for version in service.versions(kind)
        ],
    )


@admin.get("/texts/<kind>")
def texts(kind: str):
    """Edit the privacy notice or the imprint (German and English); earlier versions below."""
    return _texts_page(_kind_or_404(kind))


@admin.post("/texts/<kind>")
def publish_text(kind: str):
    """Publish the texts as a new version; a new privacy notice asks every member to accept."""
    kind = _kind_or_404(kind)
    form = PolicyTextForm()
    if form.validate_on_submit():
        try:
            version = service.publish_text(
                _actor(), kind, {"de": form.text_de.data or "", "en": form.text_en.data or ""}
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            if kind == "privacy":
                message = _(
                    "Version %(version)s is published. Every member is asked to accept it "
                    "on their next visit.",
                    version=version,
                )
            else:
                message = _("Version %(version)s is published.", version=version)
            flash(message, "success")
            return redirect_after_post(url_for("community.admin.texts", kind=kind))
    return _texts_page(kind, form, status=422)


bp.register_blueprint(admin)
