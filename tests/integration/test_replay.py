"""Regression replay through the API: recorded conversations of production played through a
candidate, each with its verdict — same replies, different replies (from the first
difference), different path, not replayable — and nothing sent or written meanwhile."""

from __future__ import annotations

from typing import Any

from quart import Quart

from routing_core.model.interaction import Channel, Inbound
from routing_core.services import Services
from tests.conftest import Api
from tests.integration.builders import ok, refused
from tests.integration.test_admin_pages import Pages
from tests.support.routings import DRINKS, production_routing, webchat_entry_point


async def recorded(services: Services) -> dict[str, Any]:
    """Ann chose tea, Bob coffee, Cy only said hello (waiting): on production v1."""
    routing_id = await production_routing(services, "drinks", DRINKS)
    entry_point = await webchat_entry_point(services, routing_id, "front")
    for visitor, texts in (("visitor-ann", ["hi", "Tea"]), ("visitor-bob", ["hi", "Coffee"]),
                           ("visitor-cy", ["hello"])):
        for number, text in enumerate(texts):
            await services.runtime.receive(Inbound(
                channel=Channel.webchat, entry_point_id=entry_point.id, contact=visitor,
                provider_id=f"{visitor}-{number}", text=text), wait=True)
    production = await services.store.versions.find_one({"routing_id": routing_id})
    assert production is not None
    ids = {interaction.contact: interaction.id
           for interaction in await services.store.interactions.all()}
    return {"routing": routing_id, "production": production.id, "ids": ids}


async def replay(api: Api, services: Services, version_id: str) -> dict[str, Any]:
    job = ok(await api.post(f"/api/versions/{version_id}/replays", json={"last": 10}), 202)
    await services.replays.wait()
    done = ok(await api.get(f"/api/replays/{job['id']}"))
    assert done["status"] == "done" and done["total"] == done["done"] == 3, done
    items = ok(await api.get(f"/api/replays/{job['id']}/results"))["items"]
    return {"job": done, "by_contact": {item["interaction_id"]: item for item in items}}


async def test_replay_verdicts(api: Api, services: Services) -> None:
    setup = await recorded(services)
    ann, bob, cy = (setup["ids"][name] for name in ("visitor-ann", "visitor-bob",
                                                      "visitor-cy"))
    outbound_before = await services.store.events.collection.count_documents(
        {"type": "outbound"})

    words = ok(await api.post(f"/api/versions/{setup['production']}/duplicate",
                              json={"name": "new words"}), 201)["id"]
    ok(await api.patch(f"/api/versions/{words}/actions/coffee",
                       json={"params": {"text": "Coffee is coming."}}))
    found = await replay(api, services, words)
    assert found["job"]["counts"] == {"same": 2, "different_replies": 1}
    result = found["by_contact"][bob]
    assert result["verdict"] == "different_replies" and result["first_difference"] == 1
    assert result["recorded"] == ["Tea or coffee?", "Coffee it is."]
    assert result["replayed"] == ["Tea or coffee?", "Coffee is coming."]
    assert found["by_contact"][cy]["verdict"] == "same"

    rerouted = ok(await api.post(f"/api/versions/{setup['production']}/duplicate",
                                 json={"name": "all tea"}), 201)["id"]
    ok(await api.put(f"/api/versions/{rerouted}/links",
                     json={"from": "ask", "branch": "coffee", "to": "tea"}))
    found = await replay(api, services, rerouted)
    assert found["by_contact"][bob]["verdict"] == "different_path"
    assert found["by_contact"][bob]["replayed_path"] == ["start", "ask", "tea"]
    assert found["by_contact"][ann]["verdict"] == "same"

    queued = ok(await api.post(f"/api/versions/{setup['production']}/duplicate",
                               json={"name": "to agents"}), 201)["id"]
    ok(await api.post(f"/api/versions/{queued}/actions", json={
        "type": "to_queue", "name": "To the bar", "params": {"queue": "bar"},
        "after": {"action": "tea"}}), 201)
    found = await replay(api, services, queued)
    result = found["by_contact"][ann]
    assert result["verdict"] == "not_replayable" and "agents" in result["reason"]
    assert found["job"]["counts"] == {"not_replayable": 1, "same": 2}

    # nothing was sent, nothing stored outside the reports, every replay audited
    assert await services.store.events.collection.count_documents(
        {"type": "outbound"}) == outbound_before
    assert await services.store.interactions.collection.count_documents({}) == 3
    assert await services.store.audit.collection.count_documents(
        {"action": "version.replay"}) == 3
    refused(await api.post(f"/api/versions/{words}/replays", json={"last": 0}), 422)

    # filters: a period with none of them, then one entry point's (all three came there)
    job = ok(await api.post(f"/api/versions/{words}/replays", json={
        "last": 10, "since": "2099-01-01T00:00:00Z"}), 202)
    await services.replays.wait()
    assert ok(await api.get(f"/api/replays/{job['id']}"))["total"] == 0
    bob_point = (await services.store.interactions.get(bob)).entry_point_id
    job = ok(await api.post(f"/api/versions/{words}/replays", json={
        "last": 10, "entry_point": bob_point}), 202)
    await services.replays.wait()
    assert ok(await api.get(f"/api/replays/{job['id']}"))["total"] == 3


async def test_the_report_page_shows_the_transcripts(
    app: Quart, api: Api, services: Services
) -> None:
    setup = await recorded(services)
    words = ok(await api.post(f"/api/versions/{setup['production']}/duplicate",
                              json={"name": "new words"}), 201)["id"]
    ok(await api.patch(f"/api/versions/{words}/actions/coffee",
                       json={"params": {"text": "Coffee is coming."}}))
    pages = Pages(app)
    await pages.log_in()
    await pages.get(f"/admin/versions/{words}")
    status, _, response = await pages.post(f"/admin/versions/{words}/replays", {"last": "10"})
    assert status == 302 and "/admin/replays/" in response.headers["Location"]
    await services.replays.wait()
    text = await pages.follow(response)
    assert 'data-replay-status="done"' in text
    assert 'data-verdict="different_replies"><span class="figure-value">1<' in text
    assert "Coffee it is." in text and "Coffee is coming." in text and 'class="differs"' in text
