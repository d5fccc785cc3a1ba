"""Throughput and p50/p99 latency of each channel with 10,000 conversations waiting at
once, beside the ceilings measured in the same run.

    python -m bench.channels [--channels webchat,telegram,whatsapp,messenger]
        [--conversations 10000] [--seconds 10] [--in-flight 16] [--server hypercorn]

One fresh service (its own embedded mongod) talks to the project's fake Telegram, Twilio
and Graph servers, started first in this process on 127.0.0.1. One routing in production
serves an entry point per channel and answers every message exactly once: a validated
question, a values-table look-up, the price told in the next question, and the
conversation waits again. Per channel:

1. ``--conversations`` conversations are opened (first message, first reply, with
   bounded concurrency; timed, not measured), so that many wait at once — for web chat,
   that many WebSockets held open;
2. after a 1 s warm-up, ``--in-flight`` clients for ``--seconds`` each pick a random
   waiting conversation that is not in flight, deliver one message as the provider does
   (Telegram's secret-token header, Twilio's ``X-Twilio-Signature``, Meta's
   ``X-Hub-Signature-256``, or a WebSocket frame) and time it until the reply reaches the
   fake provider (or the socket).

3. then, for ``--seconds`` more, the same clients each start a **new** conversation per
   message (a contact never seen, first message, first reply): the first turn, which
   reads the entry point and the start version, upserts the contact and inserts the
   interaction on top of what a follow-up costs.

With Telegram among the channels, the same first turns are first measured on the bare stack
(``/bench/telegram-turn``: aiogram parses the update, one durable insert, aiogram's
``sendMessage`` answers — Hypercorn, aiogram and MongoDB with nothing of ours in between;
like the webhooks, it is served off the ASGI connection, not through Quart), and the real
first turn is reported as a share of it.

For both phases the report gives the MongoDB commands per message by command name (read
from the server's own counters, ``serverStatus.metrics.commands``, before and after: every
process of the service and its sweepers included) and the CPU per message of the service
and its mongod together.

Every webhook must answer 2xx and every message get exactly one reply, the right one:
counted at the end and printed under the table; the exit status is 1 when they are not.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlencode, urlsplit

import aiohttp
from pymongo import AsyncMongoClient

from bench.measure import HEADER, Figure, admin_headers, api, arguments, ceilings, raise_file_limit
from bench.service import Service, running_service
from bench.webchat import chat_url, setup
from tests.support.fake_graph import FakeGraph, Send
from tests.support.fake_telegram import Call, FakeTelegram
from tests.support.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, Received, signed
from tests.support.fake_twilio import whatsapp_message as twilio_fields
from tests.support.replica_set import ReplicaSet

CHANNELS = ("webchat", "telegram", "whatsapp", "messenger")
PUBLIC_URL = "https://bench.example.test"  # the service's public address: Twilio signs it
TELEGRAM_TOKEN = "123456:bench-telegram-token"
OURS = "+14155238886"  # the WhatsApp number of the entry point
PAGE = "105432178923456"
MESSENGER = {"page_access_token": "EAAGbenchPageToken", "app_secret": "bench-app-secret",
             "verify_token": "bench-verify-token"}
OPENING = 64  # conversations being opened at once
REPLY_TIMEOUT = 60.0  # seconds; a reply later than that counts as missing
FIRST_REPLY = "Which product?"
QUESTION = {"into": "code", "validate": "regex", "pattern": "A1[0-9]{2}"}
LOOP_TREE = {  # every message: exactly one reply, then the conversation waits again
    "start": "start",
    "actions": [
        {"id": "start", "type": "start", "next": {"next": "ask"}},
        {"id": "ask", "type": "message_wait", "params": {"text": FIRST_REPLY, **QUESTION},
         "next": {"answered": "lookup", "invalid": None, "timeout": None}},
        {"id": "lookup", "type": "values_table", "params": {
            "table": "prices", "key": "{{ vars.code }}", "into": {"price": "price"}},
         "next": {"found": "price", "not_found": "ask"}},
        {"id": "price", "type": "message_wait", "params": {
            "text": "It costs {{ vars.price }}. Which other product?", **QUESTION},
         "next": {"answered": "lookup", "invalid": None, "timeout": None}},
    ],
}


def price_reply(code: int) -> str:
    """What the tree answers to product ``A<code>`` (the prices table: A100 costs 100)."""
    return f"It costs {code}. Which other product?"


def meta_signature(app_secret: str, body: bytes) -> str:
    """``X-Hub-Signature-256`` as Meta computes it (not the product's own function, so a
    mistake there would show as refused webhooks)."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


