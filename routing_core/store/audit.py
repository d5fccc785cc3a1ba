"""The audit log: append-only."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson.regex import Regex
from pymongo import ASCENDING, DESCENDING, IndexModel

from routing_core.infra.ids import id_at
from routing_core.model.audit import Actor, AuditEntry
from routing_core.store.repository import Repository


@dataclass(frozen=True)
class AuditFilter:
    """Who did what, to what, when: each part optional."""

    actor_id: str | None = None
    kind: str | None = None  # an action ("version.produce") or a family of them ("version")
    target: str | None = None  # a target's id, or a kind of target ("version")
    since: datetime | None = None
    before: datetime | None = None

    def query(self) -> dict[str, Any]:
        query: dict[str, Any] = {}
        if self.actor_id:
            query["actor_id"] = None if self.actor_id == "system" else self.actor_id
        if self.kind:
            query["action"] = (self.kind if "." in self.kind
                               else Regex("^" + re.escape(self.kind) + r"\."))
        if self.target:
            query["$or"] = [{"target_id": self.target}, {"target_type": self.target}]
        bounds = {}
        if self.since is not None:
            bounds["$gte"] = id_at(self.since)
        if self.before is not None:
            bounds["$lt"] = id_at(self.before)
        if bounds:
            query["_id"] = bounds
        return query


class AuditRepository(Repository[AuditEntry]):
    collection_name = "audit"
    record = AuditEntry
    label = "audit entry"
    # the audit page's filters, newest first (ids hold their second: dates are id ranges)
    INDEXES = [
        IndexModel([("target_id", ASCENDING), ("_id", DESCENDING)], name="list_by_target"),
        IndexModel([("target_type", ASCENDING), ("_id", DESCENDING)], name="list_by_type"),
        IndexModel([("actor_id", ASCENDING), ("_id", DESCENDING)], name="list_by_actor"),
        IndexModel([("action", ASCENDING), ("_id", DESCENDING)], name="list_by_action"),
    ]
    RETIRED_INDEXES = ("by_target", "by_time")

    async def record_change(
        self,
        actor: Actor,
        action: str,
        target_type: str,
        target_id: str,
        session: object = None,
        **details: object,
    ) -> None:
        entry = AuditEntry(
            actor_id=actor.id,
            actor=actor.name,
            action=action,
            target_type=target_type,
            target_id=target_id,
            details=details,
        )
        await self.insert(entry, session=session)
