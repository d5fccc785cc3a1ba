"""The simulator of the version page, in Chromium: chat with the version being edited in
the page's web chat widget, and see the path taken highlighted in the tree."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import Server, shot_path
from tests.browser.test_admin_maker import expect, log_in, unique

pytestmark = pytest.mark.browser


def choice_version(server: Server) -> tuple[str, dict[str, str]]:
    """A development version: a message_choice (Sales / Support), then a message per branch."""
    routing = server.api("POST", "/api/smart-routings", {
        "name": unique("Simulated"), "reference": unique("simulated"), "type": "start",
    })
    version = server.api("POST", f"/api/smart-routings/{routing['id']}/versions", {"name": "V1"})
    ask = server.api("POST", f"/api/versions/{version['id']}/actions", {
        "type": "message_choice", "name": "Ask the topic",
        "params": {"text": "Hello! What do you need?", "choices": [
            {"label": "Sales", "value": "sales", "branch": "sales"},
            {"label": "Support", "value": "support", "branch": "support"},
        ]},
        "after": {"action": version["tree"]["start"]},
    })["id"]
    ids = {"start": version["tree"]["start"], "ask": ask}
    for branch, text in (("sales", "The sales team answers you now."),
                         ("support", "Support will call you back.")):
        ids[branch] = server.api("POST", f"/api/versions/{version['id']}/actions", {
            "type": "message", "name": f"Answer {branch}", "params": {"text": text},
            "after": {"action": ask, "branch": branch},
        })["id"]
    return version["id"], ids


async def test_the_simulator_chats_and_highlights_the_path(page: Any, server: Server) -> None:
    version_id, ids = choice_version(server)
    await log_in(page, server)
    await page.goto(server.url + f"/admin/versions/{version_id}")
    await page.get_by_role("button", name="Simulator").click()
    panel = page.locator(".simulator-panel")
    await expect(panel.get_by_role("heading", name="Chat with V1")).to_be_visible()
    chat = panel.locator("[data-testid=sr-chat]")
    await expect(chat.locator(".sr-status")).to_have_text("online")

    await chat.get_by_label("Message").fill("Hi there")
    await chat.get_by_role("button", name="Send").click()
    await expect(chat.locator(".sr-bot").first).to_have_text("Hello! What do you need?")
    await chat.get_by_role("button", name="Sales").click()
    await expect(chat.locator(".sr-bot").last).to_have_text("The sales team answers you now.")

    tree = page.locator("svg.tree")
    for key in ("ask", "sales"):
        await expect(tree.locator(f'g.box[data-action="{ids[key]}"]')).to_have_class(
            re.compile(r"\bon-path\b")
        )
    classes = await tree.locator(f'g.box[data-action="{ids["support"]}"]').get_attribute("class")
    assert "on-path" not in (classes or "")
    await expect(tree.locator("path.edge.on-path")).to_have_count(2)  # start→ask→sales
    await expect(panel.locator("[data-sim-path] li", has_text="Answer sales")).to_be_visible()
    await page.screenshot(path=shot_path("simulator"), full_page=True)

    # Restart: a fresh visitor, an empty conversation, no path any more.
    await panel.get_by_role("button", name="Restart").click()
    chat = page.locator(".simulator-panel [data-testid=sr-chat]")
    await expect(chat.locator(".sr-status")).to_have_text("online")
    await expect(chat.locator(".sr-msg")).to_have_count(0)
    await expect(tree.locator("g.box.on-path")).to_have_count(0)
    await chat.get_by_label("Message").fill("Again")
    await chat.get_by_role("button", name="Send").click()
    await expect(chat.locator(".sr-bot").first).to_have_text("Hello! What do you need?")
    await chat.get_by_role("button", name="Support").click()
    await expect(chat.locator(".sr-bot").last).to_have_text("Support will call you back.")
    await expect(tree.locator(f'g.box[data-action="{ids["support"]}"]')).to_have_class(
        re.compile(r"\bon-path\b")
    )


async def test_reference_pages_render(page: Any, server: Server) -> None:
    """One screenshot per reference-data and administration page, with some content."""
    server.api("POST", "/api/variables", {"name": unique("hotline").replace("-", "_"),
                                          "type": "text", "value": "0800 123 456"})
    await log_in(page, server)
    for path, name in (("value-tables", "value table"), ("variables", "variable"),
                       ("databases", "database"), ("schedules", "schedule"),
                       ("queues", "queue"), ("users", "user"), ("roles", "role")):
        await page.goto(server.url + f"/admin/{path}")
        await expect(page.locator("h1")).to_be_visible()
        await page.screenshot(path=shot_path(f"ref-{path}"), full_page=True)
        await page.get_by_role("link", name=f"New {name}").first.click()
        await expect(page.get_by_role("heading", name=f"New {name}")).to_be_visible()
        await page.screenshot(path=shot_path(f"ref-{path}-form"), full_page=True)
