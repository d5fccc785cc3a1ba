"""A newcomer's first hour, in one walk through Chromium: the service as `make run`
leaves it, the login, a routing built with the palette by the actions' names, a
validation warning seen and fixed, test mode explained and the simulator used,
production, a web chat conversation to its end, and an agent answering a named contact.

Screenshots go to ``<test output>/first-hour/``.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from tests.browser.conftest import Server
from tests.browser.test_admin_maker import create_routing, create_version, expect, log_in
from tests.browser.test_agent_console import PASSWORD, agent_and_customer, customer_says
from tests.conftest import output_dir

pytestmark = pytest.mark.browser


def shot(name: str) -> str:
    folder = output_dir() / "first-hour"
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder / f"{name}.png")


async def pick(page: Any, opener: Any, words: str) -> Any:
    """Open an add point, find the action in the palette by words of its name, Enter."""
    await opener.click()
    search = page.get_by_test_id("palette-search")
    await search.fill(words)
    await search.press("Enter")
    form = page.locator("form.action-form")
    await expect(form).to_be_visible()
    return form


async def build_the_routing(page: Any, server: Server) -> tuple[str, str, str, str]:
    """A routing built with the palette: a question, its warning seen, then a queue after
    the answer (the warning gone); (name, reference, routing page, the agent's e-mail)."""
    name = f"Help desk {secrets.token_hex(2)}"
    reference = await create_routing(page, server, name)
    routing_url = page.url
    await create_version(page, "First")
    tree = page.locator("svg.tree")
    form = await pick(page, tree.locator("a.add-end").first, "awaiting response")
    await form.locator('[name="name"]').fill("Ask the name")
    await form.locator('[name="p.text"]').fill("Hello! Your name?")
    await form.locator('[name="p.into"]').fill("name")
    await form.get_by_role("button", name="Add the action").click()
    await expect(page.locator(".flash-success")).to_contain_text("Action added")
    # the answer leads nowhere: the version page says what the customer would suffer
    version_url = page.url.split("?")[0]
    await page.goto(version_url)
    validation = page.locator("section.panel", has=page.get_by_role(
        "heading", name="Validation", exact=True))
    warning = validation.locator(".finding-warning", has_text="nothing follows")
    await expect(warning).to_be_visible()
    await page.screenshot(path=shot("02-warning"))
    queue = f"desk-{secrets.token_hex(3)}"
    agent_email = f"{queue}@example.com"
    user = server.api("POST", "/api/users", {"email": agent_email, "password": PASSWORD,
                                             "roles": ["agent"], "agent": {"capacity": 2}})
    server.api("POST", "/api/queues", {"name": queue, "members": [user["id"]]})
    form = await pick(page, tree.locator("a.add-end").first, "distribution queue")
    await form.locator('[name="p.queue"]').select_option(queue)
    await form.get_by_role("button", name="Add the action").click()
    await expect(page.locator(".flash-success")).to_contain_text("Action added")
    await page.goto(version_url)
    await expect(warning).to_have_count(0)  # fixed
    return name, reference, routing_url, agent_email


async def try_then_publish(page: Any, routing_url: str) -> None:
    """Test mode explained where the admin looks; the simulator; then production."""
    await expect(page.get_by_text("Web chat has no test mode")).to_be_visible()
    await page.get_by_role("button", name="Simulator").click()
    chat = page.locator(".simulator-panel [data-testid=sr-chat]")
    await expect(chat.locator(".sr-status")).to_have_text("online")
    await chat.get_by_label("Message").fill("Hi")
    await chat.get_by_role("button", name="Send", exact=True).click()
    await expect(chat.locator(".sr-bot").first).to_have_text("Hello! Your name?")
    await page.screenshot(path=shot("03-simulator"))
    await page.goto(routing_url)
    card = page.locator('.version-card[data-version="First"]')
    await card.get_by_role("button", name="Put in production").click()
    await page.locator("dialog[open]").get_by_role("button", name="Put in production").click()
    await expect(page.locator(".flash-success")).to_contain_text("is in production")


async def test_the_first_hour_from_make_run_to_an_agent_answering(
    page: Any, server: Server, browser: Any
) -> None:
    await page.goto(server.url + "/")  # `make run`'s address leads to the panel
    await expect(page.get_by_role("heading", name="Log in to the admin panel")).to_be_visible()
    await log_in(page, server)
    await page.screenshot(path=shot("01-home"))
    name, reference, routing_url, agent_email = await build_the_routing(page, server)
    await try_then_publish(page, routing_url)
    address = f"site-{secrets.token_hex(3)}"
    await page.goto(server.url + "/admin/entry-points/new")
    await page.locator('input[name="name"]').fill("Site")
    await page.locator('input[name="address"]').fill(address)
    await page.locator('select[name="start_routing"]').select_option(label=f"{name} ({reference})")
    await page.get_by_role("button", name="Create").first.click()
    await expect(page.locator(".flash-success")).to_contain_text("Entry point Site created")

    agent_context = await browser.new_context(viewport={"width": 1280, "height": 760})
    customer_context = await browser.new_context(viewport={"width": 760, "height": 760})
    try:
        console, customer = await agent_and_customer(server, agent_email, address,
                                                     agent_context, customer_context)
        widget = customer.get_by_test_id("sr-chat")
        await expect(widget.locator(".sr-status")).to_have_text("online")
        await customer_says(widget, "hello")
        await expect(widget.locator(".sr-bot").first).to_have_text("Hello! Your name?")
        await customer_says(widget, "Zoé")
        await expect(console.get_by_test_id("conversation")).to_contain_text("Zoé")  # named
        await console.get_by_test_id("reply").fill("Hello Zoé, how can I help?")
        await console.get_by_test_id("send").click()
        await expect(widget.locator(".sr-agent")).to_contain_text("Hello Zoé, how can I help?")
        await console.get_by_test_id("end").click()
        await expect(widget.get_by_test_id("sr-ended")).to_contain_text(
            "This conversation has ended.")  # the widget's end state, with Start again
        await expect(widget.get_by_role("button", name="Start again")).to_be_visible()
        await console.screenshot(path=shot("04-agent"))
        await customer.screenshot(path=shot("05-customer-ended"))
    finally:
        await agent_context.close()
        await customer_context.close()
