"""Cases through the JSON API: numbering, filters, changes, refusals."""

from __future__ import annotations

import asyncio

from tests.conftest import Api
from tests.integration.builders import ok, refused


async def new_case(api: Api, **body: object) -> dict:
    return ok(await api.post("/api/cases", json={"title": "Broken screen", **body}), 201)


async def test_cases_are_numbered_and_found_by_reference(api: Api):
    first = await new_case(api, fields={"order": "A-17", "amount": 42}, contact_id="c1")
    assert (first["reference"], first["status"], first["priority"]) == (
        "CASE-000001", "open", "normal")
    assert first["fields"] == {"order": "A-17", "amount": 42}
    others = await asyncio.gather(*(new_case(api, title=f"Case {n}") for n in range(5)))
    assert sorted(case["number"] for case in others) == [2, 3, 4, 5, 6]
    found = ok(await api.get("/api/cases?reference=CASE-000001"))
    assert [case["id"] for case in found["items"]] == [first["id"]]
    listed = ok(await api.get("/api/cases?limit=4"))
    assert [case["number"] for case in listed["items"]] == [6, 5, 4, 3]  # newest first
    rest = ok(await api.get(f"/api/cases?limit=4&cursor={listed['next']}"))
    assert [case["number"] for case in rest["items"]] == [2, 1] and rest["next"] is None


async def test_a_case_changes_and_closes(api: Api, services):
    case = await new_case(api, priority="high", contact_id="c1")
    changed = ok(await api.patch(f"/api/cases/{case['id']}", json={
        "status": "closed", "fields": {"resolution": "refunded"}}))
    assert changed["status"] == "closed" and changed["closed_at"] is not None
    assert changed["fields"] == {"resolution": "refunded"} and changed["revision"] == 1
    assert ok(await api.get("/api/cases?status=closed&contact=c1"))["items"][0]["id"] == case["id"]
    assert ok(await api.get("/api/cases?status=open"))["items"] == []
    reopened = ok(await api.patch(f"/api/cases/{case['id']}", json={"status": "pending"}))
    assert reopened["closed_at"] is None
    assert (await api.delete(f"/api/cases/{case['id']}")).status_code == 204
    refused(await api.get(f"/api/cases/{case['id']}"), 404, "not_found")
    actions = [entry.action for entry in await services.store.audit.all({"target_id": case["id"]})]
    assert actions == ["case.create", "case.update", "case.update", "case.delete"]


async def test_bad_cases_are_refused_with_the_field(api: Api, anonymous: Api):
    refused(await api.post("/api/cases", json={"title": ""}), 422, "invalid", "title")
    refused(await api.post("/api/cases", json={"title": "x", "status": "solved"}), 422,
            "invalid", "status")
    refused(await api.post("/api/cases", json={"title": "x", "priority": "asap"}), 422,
            "invalid", "priority")
    refused(await api.post("/api/cases", json={"title": "x", "fields": {"1bad": 1}}), 422,
            "invalid")
    refused(await api.post("/api/cases", json={"title": "x", "fields": {"a": {"$set": 1}}}),
            422, "invalid", "fields")
    refused(await api.post("/api/cases", json={"title": "x", "colour": "red"}), 422, "invalid")
    refused(await api.patch("/api/cases/nope", json={"title": "y"}), 404, "not_found")
    refused(await anonymous.get("/api/cases"), 401)
