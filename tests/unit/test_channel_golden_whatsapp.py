"""Golden cases of the WhatsApp connector, without a network.

``tests/golden/channels/whatsapp/webhooks.json``: a Twilio form as Twilio posts it, how it
is signed (``sign``: absent = with the entry point's auth token over the public URL;
``"missing"``; or ``{token, url, tamper}`` to sign with another token, over another URL,
or to change fields after signing) → the HTTP status, the ``Inbound`` records or status
reports, and the answer's body and content type.

``send.json``: an outbound event (and ``context``: ``last_inbound_minutes_ago``, default
5, null for unknown; extra ``credentials``) and Twilio's ``answer`` (default 201 queued;
``{"hang": true}`` for none) → the exact form the Messages API received and the
provider id, or the typed error and how many requests were made.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from twilio.http import AsyncHttpClient
from twilio.http.response import Response

from connectors.base import MalformedPayload, WebhookRefused, WebhookRequest
from connectors.sms import TwilioMessages
from connectors.whatsapp import WhatsAppConnector
from routing_core.model.entry_point import EntryPoint
from routing_core.model.interaction import Channel, Event
from routing_core.ports.channels import SendContext, SendError
from tests.support.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, signature

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "channels" / "whatsapp"
PUBLIC_URL = "https://sr.example.test"
API_BASE = "https://twilio.fake"
NOW = datetime(2024, 5, 6, 10, 0, tzinfo=UTC)
ENTRY_POINT = EntryPoint(
    id="ep-whatsapp", channel=Channel.whatsapp, name="WhatsApp", address="whatsapp:+14155238886",
    start_routing="routing-1",
)
CREDENTIALS = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN}
QUEUED_SID = "SM00000000000000000000000000000001"


def cases(name: str) -> list[Any]:
    return [pytest.param(case, id=case["name"])
            for case in json.loads((GOLDEN / f"{name}.json").read_text())]


class RecordingHttpClient(AsyncHttpClient):
    """Twilio's async HTTP client interface: records each request, answers as scripted."""

    def __init__(self, answer: dict[str, Any]):
        super().__init__(logger=None, is_async=True)  # type: ignore[arg-type]
        self.answer = answer
        self.requests: list[dict[str, Any]] = []

    async def request(self, method: str, url: str, params: Any = None, data: Any = None,
                      headers: Any = None, auth: Any = None, timeout: Any = None,
                      allow_redirects: bool = False) -> Response:
        self.requests.append({"method": method, "url": url, "data": data, "auth": auth})
        if self.answer.get("hang"):
            await asyncio.sleep(5)
        status = self.answer.get("status", 201)
        if "body" in self.answer:
            text = self.answer["body"]
        else:
            text = json.dumps(self.answer.get("json", {"sid": QUEUED_SID, "status": "queued"}))
        return Response(status, text)

    async def close(self) -> None:
        return None


def connector(http_client: AsyncHttpClient | None = None) -> WhatsAppConnector:
    messages = TwilioMessages(API_BASE, timeout_seconds=0.2,
                              http_client_factory=lambda: http_client)  # type: ignore[arg-type,return-value]
    return WhatsAppConnector(public_url=PUBLIC_URL, messages=messages, clock=lambda: NOW)


def webhook_request(case: dict[str, Any]) -> WebhookRequest:
    kind = case["kind"]
    path = f"/webhooks/whatsapp/{ENTRY_POINT.id}" + ("/status" if kind == "status" else "")
    form = dict(case["form"])
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    sign = case.get("sign", {})
    if sign != "missing":
        url = sign.get("url", PUBLIC_URL + path)
        headers["X-Twilio-Signature"] = signature(url, form, sign.get("token", AUTH_TOKEN))
        form.update(sign.get("tamper", {}))
    return WebhookRequest(method="POST", public_url=PUBLIC_URL + path, kind=kind,
                          headers=headers, query={}, body=urlencode(form).encode(), form=form)


@pytest.mark.parametrize("case", cases("webhooks"))
async def test_webhook(case: dict[str, Any]) -> None:
    expect = case["expect"]
    whatsapp = connector()
    try:
        await whatsapp.verify(webhook_request(case), ENTRY_POINT, CREDENTIALS)
        result = whatsapp.parse(webhook_request(case), ENTRY_POINT)
    except WebhookRefused as refusal:
        assert refusal.status == expect["status"], refusal.message
        return
    except MalformedPayload as error:
        assert expect["status"] == 400, str(error)
        return
    assert expect["status"] == 200
    fields = ("contact", "provider_id", "text", "payload", "media", "contact_name",
              "contact_phone")
    assert [message.model_dump(include=set(fields), exclude_none=True, mode="json")
            for message in result.inbound] == [
        {name: value for name, value in item.items() if value is not None}
        for item in expect.get("inbound", [])]
    assert all(message.channel is Channel.whatsapp and message.entry_point_id == ENTRY_POINT.id
               for message in result.inbound)
    assert [vars(report) for report in result.reports] == expect.get("reports", [])
    assert (result.body, result.content_type) == (expect["body"], expect["content_type"])


@pytest.mark.parametrize("case", cases("send"))
async def test_send(case: dict[str, Any]) -> None:
    expect, context = case["expect"], case.get("context", {})
    http_client = RecordingHttpClient(case.get("answer", {}))
    minutes = context.get("last_inbound_minutes_ago", 5)
    event = Event(id="interaction-1:000003", interaction_id="interaction-1", type="outbound",
                  data=case["event"], channel=Channel.whatsapp, entry_point_id=ENTRY_POINT.id,
                  contact="+447700900123")
    send_context = SendContext(
        entry_point=ENTRY_POINT,
        credentials={**CREDENTIALS, **context.get("credentials", {})},
        last_inbound_at=None if minutes is None else NOW - timedelta(minutes=minutes),
    )
    try:
        provider_id = await connector(http_client).send(event, send_context)
    except SendError as error:
        assert "error" in expect, f"unexpected {error.code}: {error.message}"
        assert {"code": error.code, "retryable": error.retryable} == expect["error"]
        assert len(http_client.requests) == expect.get("requests", 1)
        return
    assert "error" not in expect, f"sent, but expected {expect['error']}"
    assert provider_id == expect.get("provider_id", QUEUED_SID)
    [request] = http_client.requests
    assert request["method"] == "POST"
    assert request["url"] == f"{API_BASE}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert request["auth"] == (ACCOUNT_SID, AUTH_TOKEN)
    assert request["data"] == expect["request"]
