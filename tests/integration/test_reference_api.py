"""Reference data through the API and the service methods the engine calls."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from routing_core.engine import reference_port
from routing_core.engine.reference_port import StoreReference
from routing_core.infra.errors import Conflict, Invalid, NotFound
from tests.conftest import login

PHONEBOOK_FIELDS = [
    {"name": "phone", "type": "phone", "required": True, "unique": True},
    {"name": "email", "type": "email", "unique": True},
    {"name": "name", "type": "text"},
    {"name": "age", "type": "number"},
    {"name": "vip", "type": "boolean", "default": False},
    {"name": "birthday", "type": "date"},
    {"name": "last_call", "type": "datetime"},
]


def refused(response, status: int, field: str | None = None) -> None:
    """The response is the API's error shape with ``status`` (and the faulty ``field``)."""
    assert response.status_code == status, response.json_body
    error = response.json_body["error"]
    assert error["code"] and error["message"]
    if field is not None:
        assert error.get("field") == field, error


async def created(api, path: str, body: dict) -> dict:
    response = await api.post(path, body)
    assert response.status_code == 201, response.json_body
    return response.json_body


async def post_csv(api, path: str, body: bytes, content_type: str = "text/csv"):
    """A raw body (the Api helper speaks JSON only)."""
    headers = {"Authorization": f"Bearer {api.token}", "Content-Type": content_type}
    response = await api.client.post(path, data=body, headers=headers)
    response.json_body = await response.get_json(silent=True)
    return response


async def audit_actions(api, target: str) -> list[str]:
    response = await api.get(f"/api/audit?target={target}")
    return [entry["action"] for entry in response.json_body["items"]]


# -- value tables ------------------------------------------------------------------------

AGENCIES = {
    "name": "agencies",
    "description": "postcode to agency",
    "columns": ["postcode", "agency", "queue"],
    "rows": [
        {"postcode": "75001", "agency": "Paris Louvre", "queue": "paris"},
        {"postcode": "69001", "agency": "Lyon", "queue": "lyon"},
    ],
}


async def test_value_table_crud(api):
    table = await created(api, "/api/value-tables", AGENCIES)
    assert table["columns"] == ["postcode", "agency", "queue"] and len(table["rows"]) == 2

    listed = await api.get("/api/value-tables")
    assert listed.json_body["next"] is None
    assert [(item["name"], item["row_count"]) for item in listed.json_body["items"]] == [
        ("agencies", 2)
    ]
    response = await api.get(f"/api/value-tables/{table['id']}")
    assert response.json_body["rows"][1]["agency"] == "Lyon"

    response = await api.patch(f"/api/value-tables/{table['id']}", {"description": "v2"})
    assert response.status_code == 200 and response.json_body["description"] == "v2"
    assert response.json_body["revision"] == 1

    response = await api.put(
        f"/api/value-tables/{table['id']}/rows",
        {"rows": [{"postcode": "13001", "agency": "Marseille"}]},
    )
    assert response.status_code == 200, response.json_body
    assert response.json_body["rows"] == [{"postcode": "13001", "agency": "Marseille"}]

    response = await api.delete(f"/api/value-tables/{table['id']}")
    assert response.status_code == 204
    refused(await api.get(f"/api/value-tables/{table['id']}"), 404)
    assert await audit_actions(api, table["id"]) == [
        "value_table.delete", "value_table.rows", "value_table.update", "value_table.create",
    ]


