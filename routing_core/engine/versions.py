"""Which tree an interaction runs, read as seldom as possible.

``TreeCache`` keeps trees by (version, revision): a pinned tree never changes, so it is kept
without expiry. ``StartVersions`` says which version a new interaction of an entry point
starts on (production, the version in test, or the simulator's), cached until a version
changes in any process (``store/change_watch.py``).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Coroutine
from typing import Any

from routing_core.model.entry_point import EntryPoint, EntryPointMode
from routing_core.model.interaction import Interaction
from routing_core.model.routing import Version, VersionStatus
from routing_core.model.tree import Tree
from routing_core.store import Store
from routing_core.store.change_watch import ChangeWatch

TREE_CACHE_SIZE = 512
VERSION_CACHE_SECONDS = 1.0


class TreeCache:
    """Trees by (version, revision): immutable once pinned, so cached without expiry."""

    def __init__(self, store: Store):
        self.store = store
        self._trees: OrderedDict[tuple[str, int], Tree] = OrderedDict()

    def _remember(self, key: tuple[str, int], tree: Tree) -> None:
        self._trees[key] = tree
        self._trees.move_to_end(key)
        while len(self._trees) > TREE_CACHE_SIZE:
            self._trees.popitem(last=False)

    async def pin(self, version: Version) -> None:
        """Keep the tree of this revision, so edits made later do not reach the interaction."""
        key = (version.id, version.revision)
        if key in self._trees:
            return
        if version.status is VersionStatus.development:
            await self.store.snapshots.keep(version.id, version.revision, version.tree)
        self._remember(key, version.tree)

    async def pinned_tree(self, interaction: Interaction) -> Tree:
        key = (interaction.version_id, interaction.revision)
        if (tree := self._trees.get(key)) is not None:
            return tree
        tree = await self.store.snapshots.find(*key)
        if tree is None:
            version = await self.store.versions.get(interaction.version_id)
            tree = version.tree  # production and backup trees never change
        self._remember(key, tree)
        return tree

    async def production_of(self, reference: str) -> tuple[str, str, int, Tree] | None:
        routing = await self.store.routings.find_one({"reference": reference})
        if routing is None:
            return None
        version = await self.store.versions.find_one(
            {"routing_id": routing.id, "status": VersionStatus.production.value}
        )
        if version is None:
            return None
        await self.pin(version)
        return routing.id, version.id, version.revision, version.tree


class StartVersions:
    """The version a new interaction starts on, per routing and entry point mode: kept
    until any version changes in any process (``watch``), within
    ``VERSION_CACHE_SECONDS`` while the change stream is down; this process's own changes
    are seen at once."""

    def __init__(self, store: Store):
        self.store = store
        self._versions: dict[tuple[str, bool, str | None], tuple[float, Version | None]] = {}
        self.watch = ChangeWatch("versions", store.versions.collection,
                                 lambda _changed: self._versions.clear())

    def forget(self, *changed: object) -> None:
        """A version changed in this process: the next interaction reads them afresh."""
        self.watch.forget(None)

    async def of(self, entry_point: EntryPoint, routing_id: str,
                 contact: str | None = None) -> Version | None:
        """Which version a new interaction runs; cached until a version changes (see the
        class). A ``contact`` starting
        on a production entry point with a canary whose share takes it runs the candidate."""
        canary = entry_point.canary
        if (canary is not None and contact is not None and routing_id == entry_point.start_routing
                and entry_point.mode is EntryPointMode.production
                and canary.takes(entry_point.id, contact)):
            candidate = await self._cached(("canary", False, canary.version_id),
                                           self.store.versions.find(canary.version_id))
            if candidate is not None and candidate.routing_id == routing_id:
                return candidate
        key = (routing_id, entry_point.mode is EntryPointMode.test,
               entry_point.simulated_version)
        return await self._cached(key, self._read(entry_point, routing_id))

    async def _cached(self, key: tuple[str, bool, str | None],
                      read: Coroutine[Any, Any, Version | None]) -> Version | None:
        now = asyncio.get_running_loop().time()
        cached = self._versions.get(key)
        if cached is not None and (self.watch.live or now - cached[0] < VERSION_CACHE_SECONDS):
            read.close()
            return cached[1]
        generation = self.watch.generation
        version = await read
        if generation == self.watch.generation:  # no version changed while reading
            self._versions[key] = (now, version)
        return version

    async def _read(
        self, entry_point: EntryPoint, routing_id: str
    ) -> Version | None:
        if entry_point.simulated_version:  # the simulator runs the version being edited
            return await self.store.versions.find(entry_point.simulated_version)
        if entry_point.mode is EntryPointMode.test:  # a test entry point never runs production
            return await self.store.versions.find_one({"routing_id": routing_id, "in_test": True})
        return await self.store.versions.find_one(
            {"routing_id": routing_id, "status": VersionStatus.production.value}
        )
