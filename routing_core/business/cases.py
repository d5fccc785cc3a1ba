"""Cases: the admin API's CRUD, and the ``CasesPort`` the case actions call.

A new case takes the next number (highest + 1); the unique index on ``number`` makes two
concurrent openings clash, and the loser takes the following number.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from pymongo import DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from routing_core.business.records import Kept, duplicate_of, json_fields
from routing_core.infra.clock import utcnow
from routing_core.infra.errors import Conflict
from routing_core.model.audit import Actor
from routing_core.model.cases import (
    OPEN_STATUSES,
    Case,
    CaseStatus,
    case_reference,
)
from routing_core.reference.coercion import build
from routing_core.store import Store
from routing_core.store.repository import DEFAULT_PAGE

NUMBER_ATTEMPTS = 20


class Cases(Kept[Case]):
    kind = "case"

    def __init__(self, store: Store, clock: Callable[[], datetime] = utcnow):
        super().__init__(store, store.cases, clock)

    # -- the admin API ---------------------------------------------------------------------

    async def create(
        self, actor: Actor, *, title: str, status: str = "open", priority: str = "normal",
        fields: Mapping[str, Any] | None = None, contact_id: str | None = None,
        interaction_ids: list[str] | None = None,
    ) -> Case:
        data = {"title": title, "status": status, "priority": priority,
                "fields": json_fields(fields or {}), "contact_id": contact_id,
                "interaction_ids": list(dict.fromkeys(interaction_ids or []))}
        case = await self._insert_numbered(data)
        await self._audit(actor, "create", case.id, reference=case.reference)
        return case

    async def update(self, actor: Actor, case_id: str, changes: Mapping[str, Any]) -> Case:
        """``fields`` replaces the case's fields; a status change dates the closing."""
        current = await self.repository.get(case_id)
        changes = dict(changes)
        if "fields" in changes:
            changes["fields"] = json_fields(changes["fields"] or {})
        updated = self._merged(current, changes)
        updated.closed_at = self._closed_at(current, updated.status)
        return await self._save(actor, current, current.revision, updated, fields=sorted(changes))

    async def search(
        self, filters: Mapping[str, str | None], *, cursor: str | None = None,
        limit: int = DEFAULT_PAGE,
    ) -> tuple[list[Case], str | None]:
        """Newest first; ``status``, ``priority``, ``contact`` (id), ``interaction``,
        ``reference`` filter on equality."""
        names = {"status": "status", "priority": "priority", "contact": "contact_id",
                 "interaction": "interaction_ids", "reference": "reference"}
        query = {names[key]: value for key, value in filters.items() if value is not None}
        return await self.repository.list(query, cursor=cursor, limit=limit, newest_first=True)

    def _closed_at(self, current: Case, status: CaseStatus) -> datetime | None:
        if status is not CaseStatus.closed:
            return None
        return current.closed_at if current.status is CaseStatus.closed else self.clock()

    async def _insert_numbered(self, data: Mapping[str, Any], origin: str | None = None) -> Case:
        """Insert with the next free number; for an origin already used, that case."""
        for _ in range(NUMBER_ATTEMPTS):
            highest = await self.repository.collection.find_one(
                {}, projection={"number": 1}, sort=[("number", DESCENDING)]
            )
            number = (highest or {}).get("number", 0) + 1
            now = self.clock()
            case = build(Case, {**data, "number": number, "reference": case_reference(number),
                                "origin": origin, "created_at": now, "updated_at": now})
            try:
                if origin is None:
                    return await self.repository.insert(case)
                return await self.insert_once(case, origin)
            except DuplicateKeyError as error:
                if not (duplicate_of(error, "number") or duplicate_of(error, "reference")):
                    raise
        raise Conflict("could not number the case: too many opened at once; try again")

    # -- for the engine (CasesPort) --------------------------------------------------------

    async def latest_open(self, contact_id: str) -> dict[str, Any] | None:
        found = await self.repository.collection.find_one(
            {"contact_id": contact_id, "status": {"$in": list(OPEN_STATUSES)}},
            sort=[("_id", DESCENDING)],
        )
        return Case.from_document(found).snapshot() if found else None

    async def by_reference(self, reference: str) -> dict[str, Any] | None:
        case = await self.repository.find_one({"reference": reference.strip().upper()})
        return case.snapshot() if case else None

    async def link(self, case_id: str, interaction_id: str) -> dict[str, Any] | None:
        return await self._change(case_id, {"$addToSet": {"interaction_ids": interaction_id}})

    async def unlink(self, case_id: str, interaction_id: str) -> None:
        await self._change(case_id, {"$pull": {"interaction_ids": interaction_id}})

    async def open_case(
        self, *, title: str, fields: dict[str, Any], priority: str, contact_id: str,
        interaction_id: str, origin: str,
    ) -> dict[str, Any]:
        data = {"title": title, "priority": priority, "fields": json_fields(fields),
                "contact_id": contact_id, "interaction_ids": [interaction_id]}
        return (await self._insert_numbered(data, origin)).snapshot()

    async def modify(
        self, case_id: str, *, fields: dict[str, Any], status: str | None,
        priority: str | None,
    ) -> dict[str, Any] | None:
        changes: dict[str, Any] = {
            f"fields.{name}": value for name, value in json_fields(fields).items()
        }
        if priority is not None:
            changes["priority"] = priority
        if status is not None:
            changes["status"] = status
            closing = status == CaseStatus.closed.value
            changes["closed_at"] = self.clock() if closing else None
        return await self._change(case_id, {"$set": changes})

    async def _change(self, case_id: str, update: dict[str, Any]) -> dict[str, Any] | None:
        update = {**update, "$inc": {"revision": 1}}
        update["$set"] = {**update.get("$set", {}), "updated_at": self.clock()}
        found = await self.repository.collection.find_one_and_update(
            {"_id": case_id}, update, return_document=ReturnDocument.AFTER
        )
        return Case.from_document(found).snapshot() if found else None
