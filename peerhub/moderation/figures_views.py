"""Community figures for moderators (they join the moderation blueprint, and its role check):
the page with a small chart per figure and a table of every week, and the same numbers as a
CSV download."""

from __future__ import annotations

from dataclasses import dataclass

from flask import make_response
from flask_babel import format_date, format_decimal
from flask_babel import gettext as _

from peerhub.extensions import utcnow
from peerhub.moderation import figures as service
from peerhub.moderation.views import bp
from peerhub.web.charts import LineChart, line_chart
from peerhub.web.htmx import render


@dataclass(frozen=True)
class Panel:
    """One figure on the page: its chart, what it measures, and its value for the period."""

    id: str
    title: str
    about: str
    chart: LineChart
    unit: str
    total: str


def _short_day(day) -> str:
    return format_date(day, "d MMM")


def _days(value: float | None) -> str:
    return "—" if value is None else format_decimal(value, "#,##0.0")


def _chart(figures: service.CommunityFigures, traces: list[tuple[str, str]]) -> LineChart:
    """A trace per (label, field of WeekFigures), a point per week (at its Monday)."""
    weeks = figures.weeks
    series = [
        (
            label,
            [
                (row.week.start, round(getattr(row, name)))
                for row in weeks
                if getattr(row, name) is not None
            ],
        )
        for label, name in traces
    ]
    start, end = weeks[0].week.start, weeks[-1].week.start
    return line_chart(series, start, end, y_max=None, y_unit="", date_label=_short_day)


def panels(figures: service.CommunityFigures) -> list[Panel]:
    """The figures as the page shows them, each with its chart and its exact meaning."""
    total = figures.total
    return [
        Panel(
            "figure-members",
            _("Members"),
            _(
                "Accounts signed up by each week's end (moderators included). Deleted accounts "
                "leave no trace, so earlier weeks count only those still here."
            ),
            _chart(figures, [(_("Members"), "members")]),
            "",
            _("%(num)d now", num=total.members),
        ),
        Panel(
            "figure-new-members",
            _("New members and completed profiles"),
            _(
                "Accounts signed up in each week, and profiles whose onboarding was finished "
                "in each week."
            ),
            _chart(
                figures,
                [
                    (_("New members"), "new_members"),
                    (_("Profiles completed"), "profiles_completed"),
                ],
            ),
            "",
            _(
                "%(new)d new, %(done)d completed",
                new=total.new_members,
                done=total.profiles_completed,
            ),
        ),
        Panel(
            "figure-intros",
            _("Intro requests"),
            _(
                "Sent: requests sent in the week. Accepted: of those, the ones for which both "
                "agreed on a call time (scheduled now, or the call was later held, cancelled "
                "or not decided on); counted in the week the request was sent, since the "
                "moment of agreeing is not stored, so recent weeks can still rise. Expired: "
                "requests closed in the week because nobody answered within a week, or nobody "
                "decided within two weeks after the call."
            ),
            _chart(
                figures,
                [
                    (_("Sent"), "intros_sent"),
                    (_("Accepted"), "intros_accepted"),
                    (_("Expired"), "intros_expired"),
                ],
            ),
            "",
            _(
                "%(sent)d sent, %(accepted)d accepted, %(expired)d expired",
                sent=total.intros_sent,
                accepted=total.intros_accepted,
                expired=total.intros_expired,
            ),
        ),
        Panel(
            "figure-suggestions",
            _("Suggestions taken up"),
            _(
                "From a suggestion: intro requests members sent from their suggestions page "
                "(the way a member says yes to a suggestion). Round proposals: proposals of a "
                "matching round that everyone in them said yes to, in the week of the last "
                "yes. A suggestion someone says “not now” to is not counted: the pause it "
                "makes is renewed in place, so its history is not kept."
            ),
            _chart(
                figures,
                [
                    (_("From a suggestion"), "suggestion_intros"),
                    (_("Round proposals"), "proposals_accepted"),
                ],
            ),
            "",
            _(
                "%(suggested)d from suggestions, %(proposals)d round proposals",
                suggested=total.suggestion_intros,
                proposals=total.proposals_accepted,
            ),
        ),
        Panel(
            "figure-tandems",
            _("Active tandems"),
            _(
                "Tandems and groups whose agreement was in force at each week's end: activated "
                "by then, and neither ended early nor completed by then."
            ),
            _chart(figures, [(_("Active tandems"), "active_tandems")]),
            "",
            _("%(num)d now", num=total.active_tandems),
        ),
        Panel(
            "figure-sessions",
            _("Sessions held and cancelled"),
            _(
                "Sessions of every series that had begun by now, in the week they began (a "
                "moved session where it moved to). Held: not cancelled; whether everyone came "
                "is not part of it. Cancelled: called off alone or as part of a pause. "
                "Sessions still to come are not counted."
            ),
            _chart(
                figures,
                [(_("Held"), "sessions_held"), (_("Cancelled"), "sessions_cancelled")],
            ),
            "",
            _(
                "%(held)d held, %(cancelled)d cancelled",
                held=total.sessions_held,
                cancelled=total.sessions_cancelled,
            ),
        ),
        Panel(
            "figure-first-tandem",
            _("Days from sign-up to the first tandem"),
            _(
                "For members whose first tandem became active in the week (for them: when its "
                "agreement came into force, or when they joined the group, if later): the "
                "median of the days since they signed up. The chart rounds to whole days; "
                "weeks without anyone have no point. Members who later left a group are not "
                "counted for it."
            ),
            _chart(figures, [(_("Median days"), "median_days_to_tandem")]),
            _("days"),
            _(
                "median %(days)s days over %(num)d members",
                days=_days(total.median_days_to_tandem),
                num=total.first_tandems,
            ),
        ),
    ]


def figures_context(now=None) -> dict:
    """What the figures page shows (the figures up to `now`, their panels and the weeks)."""
    figures = service.community_figures(now=now or utcnow())
    return {
        "figures": figures,
        "panels": panels(figures),
        "weeks": list(reversed(figures.weeks)),
        "days": _days,
    }


@bp.get("/figures")
def figures():
    """The community's figures over the last 26 ISO weeks, each as a chart and in a table."""
    return render("moderation/figures.html", None, **figures_context())


@bp.get("/figures.csv")
def figures_csv():
    """The same figures as a CSV file: one row per week, a column per figure."""
    now = utcnow()
    body = service.figures_csv(service.community_figures(now=now))
    response = make_response(body)
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f"attachment; filename={service.csv_filename(now)}"
    return response
