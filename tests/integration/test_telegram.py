"""Telegram end to end: the real app and a real mongod, a fake Bot API server on 127.0.0.1.

Updates are posted to the webhook exactly as Telegram posts them (JSON, with the secret
token the service registered through setWebhook); replies are checked on the fake.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from quart import Quart

from bots import webhooks
from bots.app import create_app
from config import Settings
from routing_core.services import Services
from tests.conftest import login
from tests.support.apps import app_of_its_own
from tests.support.fake_telegram import BLOCKED, FakeTelegram
from tests.support.routings import DRINKS, action, production_routing, tree

PUBLIC_URL = "https://bots.example.com"
TOKEN = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
ADA = {"id": 111222333, "is_bot": False, "first_name": "Ada", "last_name": "Lovelace",
       "language_code": "en"}
CHAT = {"id": 111222333, "first_name": "Ada", "last_name": "Lovelace", "type": "private"}



@pytest_asyncio.fixture(scope="module")
async def fake() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram()
    await server.start()
    yield server
    await server.stop()


@pytest_asyncio.fixture(scope="module")
async def app(settings: Settings, fake: FakeTelegram) -> AsyncIterator[Quart]:
    """The service with Telegram's API base at the fake, in a database of its own (so no
    other app of the test session sweeps these outboxes)."""
    async with app_of_its_own(settings, "telegram", telegram_api_base=fake.url,
                              public_url=PUBLIC_URL, sweep_seconds=0.05) as application:
        yield application


@pytest.fixture(scope="module")
def services(app: Quart) -> Services:
    return app.extensions["services"]  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
def fresh_fake(fake: FakeTelegram, services: Services) -> None:
    fake.reset()
    services.outbox.base_delay = 0.05
    services.outbox.max_attempts = 5


async def bot_entry_point(api: Any, services: Services, **credentials: str) -> dict[str, Any]:
    await production_routing(services, "drinks", DRINKS)
    response = await api.post("/api/entry-points", json={
        "channel": "telegram", "name": "Drinks bot", "address": "drinks_bot",
        "start_routing": "drinks", "credentials": {"token": TOKEN, **credentials},
    })
    assert response.status_code == 201, response.json_body
    return response.json_body  # type: ignore[no-any-return]


def text_update(update_id: int, text: str) -> dict[str, Any]:
    return {"update_id": update_id, "message": {
        "message_id": update_id % 1000, "from": ADA, "chat": CHAT, "date": 1717171717,
        "text": text}}


def button_update(update_id: int, query_id: str, data: str, message: dict[str, Any]
                  ) -> dict[str, Any]:
    return {"update_id": update_id, "callback_query": {
        "id": query_id, "from": ADA, "chat_instance": "-8374462711125683921", "data": data,
        "message": message}}


async def deliver(app: Quart, fake: FakeTelegram, entry_point_id: str, update: Any,
                  headers: dict[str, str] | None = None, raw: bytes | None = None,
                  token: str = TOKEN) -> Any:
    """POST the update as Telegram does: to the URL registered with ``token``, with the
    registered secret."""
    hook = fake.webhooks[token]
    assert hook.url == f"{PUBLIC_URL}/webhooks/telegram/{entry_point_id}"
    path = hook.url.removeprefix(PUBLIC_URL)
    return await app.test_client().post(
        path, data=raw if raw is not None else json.dumps(update).encode(),
        headers=headers if headers is not None else fake.webhook_headers(token),
    )


async def outbound(services: Services) -> list[Any]:
    return await services.store.events.all({"type": "outbound"})


async def settle(services: Services, condition: Any, timeout: float = 5.0) -> None:
    """Wait until the sweeper and the runtime made ``condition()`` true."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)
    await services.runtime.idle()


