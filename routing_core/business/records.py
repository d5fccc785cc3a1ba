"""What the services of cases, the CRM, tasks, campaigns and surveys share.

Admin changes are saved only if nobody saved the record since it was read (a ``revision``
check: two admins editing at once get a 409, not a silent overwrite) and are audited.
What actions create carries the step's ``origin`` under a unique index, so a step
replayed after a crash finds what it created the first time instead of creating it twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from pymongo.errors import DuplicateKeyError

from routing_core.infra.clock import utcnow
from routing_core.infra.errors import Conflict, Invalid, Words
from routing_core.infra.revisions import require_revision
from routing_core.model.audit import Actor
from routing_core.model.base import Timestamped
from routing_core.reference.coercion import as_json, build
from routing_core.store import Store
from routing_core.store.repository import Repository

RecordT = TypeVar("RecordT", bound=Timestamped)


def json_fields(fields: Mapping[str, Any], where: str = "fields") -> dict[str, Any]:
    """Free fields (of a case, a target): JSON values MongoDB stores as they are."""
    try:
        as_json(dict(fields))
    except ValueError as error:
        raise Invalid(Words("%(where)s: %(error)s", where=where, error=error),
                      field=where) from None
    return dict(fields)


def duplicate_of(error: DuplicateKeyError, index_field: str) -> bool:
    """Whether the unique index that refused the write is the one over ``index_field``."""
    details = error.details or {}
    return index_field in (details.get("keyPattern") or details.get("keyValue") or {})


class Kept(Generic[RecordT]):
    """A service over one repository: revision-checked saves, audited changes."""

    kind: ClassVar[str]  # the audit's target type

    def __init__(
        self, store: Store, repository: Repository[RecordT],
        clock: Callable[[], datetime] = utcnow,
    ):
        self.store = store
        self.repository: Repository[RecordT] = repository
        self.clock = clock

    async def get(self, item_id: str) -> RecordT:
        return await self.repository.get(item_id)

    def _merged(self, current: RecordT, changes: Mapping[str, Any]) -> RecordT:
        """``current`` with ``changes``; a ``revision`` among them is the one the editor
        read, refused when the record changed since."""
        changes = dict(changes)
        require_revision(changes.pop("revision", None), getattr(current, "revision", 0),
                         f"the {self.repository.label}")
        return build(type(current), {**current.model_dump(), **changes})

    async def _audit(self, actor: Actor, action: str, item_id: str, **details: object) -> None:
        await self.store.audit.record_change(
            actor, f"{self.kind}.{action}", self.kind, item_id, **details
        )

    async def _create(self, actor: Actor, item: RecordT, **details: object) -> RecordT:
        await self.repository.insert(item)
        await self._audit(actor, "create", item.id, **details)
        return item

    async def _save(
        self, actor: Actor, current: RecordT, revision: int, updated: RecordT,
        **details: object,
    ) -> RecordT:
        """Replace ``current`` (read at ``revision``) by ``updated``; 409 if it changed."""
        saved = updated.model_copy(update={"revision": revision + 1, "updated_at": self.clock()})
        result = await self.repository.collection.replace_one(
            {"_id": current.id, "revision": revision}, saved.to_document()
        )
        if result.matched_count != 1:
            raise Conflict(
                Words(
                    "the %(label)s was changed meanwhile; reload it and try again",
                    label=self.repository.label),
                code="concurrent_change",
            )
        await self._audit(actor, "update", current.id, **details)
        return saved

    async def delete(self, actor: Actor, item_id: str) -> None:
        await self.repository.get(item_id)
        await self.repository.delete(item_id)
        await self._audit(actor, "delete", item_id)

    async def insert_once(self, item: RecordT, origin: str) -> RecordT:
        """Insert what an action creates; a replay of its step gets the first one back.
        Other unique clashes raise DuplicateKeyError for the caller to explain."""
        try:
            return await self.repository.insert(item)
        except DuplicateKeyError as error:
            if not duplicate_of(error, "origin"):
                raise
            existing = await self.repository.find_one({"origin": origin})
            if existing is None:  # deleted since: nothing to give back, nothing to redo
                raise Conflict("what this step created was deleted meanwhile") from None
            return existing
