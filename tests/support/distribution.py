"""An in-memory distribution port for the golden cases of ``to_queue`` and ``to_user``.

It takes the plain JSON a golden case holds under ``context.distribution``::

    {"queues": {"sales": {"state": "open" | "closed" | "no_agent", "position": 1,
                          "max_wait_seconds": 600, "waiting_message": "",
                          "announce_position": false}},
     "users": {"u1": "available" | "away" | "offline"},
     "claimed": false}

``claimed`` is what ``expire`` finds: an agent's claim being delivered at the time-out.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from routing_core.infra.errors import NotFound
from routing_core.model.queues import ExpiryResult, Placement, TicketRequest

TO_USER_WAIT_SECONDS = 120


class FakeDistribution:
    def __init__(
        self,
        queues: dict[str, dict[str, Any]] | None = None,
        users: dict[str, str] | None = None,
        claimed: bool = False,
    ):
        self.queues = queues or {}
        self.users = users or {}
        self.claimed = claimed
        self.requests: list[TicketRequest] = []

    async def enqueue(self, request: TicketRequest) -> Placement:
        self.requests.append(request)
        queue = self.queues.get(request.queue or "")
        if queue is None:
            raise NotFound(f"no queue named {request.queue!r}")
        refusal = {"closed": "closed", "no_agent": "no_agent_available"}.get(
            queue.get("state", "open")
        )
        if refusal is not None:
            return Placement(accepted=False, reason=refusal, queue_name=request.queue)
        wait = min(request.max_wait_seconds, int(queue.get("max_wait_seconds", 86_400)))
        return Placement(
            accepted=True, queue_id=f"queue-{request.queue}", queue_name=request.queue,
            position=int(queue.get("position", 1)),
            deadline=request.now + timedelta(seconds=wait),
            waiting_message=queue.get("waiting_message", ""),
            announce_position=bool(queue.get("announce_position", False)),
        )

    async def offer_to_user(self, request: TicketRequest) -> Placement:
        self.requests.append(request)
        status = self.users.get(request.user or "")
        if status is None:
            return Placement(accepted=False, reason="unknown_user")
        if status != "available":
            return Placement(accepted=False, reason="unavailable", user_id=request.user)
        return Placement(accepted=True, user_id=request.user,
                         deadline=request.now + timedelta(seconds=TO_USER_WAIT_SECONDS))

    async def expire(self, interaction_id: str, ticket: str) -> ExpiryResult:
        return "claimed" if self.claimed else "expired"