async def test_saving_an_entry_point_registers_the_webhook_and_hides_the_credentials(
    app, api, services, fake
):
    created = await bot_entry_point(api, services)
    [call] = fake.calls_to("setWebhook")
    assert call.token == TOKEN
    assert call.params["url"] == f"{PUBLIC_URL}/webhooks/telegram/{created['id']}"
    assert call.params["allowed_updates"] == ["message", "callback_query"]
    secret = call.params["secret_token"]
    assert created["webhook_url"] == call.params["url"] and created["has_credentials"]
    stored = await services.store.entry_points.get(created["id"])
    assert services.entry_points.credentials(stored) == {"token": TOKEN, "webhook_secret": secret}
    listed = await api.get("/api/entry-points")
    single = await api.get(f"/api/entry-points/{created['id']}")
    document = await services.store.entry_points.collection.find_one({"_id": created["id"]})
    for shown in (json.dumps(created), json.dumps(listed.json_body), json.dumps(single.json_body),
                  json.dumps(document, default=str)):
        assert TOKEN not in shown and secret not in shown
        assert TOKEN.split(":")[1] not in shown


async def test_a_given_secret_is_used_and_a_refusal_by_telegram_saves_nothing(
    app, api, services, fake
):
    await production_routing(services, "drinks", DRINKS)
    fake.fail("setWebhook", 401, "Unauthorized")
    refused = await api.post("/api/entry-points", json={
        "channel": "telegram", "name": "Drinks bot", "address": "drinks_bot",
        "start_routing": "drinks", "credentials": {"token": TOKEN}})
    assert refused.status_code == 422
    assert refused.json_body["error"]["field"] == "credentials.token"
    assert await services.store.entry_points.collection.count_documents({}) == 0
    accepted = await api.post("/api/entry-points", json={
        "channel": "telegram", "name": "Drinks bot", "address": "drinks_bot",
        "start_routing": "drinks",
        "credentials": {"token": TOKEN, "webhook_secret": "my-own_secret"}})
    assert accepted.status_code == 201
    assert fake.webhooks[TOKEN].secret_token == "my-own_secret"


async def test_a_message_gets_the_routing_reply_exactly_once(app, api, services, fake):
    entry_point = await bot_entry_point(api, services)
    response = await deliver(app, fake, entry_point["id"], text_update(500, "hi"))
    assert response.status_code == 200
    await services.runtime.idle()
    await asyncio.sleep(0.2)  # a second send would have happened by now
    [call] = fake.calls_to("sendMessage")
    assert call.params["chat_id"] == "111222333"
    assert call.params["text"] == "Tea or coffee?"
    assert call.params["reply_markup"] == {"inline_keyboard": [
        [{"text": "Tea", "callback_data": "tea"}], [{"text": "Coffee", "callback_data": "coffee"}]]}
    [event] = await outbound(services)
    assert (event.status.value, event.provider_id, event.attempts) == ("sent", "100", 1)
    contact = await services.store.contacts.find_one({"external_id": "111222333"})
    assert contact.name == "Ada Lovelace"


async def test_a_redelivered_update_gets_one_reply(app, api, services, fake):
    entry_point = await bot_entry_point(api, services)
    for _ in range(3):
        response = await deliver(app, fake, entry_point["id"], text_update(501, "hi"))
        assert response.status_code == 200
        await services.runtime.idle()
    await asyncio.sleep(0.2)
    assert len(fake.calls_to("sendMessage")) == 1
    [interaction] = await services.store.interactions.all({})
    events = await services.store.events.of_interaction(interaction.id)
    assert [event.type for event in events].count("inbound") == 1


