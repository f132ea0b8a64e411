"""Links that leave the site (mails, feeds) are built from PEERHUB_BASE_URL, never Host."""

from __future__ import annotations

from typing import Any

from flask import current_app


def absolute_url(endpoint: str, **values: Any) -> str:
    """`endpoint`'s URL under the configured base URL; works without a request."""
    adapter = current_app.url_map.bind("peerhub.invalid", url_scheme="https")
    path = adapter.build(endpoint, values, force_external=False)
    return current_app.config["PEERHUB_BASE_URL"] + path