async def test_value_table_pages(api):
    for number in range(3):
        await created(api, "/api/value-tables", {"name": f"t{number}", "columns": ["key"]})
    first = await api.get("/api/value-tables?limit=2")
    assert len(first.json_body["items"]) == 2 and first.json_body["next"]
    second = await api.get(f"/api/value-tables?limit=2&cursor={first.json_body['next']}")
    assert [item["name"] for item in second.json_body["items"]] == ["t2"]
    assert second.json_body["next"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "t", "columns": []}, "columns"),
        ({"name": "t", "columns": ["a", "a"]}, "columns.1"),
        ({"name": "t", "columns": ["bad column"]}, "columns.0"),
        ({"name": "", "columns": ["a"]}, "name"),
        ({"name": "t", "columns": ["a"], "rows": [{"a": "x", "b": "y"}]}, "rows.0.b"),
        ({"name": "t", "columns": ["a", "b"], "rows": [{"b": "y"}]}, "rows.0.a"),
        ({"name": "t", "columns": ["a"], "rows": [{"a": ""}]}, "rows.0.a"),
        ({"name": "t", "columns": ["a"], "rows": [{"a": 7}]}, "rows.0.a"),
        ({"name": "t", "columns": ["a"], "rows": [{"a": "x"}, {"a": "x"}]}, "rows.1.a"),
        ({"name": "t", "columns": ["a"], "rows": [{"a": {"nested": 1}}]}, "rows.0.a"),
        ({"name": "t", "columns": ["a"], "extra": 1}, "extra"),
    ],
)
async def test_value_table_refusals(api, body, field):
    refused(await api.post("/api/value-tables", body), 422, field)
    assert (await api.get("/api/value-tables")).json_body["items"] == []


async def test_value_table_name_taken_and_columns_rows_use(api):
    table = await created(api, "/api/value-tables", AGENCIES)
    refused(await api.post("/api/value-tables", {"name": "agencies", "columns": ["k"]}), 409,
            "name")
    other = await created(api, "/api/value-tables", {"name": "other", "columns": ["k"]})
    refused(await api.patch(f"/api/value-tables/{other['id']}", {"name": "agencies"}), 409, "name")
    # Dropping a column the stored rows use would leave them invalid.
    response = await api.patch(f"/api/value-tables/{table['id']}", {"columns": ["postcode"]})
    refused(response, 409, "columns")
    # With rows that fit, the same change is fine.
    response = await api.patch(
        f"/api/value-tables/{table['id']}",
        {"columns": ["postcode"], "rows": [{"postcode": "75001"}]},
    )
    assert response.status_code == 200, response.json_body
    refused(await api.put("/api/value-tables/nope/rows", {"rows": []}), 404)


async def test_value_table_csv_import(api):
    table = await created(api, "/api/value-tables", {"name": "products", "columns": ["sku"]})
    csv_text = "\ufeffsku,label,queue\r\nA-1,Phone,mobile\r\nB-2,\"Box, large\",home\r\n\r\n"
    response = await post_csv(api, f"/api/value-tables/{table['id']}/import", csv_text.encode())
    assert response.status_code == 200, response.json_body
    assert response.json_body["columns"] == ["sku", "label", "queue"]
    assert response.json_body["rows"][1] == {"sku": "B-2", "label": "Box, large", "queue": "home"}
    assert "value_table.import" in await audit_actions(api, table["id"])


@pytest.mark.parametrize(
    "csv_text",
    [
        "",
        "\n\n",
        "sku,label\nA-1\n",  # a row shorter than the header
        "sku,label\nA-1,x,extra\n",
        "sku,sku\nA,B\n",  # duplicate column
        "sku code,label\nA,B\n",  # a column name with a space
        "sku,label\nA,x\nA,y\n",  # duplicate key
        "sku,label\n,x\n",  # empty key
        'sku,label\nA,"unterminated\n',
    ],
)
async def test_bad_csv_is_refused_and_nothing_stored(api, csv_text):
    table = await created(api, "/api/value-tables", AGENCIES)
    response = await post_csv(api, f"/api/value-tables/{table['id']}/import", csv_text.encode())
    refused(response, 422, "csv")
    after = await api.get(f"/api/value-tables/{table['id']}")
    assert after.json_body["columns"] == AGENCIES["columns"]
    assert after.json_body["rows"] == AGENCIES["rows"]
    assert after.json_body["revision"] == 0


async def test_csv_import_needs_csv_utf8(api):
    table = await created(api, "/api/value-tables", AGENCIES)
    path = f"/api/value-tables/{table['id']}/import"
    refused(await post_csv(api, path, b"a\nb\n", "application/json"), 415)
    refused(await post_csv(api, path, "k\nd\xe9j\xe0\n".encode("latin-1")), 422, "csv")


