"""Reference data: value tables, variables, custom databases (and rows), schedules.

One blueprint for the four resources, like accounts: each route carries the permission of
its own resource (``value_tables:read``…), so roles can grant them separately.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, request
from quart_schema import validate_querystring, validate_request, validate_response
from werkzeug.exceptions import UnsupportedMediaType

from admin.context import actor, require, services
from admin.schemas.common import PageQuery
from admin.schemas.reference import (
    DatabaseIn,
    DatabaseList,
    DatabaseOut,
    DatabasePatch,
    RowIn,
    RowList,
    RowOut,
    RowPatch,
    RowQuery,
    ScheduleIn,
    ScheduleList,
    ScheduleOut,
    SchedulePatch,
    StateOut,
    StateQuery,
    ValueTableIn,
    ValueTableList,
    ValueTableOut,
    ValueTablePatch,
    ValueTableRowsIn,
    ValueTableSummary,
    VariableIn,
    VariableList,
    VariableOut,
    VariablePatch,
)
from routing_core.infra.errors import Invalid
from routing_core.model.users import permission
from routing_core.reference.schedules import schedule_state

blueprint = Blueprint("api_reference", __name__, url_prefix="/api")

CSV_TYPES = frozenset({"text/csv", "text/plain", "application/csv"})
PAGE_ARGUMENTS = frozenset({"cursor", "limit"})


# -- value tables ------------------------------------------------------------------------

@blueprint.get("/value-tables")
@require(permission("value_tables", "read"))
@validate_querystring(PageQuery)
@validate_response(ValueTableList)
async def list_value_tables(query_args: PageQuery) -> ValueTableList:
    items, cursor = await services().store.value_tables.list(
        cursor=query_args.cursor, limit=query_args.limit
    )
    return ValueTableList(items=[ValueTableSummary.of(item) for item in items], next=cursor)


@blueprint.post("/value-tables")
@require(permission("value_tables", "create"))
@validate_request(ValueTableIn)
@validate_response(ValueTableOut, 201)
async def create_value_table(data: ValueTableIn) -> tuple[ValueTableOut, int]:
    table = await services().value_tables.create(actor(), **data.model_dump())
    return ValueTableOut.of(table), 201


@blueprint.get("/value-tables/<table_id>")
@require(permission("value_tables", "read"))
@validate_response(ValueTableOut)
async def get_value_table(table_id: str) -> ValueTableOut:
    return ValueTableOut.of(await services().store.value_tables.get(table_id))


@blueprint.patch("/value-tables/<table_id>")
@require(permission("value_tables", "edit"))
@validate_request(ValueTablePatch)
@validate_response(ValueTableOut)
async def update_value_table(table_id: str, data: ValueTablePatch) -> ValueTableOut:
    changes = data.model_dump(exclude_unset=True)
    return ValueTableOut.of(await services().value_tables.update(actor(), table_id, changes))


@blueprint.put("/value-tables/<table_id>/rows")
@require(permission("value_tables", "edit"))
@validate_request(ValueTableRowsIn)
@validate_response(ValueTableOut)
async def replace_value_table_rows(table_id: str, data: ValueTableRowsIn) -> ValueTableOut:
    table = await services().value_tables.replace_rows(actor(), table_id, data.rows)
    return ValueTableOut.of(table)


@blueprint.post("/value-tables/<table_id>/import")
@require(permission("value_tables", "edit"))
@validate_response(ValueTableOut)
async def import_value_table(table_id: str) -> ValueTableOut:
    """A ``text/csv`` body (UTF-8, comma-separated, header row = columns) replaces the table."""
    if request.mimetype not in CSV_TYPES:
        raise UnsupportedMediaType("send the CSV as the body with Content-Type: text/csv")
    try:
        text = (await request.get_data(as_text=False)).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid("the CSV must be encoded in UTF-8", field="csv") from None
    return ValueTableOut.of(await services().value_tables.import_csv(actor(), table_id, text))


@blueprint.delete("/value-tables/<table_id>")
@require(permission("value_tables", "delete"))
async def delete_value_table(table_id: str) -> tuple[str, int]:
    await services().value_tables.delete(actor(), table_id)
    return "", 204


# -- variables ---------------------------------------------------------------------------

@blueprint.get("/variables")
@require(permission("variables", "read"))
@validate_querystring(PageQuery)
@validate_response(VariableList)
async def list_variables(query_args: PageQuery) -> VariableList:
    items, cursor = await services().store.variables.list(
        cursor=query_args.cursor, limit=query_args.limit
    )
    return VariableList(items=[VariableOut.of(item) for item in items], next=cursor)


@blueprint.post("/variables")
@require(permission("variables", "create"))
@validate_request(VariableIn)
@validate_response(VariableOut, 201)
async def create_variable(data: VariableIn) -> tuple[VariableOut, int]:
    variable = await services().variables.create(actor(), **data.model_dump())
    return VariableOut.of(variable), 201


@blueprint.get("/variables/<variable_id>")
@require(permission("variables", "read"))
@validate_response(VariableOut)
async def get_variable(variable_id: str) -> VariableOut:
    return VariableOut.of(await services().store.variables.get(variable_id))


@blueprint.patch("/variables/<variable_id>")
@require(permission("variables", "edit"))
@validate_request(VariablePatch)
@validate_response(VariableOut)
async def update_variable(variable_id: str, data: VariablePatch) -> VariableOut:
    changes = data.model_dump(exclude_unset=True)
    return VariableOut.of(await services().variables.update(actor(), variable_id, changes))


@blueprint.delete("/variables/<variable_id>")
@require(permission("variables", "delete"))
async def delete_variable(variable_id: str) -> tuple[str, int]:
    await services().variables.delete(actor(), variable_id)
    return "", 204


# -- custom databases --------------------------------------------------------------------

@blueprint.get("/databases")
@require(permission("databases", "read"))
@validate_querystring(PageQuery)
@validate_response(DatabaseList)
async def list_databases(query_args: PageQuery) -> DatabaseList:
    items, cursor = await services().store.databases.list(
        cursor=query_args.cursor, limit=query_args.limit
    )
    return DatabaseList(items=[DatabaseOut.of(item) for item in items], next=cursor)


@blueprint.post("/databases")
@require(permission("databases", "create"))
@validate_request(DatabaseIn)
@validate_response(DatabaseOut, 201)
async def create_database(data: DatabaseIn) -> tuple[DatabaseOut, int]:
    database = await services().databases.create(
        actor(), name=data.name, description=data.description, fields=data.fields
    )
    return DatabaseOut.of(database), 201


@blueprint.get("/databases/<database_id>")
@require(permission("databases", "read"))
@validate_response(DatabaseOut)
async def get_database(database_id: str) -> DatabaseOut:
    return DatabaseOut.of(await services().store.databases.get(database_id))


@blueprint.patch("/databases/<database_id>")
@require(permission("databases", "edit"))
@validate_request(DatabasePatch)
@validate_response(DatabaseOut)
async def update_database(database_id: str, data: DatabasePatch) -> DatabaseOut:
    changes = data.model_dump(exclude_unset=True)
    return DatabaseOut.of(await services().databases.update(actor(), database_id, changes))


@blueprint.delete("/databases/<database_id>")
@require(permission("databases", "delete"))
async def delete_database(database_id: str) -> tuple[str, int]:
    await services().databases.delete(actor(), database_id)
    return "", 204


# Rows are the database's content: reading them needs ``databases:read``, changing them
# ``databases:edit`` (they are edits of the database, as rows are of a value table).

@blueprint.get("/databases/<database_id>/rows")
@require(permission("databases", "read"))
@validate_querystring(RowQuery)
@validate_response(RowList)
async def list_rows(database_id: str, query_args: RowQuery) -> RowList:
    """``?<field>=<value>`` filters on equality (value coerced to the field's type)."""
    filters: dict[str, Any] = {
        name: request.args[name] for name in request.args if name not in PAGE_ARGUMENTS
    }
    items, cursor = await services().databases.list_rows(
        database_id, filters, cursor=query_args.cursor, limit=query_args.limit
    )
    return RowList(items=[RowOut.of(item) for item in items], next=cursor)


@blueprint.post("/databases/<database_id>/rows")
@require(permission("databases", "edit"))
@validate_request(RowIn)
@validate_response(RowOut, 201)
async def create_row(database_id: str, data: RowIn) -> tuple[RowOut, int]:
    row = await services().databases.create_row(actor(), database_id, data.values)
    return RowOut.of(row), 201


@blueprint.get("/databases/<database_id>/rows/<row_id>")
@require(permission("databases", "read"))
@validate_response(RowOut)
async def get_row(database_id: str, row_id: str) -> RowOut:
    return RowOut.of(await services().databases.get_row(database_id, row_id))


@blueprint.patch("/databases/<database_id>/rows/<row_id>")
@require(permission("databases", "edit"))
@validate_request(RowPatch)
@validate_response(RowOut)
async def update_row(database_id: str, row_id: str, data: RowPatch) -> RowOut:
    row = await services().databases.update_row(actor(), database_id, row_id, data.values)
    return RowOut.of(row)


@blueprint.delete("/databases/<database_id>/rows/<row_id>")
@require(permission("databases", "edit"))
async def delete_row(database_id: str, row_id: str) -> tuple[str, int]:
    await services().databases.delete_row(actor(), database_id, row_id)
    return "", 204


# -- schedules ---------------------------------------------------------------------------

@blueprint.get("/schedules")
@require(permission("schedules", "read"))
@validate_querystring(PageQuery)
@validate_response(ScheduleList)
async def list_schedules(query_args: PageQuery) -> ScheduleList:
    items, cursor = await services().store.schedules.list(
        cursor=query_args.cursor, limit=query_args.limit
    )
    return ScheduleList(items=[ScheduleOut.of(item) for item in items], next=cursor)


@blueprint.post("/schedules")
@require(permission("schedules", "create"))
@validate_request(ScheduleIn)
@validate_response(ScheduleOut, 201)
async def create_schedule(data: ScheduleIn) -> tuple[ScheduleOut, int]:
    schedule = await services().schedules.create(actor(), **data.model_dump())
    return ScheduleOut.of(schedule), 201


@blueprint.get("/schedules/<schedule_id>")
@require(permission("schedules", "read"))
@validate_response(ScheduleOut)
async def get_schedule(schedule_id: str) -> ScheduleOut:
    return ScheduleOut.of(await services().store.schedules.get(schedule_id))


@blueprint.get("/schedules/<schedule_id>/state")
@require(permission("schedules", "read"))
@validate_querystring(StateQuery)
@validate_response(StateOut)
async def schedule_state_at(schedule_id: str, query_args: StateQuery) -> StateOut:
    """What ``schedule_test`` would answer at ``at`` (now by default): to check the hours."""
    schedule = await services().store.schedules.get(schedule_id)
    at = query_args.at or services().schedules.clock()
    if at.tzinfo is None:
        raise Invalid("the date-time must carry a UTC offset", field="at")
    local = at.astimezone(schedule.zone)
    return StateOut(state=schedule_state(schedule, at), at=at, local_time=local.isoformat())


@blueprint.patch("/schedules/<schedule_id>")
@require(permission("schedules", "edit"))
@validate_request(SchedulePatch)
@validate_response(ScheduleOut)
async def update_schedule(schedule_id: str, data: SchedulePatch) -> ScheduleOut:
    changes = data.model_dump(exclude_unset=True)
    return ScheduleOut.of(await services().schedules.update(actor(), schedule_id, changes))


@blueprint.delete("/schedules/<schedule_id>")
@require(permission("schedules", "delete"))
async def delete_schedule(schedule_id: str) -> tuple[str, int]:
    await services().schedules.delete(actor(), schedule_id)
    return "", 204
