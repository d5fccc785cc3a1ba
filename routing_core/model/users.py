"""Users, roles and the permissions they grant."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from routing_core.model.base import Record, Timestamped
from routing_core.model.reference import Timezone

RESOURCES = (
    "smart_routings",
    "entry_points",
    "interactions",
    "contacts",
    "value_tables",
    "variables",
    "databases",
    "schedules",
    "queues",
    "users",
    "roles",
    "cases",
    "crm",
    "tasks",
    "campaigns",
    "surveys",
    "audit",
)
OPERATIONS = ("read", "create", "edit", "delete")
AGENT_CONSOLE = "agent:console"
# chat with a version in the simulator: apart from reading, as a chat runs the tree
SIMULATE = "smart_routings:simulate"


def permission(resource: str, operation: str) -> str:
    return f"{resource}:{operation}"


ALL_PERMISSIONS = tuple(
    permission(resource, operation) for resource in RESOURCES for operation in OPERATIONS
) + (AGENT_CONSOLE, SIMULATE)


class AgentStatus(StrEnum):
    available = "available"
    away = "away"
    offline = "offline"


class AgentProfile(BaseModel):
    queues: list[str] = Field(default_factory=list)
    capacity: int = Field(1, ge=1, le=100)
    status: AgentStatus = AgentStatus.offline


class Role(Timestamped):
    name: str
    permissions: list[str]
    builtin: bool = False
    revision: int = 0  # +1 at each save: a stale form's save is refused


BUILTIN_ROLES = {
    "admin": list(ALL_PERMISSIONS),
    "agent": [AGENT_CONSOLE],
}


class User(Timestamped):
    email: str
    password_hash: str
    roles: list[str] = Field(default_factory=lambda: ["admin"])
    agent: AgentProfile | None = None
    active: bool = True
    timezone: Timezone | None = None  # the panel's times, shown and typed; None: the service's
    revision: int = 0  # +1 at each save: a stale form's save is refused


class ApiToken(Record):
    """A bearer token; only its hash is stored, the id is sha256(token)."""

    user_id: str
    expires_at: datetime