class Replies:
    """The replies of one channel by conversation, as they reach a fake provider or a
    socket: each wakes the client waiting for it, and every one is counted."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._waiting: dict[str, asyncio.Future[tuple[float, str]]] = {}

    def expect(self, contact: str) -> asyncio.Future[tuple[float, str]]:
        future: asyncio.Future[tuple[float, str]] = asyncio.get_running_loop().create_future()
        self._waiting[contact] = future
        return future

    def arrived(self, contact: str, text: str) -> None:
        self.counts[contact] += 1
        future = self._waiting.pop(contact, None)
        if future is not None and not future.done():
            future.set_result((time.perf_counter(), text))


class Channel:
    """One channel as its customers reach it: how a conversation opens and how one
    message is delivered; the replies land in ``replies``, the failures in ``failures``."""

    name: ClassVar[str]

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session, self.base = session, base
        self.replies = Replies()
        self.sent: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()

    def contact(self, number: int) -> str:
        raise NotImplementedError

    async def open(self, contact: str) -> None:
        """Whatever must exist before the first message (a web chat socket)."""

    async def deliver(self, contact: str, text: str) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        """Let go of what ``open`` holds."""

    async def send(self, contact: str, text: str) -> asyncio.Future[tuple[float, str]]:
        """Deliver ``text``; the future gives the reply's arrival time and text."""
        reply = self.replies.expect(contact)
        self.sent[contact] += 1
        await self.deliver(contact, text)
        return reply


class Webhook(Channel):
    """A channel whose messages arrive as provider webhooks, each of which must get 2xx."""

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> None:
        async with self.session.post(self.base + path, data=body, headers=headers) as answer:
            await answer.read()
            if not 200 <= answer.status < 300:
                self.failures[f"webhook answered {answer.status}"] += 1


class Telegram(Webhook):
    """Updates posted to the webhook the service registered, with its secret token."""

    name = "telegram"

    def __init__(self, session: aiohttp.ClientSession, base: str, fake: FakeTelegram) -> None:
        super().__init__(session, base)
        self.path = urlsplit(fake.webhooks[TELEGRAM_TOKEN].url).path
        self.headers = fake.webhook_headers(TELEGRAM_TOKEN)
        self.update_ids = itertools.count(1)
        fake.listeners.append(self._heard)

    def _heard(self, call: Call) -> None:
        if call.method == "sendMessage":
            self.replies.arrived(str(call.params.get("chat_id")), str(call.params.get("text")))

    def contact(self, number: int) -> str:
        return str(100_000_000 + number)

    async def deliver(self, contact: str, text: str) -> None:
        update_id = next(self.update_ids)
        update = {"update_id": update_id, "message": {
            "message_id": update_id, "date": int(time.time()), "text": text,
            "chat": {"id": int(contact), "type": "private"},
            "from": {"id": int(contact), "is_bot": False, "first_name": "Bench"}}}
        await self.post(self.path, json.dumps(update).encode(), self.headers)


class BareTelegram(Telegram):
    """The same updates posted to ``/bench/telegram-turn``: the Telegram turn on this stack
    with nothing of ours in between (``bots/bench_probe.py``), answering ``FIRST_REPLY``."""

    name = "telegram on the bare stack"

    def __init__(self, session: aiohttp.ClientSession, base: str, fake: FakeTelegram) -> None:
        super().__init__(session, base, fake)
        self.fake = fake
        self.path = "/bench/telegram-turn?" + urlencode(
            {"token": TELEGRAM_TOKEN, "reply": FIRST_REPLY})
        self.headers = {"Content-Type": "application/json"}

    def contact(self, number: int) -> str:
        return str(900_000_000 + number)  # never one of the real webhook's chats

    async def close(self) -> None:
        self.fake.listeners.remove(self._heard)


