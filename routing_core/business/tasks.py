"""Tasks: the admin API's CRUD, an agent's list, and the ``TasksPort`` of ``task_create``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from routing_core.business.records import Kept
from routing_core.infra.clock import utcnow
from routing_core.model.audit import Actor
from routing_core.model.tasks import Task, TaskAssignee, TaskStatus
from routing_core.reference.coercion import build
from routing_core.store import Store
from routing_core.store.repository import DEFAULT_PAGE

FILTERS = {"status": "status", "assignee_kind": "assignee.kind", "assignee": "assignee.ref",
           "case": "case_id", "interaction": "interaction_id"}


class Tasks(Kept[Task]):
    kind = "task"

    def __init__(self, store: Store, clock: Callable[[], datetime] = utcnow):
        super().__init__(store, store.tasks, clock)

    async def create(self, actor: Actor, **data: Any) -> Task:
        task = build(Task, data)
        task.assignee = await self._resolved(task.assignee)
        task.closed_at = self.clock() if task.status is not TaskStatus.open else None
        return await self._create(actor, task, title=task.title)

    async def update(self, actor: Actor, task_id: str, changes: Mapping[str, Any]) -> Task:
        """A task leaving ``open`` is dated; one reopened is not."""
        current = await self.repository.get(task_id)
        updated = self._merged(current, changes)
        updated.assignee = await self._resolved(updated.assignee)
        if updated.status is TaskStatus.open:
            updated.closed_at = None
        elif current.status is TaskStatus.open:
            updated.closed_at = self.clock()
        return await self._save(actor, current, current.revision, updated, fields=sorted(changes))

    async def search(
        self, filters: Mapping[str, str | None], *, cursor: str | None = None,
        limit: int = DEFAULT_PAGE,
    ) -> tuple[list[Task], str | None]:
        query = {FILTERS[key]: value for key, value in filters.items() if value is not None}
        return await self.repository.list(query, cursor=cursor, limit=limit)

    async def of_agent(self, user_id: str, queues: list[str]) -> list[Task]:
        """An agent's open tasks: their own and their queues', soonest due first (for the
        agent console)."""
        assigned = [{"assignee.kind": "user", "assignee.ref": user_id}]
        assigned += [{"assignee.kind": "queue", "assignee.ref": queue} for queue in queues]
        documents = await self.repository.collection.find(
            {"$or": assigned, "status": TaskStatus.open.value}
        ).sort([("due_at", 1), ("_id", 1)]).limit(200).to_list()
        return [Task.from_document(document) for document in documents]

    async def _resolved(self, assignee: TaskAssignee | None) -> TaskAssignee | None:
        """A user given by e-mail address is kept by id, when a user has that address."""
        if assignee is None or assignee.kind != "user" or "@" not in assignee.ref:
            return assignee
        user = await self.store.users.find_one({"email": assignee.ref.lower()})
        return TaskAssignee(kind="user", ref=user.id) if user else assignee

    # -- for the engine (TasksPort) --------------------------------------------------------

    async def create_task(
        self, *, title: str, description: str, assignee: dict[str, str] | None,
        due_at: datetime | None, interaction_id: str, case_id: str | None, origin: str,
    ) -> dict[str, Any]:
        task = build(Task, {
            "title": title, "description": description, "assignee": assignee,
            "due_at": due_at, "interaction_id": interaction_id, "case_id": case_id,
            "origin": origin,
        })
        task.assignee = await self._resolved(task.assignee)
        created = await self.insert_once(task, origin)
        return created.model_dump(mode="json", include={
            "id", "title", "assignee", "due_at", "status", "case_id",
        })