async def test_a_button_press_is_answered_and_routes_the_choice(app, api, services, fake):
    entry_point = await bot_entry_point(api, services)
    await deliver(app, fake, entry_point["id"], text_update(600, "hi"))
    await services.runtime.idle()
    [question] = fake.calls_to("sendMessage")
    keyboard_message = {"message_id": 100, "from": {"id": 123456, "is_bot": True,
                                                    "first_name": "Drinks"},
                        "chat": CHAT, "date": 1717171720, "text": question.params["text"],
                        "reply_markup": question.params["reply_markup"]}
    press = button_update(601, "cbq-601", "coffee", keyboard_message)
    for _ in range(2):  # Telegram redelivers: the duplicate is answered too, routed once
        assert (await deliver(app, fake, entry_point["id"], press)).status_code == 200
        await services.runtime.idle()
    answers = await fake.wait_for("answerCallbackQuery", 2)
    assert [call.params for call in answers] == [{"callback_query_id": "cbq-601"}] * 2
    await asyncio.sleep(0.2)
    assert [call.params["text"] for call in fake.calls_to("sendMessage")] == [
        "Tea or coffee?", "Coffee it is."]
    [interaction] = await services.store.interactions.all({})
    assert interaction.status.value == "ended"
    choice = [event for event in await services.store.events.of_interaction(interaction.id)
              if event.type == "choice"]
    assert [event.data["value"] for event in choice] == ["coffee"]


@pytest.mark.parametrize(("headers", "status"), [
    ({"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": "guessed"}, 403),
    ({"Content-Type": "application/json"}, 401),
])
async def test_a_request_without_the_secret_is_refused_and_nothing_stored(
    app, api, services, fake, headers, status
):
    entry_point = await bot_entry_point(api, services)
    response = await deliver(app, fake, entry_point["id"], text_update(700, "hi"),
                             headers=headers)
    assert response.status_code == status
    await services.runtime.idle()
    assert await services.store.interactions.collection.count_documents({}) == 0
    assert await services.store.events.collection.count_documents({}) == 0
    assert fake.calls_to("sendMessage") == []


async def test_a_secret_changed_a_moment_ago_is_accepted_and_forgeries_cost_no_reads(
    app, api, services, fake, monkeypatch
):
    """The webhook's secret changed in another process and the news has not reached this
    one: an update signed with the new secret is judged on the stored entry point (one
    read), and a flood of forged ones right after costs no read at all."""
    entry_point = await bot_entry_point(api, services)
    stale = await services.store.entry_points.current(entry_point["id"])
    generation = services.store.entry_points.watch.generation
    changed = await api.patch(f"/api/entry-points/{entry_point['id']}", json={
        "credentials": {"webhook_secret": "a-new-secret-set-elsewhere"}})
    assert changed.status_code == 200, changed.json_body
    await settle(services, lambda: asyncio.sleep(  # forgotten here, then the stream's news
        0, services.store.entry_points.watch.generation >= generation + 2))
    services.store.entry_points._recent[entry_point["id"]] = (time.monotonic(), stale)
    reads: list[str] = []
    read = services.store.entry_points.get

    async def counted(entry_point_id: str) -> Any:
        reads.append(entry_point_id)
        return await read(entry_point_id)

    monkeypatch.setattr(services.store.entry_points, "get", counted)
    assert (await deliver(app, fake, entry_point["id"], text_update(710, "hi"))).status_code == 200
    assert reads == [entry_point["id"]]
    forged = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": "forged"}
    for update_id in range(711, 731):
        response = await deliver(app, fake, entry_point["id"], text_update(update_id, "x"),
                                 headers=forged)
        assert response.status_code == 403
    assert reads == [entry_point["id"]]
    await services.runtime.idle()
    await fake.wait_for("sendMessage", 1)


@pytest.mark.parametrize("raw", [
    b"{not json", b"[1, 2]", b'{"message": {"text": "hi"}}',
    b'{"update_id": 1, "message": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5001,  # past the stack
    b'{"update_id": 1, "x": ' + b"[" * 100 + b"]" * 100 + b"}",  # past MAX_JSON_DEPTH
], ids=["not-json", "a-list", "no-update-id", "nested-past-the-stack", "nested-100-deep"])
async def test_a_malformed_update_is_a_400_and_nothing_stored(app, api, services, fake, raw):
    entry_point = await bot_entry_point(api, services)
    response = await deliver(app, fake, entry_point["id"], None, raw=raw)
    assert response.status_code == 400
    assert (await response.get_json())["error"]["code"] == "malformed"
    assert await services.store.interactions.collection.count_documents({}) == 0
    assert await services.store.events.collection.count_documents({}) == 0


