"""Tasks: list, create, read, change, delete."""

from __future__ import annotations

from quart import Blueprint
from quart_schema import validate_querystring, validate_request, validate_response

from admin.context import actor, require, services
from admin.schemas.tasks import TaskIn, TaskList, TaskOut, TaskPatch, TaskQuery
from routing_core.model.users import permission

blueprint = Blueprint("api_tasks", __name__, url_prefix="/api/tasks")


@blueprint.get("")
@require(permission("tasks", "read"))
@validate_querystring(TaskQuery)
@validate_response(TaskList)
async def list_tasks(query_args: TaskQuery) -> TaskList:
    filters = query_args.model_dump(exclude={"cursor", "limit"})
    items, cursor = await services().tasks.search(
        filters, cursor=query_args.cursor, limit=query_args.limit
    )
    return TaskList(items=[TaskOut.of(item) for item in items], next=cursor)


@blueprint.post("")
@require(permission("tasks", "create"))
@validate_request(TaskIn)
@validate_response(TaskOut, 201)
async def create_task(data: TaskIn) -> tuple[TaskOut, int]:
    task = await services().tasks.create(actor(), **data.model_dump())
    return TaskOut.of(task), 201


@blueprint.get("/<task_id>")
@require(permission("tasks", "read"))
@validate_response(TaskOut)
async def get_task(task_id: str) -> TaskOut:
    return TaskOut.of(await services().tasks.get(task_id))


@blueprint.patch("/<task_id>")
@require(permission("tasks", "edit"))
@validate_request(TaskPatch)
@validate_response(TaskOut)
async def update_task(task_id: str, data: TaskPatch) -> TaskOut:
    changes = data.model_dump(exclude_unset=True)
    return TaskOut.of(await services().tasks.update(actor(), task_id, changes))


@blueprint.delete("/<task_id>")
@require(permission("tasks", "delete"))
async def delete_task(task_id: str) -> tuple[str, int]:
    await services().tasks.delete(actor(), task_id)
    return "", 204
