"""Cases & CRM > CRM cards: flat cards searched by any field, created, edited, deleted.

A card's fields are typed as a JSON object (numbers stay numbers); ``CrmCards`` checks the
names and values, and on an edit a field set to null (or "") is removed."""

from __future__ import annotations

from typing import Any

from quart import request

from admin.context import services
from admin.i18n import marked, phrase
from admin.pages.cases import SECTION, json_object, shown_json
from admin.pages.resources import Column, Field, Resource
from routing_core.model.crm import CrmCard

LIST_LIMIT = 200
SHOWN_FIELDS = 4


def _read(form: Any, item: CrmCard | None) -> dict[str, Any]:
    fields = json_object(form.raw("fields"), "fields")
    if item is not None:  # what the text no longer lists is removed
        fields = {name: None for name in item.fields} | fields
    return {"fields": fields}


async def _fields(item: CrmCard | None) -> list[Field]:
    return [Field("fields", phrase("Fields (JSON)"), "textarea", rows=8, required=True,
                  help=phrase('Scalar values under their names, e.g. {"phone": "+33612345678", '
                               '"name": "Ada", "points": 120}.'))]


async def _load_all() -> list[CrmCard]:
    field, value = request.args.get("field", "").strip(), request.args.get("value", "").strip()
    wanted = {field: value} if field and value else {}
    items, _ = await services().crm.cards.search(wanted, limit=LIST_LIMIT)
    return items


def _summary(card: CrmCard) -> str:
    shown = [f"{name}: {value}" for name, value in list(card.fields.items())[:SHOWN_FIELDS]]
    more = len(card.fields) - SHOWN_FIELDS
    return " · ".join(shown) + (f" · +{more} more" if more > 0 else "")


resource = Resource(
    key="crm", url="/crm/cards", title="CRM cards", singular="card", section=SECTION,
    load_all=_load_all,
    load=lambda item_id: services().crm.cards.get(item_id),  # noqa: PLW0108
    fields=_fields, values_of=lambda item: {"fields": shown_json(item.fields)},
    create=lambda who, values: services().crm.cards.create(who, values["fields"]),
    update=lambda who, item_id, values: services().crm.cards.update(  # noqa: PLW0108
        who, item_id, values["fields"], values.get("revision")),
    delete=lambda who, item_id: services().crm.cards.delete(who, item_id),  # noqa: PLW0108
    columns=[
        Column("Card", lambda item: item.fields.get("name") or item.id),
        Column("Fields", _summary),
        Column("Updated", lambda item: f"{item.updated_at:%Y-%m-%d %H:%M}"),
    ],
    read_form=_read,
    name_of=lambda item: str(item.fields.get("name") or item.id),
    describe=marked("A card holds what identifies a customer; trees find it by any field."),
    list_template="customers/list.html",
)
blueprint = resource.blueprint


@blueprint.context_processor
async def _list_filters() -> dict[str, Any]:
    return {"list_filters": [("field", "Field", []), ("value", "Equals", [])]}
