"""Regression replay speed: recorded web chat conversations of production replayed through
a candidate version.

    python -m bench.replay [--conversations 1000] [--in-flight 16]

Starts a fresh service with its embedded MongoDB and the web chat bench routing
(``bench.webchat``: a choice, a validated question, a values-table look-up, a reply),
records ``--conversations`` real conversations over the WebSocket (two in three are told a
price after three messages; the others only say hello and wait on the menu), duplicates the
production version, changes the reply's text in the copy, and asks the service to replay
every recorded conversation through it (``POST /api/versions/{id}/replays``). Reports how
long the job took (the service's own measure, and from the request to the report) and the
verdicts, and checks them: those told a price get different replies, the others the same;
exits 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from typing import Any

import aiohttp

from bench.measure import admin_headers, api, run_checked
from bench.service import Service
from bench.webchat import chat_url, setup


async def record(session: aiohttp.ClientSession, base: str, count: int,
                 in_flight: int) -> int:
    """``count`` conversations; returns how many were told a price."""
    numbers = iter(range(count))
    priced = 0

    async def converse() -> None:
        nonlocal priced
        for number in numbers:
            script = ["hello"] if number % 3 == 0 else ["hello", "price", "A150"]
            visitor = "r" + uuid.uuid4().hex[:16]
            async with session.ws_connect(chat_url(base, visitor)) as ws:
                await ws.receive_json()  # the history frame
                for text in script:
                    await ws.send_str(json.dumps({"type": "message", "text": text}))
                    while (await ws.receive_json(timeout=10))["type"] != "message":
                        pass
            priced += len(script) == 3

    await asyncio.gather(*(converse() for _ in range(in_flight)))
    return priced


async def measure(service: Service, count: int, in_flight: int) -> bool:
    async with aiohttp.ClientSession() as session:
        base = service.url
        routing_id = await setup(session, base)
        headers = await admin_headers(session, base)
        started = time.perf_counter()
        priced = await record(session, base, count, in_flight)
        print(f"{count:,} conversations recorded in {time.perf_counter() - started:.1f} s "
              f"({priced:,} told a price)", flush=True)
        await asyncio.sleep(1)  # the last replies are committed
        versions = await api(session, base, headers, "GET",
                             f"/api/smart-routings/{routing_id}/versions")
        production = versions["items"][0]["id"]
        candidate = await api(session, base, headers, "POST",
                              f"/api/versions/{production}/duplicate", {"name": "v2"})
        await api(session, base, headers, "PATCH",
                  f"/api/versions/{candidate['id']}/actions/say",
                  {"params": {"text": "The price is {{ vars.price }} euros."}})
        asked = time.perf_counter()
        job = await api(session, base, headers, "POST",
                        f"/api/versions/{candidate['id']}/replays", {"last": count})
        while job["status"] == "running":
            await asyncio.sleep(0.2)
            job = await api(session, base, headers, "GET", f"/api/replays/{job['id']}")
        waited = time.perf_counter() - asked
    print(f"replay of {job['total']:,} conversations: {job['seconds']} s in the service, "
          f"{waited:.1f} s from the request to the report; verdicts {job['counts']}")
    expected: dict[str, Any] = {"different_replies": priced, "same": count - priced}
    ok = job["status"] == "done" and job["counts"] == {
        key: value for key, value in expected.items() if value}
    if not ok:
        print(f"UNEXPECTED: wanted {expected}", file=sys.stderr)
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--in-flight", type=int, default=16)
    args = parser.parse_args()
    run_checked(lambda service: measure(service, args.conversations, args.in_flight))


if __name__ == "__main__":
    main()
