"""Real Chromium (Debian's, through Playwright) against a live PeerHub server.

axe-core is injected into every page a journey visits; a serious or critical
accessibility violation fails the test.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from peerhub import create_app
from peerhub.extensions import db, limiter
from peerhub.notifications.models import OutboxMail
from tests.conftest import base_config, reset_database

CHROMIUM = os.environ.get("PEERHUB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
AXE = Path(__file__).resolve().parents[2] / ".cache" / "axe-core" / "axe.min.js"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


class LiveServer:
    def __init__(self, app) -> None:
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        app.config["PEERHUB_BASE_URL"] = self.url
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def mails(self, recipient: str) -> list[OutboxMail]:
        with self.app.app_context():
            mails = db.session.scalars(
                select(OutboxMail).where(OutboxMail.recipient == recipient).order_by(OutboxMail.id)
            ).all()
            db.session.expunge_all()
            return list(mails)

    def link_in_last_mail(self, recipient: str) -> str:
        mails = self.mails(recipient)
        assert mails, f"no mail to {recipient}"
        return re.findall(r"https?://\S+", mails[-1].text_body)[0]


@pytest.fixture(scope="session")
def live_server(schema) -> Iterator[LiveServer]:
    app = create_app(base_config(schema, WTF_CSRF_ENABLED=True))
    server = LiveServer(app)
    server.thread.start()
    yield server
    server.server.shutdown()
    server.thread.join(timeout=5)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def live(live_server) -> Iterator[LiveServer]:
    # each journey starts with fresh login counters: journeys log in several members from the
    # one address, and the session-long server would otherwise answer 429 after a few
    with live_server.app.app_context():
        limiter.reset()
    yield live_server
    reset_database(live_server.app)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: `make test` fetches axe-core with npm")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


class A11y:
    """Runs axe-core on pages; without JavaScript, on a copy of the page's DOM."""

    def __init__(self, browser) -> None:
        self.browser = browser
        self.source = AXE.read_text()
        self.checked: list[str] = []

    def check(self, page, javascript: bool = True) -> None:
        if javascript:
            target = page
        else:
            html = page.content()
            base = re.match(r"https?://[^/]+", page.url).group(0)
            html = html.replace("<head>", f'<head><base href="{base}/">', 1)
            context = self.browser.new_context()
            target = context.new_page()
            target.set_content(html, wait_until="load")
        try:
            # colours mid-transition (a stylesheet arriving, a hover) are not the page's colours;
            # endless animations (an indeterminate <progress>) never finish and are not waited for
            target.evaluate(
                "() => Promise.all(document.getAnimations()"
                ".filter(a => a.effect && a.effect.getComputedTiming().iterations !== Infinity)"
                ".map(a => a.finished.catch(() => null)))"
            )
            if not target.evaluate("() => typeof window.axe !== 'undefined'"):
                target.add_script_tag(content=self.source)
            results = target.evaluate(
                "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
            )
        finally:
            if not javascript:
                target.context.close()
        bad = [v for v in results if v["impact"] in ("serious", "critical")]
        assert not bad, f"axe on {page.url}: " + json.dumps(
            [
                {"id": v["id"], "impact": v["impact"], "nodes": [n["html"] for n in v["nodes"]][:3]}
                for v in bad
            ],
            indent=1,
        )
        self.checked.append(page.url)


@pytest.fixture
def a11y(browser) -> A11y:
    return A11y(browser)


def new_context(browser, javascript: bool, **options):
    context = browser.new_context(
        java_script_enabled=javascript,
        locale=options.pop("locale", "de-DE"),
        timezone_id=options.pop("timezone_id", "America/Toronto"),
        viewport=options.pop("viewport", {"width": 390, "height": 844}),
        **options,
    )
    if javascript:
        context.add_init_script(path=str(AXE))
    context.set_default_timeout(10_000)
    return context
