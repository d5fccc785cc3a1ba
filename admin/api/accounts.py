"""Login and logout, the current user, users, roles and the audit log."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, current_app, request
from quart_schema import validate_querystring, validate_request, validate_response

from admin.context import actor, authenticated_user, client_address, require, services
from admin.schemas.accounts import (
    AuditList,
    AuditOut,
    AuditQuery,
    LoginIn,
    LoginOut,
    RoleIn,
    RoleList,
    RoleOut,
    RolePatch,
    UserIn,
    UserList,
    UserOut,
    UserPatch,
)
from admin.schemas.common import PageQuery
from routing_core.infra.throttle import LoginThrottle
from routing_core.model.users import ALL_PERMISSIONS
from routing_core.store.audit import AuditFilter

blueprint = Blueprint("api_accounts", __name__, url_prefix="/api")


@blueprint.post("/auth/login")
@validate_request(LoginIn)
@validate_response(LoginOut)
async def login(data: LoginIn) -> LoginOut:
    accounts = services().accounts
    throttle: LoginThrottle = current_app.extensions["login_throttle"]
    user = await throttle.attempt(
        data.email, client_address(),
        lambda: accounts.authenticate(data.email, data.password),
    )
    token = await accounts.issue_token(user)
    permissions = await accounts.permissions_of(user)
    return LoginOut(token=token, user=UserOut.of(user), permissions=sorted(permissions))


@blueprint.post("/auth/logout")
async def logout() -> tuple[str, int]:
    await authenticated_user()
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        await services().accounts.revoke_token(header[7:].strip())
    return "", 204


@blueprint.get("/auth/me")
@validate_response(LoginOut)
async def me() -> dict[str, Any]:
    user, permissions = await authenticated_user()
    return {"token": "", "user": UserOut.of(user), "permissions": sorted(permissions)}


@blueprint.get("/permissions")
async def permissions() -> dict[str, list[str]]:
    await authenticated_user()
    return {"items": list(ALL_PERMISSIONS)}


@blueprint.get("/users")
@require("users:read")
@validate_querystring(PageQuery)
@validate_response(UserList)
async def list_users(query_args: PageQuery) -> UserList:
    items, cursor = await services().store.users.list(
        cursor=query_args.cursor, limit=query_args.limit
    )
    return UserList(items=[UserOut.of(item) for item in items], next=cursor)


@blueprint.post("/users")
@require("users:create")
@validate_request(UserIn)
@validate_response(UserOut, 201)
async def create_user(data: UserIn) -> tuple[UserOut, int]:
    user = await services().accounts.create_user(
        actor(), **data.model_dump(exclude={"agent"}), agent=data.agent
    )
    return UserOut.of(user), 201


@blueprint.get("/users/<user_id>")
@require("users:read")
@validate_response(UserOut)
async def get_user(user_id: str) -> UserOut:
    return UserOut.of(await services().store.users.get(user_id))


@blueprint.patch("/users/<user_id>")
@require("users:edit")
@validate_request(UserPatch)
@validate_response(UserOut)
async def update_user(user_id: str, data: UserPatch) -> UserOut:
    changes = data.model_dump(exclude_unset=True)
    return UserOut.of(await services().accounts.update_user(actor(), user_id, changes))


@blueprint.delete("/users/<user_id>")
@require("users:delete")
async def delete_user(user_id: str) -> tuple[str, int]:
    await services().accounts.delete_user(actor(), user_id)
    return "", 204


@blueprint.get("/roles")
@require("roles:read")
@validate_querystring(PageQuery)
@validate_response(RoleList)
async def list_roles(query_args: PageQuery) -> RoleList:
    items, cursor = await services().store.roles.list(
        cursor=query_args.cursor, limit=query_args.limit
    )
    return RoleList(items=[RoleOut.of(item) for item in items], next=cursor)


@blueprint.post("/roles")
@require("roles:create")
@validate_request(RoleIn)
@validate_response(RoleOut, 201)
async def create_role(data: RoleIn) -> tuple[RoleOut, int]:
    role = await services().accounts.create_role(actor(), data.name, data.permissions)
    return RoleOut.of(role), 201


@blueprint.get("/roles/<role_id>")
@require("roles:read")
@validate_response(RoleOut)
async def get_role(role_id: str) -> RoleOut:
    return RoleOut.of(await services().store.roles.get(role_id))


@blueprint.patch("/roles/<role_id>")
@require("roles:edit")
@validate_request(RolePatch)
@validate_response(RoleOut)
async def update_role(role_id: str, data: RolePatch) -> RoleOut:
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    return RoleOut.of(await services().accounts.update_role(actor(), role_id, changes))


@blueprint.delete("/roles/<role_id>")
@require("roles:delete")
async def delete_role(role_id: str) -> tuple[str, int]:
    await services().accounts.delete_role(actor(), role_id)
    return "", 204


@blueprint.get("/audit")
@require("audit:read")
@validate_querystring(AuditQuery)
@validate_response(AuditList)
async def audit(query_args: AuditQuery) -> AuditList:
    """Who did what, newest first."""
    filters = AuditFilter(actor_id=query_args.actor, kind=query_args.action,
                          target=query_args.target, since=query_args.since,
                          before=query_args.before)
    items, cursor = await services().store.audit.list(
        filters.query(), cursor=query_args.cursor, limit=query_args.limit, newest_first=True
    )
    return AuditList(
        items=[AuditOut.model_validate(item.model_dump()) for item in items], next=cursor
    )