async def test_lookup(services, api):
    await created(api, "/api/value-tables", AGENCIES)
    tables = services.value_tables
    assert await tables.lookup("agencies", "69001") == {
        "postcode": "69001", "agency": "Lyon", "queue": "lyon"
    }
    assert await tables.lookup("agencies", "99999") is None
    await created(api, "/api/value-tables", {
        "name": "codes", "columns": ["code", "label"],
        "rows": [{"code": "abc", "label": "lower"}, {"code": "ABC", "label": "upper"}],
    })
    assert (await tables.lookup("codes", "ABC"))["label"] == "upper"  # case-sensitive
    assert (await tables.lookup("codes", "abc"))["label"] == "lower"
    assert await tables.lookup("codes", "Abc") is None
    with pytest.raises(NotFound):
        await tables.lookup("missing", "x")


# -- variables ---------------------------------------------------------------------------

async def test_steps_wanting_the_global_variables_at_once_share_one_read(services, api,
                                                                          monkeypatch):
    """Read at every step, cached for a second: once it is over, a busy process's steps
    of that moment wait for one read, not one each."""
    await created(api, "/api/variables", {"name": "hotline", "type": "text",
                                          "default_value": "+33100000000"})
    reference = StoreReference(services.store, services.value_tables, services.variables,
                               services.databases, services.schedules)
    reads = []
    read = services.variables.global_values

    async def counted():
        reads.append(1)
        return await read()

    monkeypatch.setattr(services.variables, "global_values", counted)
    values = await asyncio.gather(*(reference.global_variables() for _ in range(20)))
    assert values == [{"hotline": "+33100000000"}] * 20 and len(reads) == 1
    await reference.global_variables()  # within the second: the cache
    assert len(reads) == 1
    monkeypatch.setattr(reference_port, "GLOBALS_TTL_SECONDS", 0.0)
    await asyncio.gather(*(reference.global_variables() for _ in range(5)))
    assert len(reads) == 2


async def test_variable_crud_and_global_values(services, api):
    hotline = await created(api, "/api/variables", {
        "name": "hotline", "type": "text", "default_value": "+33100000000",
    })
    assert hotline["value"] is None
    await created(api, "/api/variables", {"name": "max_wait", "type": "number",
                                          "default_value": "30", "value": 45})
    await created(api, "/api/variables", {"name": "closed_today", "type": "boolean"})
    await created(api, "/api/variables", {"name": "settings", "type": "json",
                                          "value": {"teams": ["a", "b"], "depth": 2}})
    assert await services.variables.global_values() == {
        "hotline": "+33100000000",
        "max_wait": 45,
        "closed_today": False,
        "settings": {"teams": ["a", "b"], "depth": 2},
    }
    response = await api.patch(f"/api/variables/{hotline['id']}", {"value": "+33199999999"})
    assert response.status_code == 200, response.json_body
    assert (await services.variables.global_values())["hotline"] == "+33199999999"
    response = await api.patch(f"/api/variables/{hotline['id']}", {"value": None})
    assert response.json_body["value"] is None
    assert (await services.variables.global_values())["hotline"] == "+33100000000"

    listed = await api.get("/api/variables")
    assert [item["name"] for item in listed.json_body["items"]] == [
        "hotline", "max_wait", "closed_today", "settings"
    ]
    assert (await api.get(f"/api/variables/{hotline['id']}")).json_body["name"] == "hotline"
    assert (await api.delete(f"/api/variables/{hotline['id']}")).status_code == 204
    assert "hotline" not in await services.variables.global_values()
    assert await audit_actions(api, hotline["id"]) == [
        "variable.delete", "variable.update", "variable.update", "variable.create"
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "2fast", "type": "text"}, "name"),
        ({"name": "with space", "type": "text"}, "name"),
        ({"name": "v", "type": "date"}, "type"),
        ({"name": "v", "type": "number", "default_value": "many"}, "default_value"),
        ({"name": "v", "type": "number", "value": True}, "value"),
        ({"name": "v", "type": "boolean", "value": "perhaps"}, "value"),
        ({"name": "v", "type": "text", "value": {"a": 1}}, "value"),
        ({"name": "v", "type": "json", "value": {"$where": "x"}}, "value"),
        ({"name": "v", "type": "number", "value": 2**70}, "value"),
    ],
)
async def test_variable_refusals(api, body, field):
    refused(await api.post("/api/variables", body), 422, field)


