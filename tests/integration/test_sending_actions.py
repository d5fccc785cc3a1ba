"""``sms_send`` and ``email_send`` running in routings, against a fake Twilio and a real
SMTP server (aiosmtpd) on 127.0.0.1, and the two ports behind them.

The app's SMTP server is plain with AUTH allowed without TLS (aiosmtpd's
``auth_require_tls=False``): what a local relay looks like. STARTTLS with AUTH is checked
on the port itself, against a second server holding a certificate made for the test.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from quart import Quart

from config import Settings
from connectors.email import SmtpMail
from connectors.sms import TwilioMessages, TwilioSms
from routing_core.infra.clock import utcnow
from routing_core.model.interaction import Channel, Event, Inbound
from routing_core.ports.channels import BadCredentials, NetworkFailure, Rejected
from routing_core.services import Services
from tests.support.apps import app_of_its_own
from tests.support.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.support.routings import action, production_routing, tree, webchat_entry_point

SMTP_USER, SMTP_PASSWORD = "bot", "smtp secret"
SENDER = "bot@sr.example.test"
SMS_SENDER = "+15005550006"


# -- an SMTP server on 127.0.0.1 -------------------------------------------------------------

@dataclass
class MailServer:
    """aiosmtpd in the test's event loop; refuses recipients at ``nowhere.test``."""

    tls_context: ssl.SSLContext | None = None
    received: list[tuple[Envelope, Session]] = field(default_factory=list)
    port: int = 0
    server: asyncio.Server | None = None

    async def start(self) -> MailServer:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            lambda: SMTP(
                self, hostname="smtp.test", loop=loop, authenticator=self.authenticate,
                tls_context=self.tls_context, require_starttls=self.tls_context is not None,
                auth_require_tls=self.tls_context is not None,
                auth_required=self.tls_context is not None,
            ),
            "127.0.0.1", 0,
        )
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    @staticmethod
    def authenticate(server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                     auth_data: Any) -> AuthResult:
        accepted = (isinstance(auth_data, LoginPassword)
                    and auth_data.login.decode() == SMTP_USER
                    and auth_data.password.decode() == SMTP_PASSWORD)
        if not accepted:  # "handled" would leave the client waiting for an answer
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=auth_data)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if address.endswith("@nowhere.test"):
            return f"550 5.1.1 <{address}>: no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.received.append((envelope, session))
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        return [message_from_bytes(envelope.original_content or b"", policy=policy.default)
                for envelope, _ in self.received]  # type: ignore[misc]