class WhatsApp(Webhook):
    """Twilio's form webhooks, signed over the public URL with the account's auth token."""

    name = "whatsapp"

    def __init__(self, session: aiohttp.ClientSession, base: str, fake: FakeTwilio,
                 entry_point_id: str) -> None:
        super().__init__(session, base)
        self.path = f"/webhooks/whatsapp/{entry_point_id}"
        fake.listeners.append(self._heard)

    def _heard(self, received: Received) -> None:
        if received.answered == 201:
            contact = (received.get("To") or "").removeprefix("whatsapp:")
            self.replies.arrived(contact, received.get("Body") or "")

    def contact(self, number: int) -> str:
        return f"+4477{number:08d}"

    async def deliver(self, contact: str, text: str) -> None:
        fields = twilio_fields(sid="SM" + uuid.uuid4().hex, sender=contact, to=OURS, body=text)
        await self.post(self.path, *signed(PUBLIC_URL + self.path, fields, AUTH_TOKEN))


class Messenger(Webhook):
    """Page events as Meta posts them, signed with the app secret."""

    name = "messenger"

    def __init__(self, session: aiohttp.ClientSession, base: str, fake: FakeGraph,
                 entry_point_id: str) -> None:
        super().__init__(session, base)
        self.path = f"/webhooks/messenger/{entry_point_id}"
        fake.listeners.append(self._heard)

    def _heard(self, send: Send) -> None:
        recipient, message = send.body.get("recipient") or {}, send.body.get("message") or {}
        self.replies.arrived(str(recipient.get("id")), str(message.get("text")))

    def contact(self, number: int) -> str:
        return str(6_000_000_000_000_000 + number)

    async def deliver(self, contact: str, text: str) -> None:
        now = int(time.time() * 1000)
        event = {"object": "page", "entry": [{"id": PAGE, "time": now, "messaging": [{
            "sender": {"id": contact}, "recipient": {"id": PAGE}, "timestamp": now,
            "message": {"mid": "m_" + uuid.uuid4().hex, "text": text}}]}]}
        body = json.dumps(event).encode()
        await self.post(self.path, body, {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": meta_signature(MESSENGER["app_secret"], body)})


class WebChat(Channel):
    """One WebSocket per visitor, held open from the first message to the end; a reader
    per socket hands each bot message to ``replies``."""

    name = "webchat"

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        super().__init__(session, base)
        self.sockets: dict[str, aiohttp.ClientWebSocketResponse] = {}
        self.readers: set[asyncio.Task[None]] = set()
        self.closing = False

    def contact(self, number: int) -> str:
        return f"bench{number:07d}"

    async def open(self, contact: str) -> None:
        socket = await self.session.ws_connect(chat_url(self.base, contact))
        history = await socket.receive_json(timeout=REPLY_TIMEOUT)
        assert history["type"] == "history", history
        self.sockets[contact] = socket
        self.readers.add(asyncio.create_task(self._read(contact, socket)))

    async def _read(self, contact: str, socket: aiohttp.ClientWebSocketResponse) -> None:
        async for frame in socket:
            if frame.type is aiohttp.WSMsgType.TEXT:
                data = json.loads(frame.data)
                if data.get("type") == "message":
                    self.replies.arrived(contact, str(data.get("text")))
        if not self.closing:
            self.failures[f"socket closed by the service ({socket.close_code})"] += 1

    async def deliver(self, contact: str, text: str) -> None:
        await self.sockets[contact].send_str(json.dumps({"type": "message", "text": text}))

    async def close(self) -> None:
        self.closing = True
        sockets = list(self.sockets.values())
        for start in range(0, len(sockets), 500):
            await asyncio.gather(*(socket.close() for socket in sockets[start:start + 500]))
        await asyncio.gather(*self.readers, return_exceptions=True)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    try:
        return [int(child) for child in
                Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@dataclass
class Cpu:
    """Where the measured phase spent its CPU — the service, its mongod, this client
    (the fakes included) — as a share of one core: on a small machine, which side of
    the figure is the bottleneck."""

    service: float
    database: float
    client: float

    @classmethod
    def now(cls, service_pid: int) -> Cpu:
        return cls(cpu_seconds(service_pid),
                   sum(cpu_seconds(child) for child in children(service_pid)),
                   time.process_time())

    def share(self, since: Cpu, seconds: float) -> str:
        return (f"service {(self.service - since.service) / seconds:.0%}, "
                f"mongod {(self.database - since.database) / seconds:.0%}, "
                f"client and fakes {(self.client - since.client) / seconds:.0%}")


IGNORED_COMMANDS = frozenset({"serverStatus", "hello", "isMaster", "ismaster", "ping",
                              "buildInfo", "endSessions", "getMore"})


async def server_commands(mongodb_uri: str) -> Counter[str]:
    """How many commands of each name the server has run so far (all clients)."""
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongodb_uri)
    try:
        status = await client.admin.command("serverStatus")
    finally:
        await client.close()
    counts: Counter[str] = Counter()
    for name, value in status["metrics"]["commands"].items():
        if isinstance(value, dict) and "total" in value and name not in IGNORED_COMMANDS:
            counts[name] = int(value["total"])
    return counts


@dataclass
class Phase:
    """One measured phase: its figure, the commands and CPU it cost per message."""

    figure: Figure
    commands: Counter[str]
    messages: int
    cpu_ms: float  # service + mongod CPU per message, in milliseconds
    cpu: str

    def commands_line(self) -> str:
        per = {name: count / max(self.messages, 1) for name, count in self.commands.items()}
        shown = ", ".join(f"{name} {value:.2f}" for name, value in
                          sorted(per.items(), key=lambda item: -item[1]) if value >= 0.01)
        return f"{sum(per.values()):.2f} commands per message ({shown})"


@dataclass
class Result:
    """One channel's figures and what was checked of them."""

    channel: str
    figure: Figure
    opened: int
    opening_seconds: float
    messages: int
    cpu: str
    problems: list[str]
    follow_up: Phase | None = None
    first_turn: Phase | None = None


async def exchange(channel: Channel, contact: str, text: str, expected: str) -> float | None:
    """Send one message and wait for its reply: the seconds it took, or None (counted in
    the channel's failures) when it failed or got none in time."""
    started = time.perf_counter()
    try:
        reply = await channel.send(contact, text)
        arrived, answer = await asyncio.wait_for(reply, REPLY_TIMEOUT)
    except TimeoutError:
        channel.failures[f"no reply within {REPLY_TIMEOUT:.0f} s"] += 1
        return None
    except (aiohttp.ClientError, OSError) as error:  # OSError: a socket cut, no more fds…
        channel.failures[f"sending failed: {type(error).__name__}"] += 1
        return None
    if answer != expected:
        channel.failures[f"wrong reply: {answer[:40]!r}"] += 1
    return arrived - started


async def open_conversations(channel: Channel, contacts: Iterable[str]) -> list[str]:
    """Open each conversation (first message, first reply), ``OPENING`` at a time; the
    ones that got their first reply."""
    pending, opened = iter(contacts), []

    async def opener() -> None:
        for contact in pending:  # one iterator shared by every opener
            try:
                await channel.open(contact)
            except (aiohttp.ClientError, OSError, TimeoutError) as error:
                channel.failures[f"connecting failed: {type(error).__name__}"] += 1
                continue
            if await exchange(channel, contact, "hello", FIRST_REPLY) is not None:
                opened.append(contact)

    await asyncio.gather(*(opener() for _ in range(OPENING)))
    return opened


async def converse(channel: Channel, waiting: list[str], seconds: float,
                   in_flight: int) -> tuple[float, list[float]]:
    """Messages per second and latencies of ``in_flight`` closed-loop clients, each
    taking a random waiting conversation out of ``waiting`` while its message is in flight."""
    latencies: list[float] = []
    stop = time.perf_counter() + seconds

    async def client() -> None:
        while time.perf_counter() < stop and waiting:
            index = random.randrange(len(waiting))
            waiting[index], waiting[-1] = waiting[-1], waiting[index]
            contact = waiting.pop()
            code = random.randrange(100, 200)
            took = await exchange(channel, contact, f"A{code}", price_reply(code))
            if took is not None:  # else left out: its reply may still come
                latencies.append(took)
                waiting.append(contact)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(in_flight)))
    return len(latencies) / (time.perf_counter() - started), latencies


