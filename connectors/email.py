"""Outbound e-mail over SMTP with aiosmtplib: the engine's ``MailPort``.

One connection per message: ``email_send`` is occasional, and a fresh connection never
finds a session the server closed meanwhile. Failures are raised as the closed set of
``routing_core.ports.channels`` errors, with the server's answer in the message, so the action's
error event tells an operator what to fix (login, recipient, TLS, reachability).
"""

from __future__ import annotations

import asyncio
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import aiosmtplib
from aiosmtplib import SMTPException

from config import Settings
from routing_core.infra.clock import utcnow
from routing_core.ports.channels import (
    BadCredentials,
    NetworkFailure,
    ProviderUnavailable,
    RecipientUnreachable,
    Rejected,
    SendError,
)

# Well below the interaction lease (SR_LEASE_SECONDS, 30 s): email_send runs inside a step.
SEND_TIMEOUT_SECONDS = 15.0


class SmtpMail:
    """Sends plain-text messages from ``sender`` through one SMTP server.

    ``starttls`` requires the upgrade (the message is never sent in clear when it fails);
    off, the connection stays plain. ``tls_context`` overrides the system's trusted
    certificates (a private CA, tests).
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout_seconds: float = SEND_TIMEOUT_SECONDS,
        tls_context: ssl.SSLContext | None = None,
    ):
        self.host = host
        self.port = port
        self.sender = sender
        self.username = username
        self.password = password
        self.starttls = starttls
        self.timeout_seconds = timeout_seconds
        self.tls_context = tls_context

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpMail:
        return cls(
            host=settings.smtp_host, port=settings.smtp_port, sender=settings.smtp_sender,
            username=settings.smtp_username, password=settings.smtp_password,
            starttls=settings.smtp_starttls,
        )

    def message(
        self, *, to: list[str], subject: str, body: str, reply_to: str | None
    ) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(to)
        message["Subject"] = " ".join(subject.split())  # a header is one line
        if reply_to:
            message["Reply-To"] = reply_to
        message["Date"] = format_datetime(utcnow())
        domain = self.sender.rpartition("@")[2] or "localhost"
        message["Message-ID"] = make_msgid(domain=domain)  # no slow FQDN look-up
        message.set_content(body)
        return message

    async def send(
        self, *, to: list[str], subject: str, body: str, reply_to: str | None
    ) -> None:
        if not to:
            raise Rejected("no recipient")
        message = self.message(to=to, subject=subject, body=body, reply_to=reply_to)
        login = bool(self.username and self.password)
        try:
            async with asyncio.timeout(self.timeout_seconds):
                refused, _ = await aiosmtplib.send(
                    message, hostname=self.host, port=self.port, start_tls=self.starttls,
                    use_tls=False, timeout=self.timeout_seconds, tls_context=self.tls_context,
                    username=self.username if login else None,
                    password=self.password if login else None,
                )
        except SMTPException as error:
            raise self.send_error(error) from None
        except TimeoutError:
            raise ProviderUnavailable(
                f"the SMTP server {self.where} did not finish within "
                f"{self.timeout_seconds:g} s"
            ) from None
        except OSError as error:  # refused connection, TLS handshake or certificate failure
            raise NetworkFailure(f"could not reach the SMTP server {self.where}: "
                                 f"{error}") from None
        if refused:  # some recipients accepted, these not
            raise RecipientUnreachable(
                "the SMTP server refused " + ", ".join(
                    f"{address} ({answer.code} {answer.message})"
                    for address, answer in refused.items()
                ) + "; the others got the message"
            )

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def send_error(self, error: SMTPException) -> SendError:
        """The typed error for an SMTP failure, the server's words in the message."""
        if isinstance(error, aiosmtplib.SMTPAuthenticationError):
            return BadCredentials(f"the SMTP server {self.where} refused the login: "
                                  f"{error.code} {error.message}")
        if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
            return RecipientUnreachable("the SMTP server refused every recipient: " + ", ".join(
                f"{refusal.recipient} ({refusal.code} {refusal.message})"
                for refusal in error.recipients
            ))
        if isinstance(error, aiosmtplib.SMTPRecipientRefused):
            return RecipientUnreachable(f"the SMTP server refused {error.recipient}: "
                                        f"{error.code} {error.message}")
        if isinstance(error, aiosmtplib.SMTPNotSupported) or type(error) is SMTPException:
            # aiosmtplib's plain SMTPException: STARTTLS or AUTH missing on the server
            return Rejected(f"the SMTP server {self.where} cannot do what the settings ask "
                            f"(STARTTLS, login): {error.message}")
        if isinstance(error, aiosmtplib.SMTPResponseException):
            text = f"the SMTP server {self.where} answered {error.code} {error.message}"
            return Rejected(text) if 500 <= error.code < 600 else ProviderUnavailable(text)
        if isinstance(error, aiosmtplib.SMTPConnectError) and not isinstance(
            error, aiosmtplib.SMTPTimeoutError
        ):
            return NetworkFailure(f"could not connect to the SMTP server {self.where}: "
                                  f"{error.message}")
        return ProviderUnavailable(f"SMTP with {self.where} failed: {error.message}")
