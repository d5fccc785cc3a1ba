"""Tasks as the API shows and accepts them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from admin.schemas.common import PageQuery, Strict
from admin.schemas.reference import Stored
from routing_core.model.tasks import Task, TaskAssignee, TaskDescription, TaskStatus, TaskTitle


class TaskIn(Strict):
    title: TaskTitle
    description: TaskDescription = ""
    assignee: TaskAssignee | None = Field(
        None, description="{kind: user, ref: user id or e-mail} or {kind: queue, ref: name}"
    )
    due_at: datetime | None = None
    status: TaskStatus = TaskStatus.open
    interaction_id: str | None = None
    case_id: str | None = None


class TaskPatch(Strict):
    title: TaskTitle | None = None
    description: TaskDescription | None = None
    assignee: TaskAssignee | None = None
    due_at: datetime | None = None
    status: TaskStatus | None = None
    interaction_id: str | None = None
    case_id: str | None = None


class TaskOut(Stored):
    title: str
    description: str
    assignee: TaskAssignee | None
    due_at: datetime | None
    status: TaskStatus
    interaction_id: str | None
    case_id: str | None
    closed_at: datetime | None

    @classmethod
    def of(cls, task: Task) -> TaskOut:
        return cls.model_validate(task.model_dump())


class TaskList(BaseModel):
    items: list[TaskOut]
    next: str | None


class TaskQuery(PageQuery):
    status: TaskStatus | None = None
    assignee_kind: Literal["user", "queue"] | None = None
    assignee: str | None = Field(None, description="A user id or a queue name.")
    case: str | None = Field(None, description="A case id.")
    interaction: str | None = Field(None, description="An interaction id.")
