"""CRM cards and CRM V2 types and objects through the JSON API."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api
from tests.integration.builders import ok, refused

CUSTOMER = {
    "name": "customer",
    "fields": [
        {"name": "email", "type": "email", "required": True, "unique": True},
        {"name": "phone", "type": "phone", "unique": True},
        {"name": "age", "type": "number"},
        {"name": "born", "type": "date"},
        {"name": "plan", "type": "choice", "choices": ["silver", "gold"]},
        {"name": "note", "type": "text"},
    ],
}


async def card(api: Api, **fields: Any) -> dict[str, Any]:
    return ok(await api.post("/api/crm/cards", json={"fields": fields}), 201)


async def test_cards_are_searched_by_any_field(api: Api, services):
    ada = await card(api, name="Ada", phone="+33612345678", number=1234, vip=True)
    bob = await card(api, name="Bob", phone="+447700900123", company="Acme")

    async def found(query: str) -> list[str]:
        return [item["id"] for item in ok(await api.get(f"/api/crm/cards?{query}"))["items"]]

    assert await found("phone=%2B33612345678") == [ada["id"]]
    assert await found("number=1234") == [ada["id"]]  # a number typed as text
    assert await found("company=Acme&name=Bob") == [bob["id"]]
    assert await found("company=Nobody") == []
    assert await found("") == [ada["id"], bob["id"]]
    changed = ok(await api.patch(f"/api/crm/cards/{ada['id']}",
                                 json={"fields": {"vip": None, "city": "Paris"}}))
    assert changed["fields"] == {"name": "Ada", "phone": "+33612345678", "number": 1234,
                                 "city": "Paris"}
    indexes = await services.store.crm_cards.collection.index_information()
    assert "by_any_field" in indexes
    explained = await services.store.crm_cards.collection.find(
        {"fields.city": "Paris"}).explain()
    assert "by_any_field" in str(explained["queryPlanner"]["winningPlan"])


async def test_bad_cards_are_refused(api: Api):
    refused(await api.post("/api/crm/cards", json={"fields": {"a": [1]}}), 422, "invalid")
    refused(await api.post("/api/crm/cards", json={"fields": {"bad name": 1}}), 422, "invalid")
    refused(await api.post("/api/crm/cards", json={}), 422, "invalid", "fields")
    refused(await api.get("/api/crm/cards?bad%20name=1"), 422, "invalid")
    refused(await api.delete("/api/crm/cards/nope"), 404, "not_found")


async def test_typed_objects_are_checked_and_unique(api: Api):
    crm_type = ok(await api.post("/api/crm2/types", json=CUSTOMER), 201)
    ada = ok(await api.post("/api/crm2/objects", json={"type": "customer", "values": {
        "email": " Ada@Example.com", "phone": "+33 6 12 34 56 78", "age": "36",
        "born": "1988-02-03", "plan": "GOLD"}}), 201)
    assert ada["type_id"] == crm_type["id"]
    assert ada["values"] == {"email": "ada@example.com", "phone": "+33612345678", "age": 36,
                             "born": "1988-02-03", "plan": "gold"}
    taken = refused(await api.post("/api/crm2/objects", json={
        "type": crm_type["id"], "values": {"email": "ADA@example.com"}}), 409, "value_taken",
        "values.email")
    assert "ada@example.com" in taken["message"]
    for values, field in (({"phone": "+447700900123"}, "values.email"),
                          ({"email": "x"}, "values.email"),
                          ({"email": "b@example.com", "age": "old"}, "values.age"),
                          ({"email": "b@example.com", "born": "03/02/1988"}, "values.born"),
                          ({"email": "b@example.com", "plan": "bronze"}, "values.plan"),
                          ({"email": "b@example.com", "colour": "red"}, "values.colour")):
        refused(await api.post("/api/crm2/objects", json={"type": "customer",
                                                          "values": values}), 422, "invalid",
                field)
    refused(await api.post("/api/crm2/objects", json={"type": "car", "values": {}}), 404)
    bob = ok(await api.post("/api/crm2/objects", json={"type": "customer", "values": {
        "email": "bob@example.com", "plan": "silver"}}), 201)
    found = ok(await api.get("/api/crm2/objects?type=customer&email=BOB@example.com"))
    assert [item["id"] for item in found["items"]] == [bob["id"]]
    found = ok(await api.get("/api/crm2/objects?type=customer&plan=gold"))
    assert [item["id"] for item in found["items"]] == [ada["id"]]
    refused(await api.get("/api/crm2/objects?type=customer&age=old"), 422, "invalid")
    refused(await api.get("/api/crm2/objects?plan=gold"), 422, "invalid", "type")
    refused(await api.patch(f"/api/crm2/objects/{bob['id']}",
                            json={"values": {"email": "ada@example.com"}}), 409, "value_taken")
    refused(await api.patch(f"/api/crm2/objects/{bob['id']}", json={"values": {"email": None}}),
            422, "invalid", "values.email")
    changed = ok(await api.patch(f"/api/crm2/objects/{bob['id']}",
                                 json={"values": {"plan": None, "age": 40},
                                       "revision": bob["revision"]}))
    assert changed["values"] == {"email": "bob@example.com", "age": 40}
    # saved from what was read before that change: refused, not last write wins
    stale = refused(await api.patch(f"/api/crm2/objects/{bob['id']}", json={
        "values": {"age": 41}, "revision": bob["revision"]}), 409, "concurrent_change")
    assert "changed meanwhile" in stale["message"]
    assert ok(await api.get(f"/api/crm2/objects/{bob['id']}"))["values"]["age"] == 40


async def test_a_type_keeps_its_objects_valid(api: Api):
    crm_type = ok(await api.post("/api/crm2/types", json=CUSTOMER), 201)
    path = f"/api/crm2/types/{crm_type['id']}"
    for values in ({"email": "a@example.com", "note": "same"},
                   {"email": "b@example.com", "note": "same", "plan": "gold"}):
        ok(await api.post("/api/crm2/objects", json={"type": "customer", "values": values}), 201)
    fields = crm_type["fields"]

    def but(name: str, **changes: Any) -> list[dict[str, Any]]:
        return [{**field, **changes} if field["name"] == name else field for field in fields]

    refused(await api.patch(path, json={"fields": [f for f in fields if f["name"] != "note"]}),
            409, "objects_use_field", "fields")
    refused(await api.patch(path, json={"fields": but("note", type="number")}), 409,
            "objects_use_field", "fields.5.type")
    refused(await api.patch(path, json={"fields": but("plan", choices=["silver"])}), 409,
            "objects_use_field", "fields.4.choices")
    refused(await api.patch(path, json={"fields": but("age", required=True)}), 409,
            "objects_use_field", "fields.2.required")
    refused(await api.patch(path, json={"fields": but("note", unique=True)}), 409,
            "values_not_unique", "fields.5.unique")
    added = ok(await api.patch(path, json={"fields": [
        *but("plan", choices=["silver", "gold", "platinum"]),
        {"name": "city", "type": "text"}]}))
    assert [field["name"] for field in added["fields"]][-1] == "city"
    refused(await api.patch(path, json={"fields": [*fields, {"name": "email", "type": "text"}]}),
            422, "invalid")
    refused(await api.post("/api/crm2/types", json=CUSTOMER), 409, "name_taken", "name")
    refused(await api.post("/api/crm2/types", json={"name": "x", "fields": [
        {"name": "kind", "type": "choice"}]}), 422, "invalid", "fields.0")
    refused(await api.post("/api/crm2/types", json={"name": "x", "fields": [
        {"name": "kind", "type": "text", "choices": ["a"]}]}), 422, "invalid", "fields.0")
    refused(await api.delete(path), 409, "type_in_use")
    for item in ok(await api.get("/api/crm2/objects?type=customer"))["items"]:
        assert (await api.delete(f"/api/crm2/objects/{item['id']}")).status_code == 204
    assert (await api.delete(path)).status_code == 204