async def test_an_unknown_entry_point_is_a_404(app, fake):
    response = await app.test_client().post("/webhooks/telegram/nope", json=text_update(1, "x"))
    assert response.status_code == 404
    assert (await response.get_json())["error"]["code"] == "not_found"


async def test_the_webhook_answers_with_the_apps_headers_and_refuses_a_body_too_large(
    app, api, services, fake
):
    entry_point = await bot_entry_point(api, services)
    accepted = await deliver(app, fake, entry_point["id"], text_update(740, "hi"))
    assert accepted.status_code == 200
    assert accepted.headers["X-Frame-Options"] == "DENY"
    assert accepted.headers["X-Content-Type-Options"] == "nosniff"
    huge = json.dumps(text_update(741, "x" * services.settings.max_body_bytes)).encode()
    refused = await deliver(app, fake, entry_point["id"], None, raw=huge)
    assert refused.status_code == 413
    assert (await refused.get_json())["error"]["code"] == "too_large"
    await settle(services, lambda: asyncio.sleep(0, len(fake.calls_to("sendMessage")) == 1))
    assert await services.store.events.collection.count_documents({"type": "inbound"}) == 1


async def test_a_process_past_its_pace_holds_the_webhook_then_takes_the_message(
    app, api, services, fake, monkeypatch
):
    """Past ``inbox_pace`` conversations in progress, a webhook waits for one to finish —
    here none does, so it waits the whole hold — and is then taken: 200, one reply."""
    entry_point = await bot_entry_point(api, services)
    monkeypatch.setattr(services.runtime.admission, "pace", 0)
    monkeypatch.setattr(webhooks, "HOLD_SECONDS", 0.3)
    started = time.monotonic()
    response = await deliver(app, fake, entry_point["id"], text_update(760, "hi"))
    assert response.status_code == 200 and time.monotonic() - started >= 0.3
    await settle(services, lambda: asyncio.sleep(0, len(fake.calls_to("sendMessage")) == 1))


async def test_flood_control_is_honoured_then_the_reply_is_sent(app, api, services, fake):
    entry_point = await bot_entry_point(api, services)
    fake.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    await deliver(app, fake, entry_point["id"], text_update(800, "hi"))
    await services.runtime.idle()
    [pending] = await outbound(services)
    assert pending.status.value == "pending" and pending.error.startswith("rate_limited")
    first, second = await fake.wait_for("sendMessage", 2)
    assert second.at - first.at >= 0.95  # retry_after, not the 0.05 s backoff
    await settle(services, lambda: sent_ok(services))
    [event] = await outbound(services)
    assert (event.status.value, event.attempts) == ("sent", 2)
    await asyncio.sleep(0.2)
    assert len(fake.calls_to("sendMessage")) == 2


async def sent_ok(services: Services) -> bool:
    events = await outbound(services)
    return bool(events) and all(event.status.value == "sent" for event in events)


async def failed(services: Services) -> bool:
    events = await outbound(services)
    return bool(events) and all(event.status.value == "failed" for event in events)


