"""The version lifecycle: every rule of the seed, enforced here and nowhere else.

Each rule is a small function that raises a clear ``Conflict``/``Invalid``; each transition
is one conditional MongoDB update, or one transaction when two versions change together
(putting in production). The partial unique indexes of ``VersionRepository`` back the
one-at-a-time rules against races the checks cannot see.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from routing_core.infra.clock import utcnow
from routing_core.infra.errors import Conflict, Invalid, NotFound, Words
from routing_core.infra.revisions import changed_meanwhile, revision_filter
from routing_core.model.audit import SYSTEM, Actor
from routing_core.model.routing import (
    TREE_EDITS_KEPT,
    RoutingType,
    SmartRouting,
    TreeEdit,
    Version,
    VersionStatus,
)
from routing_core.model.tree import Tree
from routing_core.routing import validation
from routing_core.routing.references import missing_references
from routing_core.store import Store

Session = AsyncClientSession | None


# -- the rules ---------------------------------------------------------------------------


def require_development(version: Version, doing: str) -> None:
    """Edit, test, schedule: only a version in development can be changed."""
    if version.status is not VersionStatus.development:
        raise Conflict(
            Words(
                "cannot %(doing)s version %(name)r: it is in %(value)s; only a version in "
                "development can be changed (duplicate it to change it)",
                doing=doing, name=version.name, value=version.status.value),
            code="not_in_development",
        )


async def require_promotable(store: Store, version: Version,
                             session: AsyncClientSession | None = None) -> None:
    """Production comes from development or backup, with at least one action after Start,
    no validation error, and every record its actions name existing."""
    if version.status is VersionStatus.production:
        raise Conflict(Words("version %(name)r is already in production", name=version.name),
                       code="in_production")
    if version.tree.is_blank():
        raise Conflict(
            Words(
                "version %(name)r has no action after Start; add one before production",
                name=version.name),
            code="blank_tree",
        )
    errors = validation.validate(version.tree).errors
    errors += await missing_references(store, version.tree, session)
    if errors:
        first = errors[0]
        raise Conflict(
            Words(
                "version %(name)r has %(count)s validation error(s), first: %(message)s",
                name=version.name, count=len(errors), message=first.message),
            code="invalid_tree",
        )


async def require_no_canary(store: Store, version: Version, doing: str) -> None:
    """A version taking canary traffic is read-only: what is measured is what would be
    promoted (``routing/canaries.py``)."""
    found = await store.entry_points.collection.find_one(
        {"canary.version_id": version.id}, projection={"name": 1})
    if found is not None:
        raise Conflict(Words(
            "cannot %(doing)s version %(name)r: it takes canary traffic on entry point "
            "%(name2)r; promote or abandon the canary first",
            doing=doing, name=version.name, name2=found['name']), code="in_canary")


def require_deletable(version: Version) -> None:
    if version.status is VersionStatus.production:
        raise Conflict(
            Words(
                "version %(name)r is in production and cannot be deleted; put another version "
                "in production first",
                name=version.name),
            code="in_production",
        )


def require_future(at: datetime, now: datetime) -> None:
    if at.tzinfo is None:
        raise Invalid("the date-time must carry a UTC offset", field="at")
    if at <= now:
        raise Invalid("a production can only be scheduled strictly in the future", field="at")


def require_new_routing_type(changes: dict[str, Any]) -> None:
    if "type" in changes:
        raise Invalid("the type of a smart routing cannot be changed", field="type")


# -- the transitions ---------------------------------------------------------------------


class Lifecycle:
    """Creates, changes and moves routings and versions, auditing each change."""

    def __init__(
        self,
        store: Store,
        zone: ZoneInfo,
        clock: Callable[[], datetime] = utcnow,
        late_grace_seconds: float = 60.0,
    ):
        self.store = store
        self.zone = zone
        self.clock = clock
        self.late_grace_seconds = late_grace_seconds
        self.change_listeners: list[Callable[[str, Version | None], None]] = []

    def _changed(self, version_id: str, version: Version | None) -> None:
        """Tell this process's caches and timers that a version changed (None: deleted):
        the runtime forgets its start versions, the scheduler re-plans."""
        for listener in self.change_listeners:
            listener(version_id, version)

    # routings

    async def create_routing(
        self, actor: Actor, *, name: str, reference: str, description: str, type: RoutingType
    ) -> SmartRouting:
        routing = SmartRouting(name=name, reference=reference, description=description, type=type)
        await self.insert_routing(routing)
        await self.store.audit.record_change(actor, "routing.create", "smart_routing", routing.id)
        return routing

    async def insert_routing(self, routing: SmartRouting, session: Session = None) -> None:
        try:
            await self.store.routings.insert(routing, session=session)
        except DuplicateKeyError:
            raise Conflict(
                Words("the reference %(reference)r is already used by another smart routing",
                      reference=routing.reference), field="reference", code="reference_taken",
            ) from None

    async def update_routing(
        self, actor: Actor, routing_id: str, changes: dict[str, Any]
    ) -> SmartRouting:
        require_new_routing_type(changes)
        expected = revision_filter(changes.pop("revision", None))
        try:
            document = await self.store.routings.collection.find_one_and_update(
                {"_id": routing_id, **expected},
                {"$set": {**changes, "updated_at": self.clock()}, "$inc": {"revision": 1}},
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            raise Conflict(Words("the reference %(reference)r is already used",
                                 reference=changes.get("reference")),
                           field="reference", code="reference_taken") from None
        if document is None:
            if expected and await self.store.routings.find(routing_id) is not None:
                raise changed_meanwhile("the smart routing")
            raise NotFound(Words("no smart routing with id %(routing_id)r", routing_id=routing_id))
        await self.store.audit.record_change(
            actor, "routing.update", "smart_routing", routing_id, changes=changes
        )
        return SmartRouting.from_document(document)

    async def delete_routing(self, actor: Actor, routing_id: str) -> None:
        routing = await self.store.routings.get(routing_id)
        if await self.store.routing_in_use(routing_id):
            raise Conflict(
                Words("smart routing %(reference)r is used by an entry point; change the entry "
                      "point first", reference=routing.reference), code="in_use",
            )

        async def work(session: AsyncClientSession) -> None:
            await self.store.versions.collection.delete_many(
                {"routing_id": routing_id}, session=session
            )
            await self.store.entry_points.collection.delete_many(  # its simulators
                {"start_routing": routing_id, "simulated_version": {"$ne": None}},
                session=session,
            )
            await self.store.routings.delete(routing_id, session=session)
            await self.store.audit.record_change(
                actor,
                "routing.delete",
                "smart_routing",
                routing_id,
                session=session,
                reference=routing.reference,
            )

        await self.store.in_transaction(work)

    async def copy_routing(
        self, actor: Actor, routing_id: str, *, name: str, reference: str
    ) -> SmartRouting:
        """A new routing whose versions copy every tree of the original, in development."""
        original = await self.store.routings.get(routing_id)
        versions = await self.store.versions.all({"routing_id": routing_id})
        copy = SmartRouting(
            name=name, reference=reference, description=original.description, type=original.type
        )

        async def work(session: AsyncClientSession) -> SmartRouting:
            await self.insert_routing(copy, session=session)
            for version in versions:
                duplicate = Version(
                    routing_id=copy.id,
                    name=version.name,
                    description=version.description,
                    tree=version.tree.model_copy(deep=True),
                )
                await self.store.versions.insert(duplicate, session=session)
            await self.store.audit.record_change(
                actor,
                "routing.copy",
                "smart_routing",
                copy.id,
                session=session,
                copied_from=routing_id,
            )
            return copy

        return await self.store.in_transaction(work)

    # versions

    async def create_version(
        self,
        actor: Actor,
        routing_id: str,
        *,
        name: str,
        description: str = "",
        copy_from: str | None = None,
    ) -> Version:
        """From zero (Start only) or copying the tree of any version, of any routing."""
        await self.store.routings.get(routing_id)
        tree = Tree.blank()
        if copy_from:
            source = await self.store.versions.find(copy_from)
            if source is None:
                raise Invalid(Words("no version with id %(copy_from)r to copy",
                                    copy_from=copy_from), field="copy_from")
            tree = source.tree.model_copy(deep=True)
        version = Version(routing_id=routing_id, name=name, description=description, tree=tree)
        await self.store.versions.insert(version)
        await self.store.audit.record_change(
            actor, "version.create", "version", version.id, copied_from=copy_from
        )
        return version

    async def duplicate_version(self, actor: Actor, version_id: str, name: str | None) -> Version:
        """Any status → a new development version: the way to change a production tree."""
        source = await self.store.versions.get(version_id)
        return await self.create_version(
            actor,
            source.routing_id,
            name=name or f"{source.name} (copy)",
            description=source.description,
            copy_from=source.id,
        )

    async def update_version(
        self, actor: Actor, version_id: str, changes: dict[str, Any]
    ) -> Version:
        version = await self.store.versions.get(version_id)
        require_development(version, "edit")
        updated = await self._conditional_update(version, {"$set": changes})
        await self.store.audit.record_change(
            actor, "version.update", "version", version_id, changes=changes
        )
        return updated

    async def save_tree(self, actor: Actor, version: Version, tree: Tree, what: str,
                        label: str = "", remember: bool = True) -> Version:
        """Store an edited tree, only if nobody changed the version since it was read; the
        edit joins the version's undo history unless it is an undo or a redo itself."""
        require_development(version, "edit")
        await require_no_canary(self.store, version, "edit")
        updated = await self._conditional_update(version, {"$set": {"tree": tree.model_dump()}})
        await self.store.audit.record_change(actor, f"tree.{what}", "version", version.id,
                                             label=label or None)
        if remember:
            await self.store.tree_edits.keep(TreeEdit(
                version_id=version.id, seq=updated.revision, what=what, label=label or what,
                before=version.tree, after=tree, actor=actor.name,
            ), TREE_EDITS_KEPT)
        return updated

    async def delete_version(self, actor: Actor, version_id: str) -> None:
        """Development or backup only; a scheduled version takes its schedule with it."""
        version = await self.store.versions.get(version_id)
        require_deletable(version)
        await require_no_canary(self.store, version, "delete")
        result = await self.store.versions.collection.delete_one(
            {"_id": version_id, "status": {"$ne": VersionStatus.production.value}}
        )
        if result.deleted_count != 1:
            raise Conflict("the version changed meanwhile; reload it", code="concurrent_change")
        await self.store.entry_points.collection.delete_many({"simulated_version": version_id})
        self._changed(version_id, None)
        await self.store.audit.record_change(
            actor,
            "version.delete",
            "version",
            version_id,
            name=version.name,
            status=version.status.value,
            cancelled_schedule=version.scheduled_at.isoformat() if version.scheduled_at else None,
        )

    async def put_in_test(self, actor: Actor, version_id: str) -> Version:
        version = await self.store.versions.get(version_id)
        require_development(version, "put in test")
        if version.in_test:
            return version
        try:
            updated = await self._conditional_update(version, {"$set": {"in_test": True}})
        except DuplicateKeyError:
            raise Conflict(
                "another version of this smart routing is already in test; remove it from "
                "test first",
                code="other_in_test",
            ) from None
        await self.store.audit.record_change(actor, "version.test", "version", version_id)
        return updated

    async def remove_from_test(self, actor: Actor, version_id: str) -> Version:
        version = await self.store.versions.get(version_id)
        require_development(version, "remove from test")
        if not version.in_test:
            return version
        updated = await self._conditional_update(version, {"$set": {"in_test": False}})
        await self.store.audit.record_change(actor, "version.untest", "version", version_id)
        return updated

    async def schedule(self, actor: Actor, version_id: str, at: datetime) -> Version:
        version = await self.store.versions.get(version_id)
        require_development(version, "schedule")
        require_future(at, self.clock())
        await require_promotable(self.store, version)
        date = at.astimezone(self.zone).date().isoformat()
        try:
            updated = await self._conditional_update(
                version, {"$set": {"scheduled_at": at, "scheduled_date": date}}
            )
        except DuplicateKeyError:
            raise Conflict(
                Words("another version of this smart routing is already scheduled on %(date)s",
                      date=date), field="at", code="date_taken",
            ) from None
        await self.store.audit.record_change(
            actor, "version.schedule", "version", version_id, at=at.isoformat()
        )
        return updated

    async def cancel_schedule(self, actor: Actor, version_id: str) -> Version:
        version = await self.store.versions.get(version_id)
        if version.scheduled_at is None:
            return version
        updated = await self._conditional_update(
            version, {"$set": {"scheduled_at": None, "scheduled_date": None}}
        )
        await self.store.audit.record_change(actor, "version.unschedule", "version", version_id)
        return updated

    async def put_in_production(
        self, actor: Actor, version_id: str
    ) -> tuple[Version, Version | None]:
        """The version becomes production and the previous one backup, in one transaction."""

        async def work(session: AsyncClientSession) -> tuple[Version, Version | None]:
            version = await self.store.versions.get(version_id, session=session)
            await require_promotable(self.store, version, session)
            return await self._promote(actor, version, session, action="version.production")

        return await self.store.in_transaction(work)

    async def run_due_schedule(self, version_id: str) -> bool:
        """Put one due scheduled version in production; False if it was not (or no longer) due.

        Conditional on the schedule still being there, so with several service processes
        (or a retry after a crash) it happens exactly once.
        """
        now = self.clock()

        async def work(session: AsyncClientSession) -> bool:
            version = await self.store.versions.find(version_id, session=session)
            if (
                version is None
                or version.scheduled_at is None
                or version.scheduled_at > now
                or version.status is not VersionStatus.development
            ):
                return False
            lateness = (now - version.scheduled_at).total_seconds()
            try:
                await require_promotable(self.store, version, session)
            except Conflict as refusal:
                await self._conditional_update(
                    version, {"$set": {"scheduled_at": None, "scheduled_date": None}}, session
                )
                await self.store.audit.record_change(
                    SYSTEM,
                    "version.schedule_failed",
                    "version",
                    version.id,
                    session=session,
                    reason=refusal.message,
                )
                return False
            await self._promote(
                SYSTEM,
                version,
                session,
                action="version.scheduled_production",
                scheduled_at=version.scheduled_at.isoformat(),
                late=lateness > self.late_grace_seconds,
                late_by_seconds=round(lateness, 3),
            )
            return True

        return await self.store.in_transaction(work)

    async def due_schedules(self) -> list[Version]:
        return await self.store.versions.all(
            {"scheduled_at": {"$lte": self.clock()}, "status": VersionStatus.development.value}
        )

    async def _promote(
        self,
        actor: Actor,
        version: Version,
        session: AsyncClientSession,
        *,
        action: str,
        **details: Any,
    ) -> tuple[Version, Version | None]:
        now = self.clock()
        previous_document = await self.store.versions.collection.find_one_and_update(
            {"routing_id": version.routing_id, "status": VersionStatus.production.value},
            {
                "$set": {"status": VersionStatus.backup.value, "updated_at": now},
                "$inc": {"revision": 1},
            },
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        # a canary of it is over: it takes every new conversation now
        await self.store.entry_points.collection.update_many(
            {"canary.version_id": version.id}, {"$set": {"canary": None}}, session=session)
        promoted = await self._conditional_update(
            version,
            {
                "$set": {
                    "status": VersionStatus.production.value,
                    "in_test": False,
                    "scheduled_at": None,
                    "scheduled_date": None,
                    "production_at": now,
                }
            },
            session,
        )
        previous = Version.from_document(previous_document) if previous_document else None
        await self.store.audit.record_change(
            actor,
            action,
            "version",
            version.id,
            session=session,
            previous=previous.id if previous else None,
            **details,
        )
        return promoted, previous

    async def _conditional_update(
        self, version: Version, update: dict[str, Any], session: Session = None
    ) -> Version:
        """Apply ``update`` only to the revision that was read; bump the revision."""
        update = {key: dict(value) for key, value in update.items()}
        update.setdefault("$set", {})["updated_at"] = self.clock()
        update.setdefault("$inc", {})["revision"] = 1
        document = await self.store.versions.collection.find_one_and_update(
            {"_id": version.id, "revision": version.revision, "status": version.status.value},
            update,
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        if document is None:
            raise Conflict(
                Words("version %(name)r was changed meanwhile; reload it and try again",
                      name=version.name), code="concurrent_change",
            )
        changed = Version.from_document(document)
        self._changed(changed.id, changed)
        return changed
