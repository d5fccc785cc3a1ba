"""Cases & CRM > CRM V2 types > objects: the objects of one type, a page at a time.

The grid is filtered on one field's value (coerced to the field's type by ``CrmObjects``,
as the API's ``?<field>=<value>``); the form is generated from the type's fields, one
input per field by type. Every rule (types, required fields, unique values) is
``CrmObjects``'s, and its refusal is shown next to the field it names (``values.email`` on
``email``). The permissions are the JSON API's: ``crm:*``.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, flash, redirect, request, url_for

from admin.context import actor, require, services
from admin.i18n import phrase, said
from admin.pages.views import page
from routing_core.infra.errors import Conflict, DomainError, Invalid, NotFound, Words
from routing_core.model.crm import CrmField, CrmFieldType, CrmObject, CrmType

blueprint = Blueprint("crm_objects", __name__, url_prefix="/crm2/types/<type_id>/objects")

PAGE_SIZE = 50
INPUTS = {
    CrmFieldType.text: "text",
    CrmFieldType.number: "number",
    CrmFieldType.date: "date",
    CrmFieldType.email: "email",
    CrmFieldType.phone: "tel",
    CrmFieldType.choice: "select",
}


def input_of(field: CrmField) -> str:
    return INPUTS.get(field.type, "text")


def shown(value: Any) -> str:
    return "" if value is None else str(value)


def errors_of(error: DomainError, crm_type: CrmType) -> dict[str, str]:
    """``values.email`` is shown on ``email``; anything else above the form."""
    target = (error.field or "").removeprefix("values.").split(".", 1)[0]
    return {target if crm_type.field(target) else "form": said(error)}


def read_values(crm_type: CrmType, form: Any) -> dict[str, str]:
    """Every field of the type, as typed: a blank one is cleared on an edit."""
    return {field.name: str(form.get(field.name, "")).strip() for field in crm_type.fields}


def filter_of(crm_type: CrmType) -> dict[str, str]:
    """``?field=email&value=ada@example.com``: equality on one field of the type."""
    field, value = request.args.get("field", ""), request.args.get("value", "").strip()
    return {field: value} if crm_type.field(field) and value else {}


async def _form_page(crm_type: CrmType, found: CrmObject | None, values: dict[str, str],
                     errors: dict[str, str], status: int = 200) -> Any:
    return await page("crm2/object_form.html", status, active_nav="crm_types",
                      crm_type=crm_type, found=found, values=values, errors=errors,
                      input_of=input_of)


async def _object(crm_type: CrmType, object_id: str) -> CrmObject:
    found = await services().crm.objects.get(object_id)
    if found.type_id != crm_type.id:  # an object is only reached under its own type
        raise NotFound(Words(
            "no object %(object_id)r of the type %(name)r",
            object_id=object_id, name=crm_type.name))
    return found


@blueprint.get("")
@require("crm:read")
async def index(type_id: str) -> Any:
    crm_type = await services().crm.types.get(type_id)
    wanted, cursor = filter_of(crm_type), request.args.get("after") or None
    errors: dict[str, str] = {}
    try:
        objects, next_cursor = await services().crm.objects.search(
            crm_type.id, wanted, cursor=cursor, limit=PAGE_SIZE)
    except Invalid as error:
        objects, next_cursor, errors = [], None, {"value": said(error)}
    return await page("crm2/objects.html", 422 if errors else 200, active_nav="crm_types",
                      crm_type=crm_type, objects=objects, next_cursor=next_cursor,
                      filtered=bool(wanted), errors=errors, shown=shown)


@blueprint.get("/new")
@require("crm:create")
async def new(type_id: str) -> Any:
    return await _form_page(await services().crm.types.get(type_id), None, {}, {})


@blueprint.post("/new")
@require("crm:create")
async def create(type_id: str) -> Any:
    return await _save(await services().crm.types.get(type_id), None)


@blueprint.get("/<object_id>")
@require("crm:edit")
async def edit(type_id: str, object_id: str) -> Any:
    crm_type = await services().crm.types.get(type_id)
    found = await _object(crm_type, object_id)
    values = {field.name: shown(found.values.get(field.name)) for field in crm_type.fields}
    return await _form_page(crm_type, found, values, {})


@blueprint.post("/<object_id>")
@require("crm:edit")
async def update(type_id: str, object_id: str) -> Any:
    crm_type = await services().crm.types.get(type_id)
    return await _save(crm_type, await _object(crm_type, object_id))


async def _save(crm_type: CrmType, found: CrmObject | None) -> Any:
    """Create (``found`` None) or update from the posted form; the form again on refusal."""
    form = await request.form
    values = read_values(crm_type, form)
    shown = form.get("revision", "")
    try:
        if found is None:
            await services().crm.objects.create(actor(), crm_type.id, values)
        else:
            await services().crm.objects.update(actor(), found.id, values,
                                                int(shown) if shown.isdigit() else None)
    except (Invalid, Conflict) as error:
        return await _form_page(crm_type, found, values, errors_of(error, crm_type), 422)
    done = (phrase("Object added to %(type)s.", type=crm_type.name) if found is None
            else phrase("Object saved in %(type)s.", type=crm_type.name))
    await flash(done, "success")
    return redirect(url_for("pages.crm_objects.index", type_id=crm_type.id))


@blueprint.post("/<object_id>/delete")
@require("crm:delete")
async def delete(type_id: str, object_id: str) -> Any:
    crm_type = await services().crm.types.get(type_id)
    found = await _object(crm_type, object_id)
    await services().crm.objects.delete(actor(), found.id)
    await flash(phrase("Object deleted from %(type)s.", type=crm_type.name), "success")
    return redirect(url_for("pages.crm_objects.index", type_id=type_id))
