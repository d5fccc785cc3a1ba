"""The CRM: cards (flat fields), CRM V2 types and their typed objects; ``Crm`` is the
``CrmPort`` the CRM actions call.

Values of V2 objects are coerced to their field's type on every write (the coercers of
custom databases, plus ``choice``); unique fields go through ``unique_key`` and its unique
index. A type's fields change freely while it has no objects; afterwards a change must
keep the stored objects valid (the same rules as custom databases), else 409.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import BulkWriteError, DuplicateKeyError

from routing_core.business.records import Kept
from routing_core.infra.clock import utcnow
from routing_core.infra.errors import Conflict, Invalid, NotFound, Words
from routing_core.infra.revisions import require_revision
from routing_core.model.audit import Actor
from routing_core.model.crm import CrmCard, CrmField, CrmFieldType, CrmObject, CrmType
from routing_core.model.reference import FieldType
from routing_core.reference.coercion import (
    FIELD_COERCERS,
    as_text,
    build,
    canonical,
    coerce,
    is_blank,
)
from routing_core.reference.database_fields import clash, typed_query
from routing_core.reference.table_checks import ensure_unique_names
from routing_core.store import Store
from routing_core.store.repository import DEFAULT_PAGE

MAX_FIELD_NAME = 64
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def searched(value: Any) -> Any:
    """What a searched value matches: a number typed as text finds the number too."""
    if isinstance(value, str):
        candidates: list[Any] = [value]
        try:
            number = float(value)
        except ValueError:
            return value
        candidates.append(int(number) if number.is_integer() else number)
        return {"$in": candidates}
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {"$in": [value, canonical(value)]}
    return value


def checked_field_name(name: str, where: str) -> str:
    if not _FIELD_NAME.fullmatch(name):
        raise Invalid(Words("%(name)r is not a valid field name", name=name), field=where)
    return name


# -- cards -------------------------------------------------------------------------------

def card_value(value: Any, where: str) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return coerce(as_text, value, where)
    raise Invalid(Words("%(where)s: a card holds text, numbers and booleans only", where=where),
                  field=where)


def card_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Checked values; None (or "") clears a field."""
    checked = {}
    for name, value in fields.items():
        where = f"fields.{checked_field_name(name, 'fields')}"
        checked[name] = None if is_blank(value) else card_value(value, where)
    return checked


class CrmCards(Kept[CrmCard]):
    kind = "crm_card"

    def __init__(self, store: Store, clock: Callable[[], datetime] = utcnow):
        super().__init__(store, store.crm_cards, clock)

    async def create(self, actor: Actor, fields: Mapping[str, Any]) -> CrmCard:
        values = {name: value for name, value in card_fields(fields).items() if value is not None}
        return await self._create(actor, CrmCard(fields=values))

    async def update(self, actor: Actor, card_id: str, fields: Mapping[str, Any],
                     revision: int | None = None) -> CrmCard:
        """Sets the given fields; null (or "") removes one. ``revision``: the one the editor
        read."""
        current = await self.repository.get(card_id)
        require_revision(revision, current.revision, "the CRM card")
        merged = {**current.fields, **card_fields(fields)}
        updated = current.model_copy(
            update={"fields": {name: value for name, value in merged.items() if value is not None}}
        )
        return await self._save(actor, current, current.revision, updated, fields=sorted(fields))

    async def search(
        self, filters: Mapping[str, Any], *, cursor: str | None = None,
        limit: int = DEFAULT_PAGE,
    ) -> tuple[list[CrmCard], str | None]:
        query = {f"fields.{checked_field_name(name, name)}": searched(value)
                 for name, value in filters.items()}
        return await self.repository.list(query, cursor=cursor, limit=limit)


# -- CRM V2 types ------------------------------------------------------------------------

def check_type_fields(fields: list[CrmField]) -> list[CrmField]:
    ensure_unique_names((field.name for field in fields), "fields")
    return fields


