"""Latency kept flat as the stored history grows: the web chat's real path measured at
growing numbers of stored events, each size beside its ceilings, and ``explain`` of every
hot query with the values of a stored conversation.

    python -m bench.history [--sizes 10000,100000,1000000] [--seconds 10] [--in-flight 16]

Starts a fresh service with its embedded MongoDB, sets up the web chat bench routing
(``bench.webchat``) and a WhatsApp entry point on it, and runs a few real conversations:
their contact, an ended interaction, one left waiting, and their events are the templates
of the history. Then, for each size:

1. grows the history to that many events, inserting straight into MongoDB copies of the
   templates with new ids, in the formats the store uses (ObjectId text; event ids
   ``<interaction id>:<sequence>``; ``wc:``/``SM`` provider ids): new contacts (one in
   four on WhatsApp, whose outbound messages carry a provider id and a delivery status),
   a few interactions each, about ten events per interaction, the last interaction of one
   contact in twenty still waiting for a reply; prints how long that took;
2. measures the ceilings (bare ``/healthz``, raw MongoDB inserts, storage of one message)
   and the real path (web chat conversations, each message timed to its reply);
3. ``explain``s every hot query with ``executionStats`` and a random stored web chat
   conversation's values: winning plan, keys and documents examined, documents returned.

The summary sets each size's real path beside its storage ceiling, and its latencies
beside the smallest size's: flat means ratios near 1. Exits with status 1 when any hot
query's plan is a collection scan.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from bench.measure import HEADER, Figure, admin_headers, api, arguments, ceilings, percentile
from bench.service import Service, running_service
from bench.webchat import conversations, setup
from routing_core.infra.clock import utcnow
from routing_core.infra.ids import new_id
from routing_core.store.hot_queries import explain, hot_queries, plan_stages, stored_sample

Document = dict[str, Any]

BATCH_EVENTS = 20_000  # events per round of insert_many
WHATSAPP_SHARE = 0.25  # of the contacts
WAITING_SHARE = 0.05  # of the contacts: their last interaction still waits for a reply
FAILED_SHARE = 0.002  # of WhatsApp outbound messages: dead letters
INTERACTIONS_PER_CONTACT = (1, 5)
HISTORY_DAYS = 90
WAITING_FOR_AT_MOST = timedelta(minutes=20)  # their timeouts stay beyond the run
WHATSAPP_NUMBER = "whatsapp:+15550000000"


@dataclass
class Templates:
    """Real documents of each kind, which the synthetic history copies."""

    webchat_entry_point_id: str
    whatsapp_entry_point_id: str
    contact: Document
    ended: Document
    ended_events: list[Document]
    waiting: Document
    waiting_events: list[Document]


@dataclass
class Batch:
    """Documents to insert together, one list per collection."""

    contacts: list[Document] = field(default_factory=list)
    interactions: list[Document] = field(default_factory=list)
    events: list[Document] = field(default_factory=list)

    def add(self, other: Batch) -> None:
        self.contacts += other.contacts
        self.interactions += other.interactions
        self.events += other.events


@dataclass
class SizeResult:
    """What one size of history measured."""

    events: int
    grown_by: int
    growth_seconds: float
    health: Figure
    writes: Figure
    storage: Figure
    real: Figure
    plans: list[str]
    collection_scans: list[str]
    storage_rows: list[str]


async def wait_for_reply(session: aiohttp.ClientSession, base: str, text: str) -> None:
    """A new visitor says ``text`` and leaves once answered: an interaction left waiting."""
    visitor = f"b{random.getrandbits(64):016x}"
    ws_url = f"{base.replace('http', 'ws', 1)}/chat/bench/ws?visitor={visitor}"
    async with session.ws_connect(ws_url) as ws:
        await ws.receive_json()  # the history frame
        await ws.send_str(json.dumps({"type": "message", "text": text}))
        while (await ws.receive_json(timeout=10))["type"] != "message":
            pass


async def seed(session: aiohttp.ClientSession, base: str) -> str:
    """The bench routing and its web chat, a WhatsApp entry point, and real conversations:
    some ended, one waiting. Returns the WhatsApp entry point's id."""
    routing_id = await setup(session, base)
    headers = await admin_headers(session, base)
    whatsapp = await api(session, base, headers, "POST", "/api/entry-points", {
        "channel": "whatsapp", "name": "bench whatsapp", "address": WHATSAPP_NUMBER,
        "start_routing": routing_id,
        "credentials": {"account_sid": "AC" + "0" * 32, "auth_token": "bench-token"}})
    await conversations(session, base, 1, 4)
    await wait_for_reply(session, base, "hello")
    return str(whatsapp["id"])