async def test_variable_name_taken_and_retyping(api):
    variable = await created(api, "/api/variables", {"name": "level", "type": "text",
                                                     "value": "high"})
    refused(await api.post("/api/variables", {"name": "level", "type": "number"}), 409, "name")
    # The value "high" is no number: the new type is refused, nothing changes.
    refused(await api.patch(f"/api/variables/{variable['id']}", {"type": "number"}), 422,
            "value")
    response = await api.patch(f"/api/variables/{variable['id']}",
                               {"type": "number", "value": "3"})
    assert response.status_code == 200, response.json_body
    assert response.json_body["value"] == 3 and response.json_body["default_value"] is None


# -- custom databases --------------------------------------------------------------------

async def phonebook(api) -> dict:
    return await created(api, "/api/databases", {"name": "phonebook", "fields": PHONEBOOK_FIELDS})


async def test_database_crud(api):
    database = await phonebook(api)
    assert [field["name"] for field in database["fields"]][:2] == ["phone", "email"]
    listed = await api.get("/api/databases")
    assert [item["id"] for item in listed.json_body["items"]] == [database["id"]]
    response = await api.patch(f"/api/databases/{database['id']}", {"description": "people"})
    assert response.status_code == 200 and response.json_body["description"] == "people"
    refused(await api.post("/api/databases", {"name": "phonebook"}), 409, "name")

    row = await created(api, f"/api/databases/{database['id']}/rows",
                        {"values": {"phone": "+33612345678"}})
    assert (await api.delete(f"/api/databases/{database['id']}")).status_code == 204
    refused(await api.get(f"/api/databases/{database['id']}"), 404)
    refused(await api.get(f"/api/databases/{database['id']}/rows/{row['id']}"), 404)
    assert await audit_actions(api, database["id"]) == [
        "database.delete", "database.update", "database.create"
    ]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ([{"name": "a", "type": "text"}, {"name": "a", "type": "number"}], "fields.1"),
        ([{"name": "a", "type": "colour"}], "fields.0.type"),
        ([{"name": "a b", "type": "text"}], "fields.0.name"),
        ([{"name": "a", "type": "number", "default": "lots"}], "fields.0.default"),
        ([{"name": "a", "type": "text", "unique": True, "default": "x"}], "fields.0.default"),
        ([{"name": "a", "type": "text", "index": True}], "fields.0.index"),
    ],
)
async def test_database_field_refusals(api, fields, field):
    refused(await api.post("/api/databases", {"name": "db", "fields": fields}), 422, field)


