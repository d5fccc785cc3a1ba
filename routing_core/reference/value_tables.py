"""Value tables: lookup tables an admin fills by hand or by CSV; the engine's
``values_table`` action reads them through ``lookup``, cached for a second."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from routing_core.infra.clock import utcnow
from routing_core.infra.errors import Conflict, Invalid, NotFound, Words
from routing_core.model.audit import Actor
from routing_core.model.reference import ValueTable
from routing_core.reference.catalogue import Catalogue
from routing_core.reference.coercion import build
from routing_core.reference.table_checks import (
    check_table_rows,
    csv_place,
    ensure_unique_names,
    parse_csv,
)
from routing_core.store import Store

LOOKUP_CACHE_SECONDS = 1.0
class ValueTables(Catalogue[ValueTable]):
    """Lookup tables; the engine's ``values_table`` action calls ``lookup``."""

    kind, what = "value_table", "value table"

    def __init__(self, store: Store, clock: Callable[[], datetime] = utcnow):
        super().__init__(store, store.value_tables, clock)
        self._index: dict[str, tuple[float, dict[str, dict[str, Any]]]] = {}

    @staticmethod
    def _checked(table: ValueTable) -> ValueTable:
        ensure_unique_names(table.columns, "columns")
        if not table.columns:
            raise Invalid("a value table has at least one column (the key)", field="columns")
        check_table_rows(table.columns, table.rows)
        return table

    async def create(
        self, actor: Actor, *, name: str, description: str = "", columns: list[str],
        rows: list[dict[str, Any]] | None = None,
    ) -> ValueTable:
        data = {"name": name, "description": description, "columns": columns, "rows": rows or []}
        return await self._create(actor, self._checked(build(ValueTable, data)))

    async def update(self, actor: Actor, table_id: str, changes: Mapping[str, Any]) -> ValueTable:
        """Changing the columns alone must keep the stored rows valid: else 409."""
        current = await self.repository.get(table_id)
        updated = self._merged(current, changes)
        try:
            self._checked(updated)
        except Invalid as refusal:
            if "rows" in changes or not (refusal.field or "").startswith("rows"):
                raise
            raise Conflict(
                Words(
                    "the stored rows do not fit the new columns: %(message)s",
                    message=refusal.message),
                field="columns", code="rows_use_column",
            ) from None
        return await self._save(actor, current, updated, fields=sorted(changes))

    async def replace_rows(
        self, actor: Actor, table_id: str, rows: list[dict[str, Any]]
    ) -> ValueTable:
        current = await self.repository.get(table_id)
        updated = self._checked(self._merged(current, {"rows": rows}))
        return await self._save(actor, current, updated, "rows", rows=len(rows))

    async def import_csv(self, actor: Actor, table_id: str, text: str) -> ValueTable:
        """Replace columns and rows by a CSV (header row = columns); nothing stored if bad."""
        current = await self.repository.get(table_id)
        columns, rows = parse_csv(text)
        try:
            updated = self._checked(self._merged(current, {"columns": columns, "rows": rows}))
        except Invalid as refusal:
            raise Invalid(Words(
                "the CSV is refused%(csv_place)s: %(message)s",
                csv_place=csv_place(refusal), message=refusal.message),
                          field="csv") from None
        return await self._save(actor, current, updated, "import", rows=len(rows))

    async def lookup(self, table_name: str, key: str) -> dict[str, Any] | None:
        """For the engine: the row whose key column equals ``key`` exactly (case-sensitive),
        or None; NotFound when no table has that name. Tables are read whole and kept for
        a second (this process's own changes at once): a look-up per message costs no
        round trip."""
        now = time.monotonic()
        cached = self._index.get(table_name)
        if cached is None or now - cached[0] > LOOKUP_CACHE_SECONDS:
            table = await self.repository.find_one({"name": table_name})
            if table is None:
                raise NotFound(Words(
                    "no %(what)s named %(table_name)r",
                    what=self.what, table_name=table_name))
            key_column = table.columns[0]
            rows = {str(row.get(key_column)): row for row in table.rows}
            cached = self._index[table_name] = (now, rows)
        row = cached[1].get(str(key))
        return dict(row) if row is not None else None

    def _changed(self) -> None:
        self._index.clear()