async def templates(database: AsyncDatabase[Document], whatsapp_id: str) -> Templates:
    """The stored documents of one ended and one waiting real conversation."""
    ended = await database["interactions"].find_one({"active": False, "status": "ended"})
    waiting = await database["interactions"].find_one({"active": True})
    assert ended is not None and waiting is not None, "the real conversations stored nothing"
    contact = await database["contacts"].find_one({"_id": ended["contact_id"]})
    assert contact is not None
    return Templates(
        webchat_entry_point_id=ended["entry_point_id"], whatsapp_entry_point_id=whatsapp_id,
        contact=contact, ended=ended, waiting=waiting,
        ended_events=await events_of(database, ended["_id"]),
        waiting_events=await events_of(database, waiting["_id"]),
    )


async def events_of(database: AsyncDatabase[Document], interaction_id: str) -> list[Document]:
    return await database["events"].find({"interaction_id": interaction_id}).sort(
        "_id", 1).to_list()


def moved(document: Document, delta: timedelta) -> Document:
    """A shallow copy with its top-level datetimes moved by ``delta``."""
    return {key: value + delta if isinstance(value, datetime) else value
            for key, value in document.items()}


class HistoryMaker:
    """Copies of the templates as new contacts' histories, spread over the last days."""

    def __init__(self, templates: Templates, seed: int = 1):
        self.templates = templates
        self.random = random.Random(seed)
        self.numbers = 0  # WhatsApp phone numbers handed out

    def hex(self, bits: int) -> str:
        return f"{self.random.getrandbits(bits):0{bits // 4}x}"

    def contact_history(self, now: datetime) -> Batch:
        """One new contact, its ended interactions and maybe one still waiting."""
        started = now - timedelta(days=self.random.uniform(1, HISTORY_DAYS))
        contact = self.new_contact(self.random.random() < WHATSAPP_SHARE, started)
        count = self.random.randint(*INTERACTIONS_PER_CONTACT)
        history = Batch(contacts=[contact])
        for _ in range(count):
            started += timedelta(hours=self.random.uniform(1, 72))
            history.add(self.interaction(contact, min(started, now), ended=True))
        if self.random.random() < WAITING_SHARE:
            asked_at = now - WAITING_FOR_AT_MOST * self.random.random()
            history.add(self.interaction(contact, asked_at, ended=False))
        return history

    def new_contact(self, whatsapp: bool, at: datetime) -> Document:
        contact = moved(self.templates.contact, at - self.templates.contact["created_at"])
        contact["_id"] = new_id()
        if whatsapp:
            self.numbers += 1
            phone = f"+1555{self.numbers:07d}"
            contact.update(channel="whatsapp", phone=phone, external_id=f"whatsapp:{phone}",
                           entry_point_id=self.templates.whatsapp_entry_point_id)
        else:
            contact["external_id"] = f"b{self.hex(64)}"
        return contact

    def interaction(self, contact: Document, at: datetime, ended: bool) -> Batch:
        """A copy of the ended (or waiting) template for ``contact``, started ``at``."""
        template = self.templates.ended if ended else self.templates.waiting
        events = self.templates.ended_events if ended else self.templates.waiting_events
        delta = at - template["created_at"]
        interaction = moved(template, delta)
        interaction_id = new_id()
        whatsapp = contact["channel"] == "whatsapp"
        copies = [self.event(event, interaction_id, contact, delta, whatsapp)
                  for event in events]
        interaction.update(
            _id=interaction_id, contact=contact["external_id"], contact_id=contact["_id"],
            channel=contact["channel"], entry_point_id=contact["entry_point_id"],
            contact_phone=contact["phone"],
            seen=[event["data"]["provider_id"] for event in copies if event["type"] == "inbound"],
        )
        if template["waiting"]:
            interaction["waiting"] = moved(template["waiting"], delta)
        return Batch(interactions=[interaction], events=copies)

    def event(self, template: Document, interaction_id: str, contact: Document,
              delta: timedelta, whatsapp: bool) -> Document:
        event = moved(template, delta)
        event["_id"] = f"{interaction_id}:{template['_id'].rsplit(':', 1)[1]}"
        event["interaction_id"] = interaction_id
        if event["type"] == "inbound":
            provider_id = f"SM{self.hex(128)}" if whatsapp else f"wc:{self.hex(128)}"
            event["data"] = {**template["data"], "provider_id": provider_id}
        elif event["type"] == "outbound":
            event.update(contact=contact["external_id"], entry_point_id=contact["entry_point_id"],
                         channel=contact["channel"])
            if whatsapp:
                event.update(self.whatsapp_delivery(event["at"]))
        return event

    def whatsapp_delivery(self, at: datetime) -> Document:
        """What a sent WhatsApp message holds: Twilio's id and its last delivery report."""
        status = "failed" if self.random.random() < FAILED_SHARE else "delivered"
        return {"provider_id": f"SM{self.hex(128)}", "status": status, "attempts": 1,
                "sent_at": at, "reports": {status: at + timedelta(seconds=2)},
                "error": "30008: unknown error" if status == "failed" else None}

    def batches(self, events: int) -> Iterator[Batch]:
        """Contacts' histories holding at least ``events`` events, in insert-sized batches."""
        now = utcnow()
        made = 0
        batch = Batch()
        while made < events:
            history = self.contact_history(now)
            made += len(history.events)
            batch.add(history)
            if len(batch.events) >= BATCH_EVENTS:
                yield batch
                batch = Batch()
        if batch.events:
            yield batch


