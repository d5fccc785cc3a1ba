"""Ready to shard: every command a conversation's turns send to ``interactions``, ``events``
and ``contacts`` names the shard key docs/deploy.md documents, so a sharded cluster routes
each to one shard. The commands are recorded with PyMongo's command monitoring while a
Telegram conversation (its first message and a follow-up) runs through the real app.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient, monitoring

import routing_core.store as store_module
from config import Settings
from tests.support.apps import app_of_its_own
from tests.support.fake_telegram import FakeTelegram
from tests.support.routings import DRINKS, production_routing

TOKEN = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
# collection → the fields of its shard key
SHARD_KEYS = {"interactions": ("entry_point_id", "contact"),
              "events": ("entry_point_id", "contact"),
              "contacts": ("entry_point_id", "external_id")}
FILTERS = {"find": "filter", "findAndModify": "query", "count": "query",
           "aggregate": "pipeline", "distinct": "query"}


class Recorder(monitoring.CommandListener):
    """The commands sent to one database while ``on``; given to the app's client only (a
    listener registered for the whole process would watch every other test's clients)."""

    def __init__(self) -> None:
        self.database = ""
        self.on = False
        self.commands: list[tuple[str, str, list[dict[str, Any]]]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if not self.on or event.database_name != self.database:
            return
        name, command = event.command_name, event.command
        collection = command.get(name)
        if collection not in SHARD_KEYS:
            return
        if name == "insert":
            shapes = list(command.get("documents", []))
        elif name in ("update", "delete"):
            shapes = [statement["q"] for statement in command.get(
                "updates" if name == "update" else "deletes", [])]
        elif name == "aggregate":
            shapes = [stage["$match"] for stage in command.get("pipeline", [])[:1]
                      if "$match" in stage] or [{}]
        else:
            shapes = [command.get(FILTERS.get(name, "filter")) or {}]
        self.commands.append((name, str(collection), shapes))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None


RECORDER = Recorder()


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram()
    await server.start()
    yield server
    await server.stop()


def update(update_id: int, text: str) -> dict[str, Any]:
    person = {"id": 424242, "is_bot": False, "first_name": "Ada"}
    return {"update_id": update_id, "message": {
        "message_id": update_id, "from": person, "date": 1717171717, "text": text,
        "chat": {"id": 424242, "first_name": "Ada", "type": "private"}}}


async def replies(fake: FakeTelegram, count: int) -> list[str]:
    for _ in range(100):
        texts = [call.params.get("text", "") for call in fake.calls_to("sendMessage")]
        if len(texts) >= count:
            return texts
        await asyncio.sleep(0.05)
    return texts


async def test_a_conversation_s_commands_each_name_the_shard_key(
    settings: Settings, fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "AsyncMongoClient", functools.partial(
        AsyncMongoClient, event_listeners=[RECORDER]))
    async with app_of_its_own(settings, "shards", telegram_api_base=fake.url,
                              public_url="https://bots.example.com",
                              sweep_seconds=3600) as app:
        services = app.extensions["services"]
        await production_routing(services, "drinks", DRINKS)
        client = app.test_client()
        login = await client.post("/api/auth/login", json={
            "email": settings.admin_email, "password": settings.admin_password})
        token = (await login.get_json())["token"]
        created = await client.post("/api/entry-points", headers={
            "Authorization": f"Bearer {token}"}, json={
            "channel": "telegram", "name": "Drinks bot", "address": "drinks_bot",
            "start_routing": "drinks", "credentials": {"token": TOKEN}})
        entry_point = (await created.get_json())["id"]
        webhook = f"/webhooks/telegram/{entry_point}"
        headers = fake.webhook_headers(TOKEN)
        RECORDER.database, RECORDER.on, RECORDER.commands = (
            services.store.database.name, True, [])
        try:
            first = await client.post(webhook, json=update(1, "hello"), headers=headers)
            assert first.status_code == 200
            assert len(await replies(fake, 1)) >= 1
            await services.runtime.idle()
            follow_up = await client.post(webhook, json=update(2, "tea"), headers=headers)
            assert follow_up.status_code == 200
            await services.runtime.idle()
            await asyncio.sleep(0.2)  # the outcome of the last send is recorded
        finally:
            RECORDER.on = False
    checked = []
    for name, collection, shapes in RECORDER.commands:
        for shape in shapes:
            missing = [field for field in SHARD_KEYS[collection] if field not in shape]
            assert not missing, f"{name} on {collection} lacks {missing}: {shape}"
        checked.append(f"{name} {collection}")
    print("hot-path commands checked:", ", ".join(checked))
    assert {"insert interactions", "findAndModify interactions", "update events",
            "insert events"} <= set(checked), checked
