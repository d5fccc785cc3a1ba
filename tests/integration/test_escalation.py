"""Nobody gives more than they hold: the escalations a red-team pass reproduced, refused."""

from __future__ import annotations

from typing import Any

from quart import Quart

from routing_core.services import Services
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Api, login


async def user_with(api: Api, app: Quart, role: str, permissions: list[str]) -> tuple[Api, str]:
    created = await api.post("/api/roles", json={"name": role, "permissions": permissions})
    assert created.status_code == 201, created.json_body
    email = f"{role}@example.com"
    user = await api.post("/api/users", json={
        "email": email, "password": "a long enough password", "roles": [role]})
    assert user.status_code == 201, user.json_body
    return await login(app, email, "a long enough password"), user.json_body["id"]


async def admin_id(api: Api) -> str:
    users = (await api.get("/api/users")).json_body["items"]
    return next(user["id"] for user in users if user["email"] == ADMIN_EMAIL)


def refused(response: Any, code: str) -> None:
    assert response.status_code == 403, response.json_body
    assert response.json_body["error"]["code"] == code


async def test_users_edit_cannot_give_oneself_the_admin_role(app, api: Api) -> None:
    editor, editor_id = await user_with(api, app, "user-editors", ["users:read", "users:edit"])
    response = await editor.patch(f"/api/users/{editor_id}", json={"roles": ["admin"]})
    refused(response, "escalation")
    assert "cannot give the role 'admin'" in response.json_body["error"]["message"]
    me = (await api.get(f"/api/users/{editor_id}")).json_body
    assert me["roles"] == ["user-editors"]


async def test_users_edit_cannot_take_over_an_admin(app, api: Api) -> None:
    editor, _ = await user_with(api, app, "user-editors", ["users:read", "users:edit"])
    target = await admin_id(api)
    refused(await editor.patch(f"/api/users/{target}", json={"password": "taken over, 1234"}),
            "admin_only")
    refused(await editor.patch(f"/api/users/{target}", json={"email": "me@evil.example"}),
            "admin_only")
    await login(app, ADMIN_EMAIL, ADMIN_PASSWORD)  # the admin's password still works


async def test_roles_edit_cannot_add_permissions_it_lacks(app, api: Api, services: Services
                                                         ) -> None:
    editor, _ = await user_with(api, app, "role-editors", ["roles:read", "roles:edit"])
    role = await services.store.roles.find_one({"name": "role-editors"})
    response = await editor.patch(f"/api/roles/{role.id}", json={
        "permissions": ["roles:read", "roles:edit", "users:edit"]})
    refused(response, "escalation")
    assert (await services.store.roles.get(role.id)).permissions == ["roles:edit", "roles:read"]
    # what it holds, it may give
    allowed = await editor.patch(f"/api/roles/{role.id}", json={"permissions": ["roles:read",
                                                                                "roles:edit"]})
    assert allowed.status_code == 200, allowed.json_body


async def test_the_last_admin_stays(app, api: Api) -> None:
    target = await admin_id(api)
    response = await api.patch(f"/api/users/{target}", json={"roles": ["agent"]})
    assert response.status_code == 409
    assert response.json_body["error"]["code"] == "last_admin"
    assert (await api.patch(f"/api/users/{target}", json={"active": False})).status_code == 409
    second = await api.post("/api/users", json={
        "email": "second-admin@example.com", "password": "a long enough password",
        "roles": ["admin"]})
    assert second.status_code == 201
    assert (await api.patch(f"/api/users/{target}", json={"roles": ["admin", "agent"]})
            ).status_code == 200
    assert (await api.delete(f"/api/users/{second.json_body['id']}")).status_code == 204


async def test_a_user_created_without_a_role_has_no_permission(app, api: Api) -> None:
    created = await api.post("/api/users", json={"email": "nobody@example.com",
                                                 "password": "a long enough password"})
    assert created.status_code == 201, created.json_body
    assert created.json_body["roles"] == []
    nobody = await login(app, "nobody@example.com", "a long enough password")
    assert (await nobody.get("/api/smart-routings")).status_code == 403
    assert (await nobody.get("/api/users")).status_code == 403


async def test_a_create_only_user_cannot_import_a_version_in_production(
    app: Quart, services: Services
) -> None:
    """Importing a version in production puts it in production: smart_routings:edit."""
    from routing_core.model.audit import SYSTEM as ACTOR

    await services.accounts.create_role(ACTOR, "makers", ["smart_routings:read",
                                                          "smart_routings:create"])
    await services.accounts.create_user(ACTOR, email="maker@example.com",
                                        password="maker password", roles=["makers"])
    maker = await login(app, "maker@example.com", "maker password")
    tree = {"start": "s", "actions": [
        {"id": "s", "type": "start", "next": {"next": "m"}},
        {"id": "m", "type": "message", "params": {"text": "Hi"}, "next": {}}]}
    exported = {"routing": {"name": "Billing", "reference": "billing", "type": "start"},
                "versions": [{"name": "v1", "status": "production", "tree": tree}]}
    refused = await maker.post("/api/smart-routings/import", json=exported)
    assert refused.status_code == 403
    assert "smart_routings:edit" in refused.json_body["error"]["message"]
    assert await services.store.routings.find_one({"reference": "billing"}) is None
    exported["versions"][0]["status"] = "development"
    created = await maker.post("/api/smart-routings/import", json=exported)
    assert created.status_code == 201, created.json_body