async def insert(database: AsyncDatabase[Document], batch: Batch) -> None:
    for name, documents in (("contacts", batch.contacts),
                            ("interactions", batch.interactions), ("events", batch.events)):
        if documents:
            await database[name].insert_many(documents, ordered=False)


async def grow(database: AsyncDatabase[Document], maker: HistoryMaker,
               size: int) -> tuple[int, float]:
    """Insert history until ``size`` events are stored: (events inserted, seconds)."""
    missing = size - await database["events"].estimated_document_count()
    started = time.perf_counter()
    inserted = 0
    for batch in maker.batches(missing):
        await insert(database, batch)
        inserted += len(batch.events)
    return inserted, time.perf_counter() - started


def plan_line(plan: Document) -> str:
    """A winning plan on one line, outermost stage first: ``LIMIT > FETCH > IXSCAN by_x``."""
    plan = plan.get("queryPlan", plan)
    stage = plan.get("stage", "?") + (f" {plan['indexName']}" if "indexName" in plan else "")
    inputs = plan.get("inputStages") or ([plan["inputStage"]] if "inputStage" in plan else [])
    if not inputs:
        return stage
    inner = " + ".join(plan_line(child) for child in inputs)
    return f"{stage} > {inner}" if len(inputs) == 1 else f"{stage} > ({inner})"


async def explain_all(database: AsyncDatabase[Document]) -> tuple[list[str], list[str]]:
    """Table rows of every hot query's plan and work with a stored sample's values, and
    the names of those whose plan scans the collection."""
    rows = ["| hot query | winning plan | keys examined | docs examined | returned | ms |",
            "|---|---|---|---|---|---|"]
    scans: list[str] = []
    for name, query in hot_queries(await stored_sample(database, utcnow())).items():
        result = await explain(database, query, "executionStats")
        plan = result["queryPlanner"]["winningPlan"]
        stats = result["executionStats"]
        if "COLLSCAN" in plan_stages(plan):
            scans.append(name)
        rows.append(f"| {name} | {plan_line(plan)} | {stats['totalKeysExamined']:,} | "
                    f"{stats['totalDocsExamined']:,} | {stats['nReturned']:,} | "
                    f"{stats['executionTimeMillis']} |")
    return rows, scans


async def storage_table(database: AsyncDatabase[Document]) -> list[str]:
    """How big the history is: documents, data and index sizes (MB) of its collections,
    the indexes beside the 0.5 GB WiredTiger cache of the embedded mongod."""
    rows = ["| collection | documents | data | indexes | largest index |", "|---|---|---|---|---|"]
    for name in ("contacts", "interactions", "events"):
        found = await database[name].aggregate([{"$collStats": {"storageStats": {}}}])
        stats = (await found.to_list())[0]["storageStats"]
        largest, size = max(stats["indexSizes"].items(), key=lambda item: item[1])
        rows.append(f"| {name} | {stats['count']:,} | {stats['size'] / 1e6:,.0f} MB | "
                    f"{stats['totalIndexSize'] / 1e6:,.0f} MB | {largest} {size / 1e6:,.0f} MB |")
    return rows


