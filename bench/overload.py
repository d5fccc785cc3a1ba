"""Overload: twice the sustainable rate of new Telegram conversations, then silence.

    python -m bench.overload [--seconds 60] [--factor 2] [--inbox-limit 500]

One fresh service (its own embedded mongod) behind the project's fake Bot API, on the
routing of ``bench.channels``. First the sustainable rate is measured: ``--in-flight``
closed-loop clients each start a new conversation per message for 10 s. Then updates of
new chats are offered open-loop at ``--factor`` times that rate for ``--seconds``, each
delivered as a provider delivers: posted with the secret token over at most
``--connections`` connections at once (Telegram's ``max_connections``, 40 unless a bot
sets it; more updates wait their turn at the provider, as they do at Telegram), and
posted again for as long as the webhook does not answer 2xx, first after ``Retry-After``
(1 s without one), then backing off exponentially up to 30 s. Then nothing more is
offered, and the run waits for every update to be accepted and answered.

The report: offered, accepted, refusals (503/429) and their redeliveries, replies,
duplicates (a chat answered twice) and lost updates (never answered), the webhook's
latency (every attempt) and the reply's (from the first attempt), and how long the backlog
took to drain. The exit status is 1 unless every update got exactly one reply.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

import aiohttp

from bench.channels import (
    LOOP_TREE,
    Telegram,
    entry_points,
    first_turns,
    running_fakes,
    service_of,
)
from bench.measure import arguments, percentile, raise_file_limit
from bench.webchat import setup

PATIENCE_SECONDS = 180.0  # after the offer stops, how long replies may still take
MAX_BACKOFF = 30.0  # a provider backs off between redeliveries, up to this
PROVIDER_CONNECTIONS = 40  # Telegram's setWebhook max_connections, unless a bot sets it


@dataclass
class Offered:
    """What happened to the updates offered open-loop."""

    updates: int = 0
    accepted: int = 0
    refusals: Counter[int] = field(default_factory=Counter)
    webhook_latencies: list[float] = field(default_factory=list)
    sent_at: dict[str, float] = field(default_factory=dict)


async def deliver_until_accepted(telegram: Telegram, chat: str, offered: Offered,
                                 connections: asyncio.Semaphore) -> None:
    """One update, posted as Telegram posts it until the webhook answers 2xx (over one of
    the provider's few connections: without that bound the client's own sockets, not the
    service, were what a long run measured — it ran out of file descriptors)."""
    update_id = next(telegram.update_ids)
    body = json.dumps({"update_id": update_id, "message": {
        "message_id": update_id, "date": int(time.time()), "text": "hello",
        "chat": {"id": int(chat), "type": "private"},
        "from": {"id": int(chat), "is_bot": False, "first_name": "Overload"}}}).encode()
    telegram.sent[chat] += 1
    offered.sent_at[chat] = time.perf_counter()
    attempt = 0
    while True:
        async with connections:
            started = time.perf_counter()
            try:
                async with telegram.session.post(telegram.base + telegram.path, data=body,
                                                 headers=telegram.headers) as answer:
                    await answer.read()
                    status, retry_after = answer.status, answer.headers.get("Retry-After")
            except (aiohttp.ClientError, OSError):
                status, retry_after = 0, None
            offered.webhook_latencies.append(time.perf_counter() - started)
        if 200 <= status < 300:
            offered.accepted += 1
            return
        offered.refusals[status] += 1
        attempt += 1
        await asyncio.sleep(min(float(retry_after or 1) * 2 ** (attempt - 1), MAX_BACKOFF))


async def offer(telegram: Telegram, rate: float, seconds: float, numbers: itertools.count[int],
                connections: int) -> tuple[Offered, list[asyncio.Task[None]]]:
    offered = Offered()
    provider = asyncio.Semaphore(connections)
    tasks: list[asyncio.Task[None]] = []
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        due = int(elapsed * rate) + 1
        while offered.updates < due:
            chat = telegram.contact(next(numbers))
            offered.updates += 1
            tasks.append(asyncio.create_task(
                deliver_until_accepted(telegram, chat, offered, provider)))
        await asyncio.sleep(0.005)
    return offered, tasks


def report(sustained: float, factor: float, seconds: float, offered: Offered,
           telegram: Telegram, drain_seconds: float, inbox_limit: int) -> tuple[list[str], bool]:
    counts = telegram.replies.counts
    chats = list(offered.sent_at)
    duplicates = sum(1 for chat in chats if counts[chat] > 1)
    lost = sum(1 for chat in chats if counts[chat] == 0)
    replies = sum(counts[chat] for chat in chats)
    latencies = offered.webhook_latencies
    refusals = ", ".join(f"{count:,} × {status or 'no answer'}"
                         for status, count in sorted(offered.refusals.items())) or "none"
    lines = [
        f"sustainable (closed loop, new conversation per message): {sustained:,.0f} turns/s",
        f"offered: {offered.updates:,} updates in {seconds:.0f} s = "
        f"{offered.updates / seconds:,.0f}/s ({factor:g}×), inbox limit {inbox_limit}",
        f"accepted: {offered.accepted:,}; refusals redelivered: {refusals}",
        f"webhook latency (every attempt): p50 {percentile(latencies, .5) * 1000:.1f} ms, "
        f"p99 {percentile(latencies, .99) * 1000:.1f} ms, max {max(latencies) * 1000:.0f} ms",
        f"replies: {replies:,}; duplicates: {duplicates}; lost: {lost}; "
        f"the backlog drained {drain_seconds:.1f} s after the offer stopped",
    ]
    return lines, duplicates == 0 and lost == 0 and offered.accepted == offered.updates


async def run(seconds: float, factor: float, in_flight: int, inbox_limit: int,
              server: str, connections: int) -> tuple[list[str], bool]:
    async with running_fakes() as fakes, service_of(
            fakes, server, SR_INBOX_LIMIT=str(inbox_limit)) as service, aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0)) as session:
        routing_id = await setup(session, service.url, LOOP_TREE)
        await entry_points(session, service.url, routing_id)
        telegram = Telegram(session, service.url, fakes.telegram)
        numbers = itertools.count(0)
        sustained, _ = await first_turns(telegram, 10, in_flight, numbers)
        await asyncio.sleep(2)  # let the closed loop's last replies land
        offered, tasks = await offer(telegram, sustained * factor, seconds, numbers,
                                     connections)
        stopped = time.perf_counter()
        deadline = stopped + PATIENCE_SECONDS
        await asyncio.wait(tasks, timeout=PATIENCE_SECONDS)
        chats = list(offered.sent_at)
        while (any(telegram.replies.counts[chat] == 0 for chat in chats)
               and time.perf_counter() < deadline):
            await asyncio.sleep(0.1)
        drained = time.perf_counter() - stopped
        await asyncio.sleep(2)  # a duplicate would come now
        return report(sustained, factor, seconds, offered, telegram, drained, inbox_limit)


def main() -> None:
    parser = arguments(__doc__, seconds=60)
    parser.add_argument("--factor", type=float, default=2.0, help="times the sustainable rate")
    parser.add_argument("--inbox-limit", type=int, default=500)
    parser.add_argument("--connections", type=int, default=PROVIDER_CONNECTIONS,
                        help="the provider's connections to the webhook at once")
    args = parser.parse_args()
    raise_file_limit()
    lines, passed = asyncio.run(run(args.seconds, args.factor, args.in_flight,
                                    args.inbox_limit, args.server, args.connections))
    print(f"server={args.server} seconds={args.seconds} factor={args.factor} "
          f"in-flight={args.in_flight} provider-connections={args.connections}")
    print("\n".join(lines))
    if not passed:
        sys.exit(1)


if __name__ == "__main__":
    main()
