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

import asyncio
import json
import time
import uuid
from typing import Any

import aiohttp

from bench.measure import HEADER, Figure, admin_headers, api, arguments, ceilings, percentile
from bench.service import Service, running_service

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


def chat_url(base: str, visitor: str) -> str:
    """The web chat WebSocket of the bench entry point, for one visitor."""
    return f"{base.replace('http', 'ws', 1)}/chat/bench/ws?visitor={visitor}"


async def setup(session: aiohttp.ClientSession, base: str, tree: dict[str, Any] = TREE) -> str:
    """The prices table, the bench routing (``tree``) in production and a web chat entry
    point; returns the routing's id (other benchmarks add their entry points to it)."""
    headers = await admin_headers(session, base)
    rows = [{"code": f"A{n:03d}", "price": str(n)} for n in range(100, 200)]
    await api(session, base, headers, "POST", "/api/value-tables",
              {"name": "prices", "columns": ["code", "price"], "rows": rows})
    routing = await api(session, base, headers, "POST", "/api/smart-routings/import", {
        "routing": {"name": "bench", "reference": "bench", "type": "start"},
        "versions": [{"name": "v1", "status": "production", "tree": tree}]})
    await api(session, base, headers, "POST", "/api/entry-points", {
        "channel": "webchat", "name": "bench", "address": "bench",
        "start_routing": routing["id"]})
    return str(routing["id"])


async def conversations(session: aiohttp.ClientSession, base: str, seconds: float,
                        in_flight: int, bases: list[str] | None = None,
                        ) -> tuple[float, list[float]]:
    """Messages per second and their latencies; with ``bases``, the ``in_flight`` loops
    are dealt over those services in turn instead of all going to ``base``."""
    latencies: list[float] = []
    by_turn: dict[int, list[float]] = {turn: [] for turn in range(len(SCRIPT))}
    stop = time.perf_counter() + seconds
    targets = bases or [base]

    async def converse(loop: int) -> None:
        service = targets[loop % len(targets)]
        while time.perf_counter() < stop:
            visitor = "b" + uuid.uuid4().hex[:16]
            async with session.ws_connect(chat_url(service, visitor)) as ws:
                await ws.receive_json()  # the history frame
                for turn, text in enumerate(SCRIPT):
                    started = time.perf_counter()
                    await ws.send_str(json.dumps({"type": "message", "text": text}))
                    while (await ws.receive_json(timeout=10))["type"] != "message":
                        pass
                    latencies.append(time.perf_counter() - started)
                    by_turn[turn].append(latencies[-1])

    started = time.perf_counter()
    await asyncio.gather(*(converse(loop) for loop in range(in_flight)))
    CONVERSATION_TURNS.update(by_turn)
    return len(latencies) / (time.perf_counter() - started), latencies


async def measure(service: Service, seconds: float, in_flight: int,
                  real_only: bool) -> list[str]:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        await setup(session, service.url)
        if real_only:  # for profiling the real path alone
            real = Figure("web chat message → reply",
                          *await conversations(session, service.url, seconds, in_flight))
            return [real.row()]
        health, writes, storage = await ceilings(session, service.url, service.mongodb_uri,
                                                 seconds, in_flight)
        await conversations(session, service.url, 1, in_flight)  # warm-up
        real = Figure("web chat message → reply",
                      *await conversations(session, service.url, seconds, in_flight),
                      ceiling=storage.rate)
    return [
        *HEADER, health.row(), writes.row(), storage.row(), real.row(),
        f"real path / HTTP ceiling: {real.rate / health.rate:.0%}; "
        f"/ raw MongoDB writes: {real.rate / writes.rate:.0%}",
        *(f"message {turn + 1} of a conversation ({SCRIPT[turn]!r}): "
          f"p50 {percentile(samples, .5) * 1000:.1f} ms, "
          f"p99 {percentile(samples, .99) * 1000:.1f} ms"
          for turn, samples in CONVERSATION_TURNS.items()),
    ]


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--real-only", action="store_true", help="skip the ceilings")
    parser.add_argument("--workers", type=int, default=1, help="service worker processes")
    args = parser.parse_args()
    with running_service(args.server, SR_WORKERS=str(args.workers)) as service:
        lines = asyncio.run(measure(service, args.seconds, args.in_flight, args.real_only))
    print(f"server={args.server} workers={args.workers} in-flight={args.in_flight} "
          f"seconds={args.seconds}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