async def measure_size(session: aiohttp.ClientSession, service: Service,
                       database: AsyncDatabase[Document], maker: HistoryMaker, size: int,
                       seconds: float, in_flight: int) -> SizeResult:
    """Grow to ``size`` events, then the ceilings and the real path, then the plans."""
    grown_by, growth_seconds = await grow(database, maker, size)
    events = await database["events"].estimated_document_count()
    print(f"{events:,} events stored: grown by {grown_by:,} in {growth_seconds:.1f} s "
          f"({grown_by / max(growth_seconds, 1e-9):,.0f} events/s)", flush=True)
    # a checkpoint now: the figures then measure a history of this size, not mongod still
    # writing the growth out behind them
    await database.client.admin.command("fsync")
    health, writes, storage = await ceilings(session, service.url, service.mongodb_uri,
                                             seconds, in_flight)
    await conversations(session, service.url, 1, in_flight)  # warm-up
    real = Figure("web chat message → reply",
                  *await conversations(session, service.url, seconds, in_flight),
                  ceiling=storage.rate)
    plans, scans = await explain_all(database)
    return SizeResult(events, grown_by, growth_seconds, health, writes, storage, real,
                      plans, scans, await storage_table(database))


def size_report(result: SizeResult) -> list[str]:
    return [f"## {result.events:,} events stored", "", *HEADER, result.health.row(),
            result.writes.row(), result.storage.row(), result.real.row(), "",
            *result.plans, "", *result.storage_rows, ""]


def summary(results: list[SizeResult]) -> list[str]:
    """One row per size: the real path against its ceilings and the smallest size."""
    first = results[0].real.latencies
    base_p50, base_p99 = percentile(first, .5), percentile(first, .99)
    lines = ["## As the history grows", "",
             "| events stored | real path | p50 | p99 | / storage ceiling | / HTTP ceiling "
             "| / raw MongoDB writes | p50 / smallest's | p99 / smallest's |",
             "|---|---|---|---|---|---|---|---|---|"]
    for result in results:
        real = result.real
        p50, p99 = percentile(real.latencies, .5), percentile(real.latencies, .99)
        lines.append(
            f"| {result.events:,} | {real.rate:,.0f}/s | {p50 * 1000:.1f} ms | "
            f"{p99 * 1000:.1f} ms | {real.rate / result.storage.rate:.0%} | "
            f"{real.rate / result.health.rate:.0%} | {real.rate / result.writes.rate:.0%} | "
            f"{p50 / base_p50:.2f} | {p99 / base_p99:.2f} |")
    return lines


async def run(service: Service, sizes: list[int], seconds: float,
              in_flight: int) -> list[SizeResult]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(service.mongodb_uri, tz_aware=True)
    database = client[service.database]
    results: list[SizeResult] = []
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            whatsapp_id = await seed(session, service.url)
            maker = HistoryMaker(await templates(database, whatsapp_id))
            for size in sizes:
                results.append(await measure_size(session, service, database, maker, size,
                                                  seconds, in_flight))
                print("\n".join(size_report(results[-1])), flush=True)
    finally:
        await client.close()
    return results


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--sizes", default="10000,100000,1000000",
                        help="stored events at each step, comma-separated")
    parser.add_argument("--mongodb-cache-gb", default="0.5",
                        help="the embedded mongod's WiredTiger cache (the default's 0.5)")
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))
    print(f"sizes={sizes} in-flight={args.in_flight} seconds={args.seconds} "
          f"mongod cache={args.mongodb_cache_gb} GB", flush=True)
    started = time.perf_counter()
    with running_service(args.server,
                         SR_EMBEDDED_MONGODB_CACHE_GB=args.mongodb_cache_gb) as service:
        results = asyncio.run(run(service, sizes, args.seconds, args.in_flight))
    print("\n".join(summary(results)))
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    scans = [f"{result.events:,} events: {name}" for result in results
             for name in result.collection_scans]
    if scans:
        print("COLLECTION SCAN in hot queries:\n  " + "\n  ".join(scans), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
