"""Fixtures: app, client, runner, personas (alice, bob, carol, mod, mallory), auth, outbox.

The schema is made once per run by the migrations (never create_all); every test
starts from empty tables. TEST_DATABASE_URL runs the same suite on PostgreSQL.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from flask_migrate import upgrade
from sqlalchemy import select, text

from peerhub import create_app
from peerhub.accounts.models import User
from peerhub.accounts.passwords import hash_password
from peerhub.extensions import db, limiter, utcnow
from peerhub.notifications.models import OutboxMail

PASSWORD = "correct horse battery staple"
_HASH_CACHE: dict[str, str] = {}


def pytest_report_header(config) -> str:
    return f"database: {os.environ.get('TEST_DATABASE_URL') or 'SQLite (temporary file)'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "peerhub-test.sqlite3")


def base_config(database_url: str, **overrides: Any) -> dict[str, Any]:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-for-tests",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "PEERHUB_BASE_URL": "https://peerhub.test",
        "MAIL_SERVER": None,
        "MAIL_DELIVER_INLINE": False,
    }
    config.update(overrides)
    return config


def reset_database(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        if db.engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            # the audit log refuses deletion (a trigger): lifted for the wipe between tests only
            db.session.execute(text("DROP TRIGGER IF EXISTS audit_entry_no_delete"))
            for table in reversed(db.metadata.sorted_tables):
                db.session.execute(table.delete())
            db.session.execute(text(AUDIT_NO_DELETE_SQLITE))
        db.session.commit()


# as migrations/versions/5cce241484cd_… makes it
AUDIT_NO_DELETE_SQLITE = (
    "CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry "
    "BEGIN SELECT RAISE(ABORT, 'audit entries are never changed or deleted'); END"
)


@pytest.fixture(scope="session")
def schema(database_url: str) -> str:
    """Build the schema from the migrations, once per run."""
    app = create_app(base_config(database_url))
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("DROP SCHEMA public CASCADE"))
            db.session.execute(text("CREATE SCHEMA public"))
            db.session.commit()
        upgrade()
        db.engine.dispose()
    return database_url


class EnglishClient(FlaskClient):
    """Asks for English unless a test sends its own Accept-Language (German is the default)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def make_app(schema: str) -> Iterator:
    """A factory for apps with extra settings; each is cleaned up after the test."""
    made: list[Flask] = []

    def factory(**overrides: Any) -> Flask:
        app = create_app(base_config(schema, **overrides))
        app.test_client_class = EnglishClient
        made.append(app)
        return app

    yield factory
    if made:
        reset_database(made[0])
    for app in made:
        with app.app_context():
            db.engine.dispose()
    limiter.reset()


@pytest.fixture
def app(make_app) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def ctx(app: Flask) -> Iterator[Flask]:
    """An app context for service tests without HTTP; messages in English, as for the client."""
    with app.app_context(), force_locale("en"):
        yield app
        db.session.remove()


@dataclass(frozen=True)
class Persona:
    id: int
    email: str
    name: str
    password: str = PASSWORD


def make_user(
    app: Flask,
    email: str,
    name: str,
    role: str = "member",
    language: str = "en",
    timezone: str = "Europe/Berlin",
    verified: bool = True,
    status: str = "active",
    password: str = PASSWORD,
) -> Persona:
    """Factory: a member in one line (CTFd's gen_user)."""
    if password not in _HASH_CACHE:
        _HASH_CACHE[password] = hash_password(password)
    with app.app_context():
        user = User(
            email=email.lower(),
            display_name=name,
            password_hash=_HASH_CACHE[password],
            role=role,
            language=language,
            timezone=timezone,
            status=status,
            email_verified_at=utcnow() if verified else None,
        )
        db.session.add(user)
        db.session.commit()
        persona = Persona(user.id, email.lower(), name, password)
        db.session.remove()
    return persona


@pytest.fixture
def alice(app) -> Persona:
    return make_user(app, "alice@example.org", "Alice", timezone="Europe/Berlin")


@pytest.fixture
def bob(app) -> Persona:
    return make_user(app, "bob@example.org", "Bob", timezone="America/New_York")


@pytest.fixture
def carol(app) -> Persona:
    return make_user(app, "carol@example.org", "Carol", language="de")


@pytest.fixture
def mod(app) -> Persona:
    return make_user(app, "mod@example.org", "Mo", role="moderator")


@pytest.fixture
def mallory(app) -> Persona:
    return make_user(app, "mallory@example.org", "Mallory")


class Auth:
    """Logs a persona in and out through the real forms."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, persona: Persona, remember: bool = False, client: FlaskClient | None = None):
        data = {"email": persona.email, "password": persona.password}
        if remember:
            data["remember"] = "y"
        response = (client or self.client).post("/login", data=data)
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        return response

    def logout(self, client: FlaskClient | None = None):
        return (client or self.client).post("/logout")


@pytest.fixture
def auth(client: FlaskClient) -> Auth:
    return Auth(client)


@pytest.fixture
def outbox(app: Flask):
    """The mails queued so far, oldest first; `outbox.link(to)` is the last link sent to `to`."""

    class Outbox:
        def __call__(self, recipient: str | None = None) -> list[OutboxMail]:
            with app.app_context():
                query = select(OutboxMail).order_by(OutboxMail.id)
                if recipient:
                    query = query.where(OutboxMail.recipient == recipient)
                mails = db.session.scalars(query).all()
                db.session.expunge_all()
                return list(mails)

        def link(self, recipient: str) -> str:
            mails = self(recipient)
            assert mails, f"no mail to {recipient}"
            links = re.findall(r"https?://\S+", mails[-1].text_body)
            assert links, mails[-1].text_body
            return links[0]

        def path(self, recipient: str) -> str:
            return self.link(recipient).removeprefix("https://peerhub.test")

    return Outbox()


HX_PARTIAL = {"HX-Request": "true", "HX-Request-Type": "partial"}
HX_BOOSTED = {"HX-Request": "true", "HX-Request-Type": "full", "HX-Boosted": "true"}


def user_row(app: Flask, user_id: int) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user
