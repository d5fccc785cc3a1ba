"""The CRM: cards (``/api/crm/cards``), CRM V2 types (``/api/crm2/types``) and objects
(``/api/crm2/objects``), all under the ``crm`` permissions."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, request
from quart_schema import validate_querystring, validate_request, validate_response

from admin.context import actor, require, services
from admin.schemas.common import PageQuery
from admin.schemas.crm import (
    CardIn,
    CardList,
    CardOut,
    CardPatch,
    CardQuery,
    ObjectIn,
    ObjectList,
    ObjectOut,
    ObjectPatch,
    ObjectQuery,
    TypeIn,
    TypeList,
    TypeOut,
    TypePatch,
)
from routing_core.model.users import permission

blueprint = Blueprint("api_crm", __name__, url_prefix="/api")

READ, CREATE, EDIT, DELETE = (permission("crm", operation)
                              for operation in ("read", "create", "edit", "delete"))


def field_filters(*reserved: str) -> dict[str, Any]:
    """``?<field>=<value>`` arguments, beside the page's and the ``reserved`` ones."""
    skipped = {"cursor", "limit", *reserved}
    return {name: request.args[name] for name in request.args if name not in skipped}


# -- cards -------------------------------------------------------------------------------

@blueprint.get("/crm/cards")
@require(READ)
@validate_querystring(CardQuery)
@validate_response(CardList)
async def list_cards(query_args: CardQuery) -> CardList:
    """``?phone=+33612345678`` keeps the cards whose ``phone`` is that (a number typed as
    text also finds the number)."""
    items, cursor = await services().crm.cards.search(
        field_filters(), cursor=query_args.cursor, limit=query_args.limit
    )
    return CardList(items=[CardOut.of(item) for item in items], next=cursor)


@blueprint.post("/crm/cards")
@require(CREATE)
@validate_request(CardIn)
@validate_response(CardOut, 201)
async def create_card(data: CardIn) -> tuple[CardOut, int]:
    return CardOut.of(await services().crm.cards.create(actor(), data.fields)), 201


@blueprint.get("/crm/cards/<card_id>")
@require(READ)
@validate_response(CardOut)
async def get_card(card_id: str) -> CardOut:
    return CardOut.of(await services().crm.cards.get(card_id))


@blueprint.patch("/crm/cards/<card_id>")
@require(EDIT)
@validate_request(CardPatch)
@validate_response(CardOut)
async def update_card(card_id: str, data: CardPatch) -> CardOut:
    return CardOut.of(await services().crm.cards.update(actor(), card_id, data.fields))


@blueprint.delete("/crm/cards/<card_id>")
@require(DELETE)
async def delete_card(card_id: str) -> tuple[str, int]:
    await services().crm.cards.delete(actor(), card_id)
    return "", 204


# -- CRM V2 types ------------------------------------------------------------------------

@blueprint.get("/crm2/types")
@require(READ)
@validate_querystring(PageQuery)
@validate_response(TypeList)
async def list_types(query_args: PageQuery) -> TypeList:
    items, cursor = await services().store.crm_types.list(
        cursor=query_args.cursor, limit=query_args.limit
    )
    return TypeList(items=[TypeOut.of(item) for item in items], next=cursor)


@blueprint.post("/crm2/types")
@require(CREATE)
@validate_request(TypeIn)
@validate_response(TypeOut, 201)
async def create_type(data: TypeIn) -> tuple[TypeOut, int]:
    crm_type = await services().crm.types.create(
        actor(), name=data.name, description=data.description, fields=data.fields
    )
    return TypeOut.of(crm_type), 201


@blueprint.get("/crm2/types/<type_id>")
@require(READ)
@validate_response(TypeOut)
async def get_type(type_id: str) -> TypeOut:
    return TypeOut.of(await services().crm.types.get(type_id))


@blueprint.patch("/crm2/types/<type_id>")
@require(EDIT)
@validate_request(TypePatch)
@validate_response(TypeOut)
async def update_type(type_id: str, data: TypePatch) -> TypeOut:
    changes = data.model_dump(exclude_unset=True)
    return TypeOut.of(await services().crm.types.update(actor(), type_id, changes))


@blueprint.delete("/crm2/types/<type_id>")
@require(DELETE)
async def delete_type(type_id: str) -> tuple[str, int]:
    await services().crm.types.delete(actor(), type_id)
    return "", 204


# -- CRM V2 objects ----------------------------------------------------------------------

@blueprint.get("/crm2/objects")
@require(READ)
@validate_querystring(ObjectQuery)
@validate_response(ObjectList)
async def list_objects(query_args: ObjectQuery) -> ObjectList:
    """``?type=customer&email=ada@example.com``: values are coerced to the field's type."""
    items, cursor = await services().crm.objects.search(
        query_args.type, field_filters("type"), cursor=query_args.cursor,
        limit=query_args.limit,
    )
    return ObjectList(items=[ObjectOut.of(item) for item in items], next=cursor)


@blueprint.post("/crm2/objects")
@require(CREATE)
@validate_request(ObjectIn)
@validate_response(ObjectOut, 201)
async def create_object(data: ObjectIn) -> tuple[ObjectOut, int]:
    created = await services().crm.objects.create(actor(), data.type, data.values)
    return ObjectOut.of(created), 201


@blueprint.get("/crm2/objects/<object_id>")
@require(READ)
@validate_response(ObjectOut)
async def get_object(object_id: str) -> ObjectOut:
    return ObjectOut.of(await services().crm.objects.get(object_id))


@blueprint.patch("/crm2/objects/<object_id>")
@require(EDIT)
@validate_request(ObjectPatch)
@validate_response(ObjectOut)
async def update_object(object_id: str, data: ObjectPatch) -> ObjectOut:
    return ObjectOut.of(await services().crm.objects.update(actor(), object_id, data.values,
                                                            data.revision))


@blueprint.delete("/crm2/objects/<object_id>")
@require(DELETE)
async def delete_object(object_id: str) -> tuple[str, int]:
    await services().crm.objects.delete(actor(), object_id)
    return "", 204
