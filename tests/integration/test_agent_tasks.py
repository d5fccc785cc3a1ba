"""An agent's tasks in the console's API: their own and their queues', soonest due first;
marking one done (audited); nobody else's, and nothing for a user without the console."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from routing_core.infra.clock import utcnow
from tests.conftest import Api, login
from tests.integration.builders import ok, refused
from tests.integration.test_distribution import PASSWORD, agent, queue


async def task(api: Api, title: str, kind: str, ref: str, due_in_hours: float,
               **extra: Any) -> dict[str, Any]:
    due = (utcnow() + timedelta(hours=due_in_hours)).isoformat()
    return ok(await api.post("/api/tasks", json={  # type: ignore[no-any-return]
        "title": title, "assignee": {"kind": kind, "ref": ref}, "due_at": due, **extra}), 201)


async def test_an_agent_sees_and_closes_their_tasks_and_their_queues(app, services, api):
    alice = await agent(app, api, "alice@example.com")
    bob = await agent(app, api, "bob@example.com")
    await queue(api, "support", [alice])
    await queue(api, "billing", [bob])
    own = await task(api, "Call Ada back", "user", "alice@example.com", 2,
                     interaction_id="interaction-1")
    late = await task(api, "Check the refund", "queue", "support", -1)
    others = await task(api, "Bob's call", "user", bob.user_id, 1)  # type: ignore[attr-defined]
    billing = await task(api, "Billing's", "queue", "billing", 1)
    ok(await api.post("/api/tasks", json={"title": "Closed", "status": "done",
                                         "assignee": {"kind": "user",
                                                      "ref": "alice@example.com"}}),
       201)

    listed = ok(await alice.get("/api/agent/tasks"))["items"]
    assert [item["id"] for item in listed] == [late["id"], own["id"]]  # soonest due first
    assert [item["overdue"] for item in listed] == [True, False]
    assert listed[1]["interaction_id"] == "interaction-1"
    assert listed[1]["title"] == "Call Ada back"
    assert [item["id"] for item in ok(await bob.get("/api/agent/tasks"))["items"]] == [
        others["id"], billing["id"]]

    done = ok(await alice.post(f"/api/agent/tasks/{late['id']}/done"))
    assert done["status"] == "done" and done["closed_at"] and not done["overdue"]
    assert ok(await alice.post(f"/api/agent/tasks/{late['id']}/done"))["status"] == "done"
    audit = await services.store.audit.all({"target_id": late["id"]})
    assert [entry.action for entry in audit] == ["task.create", "task.update"]
    assert audit[-1].actor == "alice@example.com"
    assert audit[-1].actor_id == alice.user_id  # type: ignore[attr-defined]
    assert [item["id"] for item in ok(await alice.get("/api/agent/tasks"))["items"]] == [
        own["id"]]

    for foreign in (others, billing):
        refused(await alice.post(f"/api/agent/tasks/{foreign['id']}/done"), 404, "not_found")
        assert (await services.tasks.get(foreign["id"])).status.value == "open"
    refused(await alice.post("/api/agent/tasks/nope/done"), 404, "not_found")


async def test_the_tasks_of_the_console_need_the_console_permission(app, api):
    ok(await api.post("/api/users", json={"email": "viewer@example.com", "password": PASSWORD,
                                          "roles": []}), 201)
    viewer = await login(app, "viewer@example.com", PASSWORD)
    mine = await task(api, "Somebody's", "user", "viewer@example.com", 1)
    refused(await viewer.get("/api/agent/tasks"), 403, "forbidden")
    refused(await viewer.post(f"/api/agent/tasks/{mine['id']}/done"), 403, "forbidden")
    refused(await Api(app.test_client(), None).get("/api/agent/tasks"), 401)
