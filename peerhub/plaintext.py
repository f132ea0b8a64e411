"""Member-written plain text, checked the same way everywhere: line ends unified, spaces
around trimmed, a length limit, and (when asked) not empty."""

from __future__ import annotations

from flask_babel import gettext as _

from peerhub.errors import Invalid


def clean(value: str | None, limit: int, field: str, required: str | None = None) -> str:
    """`value` trimmed, with `\\n` line ends. Raises Invalid naming `field` when it is longer
    than `limit`, or empty while `required` (the message to show) is given."""
    value = (value or "").replace("\r\n", "\n").strip()
    if required and not value:
        raise Invalid(required, field)
    if len(value) > limit:
        raise Invalid(_("Please use at most %(num)d characters.", num=limit), field)
    return value
