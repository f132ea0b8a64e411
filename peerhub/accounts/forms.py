"""Account forms: each shows, and therefore accepts, only the fields it names."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length

from peerhub.accounts.models import DISPLAY_NAME_MAX, EMAIL_MAX, PASSWORD_MAX
from peerhub.web.timefmt import timezone_names

LANGUAGE_CHOICES = [SelectChoice("de", "Deutsch"), SelectChoice("en", "English")]

_required = _l("Please fill in this field.")


def _at_most(limit: int) -> Length:
    return Length(max=limit, message=_l("Please use at most %(max)d characters."))


def _timezone_choices() -> list[SelectChoice]:
    return [SelectChoice(name, name.replace("_", " ")) for name in timezone_names()]


class _TimezoneField(SelectField):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, choices=_timezone_choices(), validate_choice=False, **kwargs)


class SignUpForm(FlaskForm):
    email = EmailField(
        _l("E-mail address"),
        validators=[DataRequired(_required), _at_most(EMAIL_MAX)],
        render_kw={"autocomplete": "email"},
    )
    display_name = StringField(
        _l("Name shown to other members"),
        validators=[DataRequired(_required), _at_most(DISPLAY_NAME_MAX)],
        render_kw={"autocomplete": "nickname"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_required), _at_most(PASSWORD_MAX)],
        render_kw={"autocomplete": "new-password", "minlength": 10},
    )
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES, validate_choice=False)
    timezone = _TimezoneField(_l("Time zone"), render_kw={"data-browser-timezone": "1"})
    consent = BooleanField(_l("I have read the privacy notice and agree to it."))


class LoginForm(FlaskForm):
    email = EmailField(
        _l("E-mail address"),
        validators=[DataRequired(_required), _at_most(EMAIL_MAX)],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_required), _at_most(PASSWORD_MAX)],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField(_l("Stay logged in on this device (30 days)"))
    next = HiddenField()


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        _l("E-mail address"),
        validators=[DataRequired(_required), _at_most(EMAIL_MAX)],
        render_kw={"autocomplete": "email"},
    )


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(_required), _at_most(PASSWORD_MAX)],
        render_kw={"autocomplete": "new-password", "minlength": 10},
    )


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[InputRequired(_required), _at_most(PASSWORD_MAX)],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired(_required), _at_most(PASSWORD_MAX)],
        render_kw={"autocomplete": "new-password", "minlength": 10},
    )


class ChangeEmailForm(FlaskForm):
    new_email = EmailField(
        _l("New e-mail address"),
        validators=[DataRequired(_required), _at_most(EMAIL_MAX)],
        render_kw={"autocomplete": "email"},
    )
    email_password = PasswordField(
        _l("Current password"),
        validators=[InputRequired(_required), _at_most(PASSWORD_MAX)],
        render_kw={"autocomplete": "current-password"},
    )


class PreferencesForm(FlaskForm):
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES, validate_choice=False)
    timezone = _TimezoneField(_l("Time zone"))


class ExportDataForm(FlaskForm):
    # asked only when the last login is not recent
    export_password = PasswordField(
        _l("Your password, to confirm it is you"),
        validators=[_at_most(PASSWORD_MAX)],
        render_kw={"autocomplete": "current-password"},
    )


class DeleteAccountForm(FlaskForm):
    delete_password = PasswordField(
        _l("Your password"),
        validators=[InputRequired(_required), _at_most(PASSWORD_MAX)],
        render_kw={"autocomplete": "current-password"},
    )
    confirm = BooleanField(
        _l("I understand: my account and my data are deleted at once and for good.")
    )
