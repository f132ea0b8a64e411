"""Admin forms for the community settings, invite links and texts; the consent form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from peerhub.community.models import (
    DOMAINS_MAX,
    INVITE_DAYS_MAX,
    INVITE_USES_MAX,
    LABEL_MAX,
    POLICY_TEXT_MAX,
    VERSION_MAX,
)
from peerhub.community.service import INVITE_DAYS_DEFAULT, INVITE_USES_DEFAULT


def _at_most(limit: int) -> Length:
    return Length(max=limit, message=_l("Please use at most %(max)d characters."))


class SignupModeForm(FlaskForm):
    signup_mode = RadioField(
        _l("Who can join"),
        choices=[
            SelectChoice("open", _l("Everyone: open sign-up")),
            SelectChoice("invitation", _l("By invitation only: people with an invite link")),
            SelectChoice("domains", _l("People with an e-mail address at the domains below")),
        ],
        validators=[InputRequired(_l("Please choose how people can join."))],
    )
    domains = TextAreaField(
        _l("E-mail domains"),
        validators=[_at_most(DOMAINS_MAX)],
        render_kw={"rows": 4, "placeholder": "example-university.edu\nfirma.de"},
    )


class InviteForm(FlaskForm):
    label = StringField(
        _l("Label (for you, e.g. “Spring cohort”)"), validators=[Optional(), _at_most(LABEL_MAX)]
    )
    days = IntegerField(
        _l("Valid for (days)"),
        default=INVITE_DAYS_DEFAULT,
        validators=[
            InputRequired(_l("Please fill in this field.")),
            NumberRange(1, INVITE_DAYS_MAX, _l("Please enter %(min)s to %(max)s.")),
        ],
        render_kw={"min": 1, "max": INVITE_DAYS_MAX},
    )
    max_uses = IntegerField(
        _l("How many people can join with it"),
        default=INVITE_USES_DEFAULT,
        validators=[
            InputRequired(_l("Please fill in this field.")),
            NumberRange(1, INVITE_USES_MAX, _l("Please enter %(min)s to %(max)s.")),
        ],
        render_kw={"min": 1, "max": INVITE_USES_MAX},
    )


class PolicyTextForm(FlaskForm):
    text_de = TextAreaField(
        _l("German text"), validators=[_at_most(POLICY_TEXT_MAX)], render_kw={"rows": 16}
    )
    text_en = TextAreaField(
        _l("English text"), validators=[_at_most(POLICY_TEXT_MAX)], render_kw={"rows": 16}
    )


class ConsentForm(FlaskForm):
    # the version the member read: checked against the current one, never stored as given
    version = HiddenField(validators=[_at_most(VERSION_MAX)])
    next = HiddenField(validators=[_at_most(2000)])
