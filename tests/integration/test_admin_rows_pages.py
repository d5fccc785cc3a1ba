"""The rows pages through the test client: a custom database's rows one at a time, and a
value table's rows in its grid; the services' refusals shown next to their field or cell."""

from __future__ import annotations

from datetime import UTC, datetime

from quart import Quart

from routing_core.model.reference import CustomDatabase
from routing_core.services import Services
from tests.integration.test_admin_pages import ACTOR, Pages, admin
from tests.integration.test_admin_reference_pages import post_multi

__all__ = ["admin"]


async def customers(services: Services) -> CustomDatabase:
    return await services.databases.create(ACTOR, name="customers", fields=[
        {"name": "email", "type": "email", "required": True, "unique": True},
        {"name": "visits", "type": "number"},
        {"name": "vip", "type": "boolean", "default": False},
        {"name": "birthday", "type": "date"},
        {"name": "seen", "type": "datetime"},
        {"name": "phone", "type": "phone"},
    ])


async def test_database_rows_are_added_edited_and_deleted(
    admin: Pages, services: Services
) -> None:
    database = await customers(services)
    rows_url = f"/admin/databases/{database.id}/rows"
    status, text, _ = await admin.get("/admin/databases")
    assert status == 200 and f'href="{rows_url}"' in text
    status, text, _ = await admin.get(rows_url)
    assert status == 200 and "No row yet" in text and "Add a row" in text

    status, text, _ = await admin.get(f"{rows_url}/new")
    assert status == 200
    for expected in ('type="email" name="email"', 'type="number" name="visits"',
                     '<select name="vip">', 'type="date" name="birthday"',
                     'type="datetime-local" name="seen"', 'type="tel" name="phone"'):
        assert expected in text, expected
    status, text, _ = await admin.post(f"{rows_url}/new", {
        "email": "Ann@Example.com", "visits": "3", "vip": "true", "birthday": "1990-05-01",
        "seen": "2030-01-02T10:30:00", "phone": "+33 1 23 45 67 89",
    })
    assert status == 302, text
    [row], _ = await services.databases.list_rows(database.id, {})
    assert row.values == {
        "email": "ann@example.com", "visits": 3, "vip": True, "birthday": "1990-05-01",
        "seen": datetime(2030, 1, 2, 10, 30, tzinfo=UTC), "phone": "+33123456789",
    }
    status, text, _ = await admin.get(rows_url)
    assert "ann@example.com" in text and "2030-01-02 10:30:00" in text and "yes" in text
    assert "Delete this row of customers?" in text

    status, text, _ = await admin.get(f"{rows_url}/{row.id}")
    assert 'value="ann@example.com"' in text and 'value="2030-01-02T10:30:00"' in text
    status, text, _ = await admin.post(f"{rows_url}/{row.id}", {
        "email": "ann@example.com", "visits": "4", "vip": "false", "birthday": "",
        "seen": "2030-01-02T10:30:00", "phone": "",
    })
    assert status == 302, text
    saved = await services.databases.get_row(database.id, row.id)
    assert saved.values["visits"] == 4 and saved.values["vip"] is False
    assert "birthday" not in saved.values and "phone" not in saved.values

    status, text, _ = await admin.post(f"{rows_url}/{row.id}", {
        "email": "ann@example.com", "visits": "many",
    })
    assert status == 422 and 'class="field has-error"' in text
    assert "values.visits: " in text and 'value="many"' in text

    status, _, _ = await admin.post(f"{rows_url}/{row.id}/delete")
    assert status == 302
    assert (await services.databases.list_rows(database.id, {}))[0] == []


async def test_a_unique_clash_and_a_missing_value_are_shown_inline(
    admin: Pages, services: Services
) -> None:
    database = await customers(services)
    await services.databases.create_row(ACTOR, database.id, {"email": "ann@example.com"})
    rows_url = f"/admin/databases/{database.id}/rows"
    await admin.get(f"{rows_url}/new")
    status, text, _ = await admin.post(f"{rows_url}/new", {"email": "ANN@example.com"})
    assert status == 422
    assert "another row already has &#39;ann@example.com&#39; in the unique field email" in text
    assert 'class="field has-error"' in text and 'value="ANN@example.com"' in text
    status, text, _ = await admin.post(f"{rows_url}/new", {"email": "", "visits": "2"})
    assert status == 422 and "email is required" in text and 'value="2"' in text
    assert len((await services.databases.list_rows(database.id, {}))[0]) == 1