async def first_turns(channel: Channel, seconds: float, in_flight: int,
                      numbers: Iterable[int]) -> tuple[float, list[float]]:
    """Messages per second and latencies of ``in_flight`` closed-loop clients that each
    start a new conversation per message (a contact never seen before)."""
    latencies: list[float] = []
    fresh = iter(numbers)
    stop = time.perf_counter() + seconds

    async def client() -> None:
        while time.perf_counter() < stop:
            contact = channel.contact(next(fresh))
            try:
                await channel.open(contact)
            except (aiohttp.ClientError, OSError, TimeoutError) as error:
                channel.failures[f"connecting failed: {type(error).__name__}"] += 1
                continue
            took = await exchange(channel, contact, "hello", FIRST_REPLY)
            if took is not None:
                latencies.append(took)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(in_flight)))
    return len(latencies) / (time.perf_counter() - started), latencies


async def measured(name: str, work: Awaitable[tuple[float, list[float]]], service_pid: int,
                   mongodb_uri: str, ceiling: float) -> Phase:
    commands, cpu = await server_commands(mongodb_uri), Cpu.now(service_pid)
    started = time.perf_counter()
    rate, latencies = await work
    elapsed = time.perf_counter() - started
    after, used = await server_commands(mongodb_uri), Cpu.now(service_pid)
    messages = len(latencies)
    server_seconds = (used.service - cpu.service) + (used.database - cpu.database)
    return Phase(Figure(name, rate, latencies, ceiling=ceiling), after - commands, messages,
                 1000 * server_seconds / max(messages, 1), used.share(cpu, elapsed))


