"""Cases & CRM > CRM V2 types: the object types admins define, and their typed fields.

The fields are edited as rows (name, type, choices, required, unique); ``CrmTypes`` keeps
every rule, including the ones that protect stored objects (no removing, retyping or
newly requiring a field objects use), and its refusal is shown on the row it names
(``fields.2.type`` on the third row). The permissions are the JSON API's: ``crm:*``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from quart import Blueprint, flash, redirect, request, url_for

from admin.context import actor, require, services
from admin.i18n import phrase, said
from admin.pages.cases import SECTION
from admin.pages.nav import NavEntry, add_entry
from admin.pages.views import page
from routing_core.infra.errors import Conflict, DomainError, Invalid
from routing_core.model.crm import CrmFieldType, CrmType

blueprint = Blueprint("crm_types", __name__, url_prefix="/crm2/types")
add_entry(NavEntry("crm_types", SECTION, "CRM V2 types", "pages.crm_types.index", "crm:read"))

FIELD_TYPES = [field_type.value for field_type in CrmFieldType]
_ROW_KEY = re.compile(r"fields\.(\d+)\.name")


@dataclass
class FieldRow:
    """One row of the fields editor, as typed (so a refused form shows what was typed)."""

    name: str = ""
    type: str = "text"
    choices: str = ""
    required: bool = False
    unique: bool = False

    def as_field(self) -> dict[str, Any]:
        choices = [choice.strip() for choice in self.choices.split(",") if choice.strip()]
        return {"name": self.name, "type": self.type, "required": self.required,
                "unique": self.unique, "choices": choices}


def rows_of(form: Any) -> list[FieldRow]:
    """The submitted rows in their order on the page; a row without a name is dropped."""
    indices = sorted(int(found.group(1)) for key in form
                     if (found := _ROW_KEY.fullmatch(key)))
    rows = [FieldRow(name=str(form.get(f"fields.{index}.name", "")).strip(),
                     type=str(form.get(f"fields.{index}.type", "text")),
                     choices=str(form.get(f"fields.{index}.choices", "")),
                     required=f"fields.{index}.required" in form,
                     unique=f"fields.{index}.unique" in form)
            for index in indices]
    return [row for row in rows if row.name]


def rows_from(crm_type: CrmType) -> list[FieldRow]:
    return [FieldRow(field.name, field.type.value, ", ".join(field.choices), field.required,
                     field.unique) for field in crm_type.fields]


def errors_of(error: DomainError) -> dict[str, str]:
    """``fields.2.type`` is shown on the third row, ``name`` on the name, anything else
    (``fields`` itself: a field objects still use was removed) above the form."""
    target = error.field or "form"
    if found := re.match(r"fields\.(\d+)", target):
        return {f"fields.{found.group(1)}": said(error)}
    return {target if target in ("name", "description") else "form": said(error)}


async def object_counts(types: list[CrmType]) -> dict[str, int]:
    """Objects per type, each counted on the ``by_type`` index."""
    collection = services().store.crm_objects.collection
    return {crm_type.id: await collection.count_documents({"type_id": crm_type.id})
            for crm_type in types}


async def _form_page(crm_type: CrmType | None, values: dict[str, str], rows: list[FieldRow],
                     errors: dict[str, str], status: int = 200) -> Any:
    objects = (await object_counts([crm_type]))[crm_type.id] if crm_type else 0
    return await page(
        "crm2/type_form.html", status, active_nav="crm_types", crm_type=crm_type,
        values=values, rows=rows, errors=errors, field_types=FIELD_TYPES, objects=objects,
    )


def _typed(form: Any) -> dict[str, str]:
    return {"name": str(form.get("name", "")).strip(),
            "description": str(form.get("description", ""))}


@blueprint.get("")
@require("crm:read")
async def index() -> Any:
    types = await services().store.crm_types.all()
    return await page("crm2/types.html", active_nav="crm_types", types=types,
                      counts=await object_counts(types))


@blueprint.get("/new")
@require("crm:create")
async def new() -> Any:
    return await _form_page(None, {}, [FieldRow()], {})


@blueprint.post("/new")
@require("crm:create")
async def create() -> Any:
    form = await request.form
    values, rows = _typed(form), rows_of(form)
    try:
        created = await services().crm.types.create(
            actor(), name=values["name"], description=values["description"],
            fields=[row.as_field() for row in rows],
        )
    except (Invalid, Conflict) as error:
        return await _form_page(None, values, rows, errors_of(error), 422)
    await flash(phrase("Type %(name)s created.", name=created.name), "success")
    return redirect(url_for("pages.crm_objects.index", type_id=created.id))


@blueprint.get("/<type_id>")
@require("crm:edit")
async def edit(type_id: str) -> Any:
    crm_type = await services().crm.types.get(type_id)
    values = {"name": crm_type.name, "description": crm_type.description}
    return await _form_page(crm_type, values, rows_from(crm_type), {})


@blueprint.post("/<type_id>")
@require("crm:edit")
async def update(type_id: str) -> Any:
    crm_type = await services().crm.types.get(type_id)
    form = await request.form
    values, rows = _typed(form), rows_of(form)
    changes = {**values, "fields": [row.as_field() for row in rows]}
    try:
        saved = await services().crm.types.update(actor(), type_id, changes)
    except (Invalid, Conflict) as error:
        return await _form_page(crm_type, values, rows, errors_of(error), 422)
    await flash(phrase("Type %(name)s saved.", name=saved.name), "success")
    return redirect(url_for("pages.crm_types.index"))


@blueprint.post("/<type_id>/delete")
@require("crm:delete")
async def delete(type_id: str) -> Any:
    crm_type = await services().crm.types.get(type_id)
    try:
        await services().crm.types.delete(actor(), type_id)
    except Conflict as error:
        await flash(phrase("Type %(name)s was not deleted: %(reason)s.", name=crm_type.name,
                           reason=said(error)), "error")
    else:
        await flash(phrase("Type %(name)s deleted.", name=crm_type.name), "success")
    return redirect(url_for("pages.crm_types.index"))
