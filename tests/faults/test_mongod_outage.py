"""MongoDB killed and restarted under traffic: the service says it is not ready, refuses
what it cannot store (providers redeliver), and recovers by itself with nothing lost."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import urllib.error
import urllib.request

import pytest

from routing_core.store.embedded import EmbeddedMongo, free_port
from tests.faults.test_kill_service import install, settled
from tests.faults.traffic import Visitor, talk
from tests.support.service import ServiceProcess

pytestmark = pytest.mark.slow


def status_of(url: str, method: str = "GET", body: bytes | None = None) -> int:
    request = urllib.request.Request(url, method=method, data=body,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, TimeoutError):
        return 0


async def wait_for_status(url: str, expected: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while (status := await asyncio.to_thread(status_of, url)) != expected:
        assert time.monotonic() < deadline, f"{url} answered {status}, not {expected}"
        await asyncio.sleep(0.3)


async def test_the_service_rides_out_a_mongod_outage(tmp_path):
    port = free_port()
    mongo = EmbeddedMongo(tmp_path / "db", port)
    uri = mongo.start()
    service = ServiceProcess(uri, tmp_path / "service", SR_LEASE_SECONDS="2").start()
    visitors = [Visitor(f"visitor-outage-{n:02d}") for n in range(6)]
    stop = asyncio.Event()
    try:
        install(service)
        traffic = [asyncio.create_task(talk(visitor, service.url, stop)) for visitor in visitors]
        await asyncio.sleep(2)
        assert mongo._process is not None
        os.kill(mongo._process.pid, signal.SIGKILL)
        await wait_for_status(service.url + "/readyz", 503, timeout=15)
        webhook = await asyncio.to_thread(
            status_of, service.url + "/webhooks/telegram/unknown", "POST", b"{}")
        assert webhook == 503  # never a 2xx for what could not be stored: redeliver later
        mongo.stop()
        await asyncio.sleep(1)
        mongo = EmbeddedMongo(tmp_path / "db", port)
        mongo.start()
        await wait_for_status(service.url + "/readyz", 200, timeout=40)
        await asyncio.sleep(3)  # traffic flows again
        stop.set()
        await asyncio.gather(*traffic, return_exceptions=True)
        accepted = [text for visitor in visitors for text in visitor.accepted]
        started = sum(visitor.started for visitor in visitors)
        texts = await settled(uri, service.environment["SR_MONGODB_DATABASE"], accepted, started)
        assert [text for text in accepted if texts[f"echo {text}"] != 1] == []
        assert texts["woke"] == started
    finally:
        stop.set()
        service.stop()
        mongo.stop()
