"""Tasks through the JSON API, and an agent's list."""

from __future__ import annotations

from tests.conftest import ADMIN_EMAIL, Api
from tests.integration.builders import ok, refused


async def test_tasks_are_assigned_filtered_and_closed(api: Api, services):
    admin = await services.store.users.find_one({"email": ADMIN_EMAIL})
    mine = ok(await api.post("/api/tasks", json={
        "title": "Call Ada back", "assignee": {"kind": "user", "ref": ADMIN_EMAIL.upper()},
        "due_at": "2030-01-02T09:00:00+01:00", "case_id": "case-1"}), 201)
    assert mine["assignee"] == {"kind": "user", "ref": admin.id}  # an address becomes the id
    assert mine["due_at"] == "2030-01-02T08:00:00Z" and mine["status"] == "open"
    queued = ok(await api.post("/api/tasks", json={
        "title": "Check refunds", "assignee": {"kind": "queue", "ref": "support"},
        "due_at": "2030-01-01T09:00:00Z"}), 201)
    ok(await api.post("/api/tasks", json={"title": "Nobody's", "interaction_id": "i-1"}), 201)
    by_queue = ok(await api.get("/api/tasks?assignee_kind=queue&assignee=support"))
    assert [task["id"] for task in by_queue["items"]] == [queued["id"]]
    assert [t["id"] for t in ok(await api.get("/api/tasks?case=case-1"))["items"]] == [mine["id"]]
    assert len(ok(await api.get("/api/tasks?interaction=i-1"))["items"]) == 1
    agent_tasks = await services.tasks.of_agent(admin.id, ["support"])
    assert [task.id for task in agent_tasks] == [queued["id"], mine["id"]]  # soonest due first
    done = ok(await api.patch(f"/api/tasks/{mine['id']}", json={"status": "done"}))
    assert done["closed_at"] is not None
    assert [t["id"] for t in ok(await api.get("/api/tasks?status=done"))["items"]] == [mine["id"]]
    assert [task.id for task in await services.tasks.of_agent(admin.id, [])] == []
    reopened = ok(await api.patch(f"/api/tasks/{mine['id']}", json={"status": "open"}))
    assert reopened["closed_at"] is None
    assert (await api.delete(f"/api/tasks/{queued['id']}")).status_code == 204


async def test_bad_tasks_are_refused(api: Api):
    refused(await api.post("/api/tasks", json={"title": " "}), 422, "invalid", "title")
    refused(await api.post("/api/tasks", json={"title": "x", "assignee": {"kind": "team",
                                                                        "ref": "a"}}),
            422, "invalid")
    refused(await api.post("/api/tasks", json={"title": "x", "status": "later"}), 422,
            "invalid", "status")
    refused(await api.post("/api/tasks", json={"title": "x", "due_at": "tomorrow"}), 422,
            "invalid", "due_at")
    refused(await api.get("/api/tasks?status=later"), 422)
    refused(await api.get("/api/tasks/nope"), 404, "not_found")
