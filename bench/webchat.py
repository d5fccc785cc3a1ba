"""Web chat throughput and latency against a real service, beside its two ceilings.

    python -m bench.webchat [--server hypercorn|uvicorn] [--in-flight 16] [--seconds 10]

Starts a fresh service with its embedded MongoDB, then measures in the same run:
1. the bare ``GET /healthz`` rate (the HTTP ceiling);
2. ``POST /bench/minimal``: the irreducible storage work of one message (inbox insert,
   one find_one_and_update, one outbox insert) — the storage ceiling;
3. the real path: conversations over the web chat WebSocket through a realistic tree
   (a choice, a validated question, a values-table look-up, a reply), each message timed
   from the moment it is sent to the bot's reply.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from typing import Any

import aiohttp

from bench.service import ADMIN, running_service

TREE = {
    "start": "start",
    "actions": [
        {"id": "start", "type": "start", "next": {"next": "menu"}},
        {"id": "menu", "type": "message_choice", "params": {
            "text": "What would you like?",
            "choices": [{"label": "A price", "value": "price", "branch": "price"},
                        {"label": "Nothing", "value": "none", "branch": "none"}]},
         "next": {"price": "ask", "none": None, "no_match": None, "timeout": None}},
        {"id": "ask", "type": "message_wait", "params": {
            "text": "Which product?", "into": "code", "validate": "regex",
            "pattern": "[A-Z][0-9]{3}"},
         "next": {"answered": "lookup", "invalid": None, "timeout": None}},
        {"id": "lookup", "type": "values_table", "params": {
            "table": "prices", "key": "{{ vars.code }}", "into": {"price": "price"}},
         "next": {"found": "say", "not_found": None}},
        {"id": "say", "type": "message", "params": {"text": "It costs {{ vars.price }}."},
         "next": {"next": None}},
    ],
}
SCRIPT = ["hello", "price", "A100"]  # three messages, three replies per conversation
CONVERSATION_TURNS: dict[int, list[float]] = {}  # latencies by message of the conversation


def percentile(samples: list[float], fraction: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def setup(session: aiohttp.ClientSession, base: str) -> None:
    login = await session.post(f"{base}/api/auth/login",
                               json={"email": ADMIN[0], "password": ADMIN[1]})
    token = (await login.json())["token"]
    headers = {"Authorization": f"Bearer {token}"}
    rows = [{"code": f"A{n:03d}", "price": str(n)} for n in range(100, 200)]
    for path, body in (
        ("/api/value-tables", {"name": "prices", "columns": ["code", "price"], "rows": rows}),
        ("/api/smart-routings/import", {"routing": {"name": "bench", "reference": "bench",
                                                    "type": "start"},
                                        "versions": [{"name": "v1", "status": "production",
                                                      "tree": TREE}]}),
    ):
        response = await session.post(base + path, json=body, headers=headers)
        assert response.status < 300, await response.text()
    routing = (await (await session.get(f"{base}/api/smart-routings",
                                        headers=headers)).json())["items"][0]
    response = await session.post(f"{base}/api/entry-points", headers=headers, json={
        "channel": "webchat", "name": "bench", "address": "bench",
        "start_routing": routing["id"]})
    assert response.status == 201, await response.text()


async def hammer(session: aiohttp.ClientSession, method: str, url: str, seconds: float,
                 in_flight: int, body: Any = None) -> tuple[float, list[float]]:
    """Requests per second and latencies of ``in_flight`` loops for ``seconds``."""
    latencies: list[float] = []
    stop = time.perf_counter() + seconds

    async def loop(worker: int) -> None:
        count = 0
        while time.perf_counter() < stop:
            started = time.perf_counter()
            payload = {"contact": f"c{worker}-{count % 50}", "text": "hi"} if body else None
            async with session.request(method, url, json=payload) as response:
                await response.read()
                assert response.status == 200, response.status
            latencies.append(time.perf_counter() - started)
            count += 1

    started = time.perf_counter()
    await asyncio.gather(*(loop(worker) for worker in range(in_flight)))
    return len(latencies) / (time.perf_counter() - started), latencies


async def conversations(session: aiohttp.ClientSession, base: str, seconds: float,
                        in_flight: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    by_turn: dict[int, list[float]] = {turn: [] for turn in range(len(SCRIPT))}
    stop = time.perf_counter() + seconds
    ws_base = base.replace("http", "ws", 1)

    async def converse() -> None:
        while time.perf_counter() < stop:
            visitor = "b" + uuid.uuid4().hex[:16]
            async with session.ws_connect(f"{ws_base}/chat/bench/ws?visitor={visitor}") as ws:
                await ws.receive_json()  # the history frame
                for turn, text in enumerate(SCRIPT):
                    started = time.perf_counter()
                    await ws.send_str(json.dumps({"type": "message", "text": text}))
                    while (await ws.receive_json(timeout=10))["type"] != "message":
                        pass
                    latencies.append(time.perf_counter() - started)
                    by_turn[turn].append(latencies[-1])

    started = time.perf_counter()
    await asyncio.gather(*(converse() for _ in range(in_flight)))
    CONVERSATION_TURNS.update(by_turn)
    return len(latencies) / (time.perf_counter() - started), latencies


def row(name: str, rate: float, latencies: list[float], ceiling: float | None) -> str:
    ratio = f"{rate / ceiling:6.0%}" if ceiling else "     -"
    return (f"| {name:<34} | {rate:8.0f} /s | {percentile(latencies, .5) * 1000:7.1f} ms "
            f"| {percentile(latencies, .99) * 1000:7.1f} ms | {ratio} |")


async def measure(base: str, seconds: float, in_flight: int, real_only: bool) -> list[str]:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        await setup(session, base)
        if real_only:  # for profiling the real path alone
            rate, latencies = await conversations(session, base, seconds, in_flight)
            return [row("web chat message → reply", rate, latencies, None)]
        await hammer(session, "GET", f"{base}/healthz", 1, in_flight)  # warm-up
        health_rate, health_lat = await hammer(session, "GET", f"{base}/healthz", seconds,
                                               in_flight)
        await hammer(session, "POST", f"{base}/bench/minimal", 1, in_flight, body=True)
        minimal_rate, minimal_lat = await hammer(session, "POST", f"{base}/bench/minimal",
                                                 seconds, in_flight, body=True)
        await conversations(session, base, 1, in_flight)  # warm-up
        real_rate, real_lat = await conversations(session, base, seconds, in_flight)
    return [
        row("GET /healthz (HTTP ceiling)", health_rate, health_lat, None),
        row("minimal storage of 1 message", minimal_rate, minimal_lat, None),
        row("web chat message → reply", real_rate, real_lat, minimal_rate),
        f"real path / storage ceiling: {real_rate / minimal_rate:.0%}; "
        f"/ HTTP ceiling: {real_rate / health_rate:.0%}",
        *(f"message {turn + 1} of a conversation ({SCRIPT[turn]!r}): "
          f"p50 {percentile(samples, .5) * 1000:.1f} ms, "
          f"p99 {percentile(samples, .99) * 1000:.1f} ms"
          for turn, samples in CONVERSATION_TURNS.items()),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", choices=["hypercorn", "uvicorn"], default="hypercorn")
    parser.add_argument("--in-flight", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--real-only", action="store_true", help="skip the ceilings")
    parser.add_argument("--workers", type=int, default=1, help="service worker processes")
    args = parser.parse_args()
    with running_service(args.server, SR_WORKERS=str(args.workers)) as base:
        lines = asyncio.run(measure(base, args.seconds, args.in_flight, args.real_only))
    print(f"server={args.server} workers={args.workers} in-flight={args.in_flight} "
          f"seconds={args.seconds}")
    print("| what | rate | p50 | p99 | vs storage ceiling |")
    print("|---|---|---|---|---|")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
