"""The agent console in Chromium against a real service: an agent logs in in one browser,
a customer writes in another through the web chat page, the conversation reaches the
agent, is answered, and ends with the end routing's message shown to the customer.

Screenshots go to ``<test output>/agent/``.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Server
from tests.conftest import output_dir

pytestmark = pytest.mark.browser
PASSWORD = "agent console password"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                    "0000000d4944415478da63f8cfc0f01f0005000201a5f0c9a00000000049454e44ae426082")


def expect(target: Any) -> Any:
    from playwright.async_api import expect as playwright_expect

    return playwright_expect(target)


def shot(name: str) -> Path:
    folder = output_dir() / "agent"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{name}.png"


def import_routing(server: Server, reference: str, kind: str, actions: list[Any]) -> None:
    server.api("POST", "/api/smart-routings/import", {
        "format": "smart-routing/1",
        "routing": {"name": reference, "reference": reference, "type": kind},
        "versions": [{"name": "v1", "status": "production", "tree": {
            "start": "start",
            "actions": [{"id": "start", "type": "start", "name": "Start", "params": {},
                         "next": {"next": actions[0]["id"]}}, *actions],
        }}],
    })


def message(action_id: str, text: str) -> dict[str, Any]:
    return {"id": action_id, "type": "message", "name": action_id, "params": {"text": text},
            "next": {}}


def help_desk(server: Server, tag: str) -> tuple[str, str]:
    """A queue, an agent in it, a routing to the queue, an end routing, a web chat."""
    queue, email = f"help-{tag}", f"agent-{tag}@example.com"
    user = server.api("POST", "/api/users", {
        "email": email, "password": PASSWORD, "roles": ["agent"], "agent": {"capacity": 2},
    })
    server.api("POST", "/api/queues", {"name": queue, "members": [user["id"]],
                                       "waiting_message": "Please wait, an agent is coming."})
    import_routing(server, f"desk-{tag}", "start", [
        {"id": "queue", "type": "to_queue", "name": "To the help desk",
         "params": {"queue": queue, "max_wait_seconds": 600},
         "next": {"answered": "hello", "no_agent": "sorry"}},
        message("hello", "You are now chatting with an agent."),
        message("sorry", "Sorry, nobody is available."),
    ])
    import_routing(server, f"thanks-{tag}", "end", [
        message("rate", "Thanks for chatting with us! How would you rate us, 1 to 5?"),
    ])
    server.api("POST", "/api/entry-points", {
        "channel": "webchat", "name": "Help desk", "address": queue,
        "start_routing": f"desk-{tag}", "end_routing": f"thanks-{tag}",
    })
    return queue, email


async def agent_logs_in(console: Any, server: Server, email: str) -> None:
    await console.goto(server.url + "/agent")
    await expect(console.get_by_role("heading", name="Agent login")).to_be_visible()
    await console.get_by_label("E-mail").fill(email)
    await console.get_by_label("Password").fill(PASSWORD)
    await console.screenshot(path=shot("01-login"))
    await console.get_by_role("button", name="Log in").click()
    await expect(console.get_by_test_id("agent-email")).to_have_text(email)
    await console.get_by_test_id("status-available").click()
    await expect(console.get_by_test_id("status-available")).to_have_attribute(
        "aria-pressed", "true")
    await expect(console.get_by_test_id("agent-load")).to_have_text("0 / 2")
    await console.screenshot(path=shot("02-available"))


async def agent_and_customer(server: Server, email: str, address: str, agent_context: Any,
                             customer_context: Any) -> tuple[Any, Any]:
    """The agent's console, logged in and available; the customer's chat page, open."""
    console = await agent_context.new_page()
    console.set_default_timeout(15_000)
    await agent_logs_in(console, server, email)
    chat = await customer_context.new_page()
    chat.set_default_timeout(15_000)
    await chat.goto(f"{server.url}/chat/{address}")
    return console, chat


async def customer_says(chat: Any, text: str) -> None:
    await chat.get_by_label("Message").fill(text)
    await chat.get_by_label("Message").press("Enter")


async def test_an_agent_answers_a_customer_and_ends_with_the_end_routing(
    server: Server, browser: Any
) -> None:
    tag = secrets.token_hex(3)
    address, email = help_desk(server, tag)
    agent_context = await browser.new_context(viewport={"width": 1280, "height": 760})
    customer_context = await browser.new_context(viewport={"width": 760, "height": 760})
    try:
        console, chat = await agent_and_customer(server, email, address, agent_context,
                                                 customer_context)
        await expect(chat.locator(".sr-status")).to_have_text("online")
        await customer_says(chat, "Hello, my parcel is late")
        bot = chat.locator(".sr-bot")
        await expect(bot.filter(has_text="Please wait, an agent is coming.")).to_be_visible()
        await expect(bot.filter(has_text="You are now chatting with an agent.")).to_be_visible()
        await chat.screenshot(path=shot("03-customer-queued"))

        await expect(console.get_by_test_id("conversation")).to_have_count(1)
        # the contact as a person reads it, with its channel, not an opaque visitor id
        await expect(console.get_by_test_id("conversation")).to_contain_text("Web chat visitor …")
        await expect(console.get_by_test_id("conversation")).to_contain_text("Web chat")
        history = console.get_by_test_id("history")
        await expect(history.get_by_text("Hello, my parcel is late")).to_be_visible()
        await expect(history.get_by_text("Assigned to " + email, exact=False)).to_be_visible()
        await expect(console.get_by_test_id("agent-load")).to_have_text("1 / 2")

        await customer_says(chat, "Order 1234, sent last week")
        await expect(history.get_by_text("Order 1234, sent last week")).to_be_visible()
        await console.get_by_test_id("reply").fill("Sorry about that! It leaves today.")
        await console.get_by_test_id("send").click()
        # a person answers: the widget says who, apart from the bot's messages
        answer = chat.locator(".sr-agent").filter(has_text="Sorry about that! It leaves today.")
        await expect(answer).to_be_visible()
        await expect(chat.locator(".sr-sender").last).to_contain_text(f"Agent-{tag} (agent)")
        await expect(chat.locator(".sr-sender .sr-avatar").last).to_have_text("A")
        await expect(bot.filter(has_text="Sorry about that!")).to_have_count(0)
        await expect(chat.get_by_text(email)).to_have_count(0)  # never the agent's e-mail
        await expect(history.get_by_text("Sorry about that! It leaves today.")).to_be_visible()
        # the customer has the chat in front: the agent sees the answer read, live
        await chat.bring_to_front()
        mine = history.get_by_test_id("outbound-message").filter(has_text="It leaves today")
        await expect(mine).to_have_attribute("data-status", "read")
        await expect(mine).to_contain_text("read \u2713\u2713")
        await console.screenshot(path=shot("04-agent-conversation"))
        await chat.screenshot(path=shot("05-customer-answered"))

        await console.get_by_test_id("end").click()
        await expect(console.get_by_test_id("conversation")).to_have_count(0)
        await expect(console.get_by_text("Conversation ended.")).to_be_visible()
        await expect(bot.filter(has_text="How would you rate us, 1 to 5?")).to_be_visible()
        await expect(console.get_by_test_id("agent-load")).to_have_text("0 / 2")
        await console.screenshot(path=shot("06-agent-ended"))
        await chat.screenshot(path=shot("07-customer-end-routing"))
    finally:
        await agent_context.close()
        await customer_context.close()


async def test_beside_the_conversation_the_agent_sees_who_what_was_collected_and_notes(
    server: Server, browser: Any
) -> None:
    tag = secrets.token_hex(3)
    queue, email = f"ctx-{tag}", f"ctx-{tag}@example.com"
    user = server.api("POST", "/api/users", {
        "email": email, "password": PASSWORD, "roles": ["agent"], "agent": {"capacity": 2}})
    server.api("POST", "/api/queues", {"name": queue, "members": [user["id"]]})
    import_routing(server, f"ctx-desk-{tag}", "start", [
        {"id": "ask", "type": "message_wait", "name": "Name",
         "params": {"text": "Your name?", "into": "name"}, "next": {"answered": "queue"}},
        {"id": "queue", "type": "to_queue", "name": "To the desk",
         "params": {"queue": queue, "max_wait_seconds": 600}, "next": {}},
    ])
    server.api("POST", "/api/entry-points", {
        "channel": "webchat", "name": "Context desk", "address": queue,
        "start_routing": f"ctx-desk-{tag}"})
    if not any(table["name"] == "canned_replies"
               for table in server.api("GET", "/api/value-tables")["items"]):
        server.api("POST", "/api/value-tables", {
            "name": "canned_replies", "columns": ["label", "text"],
            "rows": [{"label": "Parcel late", "text": "Hello {{ vars.name }}, it leaves today."}]})
    agent_context = await browser.new_context(viewport={"width": 1400, "height": 800})
    customer_context = await browser.new_context(locale="fr-FR",
                                                 viewport={"width": 700, "height": 700})
    try:
        console, chat = await agent_and_customer(server, email, queue, agent_context,
                                                 customer_context)
        await customer_says(chat, "bonjour")
        await expect(chat.locator(".sr-bot").filter(has_text="Your name?")).to_be_visible()
        await customer_says(chat, "Zoé")
        await expect(console.get_by_test_id("conversation")).to_have_count(1)
        context = console.get_by_test_id("context")
        await expect(console.get_by_test_id("ctx-contact")).to_contain_text("fr-fr")
        await expect(console.get_by_test_id("ctx-variables")).to_contain_text("Zoé")
        await console.get_by_test_id("ctx-canned").get_by_role(
            "button", name="Parcel late").click()
        await expect(console.get_by_test_id("reply")).to_have_value(
            "Hello Zoé, it leaves today.")
        await console.get_by_test_id("note").fill("VIP customer, be quick")
        await console.get_by_test_id("add-note").click()
        await expect(console.get_by_test_id("ctx-notes")).to_contain_text(
            "VIP customer, be quick")
        await expect(console.get_by_test_id("history")).to_contain_text(
            "Note by " + email + ": VIP customer, be quick")
        await console.get_by_test_id("send").click()
        await expect(chat.locator(".sr-agent").filter(
            has_text="Hello Zoé, it leaves today.")).to_be_visible()
        await expect(chat.get_by_text("VIP customer")).to_have_count(0)  # never sent
        photo = Path(str(shot("parcel"))).with_suffix(".png")
        photo.write_bytes(PNG)
        await console.get_by_test_id("reply-file").set_input_files(str(photo))
        await expect(console.locator(".ac-sent-media")).to_have_count(1)
        sent = chat.locator(".sr-agent img.sr-media")
        await expect(sent).to_have_count(1)
        await chat.wait_for_function(
            "() => document.querySelector('.sr-agent img.sr-media').naturalWidth > 0")
        await chat.locator(".sr-file").set_input_files(str(photo))  # the customer's photo
        theirs = console.get_by_test_id("media-image").locator("img")
        await expect(theirs).to_have_count(1)  # fetched with the agent's token, shown
        await console.wait_for_function(
            "() => document.querySelector('[data-testid=media-image] img').naturalWidth > 0")
        await expect(context).to_be_visible()
        await console.screenshot(path=shot("08-agent-context"))
    finally:
        await agent_context.close()
        await customer_context.close()


async def test_the_console_speaks_the_agents_language(server: Server, browser: Any) -> None:
    tag = secrets.token_hex(3)
    _, email = help_desk(server, tag)
    context = await browser.new_context(locale="fr-FR")
    try:
        console = await context.new_page()
        await console.goto(server.url + "/agent")
        await expect(console.get_by_role("heading", name="Connexion conseiller")).to_be_visible()
        await console.get_by_label("E-mail").fill(email)
        await console.get_by_label("Password").fill(PASSWORD)
        await console.get_by_role("button", name="Log in").click()
        await expect(console.get_by_test_id("status-available")).to_have_text("Disponible")
        await expect(console.get_by_role("heading", name="Mes tâches")).to_be_visible()
        assert await console.evaluate("document.documentElement.lang") == "fr"
    finally:
        await context.close()
