"""Custom databases: typed fields an admin declares, rows the engine and the API read
and write; changing a field migrates the rows, a unique field gets its index."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import BulkWriteError, DuplicateKeyError

from routing_core.infra.clock import utcnow
from routing_core.infra.errors import Conflict, Invalid, NotFound, Words
from routing_core.model.audit import Actor
from routing_core.model.reference import (
    CustomDatabase,
    DatabaseField,
    DatabaseRow,
)
from routing_core.reference.catalogue import Catalogue, Session
from routing_core.reference.coercion import build
from routing_core.reference.database_fields import (
    check_fields,
    clash,
    coerce_values,
    complete_row,
    new_row_values,
    row_query,
    unique_keys,
)
from routing_core.store import Store
from routing_core.store.repository import DEFAULT_PAGE


class Databases(Catalogue[CustomDatabase]):
    """Custom databases and their rows; the engine calls ``read_first``, ``insert``, ``modify``.

    A change of fields never leaves stored rows invalid silently: removing or retyping a
    field that rows use is refused, a new required field needs a default while rows lack it
    (the default is then written into them), and a field made unique is indexed in the same
    transaction as the change, which is refused if rows share a value.
    """

    kind, what = "database", "database"

    def __init__(self, store: Store, clock: Callable[[], datetime] = utcnow):
        super().__init__(store, store.databases, clock)
        self.rows = store.database_rows

    # the databases

    async def create(
        self, actor: Actor, *, name: str, description: str = "",
        fields: list[DatabaseField] | list[dict[str, Any]] | None = None,
    ) -> CustomDatabase:
        data = {"name": name, "description": description, "fields": fields or []}
        database = build(CustomDatabase, data)
        database.fields = check_fields(database.fields)
        return await self._create(actor, database)

    async def update(
        self, actor: Actor, database_id: str, changes: Mapping[str, Any]
    ) -> CustomDatabase:
        current = await self.repository.get(database_id)
        updated = self._merged(current, changes)
        updated.fields = check_fields(updated.fields)

        async def work(session: AsyncClientSession) -> CustomDatabase:
            await self._migrate_rows(current, updated.fields, session)
            return await self._save(
                actor, current, updated, session=session, fields=sorted(changes)
            )

        return await self.store.in_transaction(work)

    async def delete(self, actor: Actor, item_id: str) -> None:
        """The database and all its rows, together."""
        database = await self.repository.get(item_id)

        async def work(session: AsyncClientSession) -> None:
            await self.rows.collection.delete_many({"database_id": item_id}, session=session)
            await self.repository.delete(item_id, session=session)
            await self.store.audit.record_change(
                actor, "database.delete", "database", item_id, session=session, name=database.name
            )

        await self.store.in_transaction(work)

    # keeping rows valid when fields change

    async def _migrate_rows(
        self, database: CustomDatabase, fields: list[DatabaseField], session: AsyncClientSession
    ) -> None:
        before = {field.name: field for field in database.fields}
        kept = {field.name for field in fields}
        for name in before.keys() - kept:
            await self._refuse_if_used(
                database, name, "fields", f"remove the field {name!r}", session
            )
        for index, field in enumerate(fields):
            old = before.get(field.name)
            if old is not None and old.type != field.type:
                await self._refuse_if_used(
                    database, field.name, f"fields.{index}.type",
                    f"change the type of field {field.name!r}", session,
                )
            if field.required and not (old and old.required):
                await self._fill_required(database, field, index, session)
            if field.unique and not (old and old.unique):
                await self._index_unique(database, field, index, session)
            if old and old.unique and not field.unique:
                await self.rows.collection.update_many(
                    {"database_id": database.id},
                    {"$pull": {"unique_key": {"$regex": f"^{re.escape(field.name)}="}}},
                    session=session,
                )

    async def _refuse_if_used(
        self, database: CustomDatabase, name: str, field: str, doing: str,
        session: AsyncClientSession,
    ) -> None:
        used = await self.rows.collection.find_one(
            {"database_id": database.id, f"values.{name}": {"$exists": True}},
            projection={"_id": 1},
            session=session,
        )
        if used is not None:
            raise Conflict(
                Words("cannot %(doing)s: rows hold values in it; clear them first", doing=doing),
                field=field, code="field_in_use",
            )

    async def _fill_required(
        self, database: CustomDatabase, field: DatabaseField, index: int,
        session: AsyncClientSession,
    ) -> None:
        lacking = {"database_id": database.id, f"values.{field.name}": {"$exists": False}}
        if field.default is None:
            if await self.rows.collection.find_one(lacking, projection={"_id": 1}, session=session):
                raise Conflict(
                    Words(
                        "rows have no %(name)s: give the field a default to make it required",
                        name=field.name),
                    field=f"fields.{index}.required", code="rows_lack_field",
                )
            return
        await self.rows.collection.update_many(
            lacking, {"$set": {f"values.{field.name}": field.default}}, session=session
        )

    async def _index_unique(
        self, database: CustomDatabase, field: DatabaseField, index: int,
        session: AsyncClientSession,
    ) -> None:
        holding = {"database_id": database.id, f"values.{field.name}": {"$exists": True}}
        documents = await self.rows.collection.find(holding, session=session).to_list()
        updates = [
            UpdateOne(
                {"_id": document["_id"]},
                {"$addToSet": {"unique_key": unique_keys([field], document["values"])[0]}},
            )
            for document in documents
        ]
        if not updates:
            return
        try:
            await self.rows.collection.bulk_write(updates, session=session)
        except (DuplicateKeyError, BulkWriteError):
            raise Conflict(
                Words(
                    "rows share values of %(name)s: make them distinct to make it unique",
                    name=field.name),
                field=f"fields.{index}.unique", code="values_not_unique",
            ) from None

    # rows, for the API

    async def list_rows(
        self, database_id: str, filter: Mapping[str, Any], *, cursor: str | None = None,
        limit: int = DEFAULT_PAGE,
    ) -> tuple[list[DatabaseRow], str | None]:
        database = await self.repository.get(database_id)
        return await self.rows.list(row_query(database, filter), cursor=cursor, limit=limit)

    async def get_row(self, database_id: str, row_id: str) -> DatabaseRow:
        row = await self.rows.find_one({"_id": row_id, "database_id": database_id})
        if row is None:
            await self.repository.get(database_id)
            raise NotFound(Words("no row with id %(row_id)r in this database", row_id=row_id))
        return row

    async def create_row(
        self, actor: Actor, database_id: str, values: Mapping[str, Any]
    ) -> DatabaseRow:
        row = await self._insert_row(await self.repository.get(database_id), values)
        await self.store.audit.record_change(
            actor, "database_row.create", "database_row", row.id, database=database_id
        )
        return row

    async def update_row(
        self, actor: Actor, database_id: str, row_id: str, values: Mapping[str, Any]
    ) -> DatabaseRow:
        """Changes the given values only; null (or "") clears a value."""
        database = await self.repository.get(database_id)
        row = await self.get_row(database_id, row_id)
        changes = coerce_values(database.fields, values)
        merged = complete_row(database.fields, {**row.values, **changes})
        updated = await self._rewrite_row(database, row, merged)
        await self.store.audit.record_change(
            actor, "database_row.update", "database_row", row_id,
            database=database_id, fields=sorted(values),
        )
        return updated

    async def delete_row(self, actor: Actor, database_id: str, row_id: str) -> None:
        await self.get_row(database_id, row_id)
        await self.rows.delete(row_id)
        await self.store.audit.record_change(
            actor, "database_row.delete", "database_row", row_id, database=database_id
        )

    async def _insert_row(self, database: CustomDatabase, values: Mapping[str, Any]) -> DatabaseRow:
        stored = new_row_values(database.fields, values)
        row = DatabaseRow(
            database_id=database.id, values=stored, unique_key=unique_keys(database.fields, stored)
        )
        try:
            return await self.rows.insert(row)
        except DuplicateKeyError as error:
            raise clash(error) from None

    async def _rewrite_row(
        self, database: CustomDatabase, row: DatabaseRow, values: dict[str, Any],
        session: Session = None,
    ) -> DatabaseRow:
        updated = row.model_copy(update={
            "values": values,
            "unique_key": unique_keys(database.fields, values),
            "revision": row.revision + 1,
            "updated_at": self.clock(),
        })
        try:
            result = await self.rows.collection.replace_one(
                {"_id": row.id, "revision": row.revision}, updated.to_document(), session=session
            )
        except DuplicateKeyError as error:
            raise clash(error) from None
        if result.matched_count != 1:
            raise Conflict("the row was changed meanwhile; reload it", code="concurrent_change")
        return updated

    # for the engine

    async def read_first(
        self, database_name: str, filter: Mapping[str, Any]
    ) -> DatabaseRow | None:
        """The oldest row whose fields equal ``filter`` (values coerced to the field types)."""
        database = await self.named(database_name)
        found = self.rows.collection.find(row_query(database, filter)).sort("_id", 1).limit(1)
        documents = await found.to_list()
        return DatabaseRow.from_document(documents[0]) if documents else None

    async def insert(self, database_name: str, values: Mapping[str, Any]) -> DatabaseRow:
        """A new row; Invalid (bad value, missing required field), Conflict (unique clash)."""
        return await self._insert_row(await self.named(database_name), values)

    async def modify(
        self, database_name: str, filter: Mapping[str, Any], values: Mapping[str, Any]
    ) -> int:
        """Set ``values`` on every row matching ``filter``; all rows or none; the count."""
        if not filter:
            raise Invalid("a filter is required: rows are never all modified at once",
                          field="filter")
        database = await self.named(database_name)
        query = row_query(database, filter)
        changes = coerce_values(database.fields, values)

        async def work(session: AsyncClientSession) -> int:
            documents = await self.rows.collection.find(query, session=session).to_list()
            for document in documents:
                row = DatabaseRow.from_document(document)
                merged = complete_row(database.fields, {**row.values, **changes})
                await self._rewrite_row(database, row, merged, session)
            return len(documents)

        return await self.store.in_transaction(work)
