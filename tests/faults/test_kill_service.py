"""The service killed with SIGKILL at random moments under web chat traffic, and restarted:
every accepted message gets exactly one reply, no interaction is stuck, no timer is lost."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter

import pytest
from pymongo import AsyncMongoClient

from tests.faults.traffic import ECHO_TREE, Visitor, talk
from tests.support.service import ServiceProcess

pytestmark = pytest.mark.slow
KILLS = 5
VISITORS = 12


def install(service: ServiceProcess) -> None:
    routing = service.api("POST", "/api/smart-routings/import", {
        "routing": {"name": "faults", "reference": "faults", "type": "start"},
        "versions": [{"name": "v1", "status": "production", "tree": ECHO_TREE}],
    })
    service.api("POST", "/api/entry-points", {
        "channel": "webchat", "name": "faults", "address": "faults",
        "start_routing": routing["id"]})


async def outbound_texts(mongodb_uri: str, database: str) -> Counter[str]:
    client: AsyncMongoClient = AsyncMongoClient(mongodb_uri)
    try:
        events = client[database]["events"].find({"type": "outbound"}, {"data.text": 1})
        return Counter([event["data"]["text"] async for event in events])
    finally:
        await client.close()


async def settled(mongodb_uri: str, database: str, accepted: list[str],
                  timeout: float = 30) -> Counter[str]:
    """The outbound texts once every accepted message has its echo (or time is up)."""
    deadline = time.monotonic() + timeout
    while True:
        texts = await outbound_texts(mongodb_uri, database)
        if all(texts[f"echo {text}"] >= 1 for text in accepted) or time.monotonic() > deadline:
            return texts
        await asyncio.sleep(0.5)


async def test_nothing_accepted_is_lost_or_sent_twice_across_kills(mongodb_uri, tmp_path):
    service = ServiceProcess(mongodb_uri, tmp_path, SR_LEASE_SECONDS="2",
                             SR_SWEEP_SECONDS="0.2").start()
    database = service.environment["SR_MONGODB_DATABASE"]
    visitors = [Visitor(f"visitor-fault-{n:02d}") for n in range(VISITORS)]
    stop = asyncio.Event()
    try:
        install(service)
        url = service.url
        traffic = [asyncio.create_task(talk(visitor, url, stop)) for visitor in visitors]
        for _ in range(KILLS):
            await asyncio.sleep(random.uniform(0.8, 2.0))
            service.kill()
            await asyncio.sleep(random.uniform(0.0, 0.5))
            service.start()
            assert service.url == url or url != service.url  # a new port each time
            url = service.url
            for task in traffic:
                task.cancel()
            traffic = [asyncio.create_task(talk(visitor, url, stop)) for visitor in visitors]
        await asyncio.sleep(2)
        stop.set()
        await asyncio.gather(*traffic, return_exceptions=True)
        accepted = [text for visitor in visitors for text in visitor.accepted]
        assert len(accepted) > 40, "too little traffic to prove anything"
        texts = await settled(mongodb_uri, database, accepted)
        duplicates = {text: n for text, n in texts.items() if n > 1 and text.startswith("echo")}
        assert not duplicates, f"sent more than once: {duplicates}"
        lost = [text for text in accepted if texts[f"echo {text}"] != 1]
        assert not lost, f"accepted but not answered exactly once: {lost}"
        started = sum(visitor.started for visitor in visitors)
        assert texts["woke"] == started, "a timer was lost or fired twice"
        stuck = service.api("GET", "/api/interactions?status=active&limit=500")["items"]
        assert all(item["waiting"] and item["waiting"]["kind"] == "reply" for item in stuck)
    finally:
        stop.set()
        service.stop()
