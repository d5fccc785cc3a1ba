"""Reference > Databases > rows: the content of one custom database, a row at a time.

The form is generated from the database's fields (one input per field, by type); every
rule (types, required fields, unique values) is ``Databases``'s, and its refusal is shown
next to the field it names (``values.email`` on ``email``). Reading the rows needs
``databases:read``, changing them ``databases:edit``, as in the JSON API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from quart import Blueprint, flash, redirect, request, url_for

from admin.context import actor, require, services, viewer_zone
from admin.i18n import phrase, said
from admin.pages.views import page
from routing_core.infra.errors import Conflict, DomainError, Invalid
from routing_core.model.reference import CustomDatabase, DatabaseField, DatabaseRow, FieldType

blueprint = Blueprint("database_rows", __name__, url_prefix="/databases/<database_id>/rows")

PAGE_SIZE = 100
INPUTS = {
    FieldType.text: "text",
    FieldType.number: "number",
    FieldType.boolean: "select",
    FieldType.date: "date",
    FieldType.datetime: "datetime-local",
    FieldType.email: "email",
    FieldType.phone: "tel",
}
LOCAL_FORMAT = "%Y-%m-%dT%H:%M:%S"


def input_of(field: DatabaseField) -> str:
    return INPUTS.get(field.type, "text")


def form_value(field: DatabaseField, value: Any) -> str:
    """A stored value as its input shows it (a date-time in the service's time zone)."""
    if value is None:
        return ""
    if field.type == FieldType.boolean:
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(viewer_zone()).strftime(LOCAL_FORMAT)
    return str(value)


def shown(field: DatabaseField, value: Any) -> str:
    """A stored value as the table shows it."""
    if value is None:
        return ""
    if field.type == FieldType.boolean:
        return phrase("yes") if value else phrase("no")
    if isinstance(value, datetime):
        return value.astimezone(viewer_zone()).strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def _submitted(field: DatabaseField, raw: str) -> str:
    """What the service receives: a local date-time gets the service's UTC offset."""
    text = raw.strip()
    if field.type == FieldType.datetime and text:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return text  # the service says what is wrong with it
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=viewer_zone())
        return moment.isoformat()
    return text


def read_values(database: CustomDatabase, form: Any) -> dict[str, str]:
    return {field.name: _submitted(field, str(form.get(field.name, "")))
            for field in database.fields}


def errors_of(error: DomainError, database: CustomDatabase) -> dict[str, str]:
    """``values.email`` is shown on ``email``; anything else above the form."""
    target = error.field or ""
    if target.startswith("values."):
        target = target[len("values."):].split(".", 1)[0]
    if database.field(target) is None:
        target = "form"
    return {target: said(error)}


async def _database(database_id: str) -> CustomDatabase:
    return await services().store.databases.get(database_id)


async def _form_page(database: CustomDatabase, row: DatabaseRow | None, values: dict[str, str],
                     errors: dict[str, str], status: int = 200) -> Any:
    return await page(
        "database_rows/form.html", status, active_nav="databases", database=database,
        row=row, values=values, errors=errors, input_of=input_of,
    )


@blueprint.get("")
@require("databases:read")
async def index(database_id: str) -> Any:
    database = await _database(database_id)
    rows, cursor = await services().databases.list_rows(
        database_id, {}, cursor=request.args.get("after") or None, limit=PAGE_SIZE
    )
    return await page("database_rows/list.html", active_nav="databases", database=database,
                      rows=rows, next_cursor=cursor, shown=shown)


@blueprint.get("/new")
@require("databases:edit")
async def new(database_id: str) -> Any:
    database = await _database(database_id)
    return await _form_page(database, None, {}, {})


@blueprint.post("/new")
@require("databases:edit")
async def create(database_id: str) -> Any:
    database = await _database(database_id)
    form = await request.form
    values = read_values(database, form)
    try:
        await services().databases.create_row(actor(), database_id, values)
    except (Invalid, Conflict) as error:
        typed = {name: str(form.get(name, "")) for name in values}
        return await _form_page(database, None, typed, errors_of(error, database), 422)
    await flash(phrase("Row added to %(name)s.", name=database.name), "success")
    return redirect(url_for("pages.database_rows.index", database_id=database_id))


@blueprint.get("/<row_id>")
@require("databases:edit")
async def edit(database_id: str, row_id: str) -> Any:
    database = await _database(database_id)
    row = await services().databases.get_row(database_id, row_id)
    values = {field.name: form_value(field, row.values.get(field.name))
              for field in database.fields}
    return await _form_page(database, row, values, {})


@blueprint.post("/<row_id>")
@require("databases:edit")
async def update(database_id: str, row_id: str) -> Any:
    database = await _database(database_id)
    row = await services().databases.get_row(database_id, row_id)
    form = await request.form
    values = read_values(database, form)
    try:
        await services().databases.update_row(actor(), database_id, row_id, values)
    except (Invalid, Conflict) as error:
        typed = {name: str(form.get(name, "")) for name in values}
        return await _form_page(database, row, typed, errors_of(error, database), 422)
    await flash(phrase("Row saved in %(name)s.", name=database.name), "success")
    return redirect(url_for("pages.database_rows.index", database_id=database_id))


@blueprint.post("/<row_id>/delete")
@require("databases:edit")
async def delete(database_id: str, row_id: str) -> Any:
    database = await _database(database_id)
    await services().databases.delete_row(actor(), database_id, row_id)
    await flash(phrase("Row deleted from %(name)s.", name=database.name), "success")
    return redirect(url_for("pages.database_rows.index", database_id=database_id))
