"""Safe change in Chromium: compare a candidate with production on the tree, undo and redo
an edit, replay production's conversations through it and read the report, read the diff
and the impact (two conversations waiting on production) in the production confirmation,
then put the candidate in production."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import aiohttp
import pytest

from tests.browser.conftest import Server, shot_path
from tests.browser.test_admin_maker import expect, log_in, unique

pytestmark = pytest.mark.browser

TREE = {
    "start": "start",
    "actions": [
        {"id": "start", "type": "start", "next": {"next": "ask"}},
        {"id": "ask", "type": "message_wait", "name": "Ask the order",
         "params": {"text": "Your order number?", "into": "order"},
         "next": {"answered": "thanks", "invalid": None, "timeout": None}},
        {"id": "thanks", "type": "message", "name": "Thank",
         "params": {"text": "Thanks, we look into it."}, "next": {}},
    ],
}


async def chat(server: Server, address: str, visitor: str, text: str) -> None:
    """A visitor writes through the web chat and waits for the bot's first answer."""
    url = server.url.replace("http", "ws") + f"/chat/{address}/ws?visitor={visitor}"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as socket:
        await socket.send_json({"type": "message", "text": text, "id": f"{visitor}-1"})
        async for frame in socket:  # the bot's question comes as a message frame
            if frame.type == aiohttp.WSMsgType.TEXT and frame.json().get("type") == "message":
                return


async def test_compare_confirm_undo_and_produce(page: Any, server: Server) -> None:
    reference = unique("orders")
    routing = server.api("POST", "/api/smart-routings/import", {
        "routing": {"name": reference, "reference": reference, "type": "start"},
        "versions": [{"name": "v1", "status": "production", "tree": TREE}],
    })
    address = unique("orders-site")
    server.api("POST", "/api/entry-points", {"channel": "webchat", "name": address,
                                             "address": address,
                                             "start_routing": routing["id"]})
    for visitor in ("visitor-ann", "visitor-ben"):
        await asyncio.wait_for(chat(server, address, visitor, "hello"), 10)
    production = server.api("GET", f"/api/smart-routings/{routing['id']}/versions")["items"][0]
    candidate = server.api("POST", f"/api/versions/{production['id']}/duplicate",
                           {"name": "v2"})
    server.api("PATCH", f"/api/versions/{candidate['id']}/actions/thanks",
               {"params": {"text": "Thanks! An agent answers within the hour."}})

    await log_in(page, server)
    await page.goto(server.url + f"/admin/versions/{candidate['id']}")
    await page.get_by_role("link", name="Compare with production").click()
    await expect(page.locator('g.box[data-action="thanks"]')).to_have_class(
        re.compile(r"\bdiff-changed\b"))
    changes = page.locator("section[aria-labelledby=changes-heading]")
    await expect(changes.locator("[data-diff-summary]")).to_have_text(
        "0 added · 1 changed · 0 removed, from v1")
    await expect(changes.locator('[data-param="text"]')).to_contain_text(
        "Thanks, we look into it. → Thanks! An agent answers within the hour.")
    await page.screenshot(path=shot_path("safe-change-diff"), full_page=True)

    # undo the edit, redo it: the tree follows, the history survives a reload
    await page.get_by_role("button", name="↶ Undo").click()
    await expect(page.locator(".flash-success")).to_have_text("Edit undone.")
    await page.reload()
    await expect(page.get_by_role("button", name="↷ Redo")).to_be_enabled()
    await expect(page.get_by_role("button", name="↶ Undo")).to_be_disabled()
    await page.get_by_role("button", name="↷ Redo").click()
    await expect(page.locator(".flash-success")).to_have_text("Edit made again.")

    # replay production's conversations through it: both asked the same question
    replay = page.locator("section[aria-labelledby=replay-heading]")
    await replay.get_by_label("Newest conversations").fill("10")
    await replay.get_by_role("button", name="Replay").click()
    await expect(page.locator("[data-replay-status]")).to_have_attribute(
        "data-replay-status", "done")
    await expect(page.locator('[data-verdict="same"] .figure-value')).to_have_text("2")
    await expect(page.locator('[data-verdict="different_replies"] .figure-value')
                 ).to_have_text("0")
    await page.screenshot(path=shot_path("safe-change-replay"), full_page=True)
    await page.goto(server.url + f"/admin/versions/{candidate['id']}")

    # the confirmation says what changes and what it touches, then production
    await page.get_by_role("button", name="Put in production").first.click()
    dialog = page.locator(f"#production-{candidate['id']}")
    await expect(dialog.locator("[data-diff-summary]")).to_contain_text("1 changed")
    await expect(dialog.locator("[data-waiting-total]")).to_have_attribute(
        "data-waiting-total", "2")
    await expect(dialog.locator('[data-waiting-action="ask"]')).to_contain_text(
        "2 waiting on Ask the order")
    await expect(dialog).to_contain_text("they stay on it")
    await page.screenshot(path=shot_path("safe-change-confirmation"), full_page=True)
    await dialog.get_by_role("button", name="Put in production").click()
    await expect(page.locator(".flash-success")).to_contain_text(
        "Version v2 is in production. Version v1 is now in backup.")
