"""The audit log: append-only."""

from __future__ import annotations

from pymongo import ASCENDING, DESCENDING, IndexModel

from routing_core.model.audit import Actor, AuditEntry
from routing_core.store.repository import Repository


class AuditRepository(Repository[AuditEntry]):
    collection_name = "audit"
    record = AuditEntry
    label = "audit entry"
    INDEXES = [
        IndexModel([("target_id", ASCENDING), ("at", DESCENDING)], name="by_target"),
        IndexModel([("at", DESCENDING)], name="by_time"),
    ]

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
