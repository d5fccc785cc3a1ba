"""Outbound SMS through Twilio's Messages API, and the Twilio client WhatsApp shares.

``TwilioMessages`` owns one ``AsyncTwilioHttpClient`` (an aiohttp session: it is made on
first use, inside the running loop, and closed with the service) and turns every failure
of a create call into the closed set of ``routing_core.ports.channels`` errors. The HTTP client's
own retries stay off: it would retry POSTs, and a POST retried blindly can send twice;
the outbox retries instead, knowing when a duplicate is possible.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http import AsyncHttpClient
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from config import Settings
from routing_core.ports.channels import (
    BadCredentials,
    NetworkFailure,
    ProviderUnavailable,
    RateLimited,
    RecipientUnreachable,
    Rejected,
    SendError,
    WindowClosed,
)

# Well below the interaction lease (SR_LEASE_SECONDS, 30 s): sms_send runs inside a step.
SEND_TIMEOUT_SECONDS = 10.0
# Twilio error codes that no retry can fix: invalid, unreachable, non-mobile or opted-out
# numbers, and a WhatsApp user the channel cannot find.
UNREACHABLE_CODES = frozenset({21211, 21610, 21612, 21614, 63003})
WINDOW_CLOSED_CODE = 63016
# A Messaging Service SID: Twilio then picks the sender from the service's pool.
MESSAGING_SERVICE = re.compile(r"MG[0-9a-fA-F]{32}")

def send_error(error: TwilioRestException | TwilioServiceException) -> SendError:
    """The typed error for a Twilio API error: its code first, then its HTTP status."""
    status = int(error.status or 0)
    code = _number(error.code)
    detail = error.msg if isinstance(error, TwilioRestException) else (
        error.detail or error.title
    )
    text = f"Twilio answered {status} (error {code}): {detail}"
    if code in UNREACHABLE_CODES:
        return RecipientUnreachable(text)
    if code == WINDOW_CLOSED_CODE:
        return WindowClosed(text)
    if status == 429:
        return RateLimited(text)
    if status >= 500:
        return ProviderUnavailable(text)
    if status in (401, 403):
        return BadCredentials(text)
    return Rejected(text)


def _number(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class TwilioMessages:
    """Creates messages for any Twilio account (each WhatsApp entry point has its own)."""

    def __init__(
        self,
        api_base: str,
        *,
        timeout_seconds: float = SEND_TIMEOUT_SECONDS,
        http_client_factory: Callable[[], AsyncHttpClient] = AsyncTwilioHttpClient,
    ):
        self.api_base = api_base.rstrip("/")
        self.timeout_seconds = timeout_seconds
        self._http_client_factory = http_client_factory
        self._http_client: AsyncHttpClient | None = None

    def _client(self, account_sid: str, auth_token: str) -> Client:
        if self._http_client is None:  # aiohttp wants the running loop: made on first use
            self._http_client = self._http_client_factory()
        client = Client(account_sid, auth_token, http_client=self._http_client)
        client.api.base_url = self.api_base
        return client

    async def create(self, account_sid: str, auth_token: str, **fields: Any) -> str:
        """Send one message (``to``, ``from_``, ``body``…); its SID, or a SendError."""
        if not account_sid or not auth_token:
            raise BadCredentials("the Twilio account SID and auth token are required")
        client = self._client(account_sid, auth_token)
        try:
            async with asyncio.timeout(self.timeout_seconds):
                message = await client.messages.create_async(**fields)
        except (TwilioRestException, TwilioServiceException) as error:
            raise send_error(error) from None
        except TimeoutError:
            raise ProviderUnavailable(
                f"Twilio did not answer within {self.timeout_seconds:g} s "
                "(the message may have been sent)"
            ) from None
        except aiohttp.ClientConnectorError as error:
            raise NetworkFailure(f"could not connect to Twilio: {error}") from None
        except (aiohttp.ClientError, ValueError) as error:  # ValueError: an answer not JSON
            raise ProviderUnavailable(
                f"Twilio's answer was cut or unreadable ({type(error).__name__}: {error}); "
                "the message may have been sent"
            ) from None
        if not message.sid:
            raise ProviderUnavailable("Twilio accepted the message but gave no SID")
        return message.sid

    async def close(self) -> None:
        if self._http_client is not None:
            await self._http_client.close()
            self._http_client = None


class TwilioSms:
    """The engine's ``SmsPort``: one Twilio account and default sender, from the settings.

    SMS is outbound only, so no entry point holds these credentials: the ``sms_send``
    action may run on any channel.
    """

    def __init__(
        self,
        messages: TwilioMessages,
        *,
        account_sid: str,
        auth_token: str,
        default_sender: str | None = None,
    ):
        self.messages = messages
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.default_sender = default_sender

    @classmethod
    def from_settings(cls, settings: Settings) -> TwilioSms | None:
        """None without a Twilio account: ``sms_send`` then takes its failure branch."""
        if not settings.twilio_account_sid or not settings.twilio_auth_token:
            return None
        return cls(
            TwilioMessages(settings.twilio_api_base),
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token,
            default_sender=settings.sms_sender,
        )

    async def send(self, *, to: str, text: str, sender: str | None) -> str:
        """``to`` in E.164; ``sender`` a number, an alphanumeric id or a Messaging Service."""
        chosen = (sender or "").strip() or self.default_sender
        if not chosen:
            raise Rejected("no SMS sender: give the action a sender or set SR_SMS_SENDER")
        origin = (
            {"messaging_service_sid": chosen} if MESSAGING_SERVICE.fullmatch(chosen)
            else {"from_": chosen}
        )
        return await self.messages.create(
            self.account_sid, self.auth_token, to=to, body=text, **origin
        )

    async def close(self) -> None:
        await self.messages.close()
