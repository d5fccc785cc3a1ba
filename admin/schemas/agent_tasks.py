"""The logged-in agent's tasks, as the agent console shows them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from routing_core.infra.clock import as_utc
from routing_core.model.tasks import Task, TaskAssignee, TaskStatus


class AgentTaskOut(BaseModel):
    id: str
    title: str
    description: str
    assignee: TaskAssignee | None
    due_at: datetime | None
    overdue: bool = Field(description="Open and due before now.")
    status: TaskStatus
    interaction_id: str | None
    case_id: str | None
    closed_at: datetime | None
    revision: int

    @classmethod
    def of(cls, task: Task, now: datetime) -> AgentTaskOut:
        overdue = (task.status is TaskStatus.open and task.due_at is not None
                   and as_utc(task.due_at) < now)
        return cls.model_validate(task.model_dump() | {"overdue": overdue})


class AgentTaskList(BaseModel):
    items: list[AgentTaskOut] = Field(
        description="Open tasks of the agent and of the agent's queues, soonest due first."
    )
