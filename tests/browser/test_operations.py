"""Operations, walked in Chromium as an operator on call would: the home page, a
conversation found by its contact with its path on the tree, a failed message resent and
seen arriving at the (fake) Bot API, its audit line, a stuck conversation repaired and
going on, and counts on the tree that match the conversations that ran.

A service of its own, whose Bot API is a fake Telegram on 127.0.0.1; updates reach its
webhook as Telegram sends them (the secret header). Screenshots of each page are left in
``test-output/admin/operations-*.png``."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from pymongo import MongoClient

from tests.browser.conftest import Server, serving, shot_path
from tests.browser.test_admin_maker import expect, log_in
from tests.support.fake_telegram import BLOCKED, FakeTelegram

pytestmark = pytest.mark.browser

TOKEN = "424242:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsops"
DRINKS = {
    "start": "start",
    "actions": [
        {"id": "start", "type": "start", "next": {"next": "ask"}},
        {"id": "ask", "type": "message_choice", "name": "Ask tea or coffee", "params": {
            "text": "Tea or coffee?",
            "choices": [{"label": "Tea", "value": "tea", "branch": "tea"},
                        {"label": "Coffee", "value": "coffee", "branch": "coffee"}]},
         "next": {"tea": "tea", "coffee": "coffee"}},
        {"id": "tea", "type": "message", "name": "Serve tea",
         "params": {"text": "Tea it is."}, "next": {}},
        {"id": "coffee", "type": "message", "name": "Serve coffee",
         "params": {"text": "Coffee it is."}, "next": {}},
    ],
}
PEOPLE = {"ada": (5001, "Ada", "Lovelace"), "grace": (5002, "Grace", "Hopper"),
          "linus": (5003, "Linus", "Torvalds")}


class Operations:
    """The service, its fake Bot API, and Telegram's side of each chat."""

    def __init__(self, server: Server, telegram: FakeTelegram, entry_point_id: str):
        self.server = server
        self.telegram = telegram
        self.entry_point_id = entry_point_id
        self.update_id = 1000

    async def say(self, who: str, text: str) -> None:
        chat_id, first, last = PEOPLE[who]
        self.update_id += 1
        person = {"id": chat_id, "is_bot": False, "first_name": first, "last_name": last}
        update = {"update_id": self.update_id, "message": {
            "message_id": self.update_id, "from": person, "date": int(time.time()),
            "chat": {"id": chat_id, "first_name": first, "last_name": last, "type": "private"},
            "text": text}}
        hook = self.telegram.webhooks[TOKEN]
        async with aiohttp.ClientSession() as session, session.post(
            f"{self.server.url}/webhooks/telegram/{self.entry_point_id}", json=update,
            headers=self.telegram.webhook_headers(TOKEN),
        ) as reply:
            assert reply.status == 200, await reply.text()
        assert hook.url.endswith(self.entry_point_id)

    def sent_to(self, who: str) -> list[str]:
        chat_id = str(PEOPLE[who][0])
        return [str(call.params.get("text")) for call in self.telegram.calls_to("sendMessage")
                if str(call.params.get("chat_id")) == chat_id]

    async def until_sent(self, who: str, count: int, timeout: float = 10.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while len(self.sent_to(who)) < count:
            assert time.monotonic() < deadline, (who, self.sent_to(who))
            await asyncio.sleep(0.05)
        return self.sent_to(who)


@pytest_asyncio.fixture(scope="module")
async def operations(mongodb_uri: str, tmp_path_factory: pytest.TempPathFactory
                     ) -> AsyncIterator[Operations]:
    telegram = FakeTelegram()
    base = await telegram.start()
    try:
        with serving(mongodb_uri, tmp_path_factory.mktemp("operations-data"),
                     SR_TELEGRAM_API_BASE=base, SR_PUBLIC_URL="https://bots.example.com",
                     SR_SWEEP_SECONDS="0.2") as server:
            routing = server.api("POST", "/api/smart-routings/import", {
                "routing": {"name": "Drinks", "reference": "drinks", "type": "start"},
                "versions": [{"name": "v1", "status": "production", "tree": DRINKS}],
            })
            entry_point = await asyncio.to_thread(server.api, "POST", "/api/entry-points", {
                "channel": "telegram", "name": "Drinks bot", "address": "drinks_bot",
                "start_routing": routing["id"], "credentials": {"token": TOKEN}})
            yield Operations(server, telegram, entry_point["id"])
    finally:
        await telegram.stop()


def age_waiting_conversations(server: Server, hours: int) -> None:
    """As if the conversations waiting now had been waiting ``hours`` (time passing)."""
    client: MongoClient[Any] = MongoClient(server.mongodb_uri)
    try:
        interactions = client[server.database]["interactions"]
        moment = interactions.find_one({"active": True})["updated_at"]  # type: ignore[index]
        from datetime import timedelta

        interactions.update_many({"active": True},
                                 {"$set": {"updated_at": moment - timedelta(hours=hours)}})
    finally:
        client.close()


async def test_an_operator_finds_repairs_and_measures(page: Any,
                                                      operations: Operations) -> None:
    server = operations.server
    # Ada chooses tea; Grace's bot is blocked when she says hi; Linus never answers.
    await operations.say("ada", "hi")
    await operations.until_sent("ada", 1)
    await operations.say("ada", "Tea")
    assert await operations.until_sent("ada", 2) == ["Tea or coffee?", "Tea it is."]
    operations.telegram.fail("sendMessage", 403, BLOCKED)
    await operations.say("grace", "hello")
    await operations.until_sent("grace", 1)  # the call that failed
    await operations.say("linus", "hey")
    await operations.until_sent("linus", 1)
    await asyncio.to_thread(age_waiting_conversations, server, 2)

    await log_in(page, server)
    await page.goto(server.url + "/admin")
    await expect(page.get_by_role("heading", name="At a glance")).to_be_visible()
    await expect(page.locator('[data-figure="live"] .figure-value')).to_have_text("2")
    await expect(page.locator('[data-figure="failed"] .figure-value')).to_have_text("1")
    await page.screenshot(path=shot_path("operations-home"), full_page=True)
    await find_adas_conversation(page)
    await resend_graces_message(page, operations)
    await repair_linus_conversation(page, operations)
    await read_the_counts(page)


async def find_adas_conversation(page: Any) -> None:
    """Find Ada's conversation by her name, open it, see her path on the tree."""
    await page.get_by_role("link", name="Conversations").first.click()
    await page.get_by_label("Contact").fill("ada")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.locator("[data-count]")).to_contain_text("1 conversation,")
    await page.screenshot(path=shot_path("operations-conversations"), full_page=True)
    await page.locator("tr[data-interaction] a").first.click()
    await expect(page.get_by_role("heading", name="Conversation with Ada Lovelace")).to_be_visible()
    await expect(page.locator("dd[data-state]")).to_contain_text("Ended")
    tree = page.locator("svg.tree")
    for action in ("ask", "tea"):
        await expect(tree.locator(f'g.box[data-action="{action}"]')).to_have_class(
            re.compile(r"\bon-path\b"))
    classes = await tree.locator('g.box[data-action="coffee"]').get_attribute("class")
    assert "on-path" not in (classes or "")
    await page.screenshot(path=shot_path("operations-conversation"), full_page=True)


