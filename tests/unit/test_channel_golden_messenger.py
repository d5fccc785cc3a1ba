"""Messenger's golden cases (tests/golden/channels/messenger): webhooks and challenges in →
inbound records and answers out; outbound events in → Send API requests out; Graph API
errors → send errors. Sends go to a fake Graph API server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from connectors.base import MalformedPayload, WebhookRefused, WebhookRequest
from connectors.messenger import MessengerConnector, signature
from routing_core.model.entry_point import EntryPoint
from routing_core.model.interaction import Channel, Event, Inbound
from routing_core.ports.channels import NetworkFailure, SendContext, SendError
from tests.support import channel_golden
from tests.support.fake_graph import FakeGraph

NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
VERSION = "v21.0"


def golden(name: str) -> dict[str, Any]:
    return channel_golden.golden("messenger", name)


def cases(name: str) -> list[Any]:
    return channel_golden.cases("messenger", name)


ENTRY_POINT = EntryPoint(id="ep-messenger", channel=Channel.messenger, name="Shop page",
                         address="105432178923456", start_routing="routing")


@pytest_asyncio.fixture(scope="module")
async def fake() -> AsyncIterator[FakeGraph]:
    server = FakeGraph()
    await server.start()
    yield server
    await server.stop()


@pytest_asyncio.fixture
async def connector(fake: FakeGraph) -> AsyncIterator[MessengerConnector]:
    fake.reset()
    built = MessengerConnector(fake.url, VERSION, clock=lambda: NOW)
    yield built
    await built.close()


def webhook(case: dict[str, Any], app_secret: str) -> WebhookRequest:
    body = case["raw_body"].encode() if "raw_body" in case else json.dumps(case["body"]).encode()
    headers = {"Content-Type": "application/json"}
    if "signature" in case:
        headers["X-Hub-Signature-256"] = case["signature"]
    elif case.get("sign_with"):
        headers["X-Hub-Signature-256"] = signature(case["sign_with"], body)
    elif case.get("sign"):
        headers["X-Hub-Signature-256"] = signature(app_secret, body)
    if case.get("sha1"):
        digest = hmac.new(app_secret.encode(), body, hashlib.sha1).hexdigest()
        headers["X-Hub-Signature"] = f"sha1={digest}"
    return WebhookRequest(method="POST", public_url="https://bots.example.com/webhooks/messenger/"
                          + ENTRY_POINT.id, kind="event", headers=headers, query={}, body=body)


def dumped(inbound: Inbound) -> dict[str, Any]:
    return inbound.model_dump(exclude={"received_at"})


@pytest.mark.parametrize(("credentials", "case"), cases("inbound"))
async def test_inbound(connector, credentials, case):
    request, expect = webhook(case, credentials["app_secret"]), case["expect"]
    if "refused" in expect:
        with pytest.raises(WebhookRefused) as refusal:
            await connector.verify(request, ENTRY_POINT, credentials)
        assert refusal.value.status == expect["refused"]
        return
    await connector.verify(request, ENTRY_POINT, credentials)
    if expect.get("malformed"):
        with pytest.raises(MalformedPayload):
            connector.parse(request, ENTRY_POINT)
        return
    result = connector.parse(request, ENTRY_POINT)
    wanted = [Inbound(channel=Channel.messenger, entry_point_id=ENTRY_POINT.id, **item)
              for item in expect["inbound"]]
    assert [dumped(item) for item in result.inbound] == [dumped(item) for item in wanted]
    assert [(read.contact, read.until.isoformat()) for read in result.reads] == [
        (read["contact"], read["until"]) for read in expect.get("reads", [])]
    assert result.body == expect["body"]
    assert result.after_persist == []


@pytest.mark.parametrize(("credentials", "case"), cases("challenge"))
async def test_challenge(connector, credentials, case):
    request = WebhookRequest(method="GET", public_url="https://bots.example.com/", kind="event",
                             headers={}, query=case["query"], body=b"")
    status, body = await connector.challenge(request, ENTRY_POINT, credentials)
    assert status == case["expect"]["status"]
    if "body" in case["expect"]:
        assert body == case["expect"]["body"]


def context(credentials: dict[str, Any], minutes_ago: float | None) -> SendContext:
    last = None if minutes_ago is None else NOW - timedelta(minutes=minutes_ago)
    return SendContext(entry_point=ENTRY_POINT, credentials=credentials, last_inbound_at=last)


@pytest.mark.parametrize(("credentials", "case"), cases("outbound"))
async def test_outbound(connector, fake, credentials, case):
    event = Event(interaction_id="i1", type="outbound", channel=Channel.messenger,
                  entry_point_id=ENTRY_POINT.id, contact=case["contact"], data=case["data"])
    sending = connector.send(event, context(credentials, case["last_inbound_minutes_ago"]))
    expect = case["expect"]
    if "error" in expect:
        with pytest.raises(SendError) as failure:
            await sending
        assert failure.value.code == expect["error"]["code"]
        assert failure.value.retryable is expect["error"]["retryable"]
    else:
        assert await sending == expect["provider_id"]
    assert [{"query": {"access_token": send.access_token}, "body": send.body}
            for send in fake.sends] == expect["requests"]
    assert all(send.version == VERSION for send in fake.sends)


@pytest.mark.parametrize(("credentials", "case"), cases("errors"))
async def test_errors(connector, fake, credentials, case):
    answer = case["answer"]
    fake.fail(answer["status"], answer["code"], answer["message"], subcode=answer.get("subcode"),
              retry_after=answer.get("retry_after"))
    event = Event(interaction_id="i1", type="outbound", channel=Channel.messenger,
                  contact="6789012345678901", data={"text": "hello"})
    with pytest.raises(SendError) as failure:
        await connector.send(event, context(credentials, 1))
    expect = case["expect"]
    assert (failure.value.code, failure.value.retryable, failure.value.retry_after) == (
        expect["code"], expect["retryable"], expect["retry_after"]
    )
    assert credentials["page_access_token"] not in failure.value.message


def test_every_golden_file_has_cases():
    assert channel_golden.names("messenger") == [
        "challenge", "errors", "inbound", "outbound"]
    assert all(golden(name)["cases"] for name in channel_golden.names("messenger"))


# -- beyond the golden files -------------------------------------------------------------

async def test_an_invalid_page_token_is_bad_credentials(fake):
    fake.reset()
    fake.tokens = {"EAAGood"}
    connector = MessengerConnector(fake.url, VERSION, clock=lambda: NOW)
    try:
        with pytest.raises(SendError) as failure:
            await connector.send(
                Event(interaction_id="i1", type="outbound", contact="1", data={"text": "hi"}),
                context({"page_access_token": "EAAWrong"}, 1),
            )
        assert failure.value.code == "bad_credentials"
        assert "EAAWrong" not in failure.value.message
    finally:
        fake.tokens = None
        await connector.close()


async def test_an_unreachable_api_is_a_network_failure():
    connector = MessengerConnector("http://127.0.0.1:9", VERSION, clock=lambda: NOW)
    try:
        with pytest.raises(NetworkFailure) as failure:
            await connector.send(
                Event(interaction_id="i1", type="outbound", contact="1", data={"text": "hi"}),
                context({"page_access_token": "EAASecret"}, 1),
            )
        assert "EAASecret" not in failure.value.message
    finally:
        await connector.close()


async def test_a_long_text_goes_in_several_messages_with_the_quick_replies_last(
    connector, fake
):
    text = "\n".join(f"line {number:03d} " + "." * 70 for number in range(60))
    event = Event(interaction_id="i1", type="outbound", contact="1",
                  data={"text": text, "choices": [{"label": "OK", "value": "ok"}]})
    await connector.send(event, context({"page_access_token": "EAAG"}, 1))
    messages = [send.body["message"] for send in fake.sends]
    assert len(messages) == 3
    assert "\n".join(message["text"] for message in messages) == text
    assert [("quick_replies" in message) for message in messages] == [False, False, True]
