"""Cases & CRM > Tasks: follow-up work listed by status and assignee, created, edited and
completed (status "done": ``Tasks`` dates the closing). The due date is typed in the
service's time zone."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from quart import flash, redirect, url_for

from admin.context import actor, require, services, viewer_zone, viewer_zone_name
from admin.i18n import marked, phrase
from admin.pages.cases import SECTION, filters
from admin.pages.resources import Column, Field, Resource
from routing_core.infra.errors import Invalid, Words
from routing_core.model.tasks import Task, TaskStatus

LIST_LIMIT = 200


def _due(text: str) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid("a date and time such as 2030-01-31T17:00", field="due_at") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=viewer_zone())


def _read(form: Any, item: Task | None) -> dict[str, Any]:
    kind, ref = form.text("assignee_kind"), form.text("assignee_ref")
    if kind and not ref:
        raise Invalid(Words("the %(kind)s the task is for", kind=kind), field="assignee_ref")
    return {
        "title": form.text("title"), "description": form.raw("description"),
        "assignee": {"kind": kind, "ref": ref} if kind else None,
        "due_at": _due(form.text("due_at")),
        "status": form.text("status") or TaskStatus.open.value,
    }


async def _fields(item: Task | None) -> list[Field]:
    return [
        Field("title", phrase("Title"), required=True),
        Field("description", phrase("Description"), "textarea"),
        Field("assignee_kind", phrase("Assigned to"), "select", options=[
            ("", phrase("— nobody —")), ("user", phrase("A user")), ("queue", phrase("A queue"))]),
        Field("assignee_ref", phrase("User or queue"),
              help=phrase("A user's e-mail address (or id), or a queue's name.")),
        Field("due_at", phrase("Due"), "datetime-local",
              help=phrase("In %(zone)s.", zone=viewer_zone_name())),
        Field("status", phrase("Status"), "select",
              options=[(s.value, s.value) for s in TaskStatus]),
    ]


def _local(moment: datetime | None) -> str:
    return f"{moment.astimezone(viewer_zone()):%Y-%m-%dT%H:%M}" if moment else ""


def _values(item: Task) -> dict[str, Any]:
    return {"title": item.title, "description": item.description,
            "assignee_kind": item.assignee.kind if item.assignee else "",
            "assignee_ref": item.assignee.ref if item.assignee else "",
            "due_at": _local(item.due_at), "status": item.status.value}


async def _load_all() -> list[Task]:
    items, _ = await services().tasks.search(filters("status", "assignee"), limit=LIST_LIMIT)
    return items


async def _create(who: Any, values: dict[str, Any]) -> Task:
    return await services().tasks.create(who, **values)


resource = Resource(
    key="tasks", url="/tasks", title="Tasks", singular="task", section=SECTION,
    load_all=_load_all,
    load=lambda item_id: services().tasks.get(item_id),  # noqa: PLW0108
    fields=_fields, values_of=_values, create=_create,
    update=lambda who, item_id, values: services().tasks.update(who, item_id, values),  # noqa: PLW0108
    delete=lambda who, item_id: services().tasks.delete(who, item_id),  # noqa: PLW0108
    columns=[
        Column("Title", lambda item: item.title),
        Column("Status", lambda item: item.status.value),
        Column("Assigned to", lambda item: f"{item.assignee.kind} {item.assignee.ref}"
               if item.assignee else phrase("nobody")),
        Column("Due", lambda item: _local(item.due_at).replace("T", " ")),
    ],
    read_form=_read, name_of=lambda item: item.title,
    describe=marked("A task is follow-up work (call back, check a refund) for a user or a queue."),
    list_template="customers/list.html",
)
blueprint = resource.blueprint


@blueprint.context_processor
async def _list_filters() -> dict[str, Any]:
    return {"list_filters": [("status", "Status", [s.value for s in TaskStatus]),
                             ("assignee", "Assignee (user id or queue)", [])]}


@blueprint.post("/<item_id>/complete")
@require("tasks:edit")
async def complete(item_id: str) -> Any:
    task = await services().tasks.update(actor(), item_id, {"status": TaskStatus.done.value})
    await flash(phrase("Task %(title)s done.", title=task.title), "success")
    return redirect(url_for("pages.tasks.index"))