async def test_rows_are_coerced_and_defaulted(api):
    database = await phonebook(api)
    rows = f"/api/databases/{database['id']}/rows"
    row = await created(api, rows, {"values": {
        "phone": "+33 6 12-34.56 78",
        "email": " Ada@Example.ORG ",
        "name": "Ada",
        "age": "36",
        "birthday": "1815-12-10",
        "last_call": "2024-05-01T10:00:00+02:00",
    }})
    assert row["values"] == {
        "phone": "+33612345678",
        "email": "ada@example.org",
        "name": "Ada",
        "age": 36,
        "vip": False,
        "birthday": "1815-12-10",
        "last_call": row["values"]["last_call"],
    }
    assert datetime.fromisoformat(row["values"]["last_call"]) == datetime(
        2024, 5, 1, 8, 0, tzinfo=UTC
    )
    fetched = await api.get(f"{rows}/{row['id']}")
    assert fetched.json_body["values"] == row["values"]

    response = await api.patch(f"{rows}/{row['id']}", {"values": {"vip": "yes", "age": None}})
    assert response.status_code == 200, response.json_body
    assert response.json_body["values"]["vip"] is True
    assert "age" not in response.json_body["values"]
    assert (await api.delete(f"{rows}/{row['id']}")).status_code == 204
    refused(await api.get(f"{rows}/{row['id']}"), 404)
    assert await audit_actions(api, row["id"]) == [
        "database_row.delete", "database_row.update", "database_row.create"
    ]


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({}, "values.phone"),  # required
        ({"phone": ""}, "values.phone"),
        ({"phone": "0612345678"}, "values.phone"),  # no international prefix
        ({"phone": "+12345"}, "values.phone"),  # too short
        ({"phone": "+33612345678", "email": "ada@"}, "values.email"),
        ({"phone": "+33612345678", "age": "old"}, "values.age"),
        ({"phone": "+33612345678", "age": True}, "values.age"),
        ({"phone": "+33612345678", "vip": "maybe"}, "values.vip"),
        ({"phone": "+33612345678", "birthday": "10/12/1815"}, "values.birthday"),
        ({"phone": "+33612345678", "birthday": "2023-02-29"}, "values.birthday"),
        ({"phone": "+33612345678", "last_call": "2024-05-01T10:00:00"}, "values.last_call"),
        ({"phone": "+33612345678", "nickname": "x"}, "values.nickname"),
        ({"phone": "+33612345678", "name": ["a"]}, "values.name"),
    ],
)
async def test_row_refusals(api, values, field):
    database = await phonebook(api)
    refused(await api.post(f"/api/databases/{database['id']}/rows", {"values": values}), 422,
            field)
    listed = await api.get(f"/api/databases/{database['id']}/rows")
    assert listed.json_body["items"] == []


async def test_unique_fields_clash(api):
    database = await phonebook(api)
    rows = f"/api/databases/{database['id']}/rows"
    first = await created(api, rows, {"values": {"phone": "+33612345678", "email": "a@b.fr"}})
    refused(await api.post(rows, {"values": {"phone": "+33 612 345 678"}}), 409, "values.phone")
    refused(await api.post(rows, {"values": {"phone": "+33700000000", "email": "A@B.FR"}}), 409,
            "values.email")
    second = await created(api, rows, {"values": {"phone": "+33700000000"}})
    refused(await api.patch(f"{rows}/{second['id']}", {"values": {"email": "a@b.fr"}}), 409,
            "values.email")
    # Rows without a value of a unique field never clash on "nothing".
    await created(api, rows, {"values": {"phone": "+33700000001"}})
    # The same value is fine in another database.
    other = await created(api, "/api/databases", {"name": "other", "fields": PHONEBOOK_FIELDS})
    await created(api, f"/api/databases/{other['id']}/rows", {"values": {"phone": "+33612345678"}})
    # A freed value can be taken again.
    assert (await api.delete(f"{rows}/{first['id']}")).status_code == 204
    await created(api, rows, {"values": {"phone": "+33612345678"}})


async def test_concurrent_inserts_of_one_unique_value(services, api):
    database = await phonebook(api)
    rows = f"/api/databases/{database['id']}/rows"
    for attempt in range(5):
        body = {"values": {"phone": f"+3361234567{attempt}"}}
        responses = await asyncio.gather(*(api.post(rows, body) for _ in range(4)))
        statuses = sorted(response.status_code for response in responses)
        assert statuses == [201, 409, 409, 409], [r.json_body for r in responses]

    results = await asyncio.gather(
        *(services.databases.insert("phonebook", {"phone": "+441234567890"}) for _ in range(4)),
        return_exceptions=True,
    )
    assert sum(not isinstance(result, Exception) for result in results) == 1
    assert all(isinstance(result, Conflict) for result in results if isinstance(result, Exception))


