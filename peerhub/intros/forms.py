"""Forms of the intro-call flow: request, times, answers, the decision after the call, messages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, RadioField, StringField, TextAreaField, TimeField
from wtforms.validators import Length, Optional

from peerhub.intros.models import FEEDBACK_MAX, MESSAGE_MAX, PLACE_MAX
from peerhub.profiles.forms import CheckboxesField, _choices

_too_long = _l("Please use at most %(max)d characters.")


class TimesMixin:
    """1–3 times: picked from when both are free, or one more of the member's own."""

    times = CheckboxesField(_l("Times when you are both free"), choices=[], validate_choice=False)
    other_day = DateField(_l("Another day"), validators=[Optional()])
    other_time = TimeField(_l("Time"), validators=[Optional()])


class RequestForm(TimesMixin, FlaskForm):
    message = TextAreaField(
        _l("Your message"),
        validators=[Length(max=MESSAGE_MAX, message=_too_long)],
        render_kw={"maxlength": MESSAGE_MAX, "rows": 4},
        description=_l("Say hello, and why you would like to talk: what you offer and seek."),
    )
    length = RadioField(
        _l("Length of the call"),
        choices=_choices([("30", _l("30 minutes")), ("20", _l("20 minutes"))]),
        default="30",
    )
    mode = RadioField(
        _l("How you meet"),
        choices=_choices(
            [("video", _l("Video call")), ("in_person", _l("In person, in a public place"))]
        ),
        default="video",
    )
    place = StringField(
        _l("Video link or meeting place"),
        validators=[Length(max=PLACE_MAX, message=_too_long)],
        render_kw={"maxlength": PLACE_MAX},
        description=_l(
            "For a video call, a link (optional: you can send it later in your messages). "
            "In person, a public place such as a café or a coworking space."
        ),
    )
    source = HiddenField()


class TimesForm(TimesMixin, FlaskForm):
    note = TextAreaField(
        _l("A note (optional)"),
        validators=[Length(max=MESSAGE_MAX, message=_too_long)],
        render_kw={"maxlength": MESSAGE_MAX, "rows": 2},
    )


class DeclineForm(FlaskForm):
    reason = RadioField(
        _l("If you like, say why"),
        choices=_choices(
            [
                ("no_capacity", _l("No capacity right now")),
                ("goals_differ", _l("Our goals differ")),
                ("other", _l("Another reason")),
            ]
        ),
        validators=[Optional()],
    )


class CancelForm(FlaskForm):
    note = TextAreaField(
        _l("A note for the other (optional)"),
        validators=[Length(max=MESSAGE_MAX, message=_too_long)],
        render_kw={"maxlength": MESSAGE_MAX, "rows": 2},
    )


class OutcomeForm(FlaskForm):
    outcome = RadioField(
        _l("How do you want to go on?"),
        choices=_choices([("continue", _l("Let's continue")), ("not_a_fit", _l("Not a fit"))]),
    )
    feedback = TextAreaField(
        _l("Private feedback for the other (optional)"),
        validators=[Length(max=FEEDBACK_MAX, message=_too_long)],
        render_kw={"maxlength": FEEDBACK_MAX, "rows": 3},
        description=_l("Only they will read it. Kind and specific helps most."),
    )


class MessageForm(FlaskForm):
    body = TextAreaField(
        _l("Your message"),
        validators=[Length(max=MESSAGE_MAX, message=_too_long)],
        render_kw={"maxlength": MESSAGE_MAX, "rows": 2},
    )
