"""The outbox: written in the change's transaction, sent exactly once, retried with backoff."""

from __future__ import annotations

import io
import smtplib
import socket
import threading
import time
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from peerhub.extensions import db, transaction, utcnow
from peerhub.notifications import service
from peerhub.notifications.models import OutboxMail
from tests.conftest import make_user


class Collect:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.content)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server():
    handler = Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, handler
    controller.stop()


def queue(app, recipient="alice@example.org", template="password_changed", language="de"):
    with app.app_context(), transaction():
        service.queue_mail(recipient, template, language, name="Alice", reset="https://x/reset")


def test_send_mail_delivers_over_real_smtp_in_the_recipients_language(make_app, smtp_server):
    controller, handler = smtp_server
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, MAIL_USE_TLS=False)
    queue(app, language="de")
    result = app.test_cli_runner().invoke(args=["send-mail"])
    assert result.exit_code == 0, result.output
    assert "sent 1" in result.output
    assert len(handler.messages) == 1
    mail = message_from_bytes(handler.messages[0], policy=policy.default)
    assert mail["To"] == "alice@example.org"
    assert "Passwort" in mail["Subject"]
    assert mail.get_body(("plain",)).get_content().startswith("Hallo Alice,")
    assert "<html" in mail.get_body(("html",)).get_content()
    again = app.test_cli_runner().invoke(args=["send-mail"])
    assert "sent 0" in again.output and len(handler.messages) == 1


def test_console_transport_prints_in_development(app):
    queue(app, language="en")
    stream = io.StringIO()
    with app.app_context():
        counts = service.send_pending(service.ConsoleTransport(stream))
        assert counts["sent"] == 1
        assert db.session.scalar(select(OutboxMail.status)) == "sent"
    assert "Subject: Your PeerHub password was changed" in stream.getvalue()


class Failing:
    def __init__(self) -> None:
        self.calls = 0

    def send(self, message) -> None:
        self.calls += 1
        raise smtplib.SMTPServerDisconnected("gone")


def test_failures_retry_with_capped_backoff_then_fail_for_good(make_app):
    app = make_app(MAIL_MAX_ATTEMPTS=3)
    queue(app)
    transport = Failing()
    clock = [utcnow()]
    with app.app_context():
        assert service.send_pending(transport, now=lambda: clock[0])["retry"] == 1
        mail = db.session.scalar(select(OutboxMail))
        assert mail.status == "pending" and mail.attempts == 1
        assert "SMTPServerDisconnected" in mail.last_error
        # not due yet: nothing is tried
        assert service.send_pending(transport, now=lambda: clock[0])["retry"] == 0
        assert transport.calls == 1
        clock[0] = clock[0] + service.backoff(1)
        service.send_pending(transport, now=lambda: clock[0])
        clock[0] = clock[0] + service.backoff(2)
        assert service.send_pending(transport, now=lambda: clock[0])["failed"] == 1
        db.session.expire_all()
        assert db.session.scalar(select(OutboxMail.status)) == "failed"
    assert transport.calls == 3


def test_backoff_is_capped():
    assert [service.backoff(n).total_seconds() for n in (1, 2, 3)] == [60, 120, 240]
    assert service.backoff(30).total_seconds() == 3600


def test_two_senders_at_once_send_each_mail_once(make_app):
    app = make_app()
    for i in range(10):
        queue(app, recipient=f"m{i}@example.org")
    sent: list[str] = []
    lock = threading.Lock()

    class Slow:
        def send(self, message) -> None:
            time.sleep(0.01)
            with lock:
                sent.append(message["To"])

    def run() -> None:
        with app.app_context():
            service.send_pending(Slow())

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(sent) == sorted({f"m{i}@example.org" for i in range(10)})
    assert len(sent) == 10


def test_a_failed_transaction_queues_nothing(app):
    with app.app_context():
        with pytest.raises(RuntimeError), transaction():
            service.queue_mail("a@example.org", "password_changed", "en", name="A", reset="x")
            db.session.flush()
            raise RuntimeError("later step failed")
        assert db.session.scalar(select(func.count()).select_from(OutboxMail)) == 0


def test_header_injection_is_refused(ctx):
    with pytest.raises(ValueError):
        service.queue_mail(
            "a@example.org\r\nBcc: x@evil.example", "password_changed", "en", name="A", reset="x"
        )


def test_unknown_template_is_refused(ctx):
    with pytest.raises(ValueError):
        service.queue_mail("a@example.org", "nope", "en")


def test_mail_to_a_german_member_is_german(app, client, outbox):
    make_user(app, "dora@example.org", "Dora", language="de")
    client.post("/password/forgot", data={"email": "dora@example.org"})
    mail = outbox("dora@example.org")[0]
    assert mail.subject == "Setze dein PeerHub-Passwort zurück" or "Passwort" in mail.subject
    assert mail.text_body.startswith("Hallo Dora,")


def test_development_prints_mails_right_after_the_request(make_app, capsys):
    app = make_app(MAIL_DELIVER_INLINE=True)
    client = app.test_client()
    response = client.post(
        "/signup",
        data={
            "email": "dev@example.org",
            "display_name": "Dev",
            "password": "a sentence for development",
            "language": "en",
            "timezone": "UTC",
            "consent": "y",
        },
    )
    assert response.status_code == 303
    printed = capsys.readouterr().out
    assert "----- mail to dev@example.org -----" in printed
    assert "https://peerhub.test/verify/" in printed
    with app.app_context():
        assert db.session.scalar(select(OutboxMail.status)) == "sent"