async def test_row_filters_and_pages(api):
    database = await phonebook(api)
    rows = f"/api/databases/{database['id']}/rows"
    for number in range(5):
        await created(api, rows, {"values": {
            "phone": f"+3361234567{number}", "age": 30 + number % 2, "vip": number == 4,
        }})
    response = await api.get(f"{rows}?age=31")
    assert [row["values"]["phone"][-1] for row in response.json_body["items"]] == ["1", "3"]
    response = await api.get(f"{rows}?vip=true&age=30")
    assert [row["values"]["phone"] for row in response.json_body["items"]] == ["+33612345674"]
    response = await api.get(f"{rows}?phone=%2B33%206%2012%2034%2056%2072")
    assert [row["values"]["phone"] for row in response.json_body["items"]] == ["+33612345672"]
    page = await api.get(f"{rows}?limit=3&age=30")
    assert len(page.json_body["items"]) == 3 and page.json_body["next"] is None
    page = await api.get(f"{rows}?limit=2")
    following = await api.get(f"{rows}?limit=2&cursor={page.json_body['next']}")
    assert len(following.json_body["items"]) == 2 and following.json_body["next"]
    refused(await api.get(f"{rows}?age=old"), 422, "values.age")
    refused(await api.get(f"{rows}?colour=red"), 422, "values.colour")
    refused(await api.get("/api/databases/nope/rows"), 404)


async def test_changing_fields_keeps_rows_valid(api):
    database = await phonebook(api)
    path = f"/api/databases/{database['id']}"
    await created(api, f"{path}/rows", {"values": {"phone": "+33612345678", "name": "Ada"}})
    await created(api, f"{path}/rows", {"values": {"phone": "+33612345679", "name": "Ada"}})
    fields = [dict(field) for field in PHONEBOOK_FIELDS]

    # Removing or retyping a field rows use: refused.
    without_name = [field for field in fields if field["name"] != "name"]
    refused(await api.patch(path, {"fields": without_name}), 409, "fields")
    retyped = [field | {"type": "email"} if field["name"] == "name" else field for field in fields]
    refused(await api.patch(path, {"fields": retyped}), 409, "fields.2.type")
    # An unused field can go, or change type.
    unused_gone = [field for field in fields if field["name"] != "birthday"]
    assert (await api.patch(path, {"fields": unused_gone})).status_code == 200
    fields = unused_gone

    # A new required field: refused without a default, written into the rows with one.
    refused(await api.patch(path, {"fields": [*fields, {"name": "city", "type": "text",
                                                        "required": True}]}), 409,
            "fields.6.required")
    response = await api.patch(path, {"fields": [*fields, {"name": "city", "type": "text",
                                                           "required": True,
                                                           "default": "Paris"}]})
    assert response.status_code == 200, response.json_body
    fields = response.json_body["fields"]
    listed = await api.get(f"{path}/rows")
    assert {row["values"]["city"] for row in listed.json_body["items"]} == {"Paris"}

    # Making a field unique while rows share a value: refused, nothing changes.
    shared = [field | {"unique": True} if field["name"] == "name" else field for field in fields]
    refused(await api.patch(path, {"fields": shared}), 409, "fields.2.unique")
    assert (await api.get(path)).json_body["fields"] == fields
    await created(api, f"{path}/rows", {"values": {"phone": "+33700000000", "name": "Ada"}})

    # Made distinct, the field can become unique and is enforced from then on.
    listed = await api.get(f"{path}/rows")
    for number, row in enumerate(listed.json_body["items"]):
        await api.patch(f"{path}/rows/{row['id']}", {"values": {"name": f"Ada {number}"}})
    assert (await api.patch(path, {"fields": shared})).status_code == 200
    refused(await api.post(f"{path}/rows", {"values": {"phone": "+33700000009",
                                                       "name": "Ada 0"}}), 409, "values.name")
    # And no longer once it stops being unique.
    assert (await api.patch(path, {"fields": fields})).status_code == 200
    await created(api, f"{path}/rows", {"values": {"phone": "+33700000009", "name": "Ada 0"}})


