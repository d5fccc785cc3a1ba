"""Login, users and roles as the API shows and accepts them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field, field_validator

from admin.schemas.common import Strict, refuse_null
from routing_core.model.users import AgentProfile, Role, User

# the policy (length, guessability) answers with its own sentence: the schema only bounds
Password = Field(min_length=1, max_length=200)


class LoginIn(Strict):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=200)


class UserOut(BaseModel):
    id: str
    email: str
    roles: list[str]
    agent: AgentProfile | None
    active: bool
    timezone: str | None = None  # None: the service's
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls.model_validate(user.model_dump(exclude={"password_hash"}))


class LoginOut(BaseModel):
    token: str
    user: UserOut
    permissions: list[str]


class UserIn(Strict):
    email: str = Field(min_length=3, max_length=320)
    password: str = Password
    roles: list[str] = Field(default_factory=list)  # none: no permission, never admin
    agent: AgentProfile | None = None
    timezone: str | None = Field(None, max_length=64)  # an IANA name; None: the service's


class UserPatch(Strict):
    email: str | None = Field(None, min_length=3, max_length=320)
    password: str | None = Field(None, min_length=1, max_length=200)
    roles: list[str] | None = None
    agent: AgentProfile | None = None  # null removes the agent profile
    active: bool | None = None
    timezone: str | None = Field(None, max_length=64)  # null: the service's

    _present = field_validator("email", "password", "roles", "active", mode="before")(
        refuse_null
    )


class UserList(BaseModel):
    items: list[UserOut]
    next: str | None


class RoleIn(Strict):
    name: str = Field(min_length=1, max_length=100)
    permissions: list[str]


class RolePatch(Strict):
    name: str | None = Field(None, min_length=1, max_length=100)
    permissions: list[str] | None = None


class RoleOut(BaseModel):
    id: str
    name: str
    permissions: list[str]
    builtin: bool

    @classmethod
    def of(cls, role: Role) -> RoleOut:
        return cls.model_validate(role.model_dump())


class RoleList(BaseModel):
    items: list[RoleOut]
    next: str | None


class AuditOut(BaseModel):
    id: str
    at: datetime
    actor_id: str | None
    actor: str
    action: str
    target_type: str
    target_id: str
    details: dict[str, Any]


class AuditList(BaseModel):
    items: list[AuditOut]
    next: str | None


class AuditQuery(BaseModel):
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=500)
    target: str | None = Field(None, max_length=200,
                               description="A target's id, or a kind of target (version)")
    action: str | None = Field(None, max_length=100,
                               description="An action (version.produce) or a family (version)")
    actor: str | None = Field(None, max_length=100,
                              description="A user's id, or system")
    since: AwareDatetime | None = None
    before: AwareDatetime | None = None