def coerce_value(field: CrmField, value: Any, where: str) -> Any:
    if field.type is CrmFieldType.choice:
        text = str(value).strip() if isinstance(value, str | int | float) else ""
        for choice in field.choices:
            if choice.casefold() == text.casefold():
                return choice
        raise Invalid(Words(
            "%(where)s: expected one of %(choices)s",
            where=where, choices=', '.join(field.choices)), field=where)
    return coerce(FIELD_COERCERS[FieldType(field.type.value)], value, where)


def coerce_values(crm_type: CrmType, values: Mapping[str, Any]) -> dict[str, Any]:
    """Each given value in its field's type; a blank one is None (the field is cleared)."""
    coerced: dict[str, Any] = {}
    for name, raw in values.items():
        field = crm_type.field(name)
        if field is None:
            names = ", ".join(field.name for field in crm_type.fields) or "none"
            raise Invalid(Words(
                "%(name)r is not a field of %(name2)r (fields: %(names)s)",
                name=name, name2=crm_type.name, names=names),
                          field=f"values.{name}")
        coerced[name] = None if is_blank(raw) else coerce_value(field, raw, f"values.{name}")
    return coerced


def complete(crm_type: CrmType, values: Mapping[str, Any]) -> dict[str, Any]:
    present = {name: value for name, value in values.items() if value is not None}
    for field in crm_type.fields:
        if field.required and field.name not in present:
            raise Invalid(Words("%(name)s is required", name=field.name),
                          field=f"values.{field.name}")
    return present


def unique_keys(fields: list[CrmField], values: Mapping[str, Any]) -> list[str]:
    return [f"{field.name}={canonical(values[field.name])}"
            for field in fields if field.unique and field.name in values]


def object_query(crm_type: CrmType, filters: Mapping[str, Any]) -> dict[str, Any]:
    """Equality on each field (values coerced); unique fields through the unique keys."""
    return typed_query({"type_id": crm_type.id}, coerce_values(crm_type, filters),
                       crm_type.field)


