"""How a routing performs, read from what the engine already records: nothing is counted
on the hot path (no command added to a turn), and every process's conversations are in the
same collections, so the figures are right however many processes run.

- per day (the day a conversation started, in the service's time zone): started, ended,
  handed to an agent, abandoned (the customer stopped answering: a question's wait ran out,
  or the conversation expired), failed;
- per action of a version: how many conversations passed it (``passages``), how many went
  along each link between two actions (consecutive ``path`` entries), how many ended there;
- per entry point: messages in and out, and the reply latency — from a customer's message
  to the first reply sent after it (``sent_at - last_inbound_at`` of outbound messages).

Each aggregation starts on an index of ``interactions`` (routing or version, ``test``,
``_id`` — the period is an id range); the message figures join each conversation's events
on their ``interaction_id`` index.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from routing_core.infra.ids import id_at
from routing_core.model.interaction import InteractionState
from routing_core.store.interactions import InteractionRepository


@dataclass(frozen=True)
class Period:
    since: datetime
    before: datetime
    zone: str  # the time zone days are cut in (IANA name)


@dataclass(kw_only=True)
class Outcomes:
    """How a group of conversations went (``RoutingStatistics._outcomes`` counts them)."""

    started: int = 0
    ended: int = 0
    with_agent: int = 0
    abandoned: int = 0
    failed: int = 0


@dataclass(kw_only=True)
class DayFigures(Outcomes):
    day: str  # YYYY-MM-DD


@dataclass(kw_only=True)
class VersionFigures(Outcomes):
    """The period's conversations of one version, canary ones apart: how a candidate
    compares with production side by side."""

    version_id: str
    canary: bool


@dataclass
class ActionFigures:
    """Per action id: conversations that passed it, passages in all, ended there; per link
    (after, before): conversations that went along it."""

    conversations: dict[str, int] = field(default_factory=dict)
    passages: dict[str, int] = field(default_factory=dict)
    ended_here: dict[str, int] = field(default_factory=dict)
    links: dict[tuple[str, str], int] = field(default_factory=dict)
    total: int = 0  # conversations counted


@dataclass
class EntryPointFigures:
    entry_point_id: str
    conversations: int = 0
    inbound: int = 0
    outbound: int = 0
    replies_timed: int = 0
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None


def percentile(counted: list[tuple[float, int]], share: float) -> float | None:
    """The nearest-rank percentile of sorted (value, how many) pairs."""
    total = sum(count for _, count in counted)
    if not total:
        return None
    rank, seen = max(1, math.ceil(share * total)), 0
    for value, count in counted:
        seen += count
        if seen >= rank:
            return value
    return counted[-1][0]


class RoutingStatistics:
    def __init__(self, interactions: InteractionRepository):
        self.interactions = interactions

    @staticmethod
    def _match(routing_id: str, version_id: str | None, period: Period) -> dict[str, Any]:
        match: dict[str, Any] = {
            "test": False,
            "_id": {"$gte": id_at(period.since), "$lt": id_at(period.before)},
        }
        if version_id:
            match["version_id"] = version_id
        else:
            match["routing_id"] = routing_id
        return match

    async def per_version(self, routing_id: str, period: Period) -> list[VersionFigures]:
        pipeline = [
            {"$match": self._match(routing_id, None, period)},
            {"$group": {"_id": {"version": "$version_id", "canary": "$canary"},
                        **self._outcomes()}},
            {"$sort": {"started": -1}},
        ]
        found = await (await self.interactions.collection.aggregate(pipeline)).to_list()
        return [VersionFigures(version_id=row["_id"]["version"],
                               canary=bool(row["_id"].get("canary")),
                               **{key: value for key, value in row.items() if key != "_id"})
                for row in found]

    @staticmethod
    def _outcomes() -> dict[str, Any]:
        """Counts of a group of conversations: started, and how they went."""
        def count_if(condition: Any) -> dict[str, Any]:
            return {"$sum": {"$cond": [condition, 1, 0]}}

        return {
            "started": {"$sum": 1},
            "ended": count_if({"$eq": ["$state", InteractionState.ended.value]}),
            "failed": count_if({"$eq": ["$state", InteractionState.failed.value]}),
            "with_agent": count_if({"$gt": ["$agent_id", None]}),
            # the customer stopped answering: a wait ran out, or the conversation expired
            "abandoned": count_if({"$and": [
                {"$in": ["$state", [InteractionState.ended.value,
                                    InteractionState.failed.value]]},
                {"$or": [{"$eq": ["$end_reason", "inactivity"]},
                         {"$eq": ["$timed_out", True]}]}]}),
        }

    async def per_day(self, routing_id: str, version_id: str | None,
                      period: Period) -> list[DayFigures]:
        pipeline = [
            {"$match": self._match(routing_id, version_id, period)},
            {"$group": {
                "_id": {"$dateToString": {"format": "%Y-%m-%d", "date": "$created_at",
                                          "timezone": period.zone}},
                **self._outcomes(),
            }},
            {"$sort": {"_id": 1}},
        ]
        found = await (await self.interactions.collection.aggregate(pipeline)).to_list()
        return [DayFigures(day=row.pop("_id"), **row) for row in found]

    async def per_action(self, version_id: str, period: Period) -> ActionFigures:
        pipeline = [
            {"$match": self._match("", version_id, period)},
            {"$project": {
                "passages": {"$objectToArray": "$passages"},
                "links": {"$setUnion": [{"$zip": {"inputs": [
                    "$path", {"$slice": ["$path", 1, {"$max": [{"$size": "$path"}, 1]}]}]}}]},
                "last": {"$cond": [{"$in": ["$state", [InteractionState.ended.value,
                                                       InteractionState.failed.value]]},
                                   {"$arrayElemAt": ["$path", -1]}, None]},
            }},
            {"$facet": {
                "total": [{"$count": "n"}],
                "actions": [{"$unwind": "$passages"},
                            {"$group": {"_id": "$passages.k", "conversations": {"$sum": 1},
                                        "passages": {"$sum": "$passages.v"}}}],
                "links": [{"$unwind": "$links"},
                          {"$group": {"_id": "$links", "conversations": {"$sum": 1}}}],
                "ended": [{"$match": {"last": {"$type": "string"}}},
                          {"$group": {"_id": "$last", "conversations": {"$sum": 1}}}],
            }},
        ]
        [found] = await (await self.interactions.collection.aggregate(pipeline)).to_list()
        figures = ActionFigures(total=found["total"][0]["n"] if found["total"] else 0)
        for row in found["actions"]:
            figures.conversations[row["_id"]] = row["conversations"]
            figures.passages[row["_id"]] = row["passages"]
        for row in found["links"]:
            after, before = row["_id"]
            figures.links[(after, before)] = row["conversations"]
        for row in found["ended"]:
            figures.ended_here[row["_id"]] = row["conversations"]
        return figures

    async def per_entry_point(self, routing_id: str, version_id: str | None,
                              period: Period) -> list[EntryPointFigures]:
        """Latencies are counted in buckets of two significant figures (1 ms under 100 ms,
        10 ms under a second…): percentiles within 1 %, and a bounded result however many
        replies there were."""
        reply_ms = {"$subtract": ["$answered", "$_id.asked"]}
        pipeline = [
            {"$match": self._match(routing_id, version_id, period)},
            {"$project": {"entry_point_id": 1, "created_at": 1}},
            {"$lookup": {
                "from": "events",
                "localField": "_id",
                "foreignField": "interaction_id",
                "pipeline": [
                    {"$match": {"type": {"$in": ["inbound", "outbound"]}}},
                    {"$project": {"type": 1, "sent_at": 1, "last_inbound_at": 1}},
                ],
                "as": "messages",
            }},
            {"$project": {
                "entry_point_id": 1,
                "inbound": {"$size": {"$filter": {
                    "input": "$messages", "cond": {"$eq": ["$$this.type", "inbound"]}}}},
                "outbound": {"$size": {"$filter": {
                    "input": "$messages", "cond": {"$eq": ["$$this.type", "outbound"]}}}},
                "timed": {"$filter": {"input": "$messages", "cond": {"$and": [
                    {"$eq": ["$$this.type", "outbound"]},
                    {"$gt": ["$$this.sent_at", None]},
                    {"$gt": ["$$this.last_inbound_at", None]},
                    # a message of this conversation, not one before another system opened
                    # it (``engine/outside_starts.py``): no reply to measure
                    {"$gte": ["$$this.last_inbound_at", "$created_at"]},
                ]}}},
            }},
            {"$facet": {
                "counts": [{"$group": {
                    "_id": "$entry_point_id", "conversations": {"$sum": 1},
                    "inbound": {"$sum": "$inbound"}, "outbound": {"$sum": "$outbound"},
                }}],
                "latencies": [
                    {"$unwind": "$timed"},
                    # the first reply sent after each customer message
                    {"$group": {"_id": {"interaction": "$_id",
                                        "asked": "$timed.last_inbound_at"},
                                "entry_point_id": {"$first": "$entry_point_id"},
                                "answered": {"$min": "$timed.sent_at"}}},
                    {"$project": {"entry_point_id": 1, "ms": {"$max": [reply_ms, 0]}}},
                    {"$project": {"entry_point_id": 1, "bucket": {"$let": {
                        "vars": {"step": {"$pow": [10, {"$max": [0, {"$subtract": [
                            {"$floor": {"$log10": {"$max": ["$ms", 1]}}}, 1]}]}]}},
                        "in": {"$multiply": [{"$floor": {"$divide": ["$ms", "$$step"]}},
                                             "$$step"]},
                    }}}},
                    {"$group": {"_id": {"entry_point": "$entry_point_id",
                                        "bucket": "$bucket"},
                                "replies": {"$sum": 1}}},
                ],
            }},
        ]
        cursor = await self.interactions.collection.aggregate(pipeline, allowDiskUse=True)
        [found] = await cursor.to_list()
        buckets: dict[str, list[tuple[float, int]]] = defaultdict(list)
        for row in found["latencies"]:
            buckets[row["_id"]["entry_point"]].append((float(row["_id"]["bucket"]),
                                                       row["replies"]))
        result = []
        for row in found["counts"]:
            counted = sorted(buckets.get(row["_id"], []))
            result.append(EntryPointFigures(
                entry_point_id=row["_id"], conversations=row["conversations"],
                inbound=row["inbound"], outbound=row["outbound"],
                replies_timed=sum(count for _, count in counted),
                latency_p50_ms=percentile(counted, 0.50),
                latency_p95_ms=percentile(counted, 0.95),
            ))
        return sorted(result, key=lambda figures: -figures.conversations)