async def settled(channel: Channel, timeout: float = 10) -> list[str]:
    """Once every sent message has its reply (or ``timeout``), and a second more for any
    duplicate: what does not add up."""
    deadline = time.monotonic() + timeout
    while (sum(channel.replies.counts.values()) < channel.sent.total()
           and time.monotonic() < deadline):
        await asyncio.sleep(0.1)
    await asyncio.sleep(1)
    counts = channel.replies.counts
    contacts = set(channel.sent) | set(counts)
    missing = sum(max(0, channel.sent[c] - counts[c]) for c in contacts)
    extra = sum(max(0, counts[c] - channel.sent[c]) for c in contacts)
    problems = [f"{count:,} × {failure}" for failure, count in channel.failures.items()]
    if missing:
        problems.append(f"{missing:,} message(s) without a reply")
    if extra:
        problems.append(f"{extra:,} reply(ies) more than messages")
    return problems


async def run_channel(channel: Channel, conversations: int, seconds: float, in_flight: int,
                      storage: Figure, service: Service) -> Result:
    started = time.perf_counter()
    waiting = await open_conversations(channel, (channel.contact(n) for n in
                                                 range(conversations)))
    opening_seconds = time.perf_counter() - started
    opened = len(waiting)
    await converse(channel, waiting, 1, in_flight)  # warm-up
    follow_up = await measured(
        f"{channel.name} follow-up → reply ({opened:,} waiting)",
        converse(channel, waiting, seconds, in_flight), service.pid, service.mongodb_uri,
        storage.rate)
    first_turn = await measured(
        f"{channel.name} first turn (new conversation) → reply",
        first_turns(channel, seconds, in_flight, itertools.count(conversations)),
        service.pid, service.mongodb_uri, storage.rate)
    problems = await settled(channel)
    await channel.close()
    return Result(channel.name, follow_up.figure, opened, opening_seconds,
                  channel.sent.total(), follow_up.cpu, problems, follow_up, first_turn)


