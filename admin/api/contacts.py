"""Contacts: find one across channels, see a person's page, merge two addresses of one
person, export everything held about them (JSON), erase them for good."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, jsonify
from quart_schema import validate_querystring, validate_request, validate_response

from admin.context import actor, require, services
from admin.schemas.contacts import (
    ContactList,
    ContactOut,
    ContactProfileOut,
    ContactQuery,
    ErasureIn,
    ErasureOut,
    MergeIn,
)
from routing_core.infra.errors import Invalid
from routing_core.model.users import permission

blueprint = Blueprint("api_contacts", __name__, url_prefix="/api")
READ, EDIT, DELETE = (permission("contacts", op) for op in ("read", "edit", "delete"))


@blueprint.get("/contacts")
@require(READ)
@validate_querystring(ContactQuery)
@validate_response(ContactList)
async def list_contacts(query_args: ContactQuery) -> ContactList:
    """Contacts whose name, address or phone starts with ``q``, newest first; addresses
    merged into another contact are found through it."""
    items, cursor = await services().contacts.search(
        query_args.q, query_args.channel, query_args.cursor, query_args.limit)
    return ContactList(items=[ContactOut.of(item) for item in items], next=cursor)


@blueprint.get("/contacts/<contact_id>")
@require(READ)
@validate_response(ContactProfileOut)
async def get_contact(contact_id: str) -> ContactProfileOut:
    """A person: the contact (the one kept, for an address merged into it), its merged
    addresses and their latest conversations."""
    return ContactProfileOut.of_profile(await services().contacts.profile(contact_id))


@blueprint.post("/contacts/<contact_id>/merge")
@require(EDIT)
@validate_request(MergeIn)
@validate_response(ContactOut)
async def merge(contact_id: str, data: MergeIn) -> ContactOut:
    """``other`` becomes an address of this contact: one page, shared variables."""
    return ContactOut.of(await services().contacts.merge(actor(), contact_id, data.other))


@blueprint.get("/contacts/<contact_id>/export")
@require(READ)
async def export(contact_id: str) -> Any:
    """Everything held about the person, as one JSON document (audited)."""
    exported = await services().contacts.export(actor(), contact_id)
    response = jsonify(exported)
    response.headers["Content-Disposition"] = f'attachment; filename="contact-{contact_id}.json"'
    return response


@blueprint.post("/contacts/<contact_id>/erase")
@require(DELETE)
@validate_request(ErasureIn)
@validate_response(ErasureOut)
async def erase(contact_id: str, data: ErasureIn) -> ErasureOut:
    """Remove every personal datum of the person, for good (audited)."""
    if not data.confirm:
        raise Invalid("an erasure cannot be undone: send confirm true to erase",
                      field="confirm")
    return ErasureOut(erased=await services().erasure.erase(actor(), contact_id))
