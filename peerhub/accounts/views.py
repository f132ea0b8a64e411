"""Sign-up, verification, login/logout, password reset and account settings."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from peerhub.accounts import service
from peerhub.accounts.forms import (
    ChangeEmailForm,
    ChangePasswordForm,
    DeleteAccountForm,
    ExportDataForm,
    ForgotPasswordForm,
    LoginForm,
    PreferencesForm,
    ResetPasswordForm,
    SignUpForm,
)
from peerhub.community import service as community
from peerhub.community.views import INVITE_SESSION_KEY
from peerhub.errors import Conflict, DomainError, Invalid, NotAllowed
from peerhub.extensions import limiter, utcnow
from peerhub.profiles import service as profiles
from peerhub.web.forms import attach_error
from peerhub.web.htmx import redirect_after_post, render
from peerhub.web.i18n import select_locale, select_timezone
from peerhub.web.seclog import security_event
from peerhub.web.security import safe_next

bp = Blueprint("accounts", __name__)


def _limit(setting: str):
    return lambda: current_app.config[setting]


def _account_key() -> str:
    return "account:" + (request.form.get("email") or "").strip().lower()[:254]


def _login(user, remember: bool) -> None:
    """Start a fresh session for `user` (no fixation: the old session is dropped)."""
    session.clear()
    login_user(user, remember=remember, duration=current_app.config["REMEMBER_COOKIE_DURATION"])
    session["auth_at"] = utcnow().timestamp()


# --- sign-up and verification -------------------------------------------------


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(_limit("SIGNUP_LIMIT"), methods=["POST"])
def signup():
    """Sign-up form; the answer is the same whether or not the address is taken."""
    if current_user.is_authenticated:
        return redirect(url_for("web.home"))
    invite_token = session.get(INVITE_SESSION_KEY)
    gate = community.signup_gate(invite_token)
    if gate.closed_because:  # by invitation only, and no usable link
        status = 403 if request.method == "POST" else 200
        return render(
            "community/invitation_only.html", None, status=status, message=gate.closed_because
        )
    form = SignUpForm()
    if request.method == "GET":
        form.language.data = select_locale()
        form.timezone.data = select_timezone()
    status = 200
    if form.validate_on_submit():
        try:
            user = service.sign_up(
                service.SignUp(
                    email=form.email.data,
                    display_name=form.display_name.data,
                    password=form.password.data,
                    language=form.language.data,
                    timezone=form.timezone.data,
                    consent=form.consent.data,
                    invite_token=invite_token if gate.invite else None,
                )
            )
        except Invalid as error:
            attach_error(form, error)
        except DomainError as error:  # the invite link stopped working meanwhile
            form.form_errors.append(error.message)
            status = error.status
        else:
            security_event("signup", actor=user.id if user else None)
            session.pop(INVITE_SESSION_KEY, None)
            session["lang"] = form.language.data
            return redirect_after_post(url_for("accounts.check_inbox"))
    if form.is_submitted() and status == 200:
        status = 422
    return render("accounts/signup.html", None, status=status, form=form, gate=gate)


@bp.get("/signup/check-inbox")
def check_inbox():
    """Tells the newcomer to follow the link in the mail we sent."""
    return render("accounts/check_inbox.html", None)


@bp.get("/verify/<token>")
def verify_email(token: str):
    """Confirm an address from the mailed link; a used or expired link answers 400."""
    try:
        user = service.verify_email(token)
    except Invalid as error:
        return render("accounts/link_problem.html", None, status=400, message=error.message)
    security_event("email_verified", actor=user.id)
    flash(_("Thank you, your e-mail address is confirmed. You can log in now."), "success")
    if current_user.is_authenticated:
        return redirect(url_for("web.home"))
    return redirect(url_for("accounts.login"))


# --- login and logout -----------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_limit("LOGIN_LIMIT_PER_ADDRESS"), methods=["POST"])
@limiter.limit(_limit("LOGIN_LIMIT_PER_ACCOUNT"), methods=["POST"], key_func=_account_key)
def login():
    """Log in; wrong address and wrong password get the same message and status."""
    if current_user.is_authenticated:
        return redirect(url_for("web.home"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    status = 200
    appeal_url = None
    if form.validate_on_submit():
        try:
            user = service.authenticate(form.email.data, form.password.data)
        except (Invalid, NotAllowed) as error:
            security_event("login_failed", target=type(error).__name__)
            form.form_errors.append(error.message)
            status = error.status if isinstance(error, NotAllowed) else 422
            appeal_url = getattr(error, "appeal_url", None)  # a suspended member's appeal
        else:
            service.record_login(user, form.password.data)
            _login(user, remember=form.remember.data)
            security_event("login", actor=user.id)
            flash(_("Welcome back, %(name)s.", name=user.display_name), "success")
            first_stop = url_for("web.home")
            if profiles.profile_view(user.id).onboarded_at is None:
                first_stop = url_for("profiles.onboarding_start")
            return redirect_after_post(safe_next(form.next.data, first_stop), reload=True)
    elif form.is_submitted():
        status = 422
    return render("accounts/login.html", None, status=status, form=form, appeal_url=appeal_url)


@bp.post("/logout")
@login_required
def logout():
    """Log out everywhere: every session and remember cookie of the member ends."""
    user_id, language = current_user.id, current_user.language
    service.end_all_sessions(current_user._get_current_object())
    logout_user()
    session.clear()
    session["lang"] = language  # the site keeps speaking the member's language
    security_event("logout", actor=user_id)
    flash(_("You are logged out."), "success")
    return redirect_after_post(url_for("web.home"), reload=True)


# --- password reset ---------------------------------------------------------------


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_limit("RESET_LIMIT"), methods=["POST"])
def forgot_password():
    """Ask for a reset link; the same answer whether or not the address exists."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        service.request_password_reset(form.email.data)
        security_event("reset_requested")
        flash(
            _(
                "If an account uses this address, we have sent it a link to reset the "
                "password. The link works once, for one hour."
            ),
            "info",
        )
        return redirect_after_post(url_for("accounts.login"))
    status = 422 if form.is_submitted() else 200
    return render("accounts/forgot_password.html", None, status=status, form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit(_limit("RESET_LIMIT"), methods=["POST"])
def reset_password(token: str):
    """Choose a new password from a mailed link; does not log in."""
    try:
        service.user_for_reset(token)
    except Invalid as error:
        return render("accounts/link_problem.html", None, status=400, message=error.message)
    form = ResetPasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = service.reset_password(token, form.password.data)
        except Invalid as error:
            if error.field is None:
                return render("accounts/link_problem.html", None, status=400, message=error.message)
            attach_error(form, error)
        else:
            if current_user.is_authenticated:
                logout_user()
            session.clear()
            security_event("password_reset", actor=user.id)
            flash(_("Your password is changed. Please log in with the new one."), "success")
            return redirect_after_post(url_for("accounts.login"), reload=True)
    if form.is_submitted():
        status = 422
    return render("accounts/reset_password.html", None, status=status, form=form)


# --- settings ---------------------------------------------------------------------


def settings_context(**forms):
    """Everything the settings page shows, for the page and each of its cards alike."""
    from peerhub.calendar.views import feed_context

    preferences = forms.get("preferences") or PreferencesForm(
        formdata=None, language=current_user.language, timezone=current_user.timezone
    )
    return {
        "preferences": preferences,
        "password_form": forms.get("password_form") or ChangePasswordForm(formdata=None),
        "email_form": forms.get("email_form") or ChangeEmailForm(formdata=None),
        "saved": forms.get("saved"),
        "export_form": forms.get("export_form") or ExportDataForm(formdata=None),
        "delete_form": forms.get("delete_form") or DeleteAccountForm(formdata=None),
        **feed_context(),
    }


@bp.get("/settings")
@login_required
def settings():
    """The member's account settings: language and zone, password, e-mail address."""
    return render("accounts/settings.html", None, **settings_context())


@bp.post("/settings/preferences")
@login_required
def save_preferences():
    """Save language and time zone; answers the form component for htmx."""
    form = PreferencesForm()
    if form.validate_on_submit():
        try:
            service.update_preferences(current_user, form.language.data, form.timezone.data)
        except Invalid as error:
            attach_error(form, error)
        else:
            session["lang"] = current_user.language
            flash(_("Your settings are saved."), "success")
            return redirect_after_post(url_for("accounts.settings"), reload=True)
    return render(
        "accounts/settings.html",
        "accounts/_preferences_form.html",
        status=422,
        **settings_context(preferences=form),
    )


@bp.post("/settings/password")
@login_required
def change_password():
    """Change the password (asks the current one); other sessions end, this one goes on."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            service.change_password(
                current_user._get_current_object(),
                form.current_password.data,
                form.new_password.data,
            )
        except Invalid as error:
            attach_error(form, error, {"password": "new_password"})
            security_event("password_change_failed", actor=current_user.id)
        else:
            # Same session (and CSRF token, which other forms on the page hold), new
            # session token: other devices are out, this one stays in.
            remember = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
            login_user(current_user._get_current_object(), remember=remember in request.cookies)
            session["auth_at"] = utcnow().timestamp()
            security_event("password_changed", actor=current_user.id)
            return render(
                "accounts/settings.html",
                "accounts/_password_form.html",
                **settings_context(saved="password"),
            )
    return render(
        "accounts/settings.html",
        "accounts/_password_form.html",
        status=422,
        **settings_context(password_form=form),
    )


@bp.post("/settings/email")
@login_required
@limiter.limit(_limit("EMAIL_CHANGE_LIMIT"))
def change_email():
    """Ask for a new address; it changes once the link sent there is followed."""
    form = ChangeEmailForm()
    if form.validate_on_submit():
        try:
            service.request_email_change(
                current_user, form.email_password.data, form.new_email.data
            )
        except Invalid as error:
            attach_error(form, error, {"password": "email_password", "email": "new_email"})
        else:
            security_event("email_change_requested", actor=current_user.id)
            return render(
                "accounts/settings.html",
                "accounts/_email_form.html",
                **settings_context(saved="email"),
            )
    return render(
        "accounts/settings.html",
        "accounts/_email_form.html",
        status=422,
        **settings_context(email_form=form),
    )


@bp.get("/settings/email/confirm/<token>")
def confirm_email_change(token: str):
    """Follow the link sent to the new address; works once."""
    try:
        service.confirm_email_change(token)
    except DomainError as error:
        status = 409 if isinstance(error, Conflict) else 400
        return render("accounts/link_problem.html", None, status=status, message=error.message)
    flash(_("Your e-mail address is changed."), "success")
    return redirect(
        url_for("accounts.settings" if current_user.is_authenticated else "accounts.login")
    )


# --- data rights: export and deletion ---------------------------------------------------


@bp.post("/settings/data/export")
@login_required
@limiter.limit("10 per hour")
def export_data():
    """All of the member's data as a ZIP, at once; asks for the password again unless the
    last login is recent (422 with the card when it is wrong)."""
    from peerhub.accounts import data
    from peerhub.accounts.passwords import verify_password
    from peerhub.web.reauth import recently_logged_in

    form = ExportDataForm()
    if form.validate_on_submit():
        if recently_logged_in() or verify_password(
            current_user.password_hash, form.export_password.data or ""
        ):
            now = utcnow()
            session["auth_at"] = now.timestamp()
            body = data.export(current_user._get_current_object(), now)
            security_event("data_exported", actor=current_user.id)
            response = current_app.response_class(body, mimetype="application/zip")
            name = f"peerhub-data-{now:%Y-%m-%d}.zip"
            response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
            response.headers["Cache-Control"] = "no-store"
            return response
        security_event("data_export_reauth_failed", actor=current_user.id)
        form.export_password.errors = [_("Your current password is not correct.")]
    return render(
        "accounts/settings.html",
        "accounts/_data_export.html",
        status=422,
        **settings_context(export_form=form),
    )


@bp.post("/settings/delete")
@login_required
@limiter.limit("10 per hour")
def delete_account():
    """Delete the account and its data at once (password and a tick to confirm); then the
    member is logged out. Answers the card with 422 when not confirmed."""
    from peerhub.accounts import data

    form = DeleteAccountForm()
    if form.validate_on_submit():
        user_id, language = current_user.id, current_user.language
        try:
            data.delete_account(
                current_user._get_current_object(),
                form.delete_password.data,
                form.confirm.data,
                utcnow(),
            )
        except Invalid as error:
            attach_error(form, error, {"password": "delete_password"})
            security_event("account_delete_refused", actor=user_id)
        else:
            logout_user()
            session.clear()
            session["lang"] = language
            security_event("account_deleted", actor=user_id)
            flash(
                _("Your account and your data are deleted. Thank you for your time here."),
                "success",
            )
            return redirect_after_post(url_for("web.home"), reload=True)
    return render(
        "accounts/settings.html",
        "accounts/_data_delete.html",
        status=422,
        **settings_context(delete_form=form),
    )


def init_app(app) -> None:
    """Wire Flask-Login to the member table; htmx requests get a client redirect."""
    from flask_babel import lazy_gettext as _l
    from sqlalchemy import select

    from peerhub.accounts.models import User
    from peerhub.extensions import db, login_manager

    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(session_token: str):
        user = db.session.scalar(select(User).where(User.session_token == session_token))
        return user if user is not None and user.is_active else None

    @login_manager.unauthorized_handler
    def unauthorized():
        from peerhub.web.htmx import HX_REDIRECT, is_htmx

        flash(str(login_manager.login_message), "info")
        target = url_for("accounts.login", next=request.full_path.rstrip("?"))
        if is_htmx():
            response = current_app.make_response(("", 401))
            response.headers[HX_REDIRECT] = target
            return response
        return redirect(target)