async def test_a_blocked_bot_is_a_dead_letter_until_replayed(app, api, services, fake):
    entry_point = await bot_entry_point(api, services)
    fake.fail("sendMessage", 403, BLOCKED)
    await deliver(app, fake, entry_point["id"], text_update(900, "hi"))
    await services.runtime.idle()
    await asyncio.sleep(0.2)  # permanent: no retry
    assert len(fake.calls_to("sendMessage")) == 1
    [message] = await outbound(services)
    assert message.status.value == "failed" and message.attempts == 1

    detail = (await api.get(f"/api/interactions/{message.interaction_id}")).json_body
    shown = {event["id"]: event for event in detail["events"]}
    assert shown[message.id]["status"] == "failed"
    assert "bot was blocked by the user" in shown[message.id]["error"]
    [dead] = [event for event in detail["events"] if event["type"] == "delivery_failed"]
    assert dead["data"]["message"] == message.id and dead["data"]["dead_letter"] is True

    letters = (await api.get("/api/outbox?status=failed")).json_body
    assert [item["id"] for item in letters["items"]] == [message.id]
    assert letters["items"][0]["error"].startswith("recipient_unreachable")
    assert (await api.get("/api/outbox?status=sent")).json_body["items"] == []

    replayed = await api.post(f"/api/outbox/{message.id}/replay")
    assert replayed.status_code == 200
    assert (replayed.json_body["status"], replayed.json_body["attempts"]) == ("pending", 0)
    await settle(services, lambda: sent_ok(services))
    assert len(fake.calls_to("sendMessage")) == 2
    assert (await api.get("/api/outbox?status=failed")).json_body["items"] == []
    again = await api.post(f"/api/outbox/{message.id}/replay")
    assert again.status_code == 409
    assert (await api.post("/api/outbox/unknown/replay")).status_code == 404
    audit = await services.store.audit.collection.find_one({"action": "outbox.replay"})
    assert audit is not None


async def test_an_outage_is_retried_then_dead_lettered_then_replayed(app, api, services, fake):
    entry_point = await bot_entry_point(api, services)
    services.outbox.max_attempts = 3
    fake.fail("sendMessage", 500, "Internal Server Error", times=3)
    await deliver(app, fake, entry_point["id"], text_update(1000, "hi"))
    await settle(services, lambda: failed(services))
    assert len(fake.calls_to("sendMessage")) == 3
    [message] = await outbound(services)
    assert message.attempts == 3 and message.error.startswith("provider_unavailable")
    assert (await api.post(f"/api/outbox/{message.id}/replay")).status_code == 200
    await settle(services, lambda: sent_ok(services))
    assert len(fake.calls_to("sendMessage")) == 4


async def test_the_outbox_api_needs_its_permissions(app, api, anonymous):
    role = {"name": "interaction reader", "permissions": ["interactions:read"]}
    assert (await api.post("/api/roles", json=role)).status_code == 201
    user = {"email": "reader@example.com", "password": "long enough!",
            "roles": ["interaction reader"]}
    assert (await api.post("/api/users", json=user)).status_code == 201
    reader = await login(app, "reader@example.com", "long enough!")
    assert (await reader.get("/api/outbox")).status_code == 200
    assert (await reader.post("/api/outbox/x/replay")).status_code == 403
    assert (await anonymous.get("/api/outbox")).status_code == 401
    assert (await anonymous.post("/api/outbox/x/replay")).status_code == 401


async def test_a_new_token_is_used_on_the_next_send(app, api, services, fake):
    """Credentials are kept opened by their sealed text: a change is a new text, so the
    next send after the change uses the new token, never a stale one."""
    entry_point = await bot_entry_point(api, services)
    await deliver(app, fake, entry_point["id"], text_update(520, "hi"))
    await services.runtime.idle()
    new_token = "654321:ZZHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    changed = await api.patch(f"/api/entry-points/{entry_point['id']}", json={
        "credentials": {"token": new_token}})
    assert changed.status_code == 200, changed.json_body
    hook = fake.webhooks[new_token]
    response = await app.test_client().post(
        hook.url.removeprefix(PUBLIC_URL), data=json.dumps(text_update(521, "tea")).encode(),
        headers=fake.webhook_headers(new_token))
    assert response.status_code == 200
    await services.runtime.idle()
    sends = await fake.wait_for("sendMessage", 2)
    assert [call.token for call in sends] == [TOKEN, new_token]


