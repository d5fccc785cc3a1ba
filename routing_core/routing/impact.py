"""What putting a version in production touches, said before it is done.

- the conversations waiting now on the current production version: they stay on their
  version (each interaction is pinned to the tree it started on), counted per waiting action,
  and whether that action still exists in the candidate;
- the entry points that start or end their conversations with this routing, and the other
  routings' production versions that hand over to it;
- the scheduled productions of the routing, which will replace the candidate when they fire;
- the references of the candidate that do not resolve: a queue, value table, database,
  schedule, survey, campaign or routing it names that does not exist (or a campaign closed,
  a routing with no production version to hand over to), a global variable a template
  reads (``globals.name``) that does not exist.

Everything here is read from what is stored when the confirmation opens; nothing is kept.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from routing_core.model.campaigns import CampaignStatus
from routing_core.model.routing import SmartRouting, Version, VersionStatus
from routing_core.routing.references import existing, named_in
from routing_core.store import Store


@dataclass
class WaitingCount:
    action_id: str
    name: str
    conversations: int
    in_candidate: bool  # the candidate has this action too (by id)


@dataclass
class Unresolved:
    action_id: str
    action_name: str
    kind: str  # queue, value table…
    reference: str
    problem: str  # "does not exist", "is closed", "has no production version"


@dataclass
class Impact:
    production: str | None = None  # the current production version's name
    waiting: list[WaitingCount] = field(default_factory=list)
    entry_points: list[tuple[str, str, str]] = field(default_factory=list)  # id, name, role
    leading_here: list[tuple[str, str]] = field(default_factory=list)  # routing, action
    scheduled: list[tuple[str, str, datetime]] = field(default_factory=list)  # id, name, at
    unresolved: list[Unresolved] = field(default_factory=list)

    @property
    def waiting_total(self) -> int:
        return sum(item.conversations for item in self.waiting)


async def impact_of(store: Store, version: Version) -> Impact:
    routing = await store.routings.get(version.routing_id)
    result = Impact()
    production = await store.versions.find_one(
        {"routing_id": routing.id, "status": VersionStatus.production.value})
    if production is not None and production.id != version.id:
        result.production = production.name
        result.waiting = await _waiting(store, production, version)
    async for point in store.entry_points.collection.find(
        {"$or": [{"start_routing": routing.id}, {"end_routing": routing.id}],
         "simulated_version": None}, projection={"name": 1, "start_routing": 1}):
        role = "start" if point.get("start_routing") == routing.id else "end"
        result.entry_points.append((point["_id"], point["name"], role))
    result.leading_here = await _leading_here(store, routing)
    async for other in store.versions.collection.find(
        {"routing_id": routing.id, "scheduled_at": {"$type": "date"}, "_id": {"$ne": version.id}},
        projection={"name": 1, "scheduled_at": 1},
    ).sort("scheduled_at", 1):
        result.scheduled.append((other["_id"], other["name"], other["scheduled_at"]))
    result.unresolved = await _unresolved(store, version)
    return result


async def _waiting(store: Store, production: Version, candidate: Version) -> list[WaitingCount]:
    pipeline: list[dict[str, Any]] = [
        {"$match": {"version_id": production.id, "active": True}},
        {"$group": {"_id": "$waiting.action", "conversations": {"$sum": 1}}},
        {"$sort": {"conversations": -1}},
    ]
    cursor = await store.interactions.collection.aggregate(pipeline, hint="due_wake_ups")
    names = {action.id: action.name or action.type for action in production.tree.actions}
    return [
        WaitingCount(action_id=row["_id"] or "", name=names.get(row["_id"] or "", "(running)"),
                     conversations=row["conversations"],
                     in_candidate=candidate.tree.find(row["_id"] or "") is not None)
        async for row in cursor
    ]


LEADING_TYPES = ("to_smart_routing", "call_smart_routing")


async def _leading_here(store: Store, routing: SmartRouting) -> list[tuple[str, str]]:
    """Other routings whose production hands over to this one or calls it
    (``to_smart_routing``, ``call_smart_routing``)."""
    found = []
    async for other in store.versions.collection.find(
        {"status": VersionStatus.production.value, "routing_id": {"$ne": routing.id},
         "tree.actions": {"$elemMatch": {"type": {"$in": list(LEADING_TYPES)},
                                         "params.routing": {"$in": [routing.reference,
                                                                    routing.id]}}}},
        projection={"routing_id": 1, "tree.actions": 1},
    ):
        source = await store.routings.find(other["routing_id"])
        for action in other["tree"]["actions"]:
            if (action.get("type") in LEADING_TYPES
                    and action.get("params", {}).get("routing") in (routing.reference,
                                                                    routing.id)):
                found.append((source.name if source else other["routing_id"],
                              action.get("name") or action["type"]))
    return found


GLOBAL_NAME = re.compile(r"\bglobals\.([A-Za-z_][A-Za-z0-9_]*)")


async def _unresolved(store: Store, version: Version) -> list[Unresolved]:
    missing: list[Unresolved] = []
    named: dict[str, list[tuple[str, str]]] = {}  # global variable → actions reading it
    for action in version.tree.actions:
        for name in set(GLOBAL_NAME.findall(json.dumps(action.params))):
            named.setdefault(name, []).append((action.id, action.name or action.type))
        for record, reference in named_in(action):
            document = (await existing(store, record, [reference])).get(reference)
            problem = await _problem(store, record.kind, document)
            if problem:
                missing.append(Unresolved(action.id, action.name or action.type, record.kind,
                                          reference, problem))
    if named:
        known = set(await store.database["variables"].distinct(
            "name", {"name": {"$in": sorted(named)}}))
        for name in sorted(set(named) - known):
            missing += [Unresolved(action_id, action_name, "variable", name, "does not exist")
                        for action_id, action_name in named[name]]
    return missing


async def _problem(store: Store, kind: str, document: dict[str, Any] | None) -> str | None:
    if document is None:
        return "does not exist"
    if kind == "campaign" and document.get("status") == CampaignStatus.closed.value:
        return "is closed"
    if kind == "smart routing":
        production = await store.versions.collection.find_one(
            {"routing_id": document["_id"], "status": VersionStatus.production.value},
            projection={"_id": 1})
        if production is None:
            return "has no production version"
    return None