class CrmTypes(Kept[CrmType]):
    kind = "crm_type"

    def __init__(self, store: Store, clock: Callable[[], datetime] = utcnow):
        super().__init__(store, store.crm_types, clock)
        self.objects = store.crm_objects

    async def find(self, reference: str) -> CrmType:
        """A type by id or by name."""
        found = await self.repository.find_one({"$or": [{"_id": reference}, {"name": reference}]})
        if found is None:
            raise NotFound(Words("no CRM object type %(reference)r", reference=reference))
        return found

    async def create(
        self, actor: Actor, *, name: str, description: str = "",
        fields: list[CrmField] | list[dict[str, Any]] | None = None,
    ) -> CrmType:
        crm_type = build(CrmType, {"name": name, "description": description,
                                   "fields": fields or []})
        check_type_fields(crm_type.fields)
        try:
            return await self._create(actor, crm_type, name=crm_type.name)
        except DuplicateKeyError:
            raise self._name_taken(crm_type.name) from None

    @staticmethod
    def _name_taken(name: str) -> Conflict:
        return Conflict(Words("a CRM object type named %(name)r exists", name=name), field="name",
                        code="name_taken")

    async def update(self, actor: Actor, type_id: str, changes: Mapping[str, Any]) -> CrmType:
        current = await self.repository.get(type_id)
        updated = self._merged(current, changes)
        check_type_fields(updated.fields)

        async def work(session: AsyncClientSession) -> CrmType:
            await self._keep_objects_valid(current, updated.fields, session)
            saved = updated.model_copy(update={"revision": current.revision + 1,
                                               "updated_at": self.clock()})
            try:
                result = await self.repository.collection.replace_one(
                    {"_id": current.id, "revision": current.revision}, saved.to_document(),
                    session=session,
                )
            except DuplicateKeyError:
                raise self._name_taken(updated.name) from None
            if result.matched_count != 1:
                raise Conflict("the type was changed meanwhile; reload it and try again",
                               code="concurrent_change")
            await self.store.audit.record_change(
                actor, "crm_type.update", self.kind, type_id, session=session,
                fields=sorted(changes),
            )
            return saved

        return await self.store.in_transaction(work)

    async def delete(self, actor: Actor, item_id: str) -> None:
        """Refused while objects of the type exist: customer data is never dropped in bulk."""
        await self.repository.get(item_id)
        if await self.objects.collection.find_one({"type_id": item_id}, projection={"_id": 1}):
            raise Conflict("objects of this type exist: delete them first", code="type_in_use")
        await self.repository.delete(item_id)
        await self._audit(actor, "delete", item_id)

    async def _keep_objects_valid(
        self, crm_type: CrmType, fields: list[CrmField], session: AsyncClientSession
    ) -> None:
        before = {field.name: field for field in crm_type.fields}
        for name in before.keys() - {field.name for field in fields}:
            await self._refuse_if(crm_type, {f"values.{name}": {"$exists": True}}, "fields",
                                  f"remove the field {name!r}: objects hold values in it",
                                  session)
        for index, field in enumerate(fields):
            old = before.get(field.name)
            holding = {f"values.{field.name}": {"$exists": True}}
            if old is not None and old.type != field.type:
                await self._refuse_if(crm_type, holding, f"fields.{index}.type",
                                      f"retype {field.name!r}: objects hold values in it",
                                      session)
            if old is not None and set(old.choices) - set(field.choices):
                dropped = sorted(set(old.choices) - set(field.choices))
                await self._refuse_if(
                    crm_type, {f"values.{field.name}": {"$in": dropped}},
                    f"fields.{index}.choices",
                    f"drop the choices {', '.join(dropped)}: objects use them", session,
                )
            if field.required and not (old and old.required):
                await self._refuse_if(
                    crm_type, {f"values.{field.name}": {"$exists": False}},
                    f"fields.{index}.required",
                    f"make {field.name!r} required: objects lack it", session,
                )
            if field.unique and not (old and old.unique):
                await self._index_unique(crm_type, field, index, session)
            if old and old.unique and not field.unique:
                await self.objects.collection.update_many(
                    {"type_id": crm_type.id},
                    {"$pull": {"unique_key": {"$regex": f"^{re.escape(field.name)}="}}},
                    session=session,
                )

    async def _refuse_if(
        self, crm_type: CrmType, condition: dict[str, Any], field: str, doing: str,
        session: AsyncClientSession,
    ) -> None:
        found = await self.objects.collection.find_one(
            {"type_id": crm_type.id, **condition}, projection={"_id": 1}, session=session
        )
        if found is not None:
            raise Conflict(Words("cannot %(doing)s", doing=doing),
                           field=field, code="objects_use_field")

    async def _index_unique(
        self, crm_type: CrmType, field: CrmField, index: int, session: AsyncClientSession
    ) -> None:
        holding = {"type_id": crm_type.id, f"values.{field.name}": {"$exists": True}}
        documents = await self.objects.collection.find(holding, session=session).to_list()
        updates = [
            UpdateOne({"_id": document["_id"]},
                      {"$addToSet": {"unique_key": unique_keys([field], document["values"])[0]}})
            for document in documents
        ]
        if not updates:
            return
        try:
            await self.objects.collection.bulk_write(updates, session=session)
        except (DuplicateKeyError, BulkWriteError):
            raise Conflict(
                Words(
                    "objects share values of %(name)s: make them distinct to make it unique",
                    name=field.name),
                field=f"fields.{index}.unique", code="values_not_unique",
            ) from None


# -- CRM V2 objects ----------------------------------------------------------------------

