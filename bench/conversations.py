"""The operators' conversations list over a large history: each filter alone, timed
through the JSON API (and the page), with the plan MongoDB chose.

    python -m bench.conversations [--interactions 1000000] [--requests 30]

Starts a fresh service with its embedded MongoDB, inserts ``--interactions`` synthetic
interactions straight into MongoDB (the documents the store writes: ``Interaction``
models dumped as the store dumps them, ObjectId-text ids carrying their creation second,
spread over 90 days; 5 routings of 2 versions, 6 entry points on the four channels; 85 %
ended, 2 % failed, 8 % waiting, 2 % with an agent, 3 % running; a tenth marked as tests),
then for each filter an operator can pick alone sends ``--requests`` sequential requests
``GET /api/interactions?...`` (a page of 50 and the count, as the page shows them) after
3 warm-ups, and reports p50 / p99 / max, and the keys and documents the find and the count
examined (``explain`` with ``executionStats`` of the same query). Exits with status 1 when
a filter's p50 is over 100 ms or its plan scans the collection.
"""

from __future__ import annotations

import argparse
import random
import re
import secrets
import time
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import aiohttp
from pymongo import AsyncMongoClient

from bench.measure import admin_headers, percentile, run_checked
from bench.service import ADMIN, Service
from routing_core.infra.clock import utcnow
from routing_core.model.interaction import Channel, Interaction, InteractionState, Waiting
from routing_core.store.interaction_search import (
    CONTACT_INDEXES,
    TIME_INDEX,
    InteractionFilter,
    contact_clauses,
)

BATCH = 20_000
DAYS = 90
GOAL_MS = 100.0
STATES = [(InteractionState.ended, 0.85), (InteractionState.failed, 0.02),
          (InteractionState.waiting, 0.08), (InteractionState.with_agent, 0.02),
          (InteractionState.running, 0.03)]
CHANNELS = [Channel.webchat, Channel.webchat, Channel.telegram, Channel.whatsapp,
            Channel.whatsapp, Channel.messenger]
FIRST = ["Alice", "Bruno", "Chloé", "David", "Emma", "Farid", "Giulia", "Hugo", "Inès", "Jules"]
LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand"]


def id_from(moment: datetime) -> str:
    return f"{int(moment.timestamp()):08x}{secrets.token_hex(8)}"


def synthetic(number: int, now: datetime, routings: list[tuple[str, list[str]]],
              entry_points: list[tuple[str, Channel]], template: dict[str, Any],
              rng: random.Random) -> dict[str, Any]:
    created = now - timedelta(seconds=rng.uniform(0, DAYS * 86_400))
    routing_id, versions = rng.choice(routings)
    entry_point_id, channel = entry_points[number % len(entry_points)]
    state = rng.choices([state for state, _ in STATES], [share for _, share in STATES])[0]
    active = state not in (InteractionState.ended, InteractionState.failed)
    address = {Channel.whatsapp: f"whatsapp:+3361{number:07d}",
               Channel.telegram: str(700_000_000 + number),
               Channel.messenger: str(5_000_000_000 + number)}.get(channel, f"visitor-{number}")
    document = dict(template)
    later = now + timedelta(days=2)  # nothing is due while the benchmark runs
    document.update({
        "_id": id_from(created), "created_at": created, "updated_at": created,
        "entry_point_id": entry_point_id, "channel": channel.value, "contact": address,
        "contact_id": f"c{number}", "routing_id": routing_id,
        "version_id": rng.choice(versions),
        "contact_name": f"{rng.choice(FIRST)} {rng.choice(LAST)} {number % 1000}",
        "contact_phone": f"+3361{number:07d}" if channel is Channel.whatsapp else None,
        "test": rng.random() < 0.1, "state": state.value, "active": active,
        "status": "active" if active else "ended",
        "agent_id": "agent-1" if state is InteractionState.with_agent else None,
        "waiting": ({"action": "ask", "kind": "reply", "until": None, "memory": {}}
                    if state is InteractionState.waiting else None),
        "end_reason": {InteractionState.ended: "end of tree",
                       InteractionState.failed: "error"}.get(state),
        "ended_at": None if active else created + timedelta(minutes=3),
        "wake_at": later if active else None, "expires_at": later if active else None,
        "path": ["start", "ask", "answer"], "passages": {"start": 1, "ask": 1, "answer": 1},
        "last_text": "I would like to know where my parcel is",
    })
    return document


