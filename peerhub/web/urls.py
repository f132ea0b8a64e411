"""Links that leave the site (mails, feeds) are built from PEERHUB_BASE_URL, never Host."""

from __future__ import annotations

from typing import Any

from flask import current_app


def site_path(endpoint: str, **values: Any) -> str:
    """`endpoint`'s path on this site (for in-app links); works without a request."""
    adapter = current_app.url_map.bind("peerhub.invalid", url_scheme="https")
    return adapter.build(endpoint, values, force_external=False)


def absolute_url(endpoint: str, **values: Any) -> str:
    """`endpoint`'s URL under the configured base URL; works without a request."""
    return current_app.config["PEERHUB_BASE_URL"] + site_path(endpoint, **values)
