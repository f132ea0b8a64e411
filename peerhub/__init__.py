"""PeerHub: peer coaching and mutual mentoring, as a Flask + htmx site."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask, g, has_request_context, request
from werkzeug.middleware.proxy_fix import ProxyFix

from peerhub import config as settings
from peerhub.extensions import babel, csrf, db, limiter, login_manager, migrate


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application: settings, extensions, blueprints, CLI commands, error pages."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(settings.from_environment(app.instance_path))
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    else:
        app.config.from_mapping(test_config)
    settings.check_production(app.config)
    os.makedirs(app.instance_path, exist_ok=True)

    if app.config["PEERHUB_PROXY_COUNT"]:
        count = app.config["PEERHUB_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)

    _init_logging()
    _init_extensions(app)
    from peerhub.web.ids import IdConverter

    app.url_map.converters["int"] = IdConverter  # before any route is added
    _register_blueprints(app)
    _init_templates(app)
    return app


def _init_logging() -> None:
    """Security events and mail progress are INFO: make sure they reach stderr somewhere."""
    logger = logging.getLogger("peerhub")
    logger.setLevel(logging.INFO)
    if not logging.getLogger().handlers and not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        logger.addHandler(handler)


def _init_extensions(app: Flask) -> None:
    from peerhub.web.i18n import select_locale, select_timezone

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(app.root_path, os.pardir, "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    limiter.init_app(app)

    from peerhub.accounts import models as _accounts  # noqa: F401 - register tables
    from peerhub.calendar import models as _calendar  # noqa: F401
    from peerhub.community import models as _community  # noqa: F401
    from peerhub.intros import models as _intros  # noqa: F401
    from peerhub.journal import models as _journal  # noqa: F401
    from peerhub.matching import models as _matching  # noqa: F401
    from peerhub.meetings import models as _meetings  # noqa: F401
    from peerhub.moderation import models as _moderation  # noqa: F401
    from peerhub.notifications import models as _notifications  # noqa: F401
    from peerhub.profiles import models as _profiles  # noqa: F401
    from peerhub.tandems import models as _tandems  # noqa: F401


def _register_blueprints(app: Flask) -> None:
    from peerhub import demo
    from peerhub.accounts import cli as accounts_cli
    from peerhub.accounts import views as accounts
    from peerhub.calendar import views as calendar
    from peerhub.community import views as community
    from peerhub.intros import cli as tick_cli
    from peerhub.intros import views as intros
    from peerhub.journal import views as journal
    from peerhub.matching import views as matching
    from peerhub.meetings import views as meetings
    from peerhub.moderation import report_views as reports
    from peerhub.moderation import views as moderation
    from peerhub.notifications import cli as mail_cli
    from peerhub.notifications import views as notifications
    from peerhub.profiles import seed as profile_seed
    from peerhub.profiles import views as profiles
    from peerhub.tandems import views as tandems
    from peerhub.web import cli as backup_cli
    from peerhub.web import errors, security, timefmt, views

    app.register_blueprint(views.bp)
    app.register_blueprint(accounts.bp)
    app.register_blueprint(notifications.bp)
    app.register_blueprint(profiles.bp)
    app.register_blueprint(matching.bp)
    app.register_blueprint(moderation.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(intros.bp)
    app.register_blueprint(tandems.bp)
    app.register_blueprint(meetings.bp)
    app.register_blueprint(journal.bp)
    app.register_blueprint(calendar.bp)
    app.register_blueprint(community.bp)
    app.register_blueprint(tick_cli.bp)
    app.register_blueprint(profile_seed.bp)
    app.register_blueprint(accounts_cli.bp)
    app.register_blueprint(mail_cli.bp)
    app.register_blueprint(demo.bp)
    app.register_blueprint(backup_cli.bp)
    accounts.init_app(app)
    calendar.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    timefmt.init_app(app)

    from peerhub.web.htmx import add_vary

    app.after_request(add_vary)

    if app.config.get("MAIL_DELIVER_INLINE", app.config["MAIL_SERVER"] is None and not app.testing):
        _deliver_mail_inline(app)


def _deliver_mail_inline(app: Flask) -> None:
    """Development without a mail server: print queued mails right after each request."""
    from peerhub.notifications.service import ConsoleTransport, send_pending

    @app.teardown_request
    def _print_outbox(exc: BaseException | None) -> None:
        if exc is None and request.method == "POST" and not g.get("_outbox_printed"):
            g._outbox_printed = True
            try:
                send_pending(ConsoleTransport())
            except Exception:  # a broken outbox must not break the page that queued mail
                logging.getLogger("peerhub.mail").exception("printing the outbox failed")
                db.session.rollback()


def _init_templates(app: Flask) -> None:
    from flask_babel import get_locale
    from flask_login import current_user

    from peerhub.notifications.service import notification_text, unread_count
    from peerhub.web.reauth import recently_logged_in
    from peerhub.web.timefmt import zone_name

    app.jinja_env.globals["notification_text"] = notification_text
    app.jinja_env.globals["recently_logged_in"] = recently_logged_in

    @app.context_processor
    def _layout_context() -> dict[str, Any]:
        if not has_request_context():  # mails rendered by CLI commands
            return {}

        def unread() -> int:
            if not current_user.is_authenticated:
                return 0
            if "unread_notifications" not in g:  # the bell and the page may both ask
                g.unread_notifications = unread_count(current_user.id)
            return g.unread_notifications

        return {
            "current_locale": str(get_locale()),
            "site_languages": (("de", "Deutsch"), ("en", "English")),
            "zone_name": zone_name,
            "unread_notifications": unread,
        }