async def test_row_forms_need_the_csrf_token(admin: Pages, services: Services) -> None:
    database = await customers(services)
    row = await services.databases.create_row(ACTOR, database.id, {"email": "a@b.fr"})
    rows_url = f"/admin/databases/{database.id}/rows"
    table = await services.value_tables.create(ACTOR, name="agencies", columns=["postcode"])
    await admin.get(rows_url)
    for path in (f"{rows_url}/new", f"{rows_url}/{row.id}", f"{rows_url}/{row.id}/delete",
                 f"/admin/value-tables/{table.id}/rows"):
        status, text, _ = await admin.post(path, {"email": "c@d.fr"}, csrf=False)
        assert status == 400 and "This form has expired" in text, path
    assert len((await services.databases.list_rows(database.id, {}))[0]) == 1


async def test_reading_rows_does_not_allow_changing_them(
    app: Quart, services: Services
) -> None:
    database = await customers(services)
    row = await services.databases.create_row(ACTOR, database.id, {"email": "a@b.fr"})
    table = await services.value_tables.create(
        ACTOR, name="agencies", columns=["postcode"], rows=[{"postcode": "75001"}]
    )
    await services.accounts.create_role(
        ACTOR, "data-readers", ["databases:read", "value_tables:read"]
    )
    await services.accounts.create_user(
        ACTOR, email="data@example.com", password="data reader password", roles=["data-readers"]
    )
    pages = Pages(app)
    await pages.log_in("data@example.com", "data reader password")
    rows_url = f"/admin/databases/{database.id}/rows"
    status, text, _ = await pages.get(rows_url)
    assert status == 200 and "a@b.fr" in text
    assert "Add a row" not in text and ">Edit<" not in text and "Delete" not in text
    for path in (f"{rows_url}/new", f"{rows_url}/{row.id}"):
        status, _, _ = await pages.get(path)
        assert status == 403, path
    for path in (f"{rows_url}/new", f"{rows_url}/{row.id}", f"{rows_url}/{row.id}/delete"):
        status, _, _ = await pages.post(path, {"email": "c@d.fr"})
        assert status == 403, path
    status, _, _ = await pages.post(f"/admin/value-tables/{table.id}/rows",
                                    {"grid-origin": "", "grid.postcode": "13001"})
    assert status == 403
    assert (await services.databases.get_row(database.id, row.id)).values == row.values
    assert (await services.store.value_tables.get(table.id)).rows == [{"postcode": "75001"}]


async def test_value_table_rows_are_saved_from_the_grid(
    admin: Pages, services: Services
) -> None:
    table = await services.value_tables.create(
        ACTOR, name="agencies", columns=["postcode", "agency", "staff"],
        rows=[{"postcode": "75001", "agency": "Paris", "staff": 12},
              {"postcode": "69001", "agency": "Lyon", "staff": 4}],
    )
    status, text, _ = await admin.get(f"/admin/value-tables/{table.id}")
    assert status == 200
    assert 'name="grid.postcode" value="75001"' in text and "data-grid-template" in text
    assert "75001,Paris,12" in text  # the CSV import is still there
    status, text, _ = await post_multi(admin, f"/admin/value-tables/{table.id}/rows", [
        ("grid-origin", "0"), ("grid.postcode", "75001"), ("grid.agency", "Paris"),
        ("grid.staff", "12"),
        ("grid-origin", ""), ("grid.postcode", ""), ("grid.agency", ""), ("grid.staff", ""),
        ("grid-origin", ""), ("grid.postcode", "13001"), ("grid.agency", "Marseille"),
        ("grid.staff", ""),
    ])
    assert status == 302, text
    saved = await services.store.value_tables.get(table.id)
    assert saved.rows == [{"postcode": "75001", "agency": "Paris", "staff": 12},
                          {"postcode": "13001", "agency": "Marseille"}]
    status, text, _ = await admin.get(f"/admin/value-tables/{table.id}")
    assert "Rows of agencies saved (2)." in text and 'value="Marseille"' in text


async def test_a_bad_grid_is_shown_in_its_cell(admin: Pages, services: Services) -> None:
    table = await services.value_tables.create(
        ACTOR, name="agencies", columns=["postcode", "agency"],
        rows=[{"postcode": "75001", "agency": "Paris"}],
    )
    await admin.get(f"/admin/value-tables/{table.id}")
    status, text, _ = await post_multi(admin, f"/admin/value-tables/{table.id}/rows", [
        ("grid-origin", "0"), ("grid.postcode", "75001"), ("grid.agency", "Paris"),
        ("grid-origin", ""), ("grid.postcode", "75001"), ("grid.agency", "Paris bis"),
    ])
    assert status == 422
    assert "the key &#39;75001&#39; is used by two rows" in text
    assert '<td class="has-error">' in text and 'value="Paris bis"' in text  # typed stays
    status, text, _ = await post_multi(admin, f"/admin/value-tables/{table.id}/rows", [
        ("grid-origin", ""), ("grid.postcode", ""), ("grid.agency", "nowhere"),
    ])
    assert status == 422 and "every row needs a text key" in text
    saved = await services.store.value_tables.get(table.id)
    assert saved.rows == [{"postcode": "75001", "agency": "Paris"}]
