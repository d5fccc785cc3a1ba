"""Tasks."""

from __future__ import annotations

from pymongo import ASCENDING, IndexModel

from routing_core.model.tasks import Task
from routing_core.store.cases import UNIQUE_ORIGIN
from routing_core.store.repository import Repository


class TaskRepository(Repository[Task]):
    """Listed by status, by assignee (an agent's or a queue's open tasks, soonest due
    first), by case and by interaction."""

    collection_name = "tasks"
    record = Task
    label = "task"
    INDEXES = [
        IndexModel([("status", ASCENDING), ("_id", ASCENDING)], name="by_status"),
        IndexModel([("assignee.kind", ASCENDING), ("assignee.ref", ASCENDING),
                    ("status", ASCENDING), ("due_at", ASCENDING)], name="by_assignee"),
        IndexModel([("case_id", ASCENDING), ("_id", ASCENDING)], name="by_case"),
        IndexModel([("interaction_id", ASCENDING), ("_id", ASCENDING)], name="by_interaction"),
        UNIQUE_ORIGIN,
    ]