async def test_a_new_token_is_used_on_the_next_send_in_every_process(app, api, services, fake):
    """The token changes through one process; the next update reaches another process,
    which had the entry point cached from an earlier message: the change reaches its cache
    (a change stream), and its reply goes out with the new token (the old one is revoked,
    as BotFather's /revoke does)."""
    other = create_app(services.settings)  # a second process on the same database
    async with other.test_app():
        entry_point = await bot_entry_point(api, services)
        await deliver(other, fake, entry_point["id"], text_update(530, "hi"))
        await other.extensions["services"].runtime.idle()
        await fake.wait_for("sendMessage", 1)
        new_token = "654321:ZZHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
        changed = await api.patch(f"/api/entry-points/{entry_point['id']}", json={
            "credentials": {"token": new_token}})
        assert changed.status_code == 200, changed.json_body
        cached = other.extensions["services"].store.entry_points._recent
        await settle(services, lambda: asyncio.sleep(0, entry_point["id"] not in cached))
        fake.tokens = {new_token}
        try:
            response = await deliver(other, fake, entry_point["id"], text_update(531, "tea"),
                                     token=new_token)
            assert response.status_code == 200
            sends = await fake.wait_for("sendMessage", 2)
            await asyncio.sleep(0.2)  # nothing else follows
        finally:
            fake.tokens = None
    assert [call.token for call in fake.calls_to("sendMessage")] == [TOKEN, new_token], sends


async def test_a_token_refused_is_checked_against_the_stored_one_before_giving_up(
    app, api, services, fake
):
    """A send in the moment between a change and its news reaching this process's cache:
    the provider refuses the old token, the stored entry point has another, the reply goes
    out with it — once, without waiting for a retry."""
    entry_point = await bot_entry_point(api, services)
    stale = await services.store.entry_points.current(entry_point["id"])
    new_token = "654321:ZZHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    generation = services.store.entry_points.watch.generation
    changed = await api.patch(f"/api/entry-points/{entry_point['id']}", json={
        "credentials": {"token": new_token}})
    assert changed.status_code == 200, changed.json_body
    await settle(services, lambda: asyncio.sleep(  # forgotten here, then the stream's news
        0, services.store.entry_points.watch.generation >= generation + 2))
    services.store.entry_points._recent[entry_point["id"]] = (time.monotonic(), stale)
    fake.tokens = {new_token}
    try:
        response = await deliver(app, fake, entry_point["id"], text_update(540, "tea"),
                                 token=new_token)
        assert response.status_code == 200
        await fake.wait_for("sendMessage", 2)
        await services.runtime.idle()
    finally:
        fake.tokens = None
    assert [call.token for call in fake.calls_to("sendMessage")] == [TOKEN, new_token]
    [reply] = await outbound(services)
    assert reply.status.value == "sent" and reply.attempts == 1


async def test_the_failed_messages_page_resends_and_discards(app, api, services, fake):
    """Operations > Failed messages: the provider's error and its kind, filters, a ticked
    selection resent, one discarded, a second discard refused, each audited."""
    from tests.integration.test_admin_pages import Pages

    entry_point = await bot_entry_point(api, services)
    fake.fail("sendMessage", 403, BLOCKED)
    fake.fail("sendMessage", 403, BLOCKED)
    await deliver(app, fake, entry_point["id"], text_update(910, "hi"))
    await settle(services, lambda: failed(services))
    await deliver(app, fake, entry_point["id"], text_update(911, "Tea"))
    await settle(services, lambda: failed_count(services, 2))
    first, second = sorted(await outbound(services), key=lambda event: event.id)
    assert first.error_kind == "recipient_unreachable"

    pages = Pages(app)
    await pages.log_in()
    status, text, _ = await pages.get("/admin/failed-messages")
    assert status == 200 and "2 failed messages" in text
    assert "bot was blocked by the user" in text and "recipient unreachable" in text
    assert first.id in text and second.id in text
    _, text, _ = await pages.get("/admin/failed-messages?error_kind=rate_limited")
    assert "0 failed messages" in text
    _, text, _ = await pages.get(f"/admin/failed-messages?entry_point={entry_point['id']}")
    assert "2 failed messages" in text

    status, _, response = await pages.post("/admin/failed-messages/resend", {"ids": first.id})
    assert status == 302
    text = await pages.follow(response)
    assert "1 message queued to be sent again." in text
    await settle(services, lambda: status_of(services, first.id, "sent"))
    assert fake.calls_to("sendMessage")[-1].params["text"] == "Tea or coffee?"

    status, _, response = await pages.post("/admin/failed-messages/discard", {"one": second.id})
    assert "1 message discarded." in await pages.follow(response)
    _, _, response = await pages.post("/admin/failed-messages/discard", {"one": second.id})
    text = await pages.follow(response)
    assert "1 not discarded: only a failed message" in text
    again = await api.post(f"/api/outbox/{second.id}/discard")
    assert again.status_code == 409 and "can be discarded" in again.json_body["error"]["message"]
    assert (await api.post("/api/outbox/unknown/discard")).status_code == 404
    _, text, _ = await pages.get("/admin/failed-messages?show=discarded")
    assert second.id in text and "1 discarded message" in text

    actions = {entry["action"]: entry["target_id"]
               for entry in (await api.get("/api/audit?action=outbox")).json_body["items"]}
    assert actions == {"outbox.replay": first.id, "outbox.discard": second.id}
    _, text, _ = await pages.get("/admin/audit?kind=outbox")
    assert "outbox.replay" in text and "outbox.discard" in text and "version.create" not in text


