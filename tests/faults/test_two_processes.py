"""Two service processes on one database: no message processed twice, timers fired once,
a scheduled production done once."""

from __future__ import annotations

import asyncio
import datetime as dt
import random

import pytest

from tests.faults.test_kill_service import install, settled
from tests.faults.traffic import Visitor, talk
from tests.support.service import ServiceProcess

pytestmark = pytest.mark.slow


async def test_two_processes_share_the_work_without_doing_it_twice(mongodb_uri, tmp_path):
    first = ServiceProcess(mongodb_uri, tmp_path / "a", SR_SCHEDULE_POLL_SECONDS="0.5").start()
    second = ServiceProcess(mongodb_uri, tmp_path / "b", SR_SCHEDULE_POLL_SECONDS="0.5",
                            SR_MONGODB_DATABASE=first.environment["SR_MONGODB_DATABASE"])
    second.start()
    stop = asyncio.Event()
    try:
        install(first)
        routing = first.api("GET", "/api/smart-routings")["items"][0]
        candidate = first.api("POST", f"/api/smart-routings/{routing['id']}/versions",
                              {"name": "scheduled", "copy_from": None})
        start = candidate["tree"]["start"]
        first.api("POST", f"/api/versions/{candidate['id']}/actions", {
            "type": "message", "params": {"text": "new"}, "after": {"action": start}})
        at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=3)
        first.api("PUT", f"/api/versions/{candidate['id']}/schedule", {"at": at.isoformat()})
        visitors = [Visitor(f"visitor-pair-{n:02d}") for n in range(10)]
        # each visitor talks to one process, then moves to the other mid-conversation
        traffic = [asyncio.create_task(talk(v, random.choice([first.url, second.url]), stop))
                   for v in visitors]
        await asyncio.sleep(3)
        for task in traffic:
            task.cancel()
        traffic = [asyncio.create_task(talk(v, random.choice([first.url, second.url]), stop))
                   for v in visitors]
        await asyncio.sleep(3)
        stop.set()
        await asyncio.gather(*traffic, return_exceptions=True)
        accepted = [text for visitor in visitors for text in visitor.accepted]
        assert len(accepted) > 20
        started = sum(visitor.started for visitor in visitors)
        texts = await settled(mongodb_uri, first.environment["SR_MONGODB_DATABASE"], accepted,
                              started)
        assert [text for text in accepted if texts[f"echo {text}"] != 1] == []
        assert texts["woke"] == started
        audit = first.api("GET", f"/api/audit?target={candidate['id']}")["items"]
        done = [entry for entry in audit if entry["action"] == "version.scheduled_production"]
        assert len(done) == 1
        assert first.api("GET", f"/api/versions/{candidate['id']}")["status"] == "production"
    finally:
        stop.set()
        first.stop()
        second.stop()
