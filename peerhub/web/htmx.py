"""Every htmx header name and the page-or-fragment decision, in one place (htmx 4)."""

from __future__ import annotations

from typing import Any

from flask import Response, make_response, render_template, request

HX_REQUEST = "HX-Request"
HX_REQUEST_TYPE = "HX-Request-Type"
HX_BOOSTED = "HX-Boosted"
HX_HISTORY_RESTORE = "HX-History-Restore-Request"
HX_LOCATION = "HX-Location"
HX_REDIRECT = "HX-Redirect"
HX_TRIGGER = "HX-Trigger"
HX_RETARGET = "HX-Retarget"
HX_RESWAP = "HX-Reswap"
VARY_HEADERS = (HX_REQUEST, HX_REQUEST_TYPE)


def is_htmx() -> bool:
    """Whether htmx sent this request (boosted navigation included)."""
    return request.headers.get(HX_REQUEST) == "true"


def wants_fragment() -> bool:
    """Whether to answer a fragment: an htmx request for a partial swap only.

    Boosted links, history restores and `full` requests get the whole page.
    """
    return (
        is_htmx()
        and request.headers.get(HX_REQUEST_TYPE) == "partial"
        and request.headers.get(HX_HISTORY_RESTORE) != "true"
    )


def render(page: str, fragment: str | None, status: int = 200, **context: Any) -> Response:
    """Render the fragment for a partial htmx request, else the whole page, with one context."""
    template = fragment if fragment and wants_fragment() else page
    return make_response(render_template(template, **context), status)


def redirect_after_post(location: str, reload: bool = False) -> Response:
    """303 to `location` for plain forms; for htmx, let the client navigate there.

    `reload` asks htmx for a full page load: needed after the session or the
    language changed, since <html lang> and the CSRF header live outside the swap.
    """
    if is_htmx():
        response = make_response("", 200)
        response.headers[HX_REDIRECT if reload else HX_LOCATION] = location
        return response
    response = make_response("", 303)
    response.headers["Location"] = location
    return response


def add_vary(response: Response) -> Response:
    """Caches must key pages on the htmx request headers."""
    for header in VARY_HEADERS:
        response.vary.add(header)
    return response
