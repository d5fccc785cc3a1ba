"""The demo bot installed on first start answers on /chat/demo."""

from __future__ import annotations

import asyncio

from bots.demo import install_demo
from tests.integration.test_webchat import receive


async def test_demo_bot_is_installed_once_and_talks(app, services):
    assert await install_demo(services) is True
    assert await install_demo(services) is False
    client = app.test_client()
    page = await client.get("/chat/demo")
    assert page.status_code == 200
    assert "widget.js" in await page.get_data(as_text=True)
    async with client.websocket("/chat/demo/ws?visitor=demo-visitor-1") as socket:
        await receive(socket, "history")
        await socket.send_json({"type": "message", "text": "hi"})
        texts = []
        while True:
            frame = await receive(socket)
            texts.append(frame["text"])
            if frame.get("choices"):
                break
        assert texts[0] == "Hi! I am the smart-routing demo bot."
        assert texts[1].startswith("Our office")  or texts[1].startswith("Today is")
        await socket.send_json({"type": "choice", "value": "price"})
        assert (await receive(socket))["text"].startswith("Which product code?")
        await socket.send_json({"type": "message", "text": "zz"})
        assert (await receive(socket))["text"].startswith("A product code is")
        await socket.send_json({"type": "message", "text": "b200"})
        assert (await receive(socket))["text"] == "Red gadget costs 30 EUR."
        assert (await receive(socket))["text"] == "What would you like to do?"
        await socket.send_json({"type": "message", "text": "goodbye"})
        assert (await receive(socket))["text"].startswith("Goodbye")


async def test_processes_starting_together_install_one_demo_and_all_start(services):
    """`serve --workers N`: every worker installs the demo on start at the same moment; one
    does, the others find each piece there — none fails its start on a name taken meanwhile."""
    results = await asyncio.gather(*(install_demo(services) for _ in range(4)))
    assert results.count(True) == 1
    assert await services.store.entry_points.collection.count_documents({"address": "demo"}) == 1
    assert await services.store.schedules.collection.count_documents({}) == 1
    assert await services.store.value_tables.collection.count_documents({}) >= 1