async def test_engine_database_methods(services, api):
    await phonebook(api)
    databases = services.databases
    row = await databases.insert("phonebook", {"phone": "+33612345678", "age": "41"})
    assert row.values == {"phone": "+33612345678", "age": 41, "vip": False}
    await databases.insert("phonebook", {"phone": "+33612345679", "age": "41", "name": "Bob"})

    found = await databases.read_first("phonebook", {"age": "41"})
    assert found is not None and found.id == row.id
    found = await databases.read_first("phonebook", {"phone": "+33 6 12 34 56 79"})
    assert found is not None and found.values["name"] == "Bob"
    assert await databases.read_first("phonebook", {"age": "99"}) is None

    with pytest.raises(Invalid) as invalid:
        await databases.insert("phonebook", {"phone": "nope"})
    assert invalid.value.field == "values.phone"
    with pytest.raises(Conflict) as conflict:
        await databases.insert("phonebook", {"phone": "+33612345678"})
    assert conflict.value.field == "values.phone"
    with pytest.raises(NotFound):
        await databases.insert("missing", {"phone": "+33612345678"})

    assert await databases.modify("phonebook", {"age": "41"}, {"vip": "true"}) == 2
    assert await databases.modify("phonebook", {"age": "99"}, {"vip": "true"}) == 0
    found = await databases.read_first("phonebook", {"vip": True, "name": "Bob"})
    assert found is not None
    with pytest.raises(Invalid):
        await databases.modify("phonebook", {}, {"vip": True})
    with pytest.raises(Invalid):
        await databases.modify("phonebook", {"age": 41}, {"phone": None})  # required
    # Two rows cannot take one unique value: all or nothing.
    with pytest.raises(Conflict):
        await databases.modify("phonebook", {"age": 41}, {"email": "same@example.org"})
    assert await databases.read_first("phonebook", {"email": "same@example.org"}) is None


# -- schedules ---------------------------------------------------------------------------

OFFICE = {
    "name": "office",
    "timezone": "Europe/Paris",
    "weekly": {
        "monday": [{"start": "09:00", "end": "12:00"}, {"start": "14:00", "end": "18:00"}],
        "friday": [{"start": "09:00", "end": "17:00"}],
    },
    "exceptions": [{"date": "2024-12-25", "closed": True, "label": "Christmas"}],
}


async def test_schedule_crud_and_state(services, api):
    schedule = await created(api, "/api/schedules", OFFICE)
    assert schedule["weekly"]["tuesday"] == []
    assert schedule["exceptions"][0]["label"] == "Christmas"
    listed = await api.get("/api/schedules")
    assert [item["name"] for item in listed.json_body["items"]] == ["office"]

    state = await api.get(f"/api/schedules/{schedule['id']}/state?at=2024-12-23T09:30:00%2B01:00")
    assert state.json_body["state"] == "open", state.json_body
    state = await api.get(f"/api/schedules/{schedule['id']}/state?at=2024-12-25T09:30:00Z")
    assert state.json_body["state"] == "exception"
    refused(await api.get(f"/api/schedules/{schedule['id']}/state?at=2024-12-25T09:30:00"), 422,
            "at")
    moment = datetime(2024, 12, 23, 12, 30, tzinfo=UTC)  # 13:30 in Paris: lunch break
    assert await services.schedules.state("office", moment) == "closed"
    with pytest.raises(NotFound):
        await services.schedules.state("missing", moment)

    response = await api.patch(f"/api/schedules/{schedule['id']}", {"timezone": "Asia/Tokyo"})
    assert response.status_code == 200 and response.json_body["timezone"] == "Asia/Tokyo"
    assert response.json_body["weekly"] == schedule["weekly"]
    assert (await api.delete(f"/api/schedules/{schedule['id']}")).status_code == 204
    refused(await api.get(f"/api/schedules/{schedule['id']}"), 404)
    assert await audit_actions(api, schedule["id"]) == [
        "schedule.delete", "schedule.update", "schedule.create"
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"timezone": "Europe/Atlantis"}, "timezone"),
        ({"weekly": {"monday": [{"start": "18:00", "end": "09:00"}]}}, "weekly.monday.0.end"),
        ({"weekly": {"monday": [{"start": "09:00", "end": "25:00"}]}}, "weekly.monday.0.end"),
        ({"weekly": {"monday": [{"start": "09:00", "end": "12:00"},
                                {"start": "11:59", "end": "13:00"}]}}, "weekly.monday"),
        ({"exceptions": [{"date": "2024-13-01", "closed": True}]}, "exceptions.0.date"),
        ({"exceptions": [{"date": "2024-12-01", "closed": True},
                         {"date": "2024-12-01", "closed": True}]}, "exceptions"),
    ],
)
async def test_schedule_refusals(api, change, field):
    refused(await api.post("/api/schedules", OFFICE | change), 422, field)
    schedule = await created(api, "/api/schedules", OFFICE)
    refused(await api.patch(f"/api/schedules/{schedule['id']}", change), 422, field)


