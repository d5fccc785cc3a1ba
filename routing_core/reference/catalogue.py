"""What every kind of reference data shares: unique names, revision-checked saves and
an audit line for every change."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from routing_core.infra.clock import utcnow
from routing_core.infra.errors import Conflict, NotFound, Words
from routing_core.infra.revisions import require_revision
from routing_core.model.audit import Actor
from routing_core.model.reference import (
    CustomDatabase,
    GlobalVariable,
    Schedule,
    ValueTable,
)
from routing_core.reference.coercion import build
from routing_core.store import Store
from routing_core.store.repository import Repository

Session = AsyncClientSession | None
# -- the services ------------------------------------------------------------------------

NamedT = TypeVar("NamedT", ValueTable, GlobalVariable, CustomDatabase, Schedule)


class Catalogue(Generic[NamedT]):
    """What every kind of reference data shares: unique names, revision-checked saves
    (two admins editing at once: the second gets a 409, not a silent overwrite), audit."""

    kind: ClassVar[str]
    what: ClassVar[str]

    def __init__(
        self, store: Store, repository: Repository[NamedT], clock: Callable[[], datetime] = utcnow
    ):
        self.store = store
        self.repository: Repository[NamedT] = repository
        self.clock = clock

    def _name_taken(self, name: str) -> Conflict:
        return Conflict(Words("a %(what)s named %(name)r exists", what=self.what, name=name),
                        field="name", code="name_taken")

    async def named(self, name: str) -> NamedT:
        """The item a tree refers to by ``name``; NotFound when it was deleted or renamed."""
        item = await self.repository.find_one({"name": name})
        if item is None:
            raise NotFound(Words("no %(what)s named %(name)r", what=self.what, name=name))
        return item

    def _merged(self, current: NamedT, changes: Mapping[str, Any]) -> NamedT:
        """``current`` with ``changes``; a ``revision`` among them is the one the editor
        read, refused when the item changed since."""
        changes = dict(changes)
        require_revision(changes.pop("revision", None), current.revision,
                         f"{self.what} {current.name!r}")
        return build(type(current), {**current.model_dump(), **changes})

    async def _create(self, actor: Actor, item: NamedT) -> NamedT:
        try:
            await self.repository.insert(item)
        except DuplicateKeyError:
            raise self._name_taken(item.name) from None
        self._changed()
        await self.store.audit.record_change(
            actor, f"{self.kind}.create", self.kind, item.id, name=item.name
        )
        return item

    def _changed(self) -> None:
        """An item was written by this process: subclasses drop what they cached."""

    async def _save(
        self, actor: Actor, current: NamedT, updated: NamedT, action: str = "update",
        session: Session = None, **details: object,
    ) -> NamedT:
        """Replace ``current`` by ``updated`` only if nobody saved it since it was read."""
        saved = updated.model_copy(
            update={"revision": current.revision + 1, "updated_at": self.clock()}
        )
        try:
            result = await self.repository.collection.replace_one(
                {"_id": current.id, "revision": current.revision},
                saved.to_document(),
                session=session,
            )
        except DuplicateKeyError:
            raise self._name_taken(updated.name) from None
        if result.matched_count != 1:
            raise Conflict(
                Words(
                    "%(what)s %(name)r was changed meanwhile; reload it and try again",
                    what=self.what, name=current.name),
                code="concurrent_change",
            )
        self._changed()
        await self.store.audit.record_change(
            actor, f"{self.kind}.{action}", self.kind, current.id, session=session, **details
        )
        return saved

    async def delete(self, actor: Actor, item_id: str) -> None:
        """Allowed even while trees name it: their validation report flags the reference."""
        item = await self.repository.get(item_id)
        await self.repository.delete(item_id)
        self._changed()
        await self.store.audit.record_change(
            actor, f"{self.kind}.delete", self.kind, item_id, name=item.name
        )