async def failed_count(services: Services, count: int) -> bool:
    events = await outbound(services)
    return sum(event.status.value == "failed" for event in events) == count


async def status_of(services: Services, event_id: str, status: str) -> bool:
    event = await services.store.events.find(event_id)
    return event is not None and event.status is not None and event.status.value == status


async def test_a_slow_step_shows_typing_and_a_customers_photo_is_fetched_with_the_token(
    app, api, services, fake
):
    """The bot calls a web service that takes a moment: Telegram shows "typing…" meanwhile
    (``sendChatAction``; a quick step sends none). A photo the customer sends is fetched
    through ``getFile`` and the file address, which only the service sees."""
    from aiohttp import web as aiohttp_web

    async def slowly(request: aiohttp_web.Request) -> aiohttp_web.Response:
        await asyncio.sleep(1.5)
        return aiohttp_web.json_response({"ok": True})

    server = aiohttp_web.Application()
    server.router.add_get("/slow", slowly)
    runner = aiohttp_web.AppRunner(server)
    await runner.setup()
    site = aiohttp_web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    policy = services.runtime.interpreter.ports.http.policy  # type: ignore[union-attr]
    try:
        await production_routing(services, "drinks", tree(
            action("call", "web_service", {"url": f"http://127.0.0.1:{port}/slow"},
                   success="done", failure="done"),
            action("done", "message", {"text": "Checked."})))
        response = await api.post("/api/entry-points", json={
            "channel": "telegram", "name": "Slow bot", "address": "slow_bot",
            "start_routing": "drinks", "credentials": {"token": TOKEN}})
        entry_point = response.json_body
        policy.allow_private = True  # the slow web service runs on 127.0.0.1
        await deliver(app, fake, entry_point["id"], text_update(700, "check"))
        await fake.wait_for("sendMessage")
        [typing] = fake.calls_to("sendChatAction")
        assert (typing.params["chat_id"], typing.params["action"]) == ("111222333", "typing")
    finally:
        policy.allow_private = False
        await runner.cleanup()
    png = b"\x89PNG fake image bytes"
    fake.files["AgACAgQAAxkB"] = (png, "image/jpeg")
    photo = {"update_id": 701, "message": {
        "message_id": 9, "from": ADA, "chat": CHAT, "date": 1717171717,
        "photo": [{"file_id": "AgACAgQAAxkB", "file_unique_id": "AQAD", "file_size": len(png),
                   "width": 90, "height": 60}]}}
    await deliver(app, fake, entry_point["id"], photo)
    await services.runtime.idle()
    [event] = await services.store.events.all({"type": "inbound", "data.media.kind": "image"})
    item = (await services.media.item(event.id, 0))[1]
    content = await services.media.content(event, 0, item)
    assert (content.data, content.content_type) == (png, "image/jpeg")
    assert fake.calls_to("getFile")[0].params["file_id"] == "AgACAgQAAxkB"
