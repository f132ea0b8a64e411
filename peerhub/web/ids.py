"""Ids from URLs, forms and query strings: a number the database can hold, or nothing.
An id beyond a 64-bit integer names nothing, so it answers 404 (or is ignored), never a 500."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

ID_MAX = 2**63 - 1
PAGE_MAX = 100_000  # far beyond any list; keeps OFFSET within the database's integers


class IdConverter(IntegerConverter):
    """`<int:…>` in every route: no match (404) for a number the database cannot hold."""

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", ID_MAX)
        super().__init__(map, *args, **kwargs)


def db_index(value: str) -> int:
    """A number from 0 (a session's number) from a form or query string: ASCII digits within
    the database's range, else ValueError (which `request.form.get(..., type=…)` turns into
    its default)."""
    value = value.strip()
    if not (value.isascii() and value.isdigit()) or int(value) > ID_MAX:
        raise ValueError(value)
    return int(value)


def db_id(value: str) -> int:
    """An id (from 1) from a form or query string, as `db_index`."""
    number = db_index(value)
    if number == 0:
        raise ValueError(value)
    return number


def page_number(value: str | None) -> int:
    """A page number from the query string, from 1 to PAGE_MAX."""
    try:
        number = db_id(value or "1")
    except ValueError:
        return 1
    return min(number, PAGE_MAX)