class CrmObjects(Kept[CrmObject]):
    kind = "crm_object"

    def __init__(self, store: Store, types: CrmTypes, clock: Callable[[], datetime] = utcnow):
        super().__init__(store, store.crm_objects, clock)
        self.types = types

    async def create(self, actor: Actor, type_ref: str, values: Mapping[str, Any]) -> CrmObject:
        crm_type = await self.types.find(type_ref)
        created = await self.insert(self.built(crm_type, values))
        await self._audit(actor, "create", created.id, type=crm_type.name)
        return created

    async def update(
        self, actor: Actor, object_id: str, values: Mapping[str, Any],
        revision: int | None = None,
    ) -> CrmObject:
        """Sets the given values; null (or "") clears one. ``revision``: the one the editor
        was shown — refused when someone saved it since (never last write wins)."""
        current = await self.repository.get(object_id)
        if revision is not None and revision != current.revision:
            raise Conflict("the object was changed meanwhile by someone else; reload it "
                           "(your changes were not saved)", code="concurrent_change")
        crm_type = await self.types.repository.get(current.type_id)
        merged = complete(crm_type, {**current.values, **coerce_values(crm_type, values)})
        updated = current.model_copy(update={
            "values": merged, "unique_key": unique_keys(crm_type.fields, merged),
        })
        try:
            return await self._save(actor, current, current.revision, updated,
                                    fields=sorted(values))
        except DuplicateKeyError as error:
            raise clash(error, "object") from None

    async def search(
        self, type_ref: str | None, filters: Mapping[str, Any], *, cursor: str | None = None,
        limit: int = DEFAULT_PAGE,
    ) -> tuple[list[CrmObject], str | None]:
        if type_ref is None:
            if filters:
                raise Invalid("give the type to filter on its fields", field="type")
            return await self.repository.list(cursor=cursor, limit=limit)
        crm_type = await self.types.find(type_ref)
        return await self.repository.list(object_query(crm_type, filters), cursor=cursor,
                                          limit=limit)

    @staticmethod
    def built(crm_type: CrmType, values: Mapping[str, Any], origin: str | None = None
             ) -> CrmObject:
        stored = complete(crm_type, coerce_values(crm_type, values))
        return CrmObject(type_id=crm_type.id, values=stored,
                         unique_key=unique_keys(crm_type.fields, stored), origin=origin)

    async def insert(self, item: CrmObject) -> CrmObject:
        try:
            if item.origin is None:
                return await self.repository.insert(item)
            return await self.insert_once(item, item.origin)
        except DuplicateKeyError as error:
            raise clash(error, "object") from None


class Crm:
    """The ``CrmPort``: cards and typed objects as the CRM actions see them."""

    def __init__(self, store: Store, clock: Callable[[], datetime] = utcnow):
        self.cards = CrmCards(store, clock)
        self.types = CrmTypes(store, clock)
        self.objects = CrmObjects(store, self.types, clock)

    async def find_cards(self, field: str, value: Any, limit: int) -> list[dict[str, Any]]:
        """Cards whose ``field`` equals ``value`` exactly; a value that is no scalar (an
        operator, a list) is refused here too, whoever calls."""
        if isinstance(value, dict | list) or value is None:
            raise Invalid("a card is looked up by a text, a number or a yes/no value",
                          field="value")
        cards, _ = await self.cards.search({field: value}, limit=limit)
        return [card.snapshot() for card in cards]

    async def create_card(self, fields: dict[str, Any], origin: str) -> dict[str, Any]:
        values = {name: value for name, value in card_fields(fields).items() if value is not None}
        card = await self.cards.insert_once(CrmCard(fields=values, origin=origin), origin)
        return card.snapshot()

    async def find_objects(
        self, object_type: str, field: str, value: Any, limit: int
    ) -> list[dict[str, Any]]:
        """A value the field's type cannot hold matches nothing."""
        crm_type = await self.types.find(object_type)
        if crm_type.field(field) is None:
            raise Invalid(Words(
                "%(field_)r is not a field of %(name)r",
                field_=field, name=crm_type.name))
        try:
            query = object_query(crm_type, {field: value})
        except Invalid:
            return []
        objects = await self.objects.repository.collection.find(query).sort("_id", 1).limit(
            limit).to_list()
        return [CrmObject.from_document(found).snapshot(crm_type.name) for found in objects]

    async def create_object(
        self, object_type: str, values: dict[str, Any], origin: str
    ) -> dict[str, Any]:
        crm_type = await self.types.find(object_type)
        created = await self.objects.insert(self.objects.built(crm_type, values, origin))
        return created.snapshot(crm_type.name)