async def resend_graces_message(page: Any, operations: Operations) -> None:
    """Resend Grace's failed message: it reaches the Bot API this time; the audit log says
    who resent it."""
    await page.get_by_role("link", name="Failed messages").click()
    row = page.locator("tr[data-message]")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("bot was blocked by the user")
    await page.screenshot(path=shot_path("operations-failed-messages"), full_page=True)
    await row.get_by_role("button", name="Resend").click()
    await expect(page.locator(".flash-success")).to_have_text(
        "1 message queued to be sent again.")
    assert await operations.until_sent("grace", 2) == ["Tea or coffee?", "Tea or coffee?"]
    assert operations.telegram.calls_to("sendMessage")[-1].params["chat_id"] in (5002, "5002")

    await page.get_by_role("link", name="Audit log").click()
    await page.get_by_label("What").select_option("outbox.replay")
    await page.get_by_role("button", name="Filter").click()
    line = page.locator('tr[data-audit="outbox.replay"]')
    await expect(line).to_have_count(1)
    await expect(line).to_contain_text("admin@example.com")
    await page.screenshot(path=shot_path("operations-audit"), full_page=True)


async def repair_linus_conversation(page: Any, operations: Operations) -> None:
    """Linus waits for over an hour: ask him again, and he answers this time."""
    await page.get_by_role("link", name="Stuck conversations").click()
    stuck = page.locator("tr[data-stuck]", has_text="Linus Torvalds")
    await expect(stuck.locator('[data-reason="waiting_too_long"]')).to_be_visible()
    await page.screenshot(path=shot_path("operations-stuck"), full_page=True)
    await stuck.get_by_role("button", name="Run its action again").click()
    await expect(page.locator(".flash-success")).to_have_text(
        "The conversation was run again from its current action.")
    assert await operations.until_sent("linus", 2) == ["Tea or coffee?", "Tea or coffee?"]
    await operations.say("linus", "Coffee")
    assert (await operations.until_sent("linus", 3))[-1] == "Coffee it is."


async def read_the_counts(page: Any) -> None:
    """The counts on the tree match what ran: 3 asked, 1 tea, 1 coffee."""
    await page.get_by_role("link", name="Statistics").click()
    await expect(page.locator('[data-total="started"] .figure-value')).to_have_text("3")
    tree = page.locator("svg.tree")
    await expect(tree.locator('g.box[data-action="ask"] .box-count')).to_have_attribute(
        "data-count", "3")
    await expect(tree.locator('[data-link="ask:tea"]')).to_have_attribute("data-count", "1")
    await expect(tree.locator('[data-link="ask:coffee"]')).to_have_attribute("data-count", "1")
    await page.screenshot(path=shot_path("operations-statistics"), full_page=True)
