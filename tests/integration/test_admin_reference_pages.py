"""The reference-data and administration pages through the test client: CRUD for each
resource, CSRF, permissions, and the services' refusals shown next to their field."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from quart import Quart

from routing_core.services import Services
from tests.integration.test_admin_pages import ACTOR, Pages, admin

__all__ = ["admin"]


async def post_multi(pages: Pages, path: str, items: list[tuple[str, str]]) -> Any:
    body = urlencode(items + [("csrf_token", pages.csrf)])
    response = await pages.client.post(
        path, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    return response.status_code, await response.get_data(as_text=True), response


async def test_variables_are_created_edited_and_deleted(admin: Pages, services: Services) -> None:
    status, text, _ = await admin.get("/admin/variables")
    assert status == 200 and "No variable yet" in text and "New variable" in text
    await admin.get("/admin/variables/new")
    status, _, _ = await admin.post("/admin/variables/new", {
        "name": "hotline", "type": "text", "description": "", "default_value": "0800",
        "value": "",
    })
    assert status == 302
    [variable] = await services.store.variables.all()
    assert variable.default_value == "0800"
    status, text, _ = await admin.get(f"/admin/variables/{variable.id}")
    assert 'value="0800"' in text
    status, _, _ = await admin.post(f"/admin/variables/{variable.id}", {
        "name": "hotline", "type": "number", "default_value": "12", "value": "",
    })
    assert status == 302
    assert (await services.store.variables.get(variable.id)).default_value == 12
    status, text, _ = await admin.get("/admin/variables")
    assert "hotline" in text and "Delete the variable hotline?" in text
    status, _, _ = await admin.post(f"/admin/variables/{variable.id}/delete")
    assert status == 302 and await services.store.variables.all() == []


async def test_a_refusal_is_shown_next_to_its_field(admin: Pages, services: Services) -> None:
    await admin.get("/admin/variables/new")
    status, text, _ = await admin.post("/admin/variables/new", {
        "name": "hotline", "type": "number", "default_value": "not a number",
    })
    assert status == 422
    error = re.search(r'class="field has-error".*?<span class="field-error"[^>]*>([^<]*)<',
                      text, re.S)
    assert error is not None, "no error next to the field"
    # said beside the field, so without the field's name again
    assert not error.group(1).startswith("default_value")
    assert 'value="not a number"' in text  # what was typed stays
    assert await services.store.variables.all() == []


async def test_forms_need_the_csrf_token(admin: Pages, services: Services) -> None:
    await admin.get("/admin/schedules/new")
    for path in ("/admin/variables/new", "/admin/schedules/new", "/admin/roles/new",
                 "/admin/value-tables/new", "/admin/queues/new", "/admin/users/new",
                 "/admin/databases/new"):
        status, text, _ = await admin.post(path, {"name": "x"}, csrf=False)
        assert status == 400 and "This form has expired" in text, path


async def test_pages_need_their_permission(app: Quart, services: Services) -> None:
    await services.accounts.create_role(ACTOR, "table-readers", ["value_tables:read"])
    await services.accounts.create_user(
        ACTOR, email="tables@example.com", password="tables password", roles=["table-readers"]
    )
    await services.value_tables.create(ACTOR, name="agencies", columns=["postcode", "agency"])
    pages = Pages(app)
    await pages.log_in("tables@example.com", "tables password")
    status, text, _ = await pages.get("/admin/value-tables")
    assert status == 200 and "agencies" in text
    assert "New value table" not in text and ">Edit<" not in text and "Delete" not in text
    assert "/admin/variables" not in text  # no nav entry without the permission
    for path in ("/admin/value-tables/new", "/admin/variables", "/admin/users", "/admin/roles"):
        status, _, _ = await pages.get(path)
        assert status == 403, path
    table = (await services.store.value_tables.all())[0]
    status, _, _ = await pages.post(f"/admin/value-tables/{table.id}/delete")
    assert status == 403 and len(await services.store.value_tables.all()) == 1


async def test_value_tables_are_edited_as_csv(admin: Pages, services: Services) -> None:
    await admin.get("/admin/value-tables/new")
    status, _, _ = await admin.post("/admin/value-tables/new", {
        "name": "agencies", "description": "", "csv": "postcode,agency\n75001,Paris\n69001,Lyon",
    })
    assert status == 302
    [table] = await services.store.value_tables.all()
    assert table.columns == ["postcode", "agency"] and len(table.rows) == 2
    status, text, _ = await admin.get(f"/admin/value-tables/{table.id}")
    assert "75001,Paris" in text
    status, text, _ = await admin.post(f"/admin/value-tables/{table.id}", {
        "name": "agencies", "csv": "postcode,agency\n75001,Paris\n75001,Lyon",
    })
    assert status == 422 and "the CSV is refused (row 3)" in text
    status, _, _ = await admin.post(f"/admin/value-tables/{table.id}", {
        "name": "agencies", "csv": "postcode,agency,phone\n13001,Marseille,0491",
    })
    assert status == 302
    table = await services.store.value_tables.get(table.id)
    assert table.columns == ["postcode", "agency", "phone"] and len(table.rows) == 1
    await admin.post(f"/admin/value-tables/{table.id}/delete")
    assert await services.store.value_tables.all() == []


async def test_schedules_read_weekly_hours_and_exceptions(
    admin: Pages, services: Services
) -> None:
    await admin.get("/admin/schedules/new")
    form = {"name": "office", "timezone": "Europe/Paris", "weekly.monday": "09:00-12:00, "
            "14:00-18:00", "exceptions": "2030-12-25 closed Christmas\n2030-12-24 09:00-12:00"}
    status, _, _ = await admin.post("/admin/schedules/new", form)
    assert status == 302
    [schedule] = await services.store.schedules.all()
    assert [r.start for r in schedule.weekly.monday] == ["09:00", "14:00"]
    assert [e.date for e in schedule.exceptions] == ["2030-12-24", "2030-12-25"]
    status, text, _ = await admin.get(f"/admin/schedules/{schedule.id}")
    assert "09:00-12:00, 14:00-18:00" in text and "2030-12-25 closed Christmas" in text
    status, text, _ = await admin.post(f"/admin/schedules/{schedule.id}",
                                       form | {"weekly.tuesday": "18:00-09:00"})
    assert status == 422 and "must be after the start" in text
    status, text, _ = await admin.post(f"/admin/schedules/{schedule.id}",
                                       form | {"timezone": "Mars/Olympus"})
    assert status == 422 and "unknown timezone" in text
    await admin.post(f"/admin/schedules/{schedule.id}/delete")
    assert await services.store.schedules.all() == []


async def test_roles_users_and_queues(admin: Pages, services: Services) -> None:
    await admin.get("/admin/roles/new")
    status, _, _ = await post_multi(admin, "/admin/roles/new", [
        ("name", "supervisors"), ("permissions", "queues:read"), ("permissions", "users:read"),
    ])
    assert status == 302
    role = next(r for r in await services.store.roles.all() if r.name == "supervisors")
    assert role.permissions == ["queues:read", "users:read"]
    status, text, _ = await admin.get("/admin/roles")
    assert "built-in (read-only)" in text

    await admin.get("/admin/users/new")
    status, text, _ = await post_multi(admin, "/admin/users/new", [
        ("email", "agent@example.com"), ("password", "short"), ("roles", "supervisors"),
    ])
    assert status == 422 and "at least 10 characters" in text
    status, _, _ = await post_multi(admin, "/admin/users/new", [
        ("email", "agent@example.com"), ("password", "agent password"),
        ("roles", "supervisors"), ("is_agent", "on"), ("capacity", "3"),
    ])
    assert status == 302
    user = await services.store.users.find_one({"email": "agent@example.com"})
    assert user is not None and user.agent is not None and user.agent.capacity == 3
    status, text, _ = await admin.get(f"/admin/users/{user.id}")
    assert "agent password" not in text and user.password_hash not in text

    await admin.get("/admin/queues/new")
    status, _, _ = await post_multi(admin, "/admin/queues/new", [
        ("name", "Sales desk"), ("members", user.id), ("max_wait_seconds", "300"),
        ("priority_handling", "arrival"),
    ])
    assert status == 302
    status, text, _ = await admin.get("/admin/queues")
    assert "Sales desk" in text and "300 s" in text
    queue_id = text.split("/admin/queues/")[1].split('"')[0]
    status, text, _ = await post_multi(admin, f"/admin/queues/{queue_id}", [
        ("name", "Sales desk"), ("schedule", "nowhere"),
    ])
    assert status == 422 and "no schedule named" in text

    status, _, _ = await post_multi(admin, f"/admin/users/{user.id}", [
        ("email", "agent@example.com"), ("roles", "supervisors"), ("active", "on"),
    ])
    assert status == 302
    assert (await services.store.users.get(user.id)).password_hash == user.password_hash
    status, text, response = await admin.post(f"/admin/roles/{role.id}/delete")
    assert "still given to users" in await admin.follow(response)
    await admin.post(f"/admin/users/{user.id}/delete")
    await admin.post(f"/admin/roles/{role.id}/delete")
    assert await services.store.users.find_one({"email": "agent@example.com"}) is None


async def test_databases_keep_their_fields(admin: Pages, services: Services) -> None:
    await admin.get("/admin/databases/new")
    status, text, _ = await admin.post("/admin/databases/new", {
        "name": "customers", "fields": "email email required unique\nvip boolean default=no",
    })
    assert status == 302, text
    [database] = await services.store.databases.all()
    assert [f.name for f in database.fields] == ["email", "vip"]
    status, text, _ = await admin.get(f"/admin/databases/{database.id}")
    assert "email email required unique" in text and "vip boolean default=False" in text
    status, text, _ = await admin.post(f"/admin/databases/{database.id}", {
        "name": "customers", "fields": "email email unique default=a@b.fr",
    })
    assert status == 422 and "a unique field cannot have a default" in text
    await admin.post(f"/admin/databases/{database.id}/delete")
    assert await services.store.databases.all() == []
