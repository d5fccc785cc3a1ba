"""What every repository shares: its collection, its indexes, record round trips."""

from __future__ import annotations

import builtins
from typing import Any, ClassVar, Generic, TypeVar

from pymongo import IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

from routing_core.infra.errors import NotFound, Words
from routing_core.model.base import Record

RecordT = TypeVar("RecordT", bound=Record)

DEFAULT_PAGE = 50
INDEX_CHANGED = {85, 86}  # IndexOptionsConflict, IndexKeySpecsConflict
MAX_PAGE = 500


class Repository(Generic[RecordT]):
    """One collection; subclasses name it, give its record type and declare its indexes."""

    collection_name: ClassVar[str]
    record: type[RecordT]
    label: ClassVar[str] = "record"
    INDEXES: ClassVar[list[IndexModel]] = []
    # indexes an earlier release declared that these replace: dropped on upgrade
    RETIRED_INDEXES: ClassVar[tuple[str, ...]] = ()

    def __init__(self, database: AsyncDatabase):
        self.collection: AsyncCollection = database[self.collection_name]

    async def ensure_indexes(self) -> None:
        """Create the declared indexes (one round trip when they exist as declared); one
        whose declaration changed under the same name (an upgrade) is dropped and built
        again as declared."""
        if self.RETIRED_INDEXES:
            existing = {index["name"] async for index in await self.collection.list_indexes()}
            for name in set(self.RETIRED_INDEXES) & existing:
                await self.collection.drop_index(name)
        if not self.INDEXES:
            return
        try:
            await self.collection.create_indexes(self.INDEXES)
            return
        except OperationFailure as error:
            if error.code not in INDEX_CHANGED:
                raise
        for index in self.INDEXES:  # find the changed ones
            try:
                await self.collection.create_indexes([index])
            except OperationFailure as error:
                if error.code not in INDEX_CHANGED:
                    raise
                await self.collection.drop_index(index.document["name"])
                await self.collection.create_indexes([index])

    async def insert(self, item: RecordT, session: Any = None) -> RecordT:
        await self.collection.insert_one(item.to_document(), session=session)
        return item

    async def find(self, item_id: str, session: Any = None) -> RecordT | None:
        document = await self.collection.find_one({"_id": item_id}, session=session)
        return self.record.from_document(document) if document else None

    async def get(self, item_id: str, session: Any = None) -> RecordT:
        item = await self.find(item_id, session=session)
        if item is None:
            raise NotFound(Words(
                "no %(label)s with id %(item_id)r",
                label=self.label, item_id=item_id))
        return item

    async def find_one(self, query: dict[str, Any], session: Any = None) -> RecordT | None:
        document = await self.collection.find_one(query, session=session)
        return self.record.from_document(document) if document else None

    async def list(
        self,
        query: dict[str, Any] | None = None,
        *,
        cursor: str | None = None,
        limit: int = DEFAULT_PAGE,
        newest_first: bool = False,
    ) -> tuple[builtins.list[RecordT], str | None]:
        """A page in id order and the cursor of the next page (None on the last one)."""
        query = dict(query or {})
        limit = max(1, min(limit, MAX_PAGE))
        if cursor:  # within an id range the query may already have (dates)
            bound = dict(query.get("_id") or {})
            key = "$lt" if newest_first else "$gt"
            bound[key] = (min if newest_first else max)(cursor, bound.get(key, cursor))
            query["_id"] = bound
        found = self.collection.find(query).sort("_id", -1 if newest_first else 1)
        documents = await found.limit(limit + 1).to_list()
        items = [self.record.from_document(document) for document in documents[:limit]]
        next_cursor = items[-1].id if len(documents) > limit else None
        return items, next_cursor

    async def all(self, query: dict[str, Any] | None = None) -> builtins.list[RecordT]:
        documents = await self.collection.find(query or {}).sort("_id", 1).to_list()
        return [self.record.from_document(document) for document in documents]

    async def delete(self, item_id: str, session: Any = None) -> bool:
        result = await self.collection.delete_one({"_id": item_id}, session=session)
        return result.deleted_count == 1
