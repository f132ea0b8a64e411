"""Profile forms: one per onboarding step, plus the tag adder and the moderators' tag tools."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from peerhub.profiles.models import (
    ABOUT_MAX,
    CITY_MAX,
    GOAL_MAX,
    GOALS_MAX,
    HEADLINE_MAX,
    LANGUAGE_CODES,
    TAG_NAME_MAX,
)

_too_long = _l("Please use at most %(max)d characters.")

WEEKDAYS = (
    _l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"),
    _l("Saturday"), _l("Sunday"),
)  # fmt: skip
WINDOWS_PER_DAY = 2


def _choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def language_choices() -> list[SelectChoice]:
    """Languages by their own names (endonyms), so everyone finds theirs."""
    from babel import Locale

    return [
        SelectChoice(code, Locale.parse(code).get_display_name(code).capitalize())
        for code in LANGUAGE_CODES
    ]


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class HeadlineForm(FlaskForm):
    headline = StringField(
        _l("Your headline"),
        validators=[Length(max=HEADLINE_MAX, message=_too_long)],
        render_kw={"maxlength": HEADLINE_MAX},
    )


class GoalsForm(FlaskForm):
    about = TextAreaField(
        _l("About you"),
        validators=[Length(max=ABOUT_MAX, message=_too_long)],
        render_kw={"rows": 5, "maxlength": ABOUT_MAX},
    )

    def goal_fields(self):
        return [getattr(self, f"goal_{i}") for i in range(1, GOALS_MAX + 1)]


for _i in range(1, GOALS_MAX + 1):
    setattr(
        GoalsForm,
        f"goal_{_i}",
        StringField(
            _l("Goal %(number)d", number=_i),
            validators=[Length(max=GOAL_MAX, message=_too_long)],
            render_kw={"maxlength": GOAL_MAX},
        ),
    )


class PracticalitiesForm(FlaskForm):
    context = SelectField(
        _l("Where you stand"),
        choices=_choices(
            [
                ("", _l("Prefer not to say")),
                ("professional", _l("Professional")),
                ("leader", _l("Leader")),
                ("team", _l("Part of a team")),
                ("student", _l("Student")),
                ("career_starter", _l("Career starter")),
            ]
        ),
        validate_choice=False,
    )
    languages = CheckboxesField(_l("Languages you can meet in"), validate_choice=False)
    meeting_mode = RadioField(
        _l("How you want to meet"),
        choices=_choices(
            [
                ("video", _l("By video")),
                ("in_person", _l("In person")),
                ("either", _l("Either")),
            ]
        ),
        validate_choice=False,
    )
    city = StringField(
        _l("City (for meeting in person)"),
        validators=[Optional(), Length(max=CITY_MAX, message=_too_long)],
        render_kw={"maxlength": CITY_MAX, "autocomplete": "address-level2"},
    )
    rhythm = RadioField(
        _l("Rhythm"),
        choices=_choices([("weekly", _l("Weekly")), ("biweekly", _l("Every two weeks"))]),
        validate_choice=False,
    )
    session_length = RadioField(
        _l("Session length"),
        choices=_choices([("60", _l("60 minutes")), ("90", _l("90 minutes"))]),
        validate_choice=False,
    )
    capacity = SelectField(
        _l("Partnerships you can carry at once"),
        choices=_choices([("1", "1"), ("2", "2"), ("3", "3")]),
        validate_choice=False,
    )
    status = RadioField(
        _l("Status"),
        choices=_choices([("open", _l("Open for new partners")), ("paused", _l("Paused for now"))]),
        validate_choice=False,
    )
    visibility = RadioField(
        _l("Who can find you"),
        choices=_choices(
            [
                ("members", _l("Signed-in members (directory and suggestions)")),
                ("hidden", _l("Nobody: hidden from directory and suggestions")),
            ]
        ),
        validate_choice=False,
    )

    # weekday → message, set by the view when the service refuses a day's windows
    day_errors: dict[int, str] = {}

    def window_fields(self, weekday: int):
        """The from/to pairs of one weekday's row in the grid."""
        return [
            (getattr(self, f"d{weekday}_{i}_from"), getattr(self, f"d{weekday}_{i}_to"))
            for i in range(WINDOWS_PER_DAY)
        ]


for _day in range(7):
    for _i in range(WINDOWS_PER_DAY):
        for _edge, _label in (("from", _l("from")), ("to", _l("to"))):
            setattr(
                PracticalitiesForm,
                f"d{_day}_{_i}_{_edge}",
                StringField(_label, render_kw={"type": "time", "step": 900}),
            )


class TagForm(FlaskForm):
    name = StringField(
        _l("Add a word"),
        validators=[Length(max=TAG_NAME_MAX, message=_too_long)],
        render_kw={"maxlength": TAG_NAME_MAX, "autocomplete": "off"},
    )


class RenameTagForm(FlaskForm):
    name = StringField(
        _l("New spelling"),
        validators=[Length(max=TAG_NAME_MAX, message=_too_long)],
        render_kw={"maxlength": TAG_NAME_MAX},
    )


class MergeTagForm(FlaskForm):
    target = StringField(_l("Merge into (exact name of the tag that stays)"))
