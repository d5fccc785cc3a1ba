"""The engine's ReferencePort over MongoDB: value tables, global variables, custom
databases, schedules, contact history and routings, all by the names trees use."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

from routing_core.reference.databases import Databases
from routing_core.reference.schedules import Schedules
from routing_core.reference.value_tables import ValueTables
from routing_core.reference.variables import Variables
from routing_core.store import Store

GLOBALS_TTL_SECONDS = 1.0


class StoreReference:
    def __init__(
        self,
        store: Store,
        value_tables: ValueTables,
        variables: Variables,
        databases: Databases,
        schedules: Schedules,
    ):
        self.store = store
        self.value_tables = value_tables
        self.variables = variables
        self.databases = databases
        self.schedules = schedules
        self._globals: tuple[float, dict[str, Any]] = (float("-inf"), {})
        self._reading: asyncio.Future[dict[str, Any]] | None = None  # the read under way

    async def value_table_row(self, table: str, key: str) -> dict[str, Any] | None:
        return await self.value_tables.lookup(table, key)

    async def global_variables(self) -> dict[str, Any]:
        """Cached for a second: read at every step, changed rarely. Once the second is
        over, the steps that want them meanwhile share one read: each reading them for
        itself made a busy process read them for every step of that moment (a tenth of
        a read per bot turn at 600 turns/s, and the variables parsed each time)."""
        fetched_at, values = self._globals
        if time.monotonic() - fetched_at <= GLOBALS_TTL_SECONDS:
            return values
        if self._reading is None or self._reading.done():
            self._reading = asyncio.ensure_future(self._read_globals())
            # its failure is its waiters'; should they all be gone, it is not a stray error
            self._reading.add_done_callback(lambda read: read.cancelled() or read.exception())
        return await asyncio.shield(self._reading)

    async def _read_globals(self) -> dict[str, Any]:
        values = await self.variables.global_values()
        self._globals = (time.monotonic(), values)
        return values

    async def database_read(self, database: str, match: dict[str, Any]) -> dict[str, Any] | None:
        row = await self.databases.read_first(database, match)
        return dict(row.values) if row else None

    async def database_insert(self, database: str, values: dict[str, Any]) -> dict[str, Any]:
        return dict((await self.databases.insert(database, values)).values)

    async def database_modify(
        self, database: str, match: dict[str, Any], values: dict[str, Any]
    ) -> int:
        return await self.databases.modify(database, match, values)

    async def schedule_state(self, schedule: str, moment: datetime) -> str | None:
        return str(await self.schedules.state(schedule, moment))

    async def count_interactions(
        self, contact_id: str, since: datetime | None, routing_id: str | None,
        entry_point_id: str | None,
    ) -> int:
        query: dict[str, Any] = {"contact_id": contact_id, "kind": "start"}
        if since is not None:
            query["created_at"] = {"$gte": since}
        if routing_id is not None:
            query["routing_id"] = routing_id
        if entry_point_id is not None:
            query["entry_point_id"] = entry_point_id
        return await self.store.interactions.collection.count_documents(query)