@dataclass
class Fakes:
    telegram: FakeTelegram
    twilio: FakeTwilio
    graph: FakeGraph

    def settings(self) -> dict[str, str]:
        """The service's settings that point it at these fakes."""
        return {"SR_TELEGRAM_API_BASE": self.telegram.url,
                "SR_TWILIO_API_BASE": self.twilio.url,
                "SR_GRAPH_API_BASE": self.graph.url, "SR_PUBLIC_URL": PUBLIC_URL}


@contextlib.asynccontextmanager
async def running_fakes() -> AsyncIterator[Fakes]:
    fakes = Fakes(FakeTelegram(), FakeTwilio(), FakeGraph())
    for fake in (fakes.telegram, fakes.twilio, fakes.graph):
        await fake.start()
    try:
        yield fakes
    finally:
        for fake in (fakes.telegram, fakes.twilio, fakes.graph):
            await fake.stop()


async def entry_points(session: aiohttp.ClientSession, base: str,
                       routing_id: str) -> dict[str, str]:
    """A Telegram, a WhatsApp and a Messenger entry point on the bench routing (web chat's
    comes with ``setup``), with the credentials the fakes accept; their ids by channel."""
    headers = await admin_headers(session, base)
    definitions = {
        "telegram": ("bench_bot", {"token": TELEGRAM_TOKEN}),
        "whatsapp": (f"whatsapp:{OURS}", {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN}),
        "messenger": (PAGE, MESSENGER),
    }
    ids = {}
    for channel, (address, credentials) in definitions.items():
        created = await api(session, base, headers, "POST", "/api/entry-points", {
            "channel": channel, "name": f"bench {channel}", "address": address,
            "start_routing": routing_id, "credentials": credentials})
        ids[channel] = str(created["id"])
    return ids


def channel_of(name: str, session: aiohttp.ClientSession, base: str, fakes: Fakes,
               ids: dict[str, str]) -> Channel:
    if name == "telegram":
        return Telegram(session, base, fakes.telegram)
    if name == "whatsapp":
        return WhatsApp(session, base, fakes.twilio, ids["whatsapp"])
    if name == "messenger":
        return Messenger(session, base, fakes.graph, ids["messenger"])
    return WebChat(session, base)


async def bare_stack(session: aiohttp.ClientSession, service: Service, fakes: Fakes,
                     seconds: float, in_flight: int) -> tuple[Phase, list[str]]:
    """A new Telegram chat per message on the bare stack, measured as the first turns are."""
    channel = BareTelegram(session, service.url, fakes.telegram)
    await first_turns(channel, 1, in_flight, itertools.count(10_000_000))  # warm-up
    phase = await measured(
        "Telegram first turn on the bare stack (aiogram parse, one insert, `sendMessage`)",
        first_turns(channel, seconds, in_flight, itertools.count()), service.pid,
        service.mongodb_uri, 0)
    problems = await settled(channel)
    await channel.close()
    return phase, problems