async def grow(service: Service, count: int, routings: list[tuple[str, list[str]]],
               entry_points: list[tuple[str, Channel]]) -> float:
    client: AsyncMongoClient = AsyncMongoClient(service.mongodb_uri, tz_aware=True)
    collection = client[service.database]["interactions"]
    template = Interaction(
        entry_point_id="", channel=Channel.webchat, contact="", contact_id="", routing_id="",
        version_id="", revision=1, variables={"order": "A-1234", "topic": "delivery"},
        waiting=Waiting(action="ask", kind="reply"),
    ).to_document()
    now, rng, started = utcnow(), random.Random(7), time.perf_counter()
    number = 0
    while number < count:
        size = min(BATCH, count - number)
        batch = [synthetic(number + offset, now, routings, entry_points, template, rng)
                 for offset in range(size)]
        await collection.insert_many(batch, ordered=False)
        number += size
        if number % 200_000 == 0 or number == count:
            print(f"  {number:,} interactions stored ({time.perf_counter() - started:.0f} s)",
                  flush=True)
    await client.close()
    return time.perf_counter() - started


def filters(routings: list[tuple[str, list[str]]], entry_points: list[tuple[str, Channel]],
            now: datetime) -> list[tuple[str, dict[str, str]]]:
    day = (now - timedelta(days=30)).replace(hour=0, minute=0, second=0, microsecond=0)
    window = {"started_from": day.strftime("%Y-%m-%dT%H:%M:%SZ"),
              "started_to": (day + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    named: list[tuple[str, dict[str, str]]] = [
        ("no filter (newest first)", {}),
        ("routing", {"routing": routings[0][0]}),
        ("version", {"version": routings[1][1][0]}),
        ("entry point", {"entry_point": entry_points[2][0]}),
        ("channel", {"channel": "messenger"}),
        *[(f"state {state.value}", {"state": state.value}) for state, _ in STATES],
        ("started on one day", window),
        ("contact: address", {"contact": "visitor-123456"}),
        ("contact: phone", {"contact": "+33610000003"}),
        ("contact: name start", {"contact": "chlo"}),
        ("test conversations", {"test": "true"}),
    ]
    return named


async def measure(service: Service, count: int, requests: int) -> bool:
    routings = [(f"r{index}", [f"r{index}v1", f"r{index}v2"]) for index in range(5)]
    entry_points = [(f"ep{index}", channel) for index, channel in enumerate(CHANNELS)]
    print(f"Storing {count:,} interactions…", flush=True)
    seconds = await grow(service, count, routings, entry_points)
    print(f"  {count / seconds:,.0f} interactions/s\n")
    client: AsyncMongoClient = AsyncMongoClient(service.mongodb_uri, tz_aware=True)
    collection = client[service.database]["interactions"]
    ok = True
    async with aiohttp.ClientSession() as session:
        headers = await admin_headers(session, service.url)
        rows = []
        for name, query in filters(routings, entry_points, utcnow()):
            path = "/api/interactions?" + urlencode({"limit": "50", **query})
            samples: list[float] = []
            body: dict[str, Any] = {}
            for attempt in range(requests + 3):
                started = time.perf_counter()
                async with session.get(service.url + path, headers=headers) as reply:
                    assert reply.status == 200, (path, reply.status, await reply.text())
                    body = await reply.json()
                if attempt >= 3:
                    samples.append((time.perf_counter() - started) * 1000)
            plan = await examined(collection, query)
            p50 = percentile(samples, 0.5)
            ok = ok and p50 <= GOAL_MS and not plan["scan"]
            rows.append(f"| {name} | {body['count']:,}{'+' if body['count_capped'] else ''} "
                        f"| {p50:.1f} | {percentile(samples, 0.99):.1f} | {max(samples):.1f} "
                        f"| {plan['find_keys']:,} / {plan['find_docs']:,} "
                        f"| {plan['count_keys']:,} |")
        page_samples = await page_times(service.url, requests)
    await client.close()
    print(f"{count:,} interactions; {requests} sequential requests per filter, a page of 50 "
          "and the count (capped at 10,000); times in ms\n")
    print("| filter | matches | p50 | p99 | max | find: keys / docs examined "
          "| count: keys examined |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    p50, p99 = percentile(page_samples, 0.5), percentile(page_samples, 0.99)
    print(f"\nThe page /admin/interactions (no filter, logged in): p50 {p50:.1f} ms, "
          f"p99 {p99:.1f} ms")
    return ok


async def page_times(base: str, requests: int) -> list[float]:
    """Log in through the login form (cookie and CSRF token), then time the list page."""
    jar = aiohttp.CookieJar(unsafe=True)  # keep the cookies of 127.0.0.1
    async with aiohttp.ClientSession(cookie_jar=jar) as session:
        return await _page_times(session, base, requests)


async def _page_times(session: aiohttp.ClientSession, base: str, requests: int) -> list[float]:
    async with session.get(base + "/admin/login") as reply:
        token = re.search(r'name="csrf_token" value="([^"]+)"', await reply.text())
    assert token is not None
    async with session.post(base + "/admin/login", data={
        "email": ADMIN[0], "password": ADMIN[1], "csrf_token": token.group(1),
    }, allow_redirects=False) as reply:
        assert reply.status == 302, await reply.text()
    samples = []
    for attempt in range(requests + 3):
        started = time.perf_counter()
        async with session.get(base + "/admin/interactions", allow_redirects=False) as reply:
            assert reply.status == 200, reply.status
            await reply.read()
        if attempt >= 3:
            samples.append((time.perf_counter() - started) * 1000)
    return samples


async def examined(collection: Any, query: dict[str, str]) -> dict[str, Any]:
    """Keys and documents the list's find and count examine, and whether either scans."""
    filters_of = InteractionFilter(
        routing_id=query.get("routing"), version_id=query.get("version"),
        entry_point_id=query.get("entry_point"), channel=query.get("channel"),
        states=(InteractionState(query["state"]),) if "state" in query else (),
        started_from=_moment(query.get("started_from")),
        started_to=_moment(query.get("started_to")),
        contact=query.get("contact"), test=query.get("test") == "true",
    )
    database = collection.database
    if filters_of.contact:  # one query per clause, each on its index, ids only
        keys = docs = 0
        text = ""
        count_keys = 0
        for clause in contact_clauses(filters_of.contact):
            query = {**filters_of.query(), **clause}
            index = CONTACT_INDEXES[next(iter(clause))]
            counted = await database.command("explain", {
                "find": collection.name, "filter": query, "projection": {"_id": 1},
                "limit": 10_001, "hint": index}, verbosity="executionStats")
            count_keys += counted["executionStats"]["totalKeysExamined"]
            if counted["executionStats"]["nReturned"] > 10_000:
                index = TIME_INDEX  # dense: the page walks the time index
            explained = await database.command("explain", {
                "find": collection.name, "filter": query, "projection": {"_id": 1},
                "sort": {"_id": -1}, "limit": 51, "hint": index}, verbosity="executionStats")
            keys += explained["executionStats"]["totalKeysExamined"]
            docs += explained["executionStats"]["totalDocsExamined"]
            text += str(explained["queryPlanner"]["winningPlan"])
        return {"find_keys": keys, "find_docs": docs, "count_keys": count_keys,
                "scan": "COLLSCAN" in text}
    mongo_query = filters_of.query()
    find = await database.command("explain", {
        "find": collection.name, "filter": mongo_query, "sort": {"_id": -1}, "limit": 51,
    }, verbosity="executionStats")
    count = await database.command("explain", {
        "count": collection.name, "query": mongo_query, "limit": 10_001,
    }, verbosity="executionStats")
    text = str(find["queryPlanner"]["winningPlan"]) + str(count["queryPlanner"]["winningPlan"])
    return {
        "find_keys": find["executionStats"]["totalKeysExamined"],
        "find_docs": find["executionStats"]["totalDocsExamined"],
        "count_keys": count["executionStats"]["totalKeysExamined"],
        "scan": "COLLSCAN" in text,
    }


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    run_checked(lambda service: measure(service, args.interactions, args.requests))


if __name__ == "__main__":
    main()
