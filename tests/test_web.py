"""Layout, language, security headers, error pages."""

from __future__ import annotations

import pytest
from werkzeug.exceptions import InternalServerError

from peerhub import config as settings
from peerhub import create_app
from tests.conftest import HX_PARTIAL, base_config, user_row


def test_home_is_german_by_default_and_english_after_switching(client):
    german = client.get("/")
    assert 'lang="de"' in german.text
    switched = client.post("/language", data={"language": "en", "next": "/"})
    assert switched.status_code == 303 and switched.headers["Location"] == "/"
    english = client.get("/")
    assert 'lang="en"' in english.text and "Grow together" in english.text


def test_accept_language_picks_english(client):
    assert 'lang="en"' in client.get("/", headers={"Accept-Language": "en-US,en;q=0.9"}).text


def test_language_switch_is_saved_for_a_member(app, client, alice, auth):
    auth.login(alice)
    client.post("/language", data={"language": "de"})
    assert user_row(app, alice.id).language == "de"


def test_unknown_language_is_a_400_with_a_message(client):
    response = client.post("/language", data={"language": "fr"})
    assert response.status_code == 400
    assert "German or English" in response.text or "Deutsch oder Englisch" in response.text


def test_language_switch_ignores_an_external_next(client):
    response = client.post("/language", data={"language": "en", "next": "https://evil.example"})
    assert response.headers["Location"] == "/"


def test_security_headers_on_every_response(client):
    for path in ("/", "/login", "/nope", "/static/css/peerhub.css"):
        response = client.get(path)
        response.close()
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "unsafe-eval" not in csp
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert "base-uri 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"]
        assert "Strict-Transport-Security" not in response.headers


def test_hsts_over_https(client):
    response = client.get("/", base_url="https://peerhub.test")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_pages_are_not_cached_but_static_files_may_be(client):
    assert client.get("/").headers["Cache-Control"] == "no-store"
    with client.get("/static/css/peerhub.css") as static:
        assert static.headers.get("Cache-Control") != "no-store"


def test_no_inline_script_in_pages(client):
    import re

    page = client.get("/signup").text
    for tag in re.findall(r"<script[^>]*>", page):
        assert "src=" in tag
    assert "hx-on" not in page and " onclick=" not in page


def test_csrf_header_is_set_once_for_all_htmx_requests(client):
    page = client.get("/").text
    assert 'hx-headers:inherited=\'{"X-CSRFToken": "' in page
    assert 'hx-boost:inherited="true"' in page


def test_session_cookie_flags(client, alice, auth):
    response = auth.login(alice)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_refuses_a_development_secret(monkeypatch):
    monkeypatch.setenv("PEERHUB_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_production_config_with_real_settings_has_secure_cookies(monkeypatch, tmp_path):
    monkeypatch.setenv("PEERHUB_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 48)
    monkeypatch.setenv("PEERHUB_BASE_URL", "https://peerhub.example")
    monkeypatch.setenv("PEERHUB_OPERATOR_NAME", "Peer Coaching e. V.")
    monkeypatch.setenv("PEERHUB_OPERATOR_ADDRESS", "Hauptstraße 1; 10115 Berlin")
    monkeypatch.setenv("PEERHUB_CONTACT_EMAIL", "kontakt@peerhub.example")
    config = settings.from_environment(str(tmp_path))
    settings.check_production(config)
    assert config["SESSION_COOKIE_SECURE"] and config["REMEMBER_COOKIE_SECURE"]


def test_production_needs_an_imprint(monkeypatch, tmp_path):
    monkeypatch.setenv("PEERHUB_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 48)
    monkeypatch.setenv("PEERHUB_BASE_URL", "https://peerhub.example")
    for name in settings.DEV_IMPRINT:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError, match="imprint"):
        settings.check_production(settings.from_environment(str(tmp_path)))


def test_404_is_a_full_page_or_a_fragment(client):
    full = client.get("/no/such/page")
    assert full.status_code == 404 and "<html" in full.text and "Page not found" in full.text
    fragment = client.get("/no/such/page", headers=HX_PARTIAL)
    assert fragment.status_code == 404 and "<html" not in fragment.text
    assert 'id="error"' in fragment.text


def test_404_in_german(client):
    response = client.get("/no/such/page", headers={"Accept-Language": "de"})
    assert response.status_code == 404 and "nicht gefunden" in response.text


def test_405_has_a_page(client):
    assert client.post("/privacy").status_code == 405


def test_oversized_form_is_413_not_500(client):
    response = client.post("/login", data={"email": "x" * 400_000, "password": "y"})
    assert response.status_code == 413
    assert "larger than we accept" in response.text


def test_500_page_and_rollback(make_app, schema):
    app = create_app(base_config(schema, PROPAGATE_EXCEPTIONS=False))

    @app.get("/boom")
    def boom():
        raise InternalServerError()

    @app.get("/crash")
    def crash():
        raise ZeroDivisionError

    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    for path in ("/boom", "/crash"):
        response = client.get(path)
        assert response.status_code == 500
        assert "Nothing was changed" in response.text
    fragment = client.get("/crash", headers=HX_PARTIAL)
    assert fragment.status_code == 500 and "<html" not in fragment.text


@pytest.mark.parametrize("code", [400, 403, 422, 429])
def test_error_pages_exist_for_each_code(app, code):
    from peerhub.web.errors import error_response

    with app.test_request_context("/", headers={"Accept-Language": "de"}):
        response = error_response(code)
        assert response.status_code == code
        assert "<html" in response.get_data(as_text=True)
    with app.test_request_context("/", headers=HX_PARTIAL):
        assert "<html" not in error_response(code).get_data(as_text=True)


def test_privacy_and_imprint_pages(client):
    privacy = client.get("/privacy", headers={"Accept-Language": "en"})
    assert privacy.status_code == 200 and "Your rights" in privacy.text
    imprint = client.get("/imprint", headers={"Accept-Language": "en"})
    assert imprint.status_code == 200 and "PeerHub (development)" in imprint.text


def test_healthz(client):
    assert client.get("/healthz").json == {"status": "ok"}


def test_times_are_shown_in_the_viewers_zone(app):
    from datetime import UTC, datetime

    from peerhub.web.timefmt import local_datetime

    instant = datetime(2026, 7, 1, 16, 30, tzinfo=UTC)
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        from flask import session

        session["tz"] = "America/New_York"
        text = local_datetime(instant)
        assert "12:30" in text and "America/New_York" in text
    with app.test_request_context("/", headers={"Accept-Language": "de"}):
        text = local_datetime(instant)
        assert "18:30" in text and "Europe/Berlin" in text and "01.07.2026" in text
