"""Migrations agree with the models; SQLite runs safely; instants stay aware UTC."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text

from peerhub import create_app
from peerhub.accounts.models import User
from peerhub.extensions import db, transaction
from peerhub.notifications.models import Notification
from peerhub.profiles.search import include_in_migrations
from tests.conftest import base_config, make_user


def test_migrations_and_models_agree(ctx):
    """The schema the migrations made (this run's database) is what the models describe."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "render_as_batch": True,
                "include_object": include_in_migrations,
            },
        )
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_migrations_run_down_and_up_again(tmp_path):
    app = create_app(base_config(f"sqlite:///{tmp_path / 'cycle.sqlite3'}"))
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        tables = (
            db.session.execute(
                text(
                    "SELECT name FROM sqlite_master "
                    "WHERE type='table' AND name != 'alembic_version'"
                )
            )
            .scalars()
            .all()
        )
        assert tables == []
        db.session.remove()
        upgrade()
        assert "user_account" in db.inspect(db.engine).get_table_names()
        db.engine.dispose()


def test_sqlite_pragmas(ctx):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite settings")
    assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    assert db.session.execute(text("PRAGMA busy_timeout")).scalar() == 5000


def test_foreign_keys_are_enforced(ctx):
    from sqlalchemy.exc import IntegrityError

    db.session.add(Notification(user_id=987654, kind="welcome", params={}))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_email_is_unique_in_the_schema(ctx, alice):
    from sqlalchemy.exc import IntegrityError

    db.session.add(User(email=alice.email, display_name="Twin", password_hash="x"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_instants_come_back_aware_in_utc(ctx, alice):
    user = db.session.get(User, alice.id)
    berlin = timezone(timedelta(hours=2))
    user.last_login_at = datetime(2026, 6, 1, 20, 0, tzinfo=berlin)
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(User, alice.id).last_login_at
    assert stored.tzinfo is not None
    assert stored == datetime(2026, 6, 1, 18, 0, tzinfo=UTC)
    assert stored.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(ctx, alice):
    from sqlalchemy.exc import StatementError

    user = db.session.get(User, alice.id)
    user.last_login_at = datetime(2026, 6, 1, 20, 0)
    with pytest.raises(StatementError):
        db.session.commit()
    db.session.rollback()


def test_concurrent_writers_wait_instead_of_failing(make_app, alice):
    """Read-then-write transactions from many threads: no 'database is locked', no lost update."""
    app = make_app()
    errors: list[BaseException] = []

    def bump() -> None:
        try:
            with app.app_context():
                for _ in range(5):
                    with transaction():
                        count = db.session.scalar(
                            select(User.display_name).where(User.id == alice.id).with_for_update()
                        )
                        db.session.execute(
                            User.__table__.update()
                            .where(User.id == alice.id)
                            .values(display_name=str(int(count) + 1 if count.isdigit() else 1))
                        )
                db.session.remove()
        except BaseException as error:  # collected for the assertion below
            errors.append(error)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with app.app_context():
        name = db.session.scalar(select(User.display_name).where(User.id == alice.id))
    assert name == "20"


def test_factories_make_personas(app):
    persona = make_user(app, "eve@example.org", "Eve", role="moderator")
    with app.app_context():
        assert db.session.get(User, persona.id).is_moderator


def test_sqlite_backup_can_be_restored(tmp_path, alice, ctx):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL backups are pg_dump's (README)")
    copy = tmp_path / "backup.sqlite3"
    result = ctx.test_cli_runner().invoke(args=["backup", str(copy)])
    assert result.exit_code == 0, result.output
    restored = create_app(base_config(f"sqlite:///{copy}"))
    with restored.app_context():
        assert db.session.scalar(select(User.email)) == alice.email
        db.engine.dispose()
    again = ctx.test_cli_runner().invoke(args=["backup", str(copy)])
    assert again.exit_code != 0 and "exists already" in again.output


def test_postgres_backup_can_be_restored(tmp_path, alice, ctx):
    """README's pg_dump / pg_restore commands, tried on a scratch database."""
    import shutil
    import subprocess

    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite backups are VACUUM INTO (tested above)")
    if not shutil.which("pg_dump") or not shutil.which("pg_restore"):
        pytest.fail("pg_dump and pg_restore come with PostgreSQL's client package")
    url = db.engine.url
    source = url.set(drivername="postgresql").render_as_string(hide_password=False)
    scratch = "peerhub_restore_check"
    dump = tmp_path / "peerhub.dump"
    subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", source], check=True)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {scratch}"))
        connection.execute(text(f"CREATE DATABASE {scratch}"))
    target = url.set(drivername="postgresql", database=scratch)
    try:
        subprocess.run(
            [
                "pg_restore",
                "--no-owner",
                f"--dbname={target.render_as_string(hide_password=False)}",
                str(dump),
            ],
            check=True,
        )
        restored = create_app(base_config(url.set(database=scratch).render_as_string(False)))
        with restored.app_context():
            assert db.session.scalar(select(User.email)) == alice.email
            db.session.remove()
            db.engine.dispose()
    finally:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {scratch}"))