def report(health: Figure, writes: Figure, storage: Figure, results: list[Result],
           bare: tuple[Phase, list[str]] | None = None) -> list[str]:
    lines = [*HEADER, health.row(), writes.row(), storage.row()]
    if bare is not None:
        lines.append(bare[0].figure.row())
    for result in results:
        lines.extend(phase.figure.row() for phase in (result.follow_up, result.first_turn)
                     if phase is not None)
    lines.append("")
    if bare is not None:
        turn, problems = bare
        checks = "; ".join(problems) or "every message got exactly one, right, reply"
        lines.append(f"- the bare stack's Telegram turn: {turn.commands_line()}; "
                     f"{turn.cpu_ms:.1f} ms of service + mongod CPU per message; {checks}")
    for result in results:
        for label, phase in (("follow-up", result.follow_up),
                             ("first turn", result.first_turn)):
            if phase is not None:
                lines.append(f"- {result.channel} {label}: {phase.commands_line()}; "
                             f"{phase.cpu_ms:.1f} ms of service + mongod CPU per message")
        if bare is not None and result.channel == "telegram" and result.first_turn:
            lines.append(f"- telegram first turn / the bare stack's: "
                         f"{result.first_turn.figure.rate / bare[0].figure.rate:.0%} of its "
                         f"turns/s, {result.first_turn.cpu_ms / bare[0].cpu_ms:.1f}× its CPU "
                         "per message")
    lines.append("")
    for result in results:
        figure = result.figure
        checks = "; ".join(result.problems) or "every message got exactly one, right, reply"
        lines.append(
            f"- {result.channel}: / HTTP ceiling {figure.rate / health.rate:.0%}, "
            f"/ raw MongoDB writes {figure.rate / writes.rate:.0%}; opened {result.opened:,} "
            f"conversations in {result.opening_seconds:.1f} s "
            f"({result.opened / max(result.opening_seconds, 1e-9):,.0f}/s); CPU while measured: "
            f"{result.cpu}; {result.messages:,} messages in all: "
            f"{'' if not result.problems else 'MISMATCH: '}{checks}")
    return lines


async def measure(service: Service, fakes: Fakes, names: list[str], conversations: int,
                  seconds: float, in_flight: int) -> tuple[list[str], bool]:
    """The report's lines, and whether every check passed."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        routing_id = await setup(session, service.url, LOOP_TREE)
        ids = await entry_points(session, service.url, routing_id)
        health, writes, storage = await ceilings(session, service.url, service.mongodb_uri,
                                                 seconds, in_flight)
        bare = (await bare_stack(session, service, fakes, seconds, in_flight)
                if "telegram" in names else None)
        results = []
        for name in names:
            channel = channel_of(name, session, service.url, fakes, ids)
            results.append(await run_channel(channel, conversations, seconds, in_flight,
                                             storage, service))
            print(f"{name} done: {results[-1].figure.row()}", file=sys.stderr, flush=True)
    passed = all(not r.problems for r in results) and not (bare and bare[1])
    return report(health, writes, storage, results, bare), passed


@contextlib.asynccontextmanager
async def service_of(fakes: Fakes, server: str, **env: str) -> AsyncIterator[Service]:
    """``running_service`` pointed at the fakes, started and stopped in a thread: the
    fakes share this event loop and must keep answering while it waits."""
    manager = running_service(server, **fakes.settings(), **env)
    service = await asyncio.to_thread(manager.__enter__)
    try:
        yield service
    finally:
        await asyncio.to_thread(manager.__exit__, None, None, None)


async def run(args: argparse.Namespace, names: list[str]) -> tuple[list[str], bool]:
    async with contextlib.AsyncExitStack() as stack:
        database: dict[str, str] = {}
        if args.replica_set:  # three members on this machine, as docs/deploy.md deploys
            root = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-rs-"))
            replica_set = ReplicaSet(Path(root))
            stack.push(lambda *_: replica_set.stop())
            database["mongodb_uri"] = await asyncio.to_thread(replica_set.start)
        fakes = await stack.enter_async_context(running_fakes())
        service = await stack.enter_async_context(service_of(fakes, args.server, **database))
        return await measure(service, fakes, names, args.conversations, args.seconds,
                             args.in_flight)


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--channels", default=",".join(CHANNELS))
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--replica-set", action="store_true",
                        help="on a three-member replica set instead of the embedded mongod")
    args = parser.parse_args()
    names = [name.strip() for name in args.channels.split(",") if name.strip()]
    unknown = set(names) - set(CHANNELS)
    if unknown:
        parser.error(f"unknown channel(s): {', '.join(sorted(unknown))}")
    limit = raise_file_limit()
    lines, passed = asyncio.run(run(args, names))
    print(f"server={args.server} conversations={args.conversations} in-flight={args.in_flight} "
          f"seconds={args.seconds} open-files={limit} "
          f"mongodb={'three-member replica set' if args.replica_set else 'embedded'}")
    print("\n".join(lines))
    if not passed:
        sys.exit(1)


if __name__ == "__main__":
    main()
