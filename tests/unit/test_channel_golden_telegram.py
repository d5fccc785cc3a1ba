"""Telegram's golden cases (tests/golden/channels/telegram): webhooks in → inbound records
and answers out; outbound events in → Bot API requests out; Bot API errors → send errors.
Requests go to a fake Bot API server on 127.0.0.1, so aiogram's real encoding is checked."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from connectors.base import MalformedPayload, WebhookRefused, WebhookRequest, text_chunks
from connectors.telegram import TelegramConnector, callback_data
from routing_core.infra.errors import Invalid
from routing_core.model.entry_point import EntryPoint
from routing_core.model.interaction import Channel, Event, Inbound, OutboundChoice
from routing_core.ports.channels import NetworkFailure, SendContext, SendError
from tests.support import channel_golden
from tests.support.fake_telegram import FakeTelegram

PUBLIC_URL = "https://bots.example.com"


def golden(name: str) -> dict[str, Any]:
    return channel_golden.golden("telegram", name)


def cases(name: str) -> list[Any]:
    return channel_golden.cases("telegram", name)


ENTRY_POINT = EntryPoint(id="ep-telegram", channel=Channel.telegram, name="Shop bot",
                         address="shop_bot", start_routing="routing")


@pytest_asyncio.fixture(scope="module")
async def fake() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram()
    await server.start()
    yield server
    await server.stop()


@pytest_asyncio.fixture
async def connector(fake: FakeTelegram) -> AsyncIterator[TelegramConnector]:
    fake.reset()
    built = TelegramConnector(fake.url, PUBLIC_URL)
    yield built
    await built.close()


def webhook(case: dict[str, Any]) -> WebhookRequest:
    body = case["raw_body"].encode() if "raw_body" in case else json.dumps(case["body"]).encode()
    return WebhookRequest(
        method="POST", public_url=f"{PUBLIC_URL}/webhooks/telegram/{ENTRY_POINT.id}",
        kind="event", headers=case["headers"], query={}, body=body,
    )


def dumped(inbound: Inbound) -> dict[str, Any]:
    return inbound.model_dump(exclude={"received_at"})


@pytest.mark.parametrize(("credentials", "case"), cases("inbound"))
async def test_inbound(connector, fake, credentials, case):
    request, expect = webhook(case), case["expect"]
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
    wanted = [Inbound(channel=Channel.telegram, entry_point_id=ENTRY_POINT.id, **item)
              for item in expect["inbound"]]
    assert [dumped(item) for item in result.inbound] == [dumped(item) for item in wanted]
    assert result.body == expect["body"]
    for call in result.after_persist:
        await call()
    await connector.idle()
    assert [{"method": call.method, "params": call.params} for call in fake.calls] == (
        expect["calls"]
    )
    assert all(call.token == credentials["token"] for call in fake.calls)


def outbound(case: dict[str, Any]) -> Event:
    return Event(interaction_id="i1", type="outbound", channel=Channel.telegram,
                 entry_point_id=ENTRY_POINT.id, contact=case["contact"], data=case["data"])


@pytest.mark.parametrize(("credentials", "case"), cases("outbound"))
async def test_outbound(connector, fake, credentials, case):
    context = SendContext(entry_point=ENTRY_POINT, credentials=credentials)
    expect = case["expect"]
    if "error" in expect:
        with pytest.raises(SendError) as failure:
            await connector.send(outbound(case), context)
        assert failure.value.code == expect["error"]["code"]
        assert failure.value.retryable is expect["error"]["retryable"]
    else:
        assert await connector.send(outbound(case), context) == expect["provider_id"]
    assert [{"method": call.method, "params": call.params} for call in fake.calls] == (
        expect["requests"]
    )


@pytest.mark.parametrize(("credentials", "case"), cases("errors"))
async def test_errors(connector, fake, credentials, case):
    answer = case["answer"]
    fake.fail("sendMessage", answer["status"], answer["description"],
              retry_after=answer.get("retry_after"))
    context = SendContext(entry_point=ENTRY_POINT, credentials=credentials)
    event = Event(interaction_id="i1", type="outbound", channel=Channel.telegram,
                  contact="111222333", data={"text": "hello"})
    with pytest.raises(SendError) as failure:
        await connector.send(event, context)
    expect = case["expect"]
    assert (failure.value.code, failure.value.retryable, failure.value.retry_after) == (
        expect["code"], expect["retryable"], expect["retry_after"]
    )
    assert credentials["token"] not in failure.value.message


def test_every_golden_file_has_cases():
    assert channel_golden.names("telegram") == ["errors", "inbound",
                                                                  "outbound"]
    assert all(golden(name)["cases"] for name in channel_golden.names("telegram"))


# -- beyond the golden files -------------------------------------------------------------

async def test_saving_registers_the_webhook_with_a_generated_secret(connector, fake):
    extra = await connector.on_saved(ENTRY_POINT, {"token": "42:abc"})
    secret = extra["webhook_secret"]
    assert 32 <= len(secret) <= 256
    assert set(secret) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
    [call] = fake.calls_to("setWebhook")
    assert call.token == "42:abc"
    assert call.params == {"url": f"{PUBLIC_URL}/webhooks/telegram/{ENTRY_POINT.id}",
                           "secret_token": secret,
                           "allowed_updates": ["message", "callback_query"]}
    again = await connector.on_saved(ENTRY_POINT, {"token": "42:abc", "webhook_secret": secret})
    assert again == {"webhook_secret": secret}


@pytest.mark.parametrize(("credentials", "field"), [
    ({"token": "not-a-token"}, "credentials.token"),
    ({"token": "42:abc", "webhook_secret": "has spaces"}, "credentials.webhook_secret"),
    ({"token": "42:abc", "webhook_secret": "x" * 257}, "credentials.webhook_secret"),
])
async def test_saving_refuses_bad_credentials_before_calling_telegram(
    connector, fake, credentials, field
):
    with pytest.raises(Invalid) as refusal:
        await connector.on_saved(ENTRY_POINT, credentials)
    assert refusal.value.field == field
    assert fake.calls == []


@pytest.mark.parametrize(("status", "description", "field"), [
    (401, "Unauthorized", "credentials.token"),
    (400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook", None),
])
async def test_saving_fails_clearly_when_telegram_refuses(
    connector, fake, status, description, field
):
    fake.fail("setWebhook", status, description)
    with pytest.raises(Invalid) as refusal:
        await connector.on_saved(ENTRY_POINT, {"token": "42:abc"})
    assert refusal.value.field == field
    assert "42:abc" not in refusal.value.message
    if field is None:
        assert "HTTPS URL must be provided" in refusal.value.message


async def test_an_unreachable_api_is_a_network_failure():
    closed = TelegramConnector("http://127.0.0.1:9", PUBLIC_URL)  # discard port: refused
    try:
        with pytest.raises(NetworkFailure):
            await closed.send(Event(interaction_id="i1", type="outbound", contact="1",
                                    data={"text": "hi"}),
                              SendContext(entry_point=ENTRY_POINT, credentials={"token": "1:a"}))
    finally:
        await closed.close()


async def test_one_bot_per_token_and_a_long_text_in_several_messages(connector, fake):
    context = SendContext(entry_point=ENTRY_POINT, credentials={"token": "42:abc"})
    text = "\n".join(f"line {number:04d} " + "." * 90 for number in range(100))
    event = Event(interaction_id="i1", type="outbound", contact="7",
                  data={"text": text, "choices": [{"label": "OK", "value": "ok"}]})
    await connector.send(event, context)
    sent = fake.calls_to("sendMessage")
    assert len(sent) == 3
    assert "\n".join(call.params["text"] for call in sent) == text
    assert [("reply_markup" in call.params) for call in sent] == [False, False, True]
    assert connector.bot("42:abc") is connector.bot("42:abc")


def test_text_chunks_cut_at_line_breaks_or_at_the_limit():
    assert text_chunks("", limit=4) == []
    assert text_chunks("a" * 10, limit=4) == ["aaaa", "aaaa", "aa"]
    assert text_chunks("ab\ncd\nef", limit=5) == ["ab\ncd", "ef"]


def test_callback_data_fits_in_64_bytes():
    choices = [OutboundChoice(label=str(n), value=("ß" * 33) + str(n)) for n in range(3)]
    assert callback_data(choices) == ["1", "2", "3"]
    assert all(len(data.encode()) <= 64 for data in callback_data(choices))