async def test_schedule_name_taken(api):
    await created(api, "/api/schedules", OFFICE)
    refused(await api.post("/api/schedules", OFFICE), 409, "name")


# -- permissions -------------------------------------------------------------------------

async def test_permissions_per_resource(app, api, anonymous):
    table = await created(api, "/api/value-tables", AGENCIES)
    await created(api, "/api/roles", {"name": "table reader", "permissions": ["value_tables:read"]})
    await created(api, "/api/users", {"email": "reader@example.com", "password": "long enough!",
                                      "roles": ["table reader"]})
    reader = await login(app, "reader@example.com", "long enough!")

    assert (await reader.get("/api/value-tables")).status_code == 200
    assert (await reader.get(f"/api/value-tables/{table['id']}")).status_code == 200
    refused(await reader.post("/api/value-tables", {"name": "x", "columns": ["k"]}), 403)
    refused(await reader.patch(f"/api/value-tables/{table['id']}", {"description": "x"}), 403)
    refused(await reader.put(f"/api/value-tables/{table['id']}/rows", {"rows": []}), 403)
    refused(await reader.delete(f"/api/value-tables/{table['id']}"), 403)
    for path in ("/api/variables", "/api/databases", "/api/schedules"):
        refused(await reader.get(path), 403)
        refused(await reader.post(path, {"name": "x"}), 403)
        refused(await anonymous.get(path), 401)
    assert (await api.get(f"/api/value-tables/{table['id']}")).json_body["revision"] == 0


async def test_deleting_what_a_tree_names_is_allowed(api):
    routing = await created(api, "/api/smart-routings",
                            {"name": "Main", "reference": "main", "type": "start"})
    version = await created(api, f"/api/smart-routings/{routing['id']}/versions", {"name": "v1"})
    tree = (await api.get(f"/api/versions/{version['id']}")).json_body["tree"]
    table = await created(api, "/api/value-tables", AGENCIES)
    response = await api.post(f"/api/versions/{version['id']}/actions", {
        "type": "values_table", "name": "agency",
        "params": {"table": "agencies", "key": "{{ vars.postcode }}"},
        "after": {"action": tree["start"]},
    })
    assert response.status_code == 201, response.json_body
    assert (await api.delete(f"/api/value-tables/{table['id']}")).status_code == 204
    entry = (await api.get(f"/api/audit?target={table['id']}")).json_body["items"][0]
    assert entry["action"] == "value_table.delete" and entry["details"] == {"name": "agencies"}


async def test_openapi_lists_the_reference_routes(anonymous, api):
    refused = await anonymous.get("/openapi.json")  # a map of the routes: for users only
    assert refused.status_code == 401 and "log in" in refused.json_body["error"]["message"]
    response = await api.get("/openapi.json")
    assert response.status_code == 200
    paths = response.json_body["paths"]
    for path in (
        "/api/value-tables", "/api/value-tables/{table_id}/rows",
        "/api/value-tables/{table_id}/import", "/api/variables/{variable_id}",
        "/api/databases/{database_id}/rows/{row_id}", "/api/schedules/{schedule_id}/state",
    ):
        assert path in paths, sorted(paths)


async def test_a_csv_refusal_says_which_row(api):
    table = await created(api, "/api/value-tables", AGENCIES)
    response = await post_csv(api, f"/api/value-tables/{table['id']}/import",
                              b"sku,label\nA,x\nB,y\nA,z\n")
    refused(response, 422, "csv")
    assert "(row 4)" in response.json_body["error"]["message"]
