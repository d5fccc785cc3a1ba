"""Canaries: a share of an entry point's new conversations runs a candidate version of its
start routing, production keeps the rest, and the admin ends it by promoting the candidate
(the ordinary production: the old one goes to backup) or by abandoning it.

The seed's rules hold throughout: one version in production; the candidate stays in
development but is read-only while it takes traffic (``Lifecycle`` refuses every change of
it, ``require_no_canary``), so what the canary measures is what would be promoted. Which
contacts it takes is ``Canary.takes`` (sticky per contact); the engine's ``StartVersions``
applies it, and each interaction records whether it started on the candidate.
"""

from __future__ import annotations

from routing_core.infra.clock import utcnow
from routing_core.infra.errors import Conflict, Invalid, Words
from routing_core.model.audit import Actor
from routing_core.model.entry_point import Canary, EntryPoint, EntryPointMode
from routing_core.model.routing import VersionStatus
from routing_core.routing.lifecycle import Lifecycle, require_promotable
from routing_core.store import Store


class Canaries:
    def __init__(self, store: Store, lifecycle: Lifecycle):
        self.store = store
        self.lifecycle = lifecycle

    async def start(self, actor: Actor, entry_point_id: str, version_id: str,
                    share: int) -> EntryPoint:
        """Send ``share`` % of the entry point's new conversations to the version."""
        if not 1 <= share <= 50:
            raise Invalid("the share is a whole number of per cent from 1 to 50",
                          field="share")
        entry_point = await self.store.entry_points.get(entry_point_id)
        version = await self.store.versions.get(version_id)
        if entry_point.simulated_version or entry_point.mode is not EntryPointMode.production:
            raise Conflict("a canary runs on a production entry point only",
                           code="not_production_entry_point")
        if version.routing_id != entry_point.start_routing:
            raise Invalid("the candidate must be a version of the entry point's start "
                          "routing", field="version")
        if version.status is not VersionStatus.development:
            raise Conflict(Words(
                "version %(name)r is in %(value)s: a canary tries a version in development",
                name=version.name, value=version.status.value), code="not_in_development")
        # what would block its production blocks its canary
        await require_promotable(self.store, version)
        canary = Canary(version_id=version.id, share=share, started_at=utcnow())
        updated = await self.store.entry_points.collection.find_one_and_update(
            {"_id": entry_point.id, "$or": [{"canary": None},
                                            {"canary.version_id": version.id}]},
            {"$set": {"canary": canary.model_dump(), "updated_at": utcnow()}},
        )
        if updated is None:
            raise Conflict("another version is already in canary on this entry point; "
                           "promote or abandon it first", code="canary_running")
        await self.store.audit.record_change(actor, "entry_point.canary_start", "entry_point",
                                             entry_point.id, version=version.id, share=share)
        self.store.entry_points.forget(entry_point.id)
        return await self.store.entry_points.get(entry_point.id)

    async def end(self, actor: Actor, entry_point_id: str, promote: bool) -> EntryPoint:
        """Promote the candidate (put in production: the old production goes to backup,
        every canary of it ends) or abandon it (new conversations all go to production;
        those already on the candidate finish on it)."""
        entry_point = await self.store.entry_points.get(entry_point_id)
        if entry_point.canary is None:
            raise Conflict("no canary runs on this entry point", code="no_canary")
        version_id = entry_point.canary.version_id
        if promote:
            await self.lifecycle.put_in_production(actor, version_id)  # ends its canaries
        else:
            await self.store.entry_points.collection.update_one(
                {"_id": entry_point.id, "canary.version_id": version_id},
                {"$set": {"canary": None, "updated_at": utcnow()}})
            await self.store.audit.record_change(actor, "entry_point.canary_abandon",
                                                 "entry_point", entry_point.id,
                                                 version=version_id)
        self.store.entry_points.forget(entry_point.id)
        return await self.store.entry_points.get(entry_point.id)