def closed_port() -> int:
    """A port nobody listens on (it was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "smtp.test")])
    now = utcnow()
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp.pem", directory / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))
    return cert_path, key_path


# -- the app -----------------------------------------------------------------------------------

@pytest_asyncio.fixture(scope="module")
async def twilio() -> AsyncIterator[FakeTwilio]:
    fake = FakeTwilio()
    await fake.start()
    yield fake
    await fake.stop()


@pytest_asyncio.fixture(scope="module")
async def mail_server() -> AsyncIterator[MailServer]:
    server = await MailServer().start()
    yield server
    await server.stop()


@pytest_asyncio.fixture(scope="module")
async def sending_app(
    settings: Settings, twilio: FakeTwilio, mail_server: MailServer
) -> AsyncIterator[Quart]:
    async with app_of_its_own(
        settings, "sending",
        twilio_api_base=twilio.url, twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN, sms_sender=SMS_SENDER,
        smtp_host="127.0.0.1", smtp_port=mail_server.port, smtp_username=SMTP_USER,
        smtp_password=SMTP_PASSWORD, smtp_starttls=False, smtp_sender=SENDER,
    ) as app:
        yield app


@dataclass
class Conversation:
    services: Services
    twilio: FakeTwilio
    mail: MailServer

    async def run(self, step: dict[str, Any], phone: str | None = None) -> list[Event]:
        """A routing of ``step``, then "sent" or "not sent"; one message starts it."""
        definition = tree(
            {**step, "next": {"next": "ok", "failure": "ko"}},
            action("ok", "message", {"text": "sent"}),
            action("ko", "message", {"text": "not sent"}),
        )
        routing_id = await production_routing(self.services, "sending", definition)
        entry_point = await webchat_entry_point(self.services, routing_id)
        await self.services.runtime.receive(Inbound(
            channel=Channel.webchat, entry_point_id=entry_point.id, contact="visitor-1",
            provider_id="m1", text="hello", contact_name="Ada", contact_phone=phone,
        ), wait=True)
        return await self.services.store.events.all({})

    @staticmethod
    def outcome(events: list[Event]) -> str:
        return [event.data["text"] for event in events if event.type == "outbound"][-1]

    @staticmethod
    def errors(events: list[Event]) -> list[dict[str, Any]]:
        return [event.data for event in events if event.type == "error"]


@pytest_asyncio.fixture
async def conversation(
    sending_app: Quart, twilio: FakeTwilio, mail_server: MailServer
) -> Conversation:
    built: Services = sending_app.extensions["services"]
    for name in await built.store.database.list_collection_names():
        await built.store.database[name].delete_many({})
    twilio.reset()
    mail_server.received.clear()
    return Conversation(built, twilio, mail_server)


# -- sms_send ----------------------------------------------------------------------------------

async def test_sms_send_texts_the_contact_from_the_default_sender(conversation: Conversation):
    events = await conversation.run(
        action("sms", "sms_send", {"text": "Hello {{ contact.name }}, your code is 1234"}),
        phone="+44 7700 900123",
    )
    assert conversation.outcome(events) == "sent"
    [sms] = conversation.twilio.sent()
    assert sms.account_sid == ACCOUNT_SID
    assert (sms.get("To"), sms.get("From"), sms.get("Body")) == (
        "+447700900123", SMS_SENDER, "Hello Ada, your code is 1234"
    )
    [sent] = [event.data for event in events if event.type == "sms_sent"]
    assert sent["to"] == "+447700900123" and sent["provider_id"].startswith("SM")


async def test_sms_send_to_a_given_number_through_a_messaging_service(
    conversation: Conversation,
):
    service = "MG" + "a" * 32
    events = await conversation.run(action("sms", "sms_send", {
        "to": "0033 6 12 34 56 78", "text": "Your parcel is on its way", "sender": service,
    }))
    assert conversation.outcome(events) == "sent"
    [sms] = conversation.twilio.sent()
    assert (sms.get("To"), sms.get("MessagingServiceSid"), sms.get("From")) == (
        "+33612345678", service, None
    )


async def test_sms_send_takes_the_failure_branch_when_twilio_refuses(
    conversation: Conversation,
):
    conversation.twilio.fail(400, code=21211)
    events = await conversation.run(
        action("sms", "sms_send", {"text": "Hi"}), phone="+447700900123"
    )
    assert conversation.outcome(events) == "not sent"
    [error] = conversation.errors(events)
    assert error["code"] == "recipient_unreachable" and "21211" in error["message"]


async def test_sms_send_does_not_retry_an_outage_itself(conversation: Conversation):
    conversation.twilio.fail(500)
    events = await conversation.run(
        action("sms", "sms_send", {"text": "Hi"}), phone="+447700900123"
    )
    assert conversation.outcome(events) == "not sent"
    assert conversation.errors(events)[0]["code"] == "provider_unavailable"
    assert len(conversation.twilio.received) == 1


async def test_sms_send_to_a_number_that_opted_out_sends_nothing(conversation: Conversation):
    """Who said STOP on WhatsApp is not texted by a routing either."""
    from routing_core.model.interaction import Contact

    await conversation.services.store.contacts.insert(Contact(
        channel=Channel.whatsapp, entry_point_id="whatsapp-line", external_id="+33612345678",
        phone="+33612345678", opted_out_at=utcnow()))
    events = await conversation.run(action("sms", "sms_send", {
        "to": "+33 6 12 34 56 78", "text": "Our offers"}))
    assert conversation.outcome(events) == "not sent"
    assert conversation.errors(events)[0]["code"] == "opted_out"
    assert conversation.twilio.received == []


async def test_sms_send_to_an_invalid_number_sends_nothing(conversation: Conversation):
    events = await conversation.run(action("sms", "sms_send", {"to": "tomorrow", "text": "Hi"}))
    assert conversation.outcome(events) == "not sent"
    assert conversation.errors(events)[0]["code"] == "invalid_number"
    assert conversation.twilio.received == []


# -- email_send --------------------------------------------------------------------------------

async def test_email_send_delivers_through_smtp_with_the_login(conversation: Conversation):
    events = await conversation.run(action("mail", "email_send", {
        "to": "team@example.com; sales@example.com",
        "subject": "New lead:\n{{ contact.name }}",
        "body": "{{ contact.name }} asked to be called back.",
        "reply_to": "ada@example.com",
    }))
    assert conversation.outcome(events) == "sent"
    [(envelope, session)] = conversation.mail.received
    assert envelope.mail_from == SENDER
    assert envelope.rcpt_tos == ["team@example.com", "sales@example.com"]
    assert session.authenticated and session.auth_data.login == SMTP_USER.encode()
    [message] = conversation.mail.messages()
    assert message["Subject"] == "New lead: Ada"  # a header stays one line
    assert message["From"] == SENDER and message["Reply-To"] == "ada@example.com"
    assert message["To"] == "team@example.com, sales@example.com"
    assert message.get_content().strip() == "Ada asked to be called back."
    [sent] = [event.data for event in events if event.type == "email_sent"]
    assert sent == {"to": ["team@example.com", "sales@example.com"], "subject": "New lead: Ada"}


async def test_email_send_takes_the_failure_branch_when_the_server_refuses_the_recipient(
    conversation: Conversation,
):
    events = await conversation.run(action("mail", "email_send", {
        "to": "ghost@nowhere.test", "subject": "Hello", "body": "Anyone?",
    }))
    assert conversation.outcome(events) == "not sent"
    [error] = conversation.errors(events)
    assert error["code"] == "recipient_unreachable" and "ghost@nowhere.test" in error["message"]
    assert conversation.mail.received == []


# -- the ports themselves ----------------------------------------------------------------------

@pytest_asyncio.fixture(scope="module")
async def tls_mail_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[MailServer, ssl.SSLContext]]:
    cert_path, key_path = certificate(tmp_path_factory.mktemp("smtp-tls"))
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert_path, key_path)
    server = await MailServer(tls_context=server_context).start()
    yield server, ssl.create_default_context(cafile=str(cert_path))
    await server.stop()


def tls_mail(server: MailServer, context: ssl.SSLContext | None, **changes: Any) -> SmtpMail:
    options: dict[str, Any] = {
        "host": "127.0.0.1", "port": server.port, "sender": SENDER, "username": SMTP_USER,
        "password": SMTP_PASSWORD, "starttls": True, "tls_context": context, **changes,
    }
    return SmtpMail(**options)


async def test_smtp_with_starttls_and_login(tls_mail_server: tuple[MailServer, ssl.SSLContext]):
    server, trusted = tls_mail_server
    server.received.clear()
    await tls_mail(server, trusted).send(
        to=["team@example.com"], subject="Over TLS", body="Hi", reply_to=None
    )
    [(envelope, session)] = server.received
    assert session.ssl is not None and session.authenticated
    assert envelope.rcpt_tos == ["team@example.com"]


async def test_smtp_failures_are_typed(
    tls_mail_server: tuple[MailServer, ssl.SSLContext], mail_server: MailServer
):
    server, trusted = tls_mail_server
    mail = {"to": ["team@example.com"], "subject": "Hi", "body": "Hi", "reply_to": None}
    with pytest.raises(BadCredentials, match="refused the login"):
        await tls_mail(server, trusted, password="wrong").send(**mail)
    with pytest.raises(NetworkFailure):  # a certificate nobody vouches for
        await tls_mail(server, ssl.create_default_context()).send(**mail)
    with pytest.raises(Rejected, match="STARTTLS"):  # STARTTLS required, not offered
        await tls_mail(mail_server, trusted).send(**mail)
    nobody = SmtpMail(host="127.0.0.1", port=closed_port(), sender=SENDER)
    with pytest.raises(NetworkFailure, match="could not"):
        await nobody.send(**mail)


async def test_twilio_sms_failures_are_typed(twilio: FakeTwilio):
    twilio.reset()
    wrong = TwilioSms(TwilioMessages(twilio.url), account_sid=ACCOUNT_SID,
                      auth_token="wrong", default_sender=SMS_SENDER)
    with pytest.raises(BadCredentials, match="401"):
        await wrong.send(to="+447700900123", text="Hi", sender=None)
    await wrong.close()
    no_sender = TwilioSms(TwilioMessages(twilio.url), account_sid=ACCOUNT_SID,
                          auth_token=AUTH_TOKEN)
    with pytest.raises(Rejected, match="SR_SMS_SENDER"):
        await no_sender.send(to="+447700900123", text="Hi", sender="")
    unreachable = TwilioSms(TwilioMessages(f"http://127.0.0.1:{closed_port()}"),
                            account_sid=ACCOUNT_SID,
                            auth_token=AUTH_TOKEN, default_sender=SMS_SENDER)
    with pytest.raises(NetworkFailure, match="could not connect"):
        await unreachable.send(to="+447700900123", text="Hi", sender=None)
    await unreachable.close()
