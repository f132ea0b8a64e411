"""Settings from environment variables, with safe defaults for development."""

from __future__ import annotations

import os
from datetime import timedelta

DEV_SECRET_KEY = "dev-only-not-secret"  # noqa: S105 - refused in production, see check_production

DEV_IMPRINT = {
    "PEERHUB_OPERATOR_NAME": "PeerHub (development)",
    "PEERHUB_OPERATOR_ADDRESS": "Not a public service; run locally",
    "PEERHUB_CONTACT_EMAIL": "admin@example.org",
}


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def from_environment(instance_path: str) -> dict:
    """Build the configuration mapping from the process environment."""
    sqlite_default = "sqlite:///" + os.path.join(instance_path, "peerhub.sqlite3")
    env = os.environ.get("PEERHUB_ENV", "development")
    return {
        "PEERHUB_ENV": env,
        "SECRET_KEY": os.environ.get("SECRET_KEY", DEV_SECRET_KEY),
        "SQLALCHEMY_DATABASE_URI": os.environ.get("DATABASE_URL", sqlite_default),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "PEERHUB_BASE_URL": os.environ.get("PEERHUB_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "PEERHUB_PROXY_COUNT": int(os.environ.get("PEERHUB_PROXY_COUNT", "0")),
        # Mail: MAIL_SERVER unset means development, where mails are printed.
        "MAIL_SERVER": os.environ.get("MAIL_SERVER") or None,
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "587")),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS", True),
        "MAIL_USE_SSL": _bool("MAIL_USE_SSL", False),
        "MAIL_DEFAULT_SENDER": os.environ.get(
            "MAIL_DEFAULT_SENDER", "PeerHub <no-reply@peerhub.local>"
        ),
        "MAIL_MAX_ATTEMPTS": int(os.environ.get("MAIL_MAX_ATTEMPTS", "8")),
        # Rate limits: memory by default, Redis (shared by all processes) in production.
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_LIMIT_PER_ADDRESS": os.environ.get("LOGIN_LIMIT_PER_ADDRESS", "25 per 5 minutes"),
        "LOGIN_LIMIT_PER_ACCOUNT": os.environ.get("LOGIN_LIMIT_PER_ACCOUNT", "25 per hour"),
        "RESET_LIMIT": os.environ.get("RESET_LIMIT", "5 per 30 minutes"),
        "SIGNUP_LIMIT": os.environ.get("SIGNUP_LIMIT", "10 per hour"),
        "EMAIL_CHANGE_LIMIT": os.environ.get("EMAIL_CHANGE_LIMIT", "5 per 30 minutes"),
        "REPORT_LIMIT": os.environ.get("REPORT_LIMIT", "10 per hour"),
        "APPEAL_LIMIT": os.environ.get("APPEAL_LIMIT", "10 per hour"),
        # Imprint (Impressum): who runs this community. Required in production.
        **{name: os.environ.get(name, value) for name, value in DEV_IMPRINT.items()},
        # Privacy notice version members consent to at sign-up.
        "PRIVACY_POLICY_VERSION": "2026-11-01",
        # Sessions and cookies.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env == "production",
        "REMEMBER_COOKIE_DURATION": timedelta(days=30),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": env == "production",
        "PERMANENT_SESSION_LIFETIME": timedelta(days=14),
        # Request bodies: forms only, no uploads yet.
        "MAX_CONTENT_LENGTH": 256 * 1024,
        "MAX_FORM_MEMORY_SIZE": 256 * 1024,
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_CSRF_SSL_STRICT": True,
        "BABEL_DEFAULT_LOCALE": "de",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Berlin",
        "LANGUAGES": ("de", "en"),
    }


def check_production(config: dict) -> None:
    """Refuse to run in production with a development or short secret key.

    Raises RuntimeError naming the setting to fix.
    """
    if config.get("PEERHUB_ENV") != "production":
        return
    key = config.get("SECRET_KEY") or ""
    if key == DEV_SECRET_KEY or len(key) < 32:
        raise RuntimeError(
            "PEERHUB_ENV=production needs SECRET_KEY set to a random value of at least "
            "32 characters (python -c 'import secrets; print(secrets.token_urlsafe(48))')."
        )
    for name, dev_value in DEV_IMPRINT.items():
        if not config.get(name) or config[name] == dev_value:
            raise RuntimeError(f"PEERHUB_ENV=production needs {name} for the imprint.")
    if not config.get("PEERHUB_BASE_URL", "").startswith("https://"):
        raise RuntimeError("PEERHUB_ENV=production needs PEERHUB_BASE_URL to be an https:// URL.")
