"""Changing a live bot with confidence: the diff of two versions (each kind of change), the
impact of a production against real waiting conversations, undo and redo of tree edits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from quart import Quart

from routing_core.infra.clock import utcnow
from routing_core.model.interaction import Channel, Inbound
from routing_core.services import Services
from tests.conftest import Api
from tests.integration.builders import ok, refused
from tests.integration.test_admin_pages import Pages
from tests.support.routings import DRINKS, production_routing, webchat_entry_point


async def candidate_of(api: Api, services: Services) -> dict[str, Any]:
    """Drinks in production, two visitors waiting on its question, and a duplicate of it
    (the candidate) — same action ids."""
    routing_id = await production_routing(services, "drinks", DRINKS)
    entry_point = await webchat_entry_point(services, routing_id, "front")
    for visitor in ("visitor-1", "visitor-2"):
        await services.runtime.receive(Inbound(
            channel=Channel.webchat, entry_point_id=entry_point.id, contact=visitor,
            provider_id=f"{visitor}-1", text="hi"), wait=True)
    production = (await services.store.versions.find_one({"routing_id": routing_id}))
    assert production is not None
    candidate = ok(await api.post(f"/api/versions/{production.id}/duplicate",
                                  json={"name": "v2"}), 201)
    return {"routing": routing_id, "production": production.id, "candidate": candidate["id"],
            "entry_point": entry_point.id}


async def test_the_diff_names_each_kind_of_change(api: Api, services: Services) -> None:
    setup = await candidate_of(api, services)
    vid = setup["candidate"]
    unchanged = ok(await api.get(f"/api/versions/{vid}/diff"))
    assert unchanged["against_id"] == setup["production"]
    assert (unchanged["added"], unchanged["removed"], unchanged["changed"]) == ([], [], [])

    ok(await api.patch(f"/api/versions/{vid}/actions/ask", json={
        "name": "Ask the drink", "params": {
            "text": "Tea, coffee?", "choices": [
                {"label": "Tea", "value": "tea", "branch": "tea"},
                {"label": "Coffee", "value": "coffee", "branch": "coffee"}]},
        "record_passage": True}))
    added = ok(await api.post(f"/api/versions/{vid}/actions", json={
        "type": "message", "name": "Thanks", "params": {"text": "Thanks!"},
        "after": {"action": "tea"}}), 201)
    ok(await api.put(f"/api/versions/{vid}/links",
                     json={"from": "ask", "branch": "coffee", "to": "tea"}))
    ok(await api.delete(f"/api/versions/{vid}/actions/coffee"), 204)

    diff = ok(await api.get(f"/api/versions/{vid}/diff"))
    assert [item["id"] for item in diff["added"]] == [added["id"]]
    assert [(item["id"], item["name"]) for item in diff["removed"]] == [("coffee", "coffee")]
    changed = {item["id"]: item for item in diff["changed"]}
    ask = changed["ask"]
    assert (ask["old_name"], ask["name"]) == ("ask", "Ask the drink")
    assert ask["params"] == [{"name": "text", "old": "Tea or coffee?", "new": "Tea, coffee?"}]
    assert ask["links"] == [{"branch": "coffee", "old": "coffee", "new": "tea"}]
    assert ask["record_passage"] == [False, True]
    assert changed["tea"]["links"] == [{"branch": "next", "old": None, "new": added["id"]}]

    backwards = ok(await api.get(f"/api/versions/{setup['production']}/diff?against={vid}"))
    assert [item["id"] for item in backwards["added"]] == ["coffee"]
    other = await production_routing(services, "other", DRINKS)
    version = await services.store.versions.find_one({"routing_id": other})
    assert version is not None
    refused(await api.get(f"/api/versions/{vid}/diff?against={version.id}"), 422,
            field="against")


async def test_the_impact_counts_waiting_conversations_and_loose_references(
    api: Api, services: Services
) -> None:
    setup = await candidate_of(api, services)
    vid = setup["candidate"]
    # scheduled while it names nothing missing (a version naming a missing record cannot be)
    ok(await api.put(f"/api/versions/{vid}/schedule", json={"at": "2099-01-01T09:00:00Z"}))
    ok(await api.post(f"/api/versions/{vid}/actions", json={
        "type": "to_queue", "name": "To sales", "params": {"queue": "sales"},
        "after": {"action": "tea"}}), 201)
    ok(await api.post(f"/api/versions/{vid}/actions", json={
        "type": "to_smart_routing", "name": "To billing", "params": {"routing": "billing"},
        "after": {"action": "coffee"}}), 201)
    ok(await api.patch(f"/api/versions/{vid}/actions/tea", json={
        "params": {"text": "Tea it is, {{ globals.barista }}."}}))
    leader = await production_routing(services, "front-desk", {
        "start": "start", "actions": [
            {"id": "start", "type": "start", "name": "start", "params": {},
             "next": {"next": "hand"}},
            {"id": "hand", "type": "to_smart_routing", "name": "Hand to drinks",
             "params": {"routing": "drinks"}, "next": {}}]})
    assert leader
    later = ok(await api.post(f"/api/versions/{setup['production']}/duplicate",
                              json={"name": "v3"}), 201)
    ok(await api.put(f"/api/versions/{later['id']}/schedule",
                     json={"at": "2099-02-01T09:00:00Z"}))

    impact = ok(await api.get(f"/api/versions/{vid}/impact"))
    assert impact["production"] == "v1" and impact["waiting_total"] == 2
    assert impact["waiting"] == [{"action_id": "ask", "name": "ask", "conversations": 2,
                                  "in_candidate": True}]
    assert impact["entry_points"] == [{"id": setup["entry_point"], "name": "front",
                                       "role": "start"}]
    assert impact["leading_here"] == [{"routing": "front-desk", "action": "Hand to drinks"}]
    assert [item["name"] for item in impact["scheduled"]] == ["v3"]
    assert {(item["kind"], item["reference"], item["problem"])
            for item in impact["unresolved"]} == {
        ("queue", "sales", "does not exist"), ("smart routing", "billing", "does not exist"),
        ("variable", "barista", "does not exist")}


async def test_undo_and_redo_edits_kept_server_side(api: Api, services: Services) -> None:
    setup = await candidate_of(api, services)
    vid = setup["candidate"]
    assert ok(await api.get(f"/api/versions/{vid}/edits")) == {"undo": None, "redo": None}
    refused(await api.post(f"/api/versions/{vid}/undo"), 409, "nothing_to_undo")
    ok(await api.patch(f"/api/versions/{vid}/actions/tea", json={"name": "Serve tea"}))
    thanks = ok(await api.post(f"/api/versions/{vid}/actions", json={
        "type": "message", "name": "Thanks", "params": {"text": "Thanks!"},
        "after": {"action": "tea"}}), 201)
    assert ok(await api.get(f"/api/versions/{vid}/edits")) == {"undo": "add Thanks",
                                                               "redo": None}

    undone = ok(await api.post(f"/api/versions/{vid}/undo"))
    assert thanks["id"] not in {action["id"] for action in undone["tree"]["actions"]}
    assert ok(await api.get(f"/api/versions/{vid}/edits")) == {
        "undo": "change Serve tea", "redo": "add Thanks"}
    undone = ok(await api.post(f"/api/versions/{vid}/undo"))
    assert {a["id"]: a["name"] for a in undone["tree"]["actions"]}["tea"] == "tea"
    redone = ok(await api.post(f"/api/versions/{vid}/redo"))
    assert {a["id"]: a["name"] for a in redone["tree"]["actions"]}["tea"] == "Serve tea"

    # a new edit replaces what was undone: nothing to redo any more
    ok(await api.patch(f"/api/versions/{vid}/actions/coffee", json={"name": "Serve coffee"}))
    refused(await api.post(f"/api/versions/{vid}/redo"), 409, "nothing_to_redo")
    # an edit made another way meanwhile (the history no longer matches): refused
    version = await services.store.versions.get(vid)
    await services.store.versions.collection.update_one(
        {"_id": vid}, {"$set": {"tree.actions": [
            action.model_dump() for action in version.tree.actions if action.id != "coffee"]}})
    refused(await api.post(f"/api/versions/{vid}/undo"), 409, "concurrent_change")

    for _ in range(55):
        ok(await api.patch(f"/api/versions/{vid}/actions/tea", json={"name": f"Tea {_}"}))
    assert await services.store.tree_edits.collection.count_documents(
        {"version_id": vid}) == 50
    refused(await api.post(f"/api/versions/{setup['production']}/undo"), 409)
    actions = [entry["action"] async for entry in services.store.audit.collection.find(
        {"target_id": vid, "action": {"$in": ["tree.undo", "tree.redo"]}}).sort("_id", 1)]
    assert actions == ["tree.undo", "tree.undo", "tree.redo"]


async def test_the_editor_shows_the_diff_the_impact_and_undoes(
    app: Quart, api: Api, services: Services
) -> None:
    setup = await candidate_of(api, services)
    vid = setup["candidate"]
    ok(await api.patch(f"/api/versions/{vid}/actions/tea", json={"name": "Serve tea"}))
    pages = Pages(app)
    await pages.log_in()
    _, text, _ = await pages.get(f"/admin/versions/{vid}?diff=1")
    assert "Changes from v1" in text and "1 added · 1 changed · 0 removed" not in text
    assert "0 added · 1 changed · 0 removed" in text
    assert 'data-action="tea"' in text and "diff-changed" in text
    # the production confirmation: the diff and the two waiting conversations
    assert 'data-waiting-total="2"' in text and "they <strong>stay on it</strong>" in text
    _, text, _ = await pages.get(f"/admin/versions/{vid}")
    assert "Undo: change Serve tea" in text
    status, _, response = await pages.post(f"/admin/versions/{vid}/undo")
    assert status == 302
    text = await pages.follow(response)
    assert "Edit undone." in text and "Redo: change Serve tea" in text


async def test_a_canary_splits_new_conversations_sticky_per_contact(
    api: Api, services: Services
) -> None:
    """1,000 new conversations at 20 %: the candidate's share lands within the binomial
    bounds (±4 standard deviations); a contact's next conversation lands on the same side;
    the candidate is read-only while it runs; statistics show both side by side."""
    setup = await candidate_of(api, services)
    vid, entry_point = setup["candidate"], setup["entry_point"]
    ok(await api.patch(f"/api/versions/{vid}/actions/ask", json={"params": {
        "text": "Tea, coffee or water?", "choices": [
            {"label": "Tea", "value": "tea", "branch": "tea"},
            {"label": "Coffee", "value": "coffee", "branch": "coffee"}]}}))
    refused(await api.put(f"/api/entry-points/{entry_point}/canary",
                          json={"version": vid, "share": 51}), 422)
    started = ok(await api.put(f"/api/entry-points/{entry_point}/canary",
                               json={"version": vid, "share": 20}))
    assert started["canary"]["version_id"] == vid and started["canary"]["share"] == 20
    other = ok(await api.post(f"/api/versions/{setup['production']}/duplicate",
                              json={"name": "v3"}), 201)
    refused(await api.put(f"/api/entry-points/{entry_point}/canary",
                          json={"version": other["id"], "share": 10}), 409, "canary_running")
    refused(await api.patch(f"/api/versions/{vid}/actions/tea", json={"name": "Tea!"}),
            409, "in_canary")
    refused(await api.delete(f"/api/versions/{vid}"), 409, "in_canary")

    contacts = [f"visitor-canary-{number:04d}" for number in range(1000)]
    for contact in contacts:
        await services.runtime.receive(Inbound(
            channel=Channel.webchat, entry_point_id=entry_point, contact=contact,
            provider_id=f"{contact}-1", text="hi"))
    await services.runtime.idle()
    on_candidate = {document["contact"] async for document in
                    services.store.interactions.collection.find(
                        {"version_id": vid, "canary": True}, {"contact": 1})}
    production_count = await services.store.interactions.collection.count_documents(
        {"version_id": setup["production"], "canary": False, "contact": {"$in": contacts}})
    assert len(on_candidate) + production_count == 1000
    assert 200 - 4 * 12.65 <= len(on_candidate) <= 200 + 4 * 12.65, len(on_candidate)
    texts = {event["data"]["text"] async for event in services.store.events.collection.find(
        {"type": "outbound", "contact": {"$in": sorted(on_candidate)[:5]}})}
    assert texts == {"Tea, coffee or water?"}

    # sticky: a contact's next conversation lands on the same side
    sample = sorted(on_candidate)[:3] + [c for c in contacts if c not in on_candidate][:3]
    for contact in sample:
        await services.runtime.end_interaction(
            (await services.store.interactions.find_one({"contact": contact})).id,  # type: ignore[union-attr]
            "ended by test")
        await services.runtime.receive(Inbound(
            channel=Channel.webchat, entry_point_id=entry_point, contact=contact,
            provider_id=f"{contact}-2", text="again"), wait=True)
        latest = await services.store.interactions.collection.find_one(
            {"contact": contact}, sort=[("_id", -1)])
        assert latest is not None and latest["canary"] is (contact in on_candidate)

    since, before = (f"{moment:%Y-%m-%dT%H:%M:%SZ}" for moment in (
        utcnow() - timedelta(days=1), utcnow() + timedelta(days=1)))
    figures = ok(await api.get(f"/api/smart-routings/{setup['routing']}/statistics"
                               f"?since={since}&before={before}"))
    sides = {(row["version_id"], row["canary"]): row["started"] for row in figures["versions"]}
    assert sides[(vid, True)] == len(on_candidate) + 3
    assert sides[(setup["production"], False)] == 1000 - len(on_candidate) + 2 + 3

    promoted = ok(await api.post(f"/api/entry-points/{entry_point}/canary/promote"))
    assert promoted["canary"] is None
    assert (await services.store.versions.get(vid)).status.value == "production"
    assert (await services.store.versions.get(setup["production"])).status.value == "backup"
    refused(await api.delete(f"/api/entry-points/{entry_point}/canary"), 409, "no_canary")


async def test_an_abandoned_canary_sends_everyone_to_production(
    api: Api, services: Services
) -> None:
    setup = await candidate_of(api, services)
    entry_point = setup["entry_point"]
    ok(await api.put(f"/api/entry-points/{entry_point}/canary",
                     json={"version": setup["candidate"], "share": 50}))
    abandoned = ok(await api.delete(f"/api/entry-points/{entry_point}/canary"))
    assert abandoned["canary"] is None
    for number in range(20):
        await services.runtime.receive(Inbound(
            channel=Channel.webchat, entry_point_id=entry_point, contact=f"visitor-ab-{number}",
            provider_id=f"ab-{number}", text="hi"), wait=True)
    assert await services.store.interactions.collection.count_documents(
        {"canary": True}) == 0
    ok(await api.patch(f"/api/versions/{setup['candidate']}/actions/tea",
                       json={"name": "editable again"}))
    audited = [entry["action"] async for entry in services.store.audit.collection.find(
        {"target_id": entry_point}).sort("_id", 1)]
    assert audited[-2:] == ["entry_point.canary_start", "entry_point.canary_abandon"]
