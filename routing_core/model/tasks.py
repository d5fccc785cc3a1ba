"""Tasks: follow-up work for people (call the customer back, check a refund), with an
assignee (one user or a queue), a due date and a status, linked to the interaction and
the case they came from. ``task_create`` reaches them through ``TasksPort``
(``ctx.ports.extra["tasks"]``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, StringConstraints

from routing_core.model.base import Timestamped

TaskTitle = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
TaskDescription = Annotated[str, StringConstraints(max_length=10_000)]
AssigneeRef = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class TaskStatus(StrEnum):
    open = "open"
    done = "done"
    cancelled = "cancelled"


class TaskAssignee(BaseModel):
    """A user (by id; an e-mail address is resolved to the id when a user has it) or a
    queue (by name)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["user", "queue"]
    ref: AssigneeRef


class Task(Timestamped):
    title: TaskTitle
    description: TaskDescription = ""
    assignee: TaskAssignee | None = None
    due_at: datetime | None = None
    status: TaskStatus = TaskStatus.open
    interaction_id: str | None = None
    case_id: str | None = None
    origin: str | None = None  # the interaction step that created it (replays find it)
    closed_at: datetime | None = None
    revision: int = 0


class TasksPort(Protocol):
    async def create_task(
        self, *, title: str, description: str, assignee: dict[str, str] | None,
        due_at: datetime | None, interaction_id: str, case_id: str | None, origin: str,
    ) -> dict[str, Any]:
        """The new task as JSON (the same one again for the same origin)."""
        ...
