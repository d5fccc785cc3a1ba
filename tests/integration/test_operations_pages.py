"""Operations: the conversations list (filters on their indexes, counts, pagination) and the
viewer of one conversation with its path on the tree, through the API and the pages."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from quart import Quart

from routing_core.infra.clock import utcnow
from routing_core.model.interaction import Channel, Inbound, InteractionState
from routing_core.services import Services
from tests.conftest import Api
from tests.integration.test_admin_pages import Pages
from tests.support.routings import DRINKS, production_routing, webchat_entry_point


def said(entry_point_id: str, contact: str, text: str, provider_id: str,
         name: str | None = None) -> Inbound:
    return Inbound(channel=Channel.webchat, entry_point_id=entry_point_id, contact=contact,
                   provider_id=provider_id, text=text, contact_name=name)


async def drinks_conversations(services: Services) -> dict[str, Any]:
    """Three conversations: Alice waits on the question, Bob chose tea (ended), Carol on
    another entry point waits too."""
    routing_id = await production_routing(services, "drinks", DRINKS)
    front = await webchat_entry_point(services, routing_id, "front")
    side = await webchat_entry_point(services, routing_id, "side")
    runtime = services.runtime
    await runtime.receive(said(front.id, "visitor-alice", "hi", "a1", "Alice Martin"), wait=True)
    await runtime.receive(said(front.id, "visitor-bob", "hi", "b1", "Bob"), wait=True)
    await runtime.receive(said(front.id, "visitor-bob", "Tea", "b2", "Bob"), wait=True)
    await runtime.receive(said(side.id, "visitor-carol", "hello", "c1", "Carol"), wait=True)
    return {"routing": routing_id, "front": front.id, "side": side.id}


async def listed(api: Api, query: str) -> dict[str, Any]:
    response = await api.get("/api/interactions" + query)
    assert response.status_code == 200, response.json_body
    return response.json_body


async def contacts_of(api: Api, query: str) -> list[str]:
    return [item["contact"] for item in (await listed(api, query))["items"]]


async def test_the_list_filters_each_way_and_counts(api: Api, services: Services) -> None:
    setup = await drinks_conversations(services)
    everything = await listed(api, "")
    assert [item["contact"] for item in everything["items"]] == [
        "visitor-carol", "visitor-bob", "visitor-alice"]  # newest first
    assert everything["count"] == 3 and not everything["count_capped"]
    states = {item["contact"]: item["state"] for item in everything["items"]}
    assert states == {"visitor-carol": "waiting", "visitor-bob": "ended",
                      "visitor-alice": "waiting"}

    assert await contacts_of(api, f"?entry_point={setup['side']}") == ["visitor-carol"]
    assert await contacts_of(api, "?state=ended") == ["visitor-bob"]
    assert await contacts_of(api, "?status=active") == ["visitor-carol", "visitor-alice"]
    assert await contacts_of(api, "?contact=ali") == ["visitor-alice"]  # a name's start
    assert await contacts_of(api, "?contact=visitor-bob") == ["visitor-bob"]  # the address
    assert await contacts_of(api, f"?routing={setup['routing']}&channel=webchat&state=waiting"
                             ) == ["visitor-carol", "visitor-alice"]
    assert await contacts_of(api, "?channel=telegram") == []
    assert await contacts_of(api, "?test=true") == []
    tomorrow = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%dT00:00:00Z")
    assert await contacts_of(api, f"?started_from={tomorrow}") == []
    assert len(await contacts_of(api, f"?started_to={tomorrow}")) == 3

    first = await listed(api, "?limit=2")
    assert first["count"] == 3 and first["next"]
    rest = await listed(api, f"?limit=2&cursor={first['next']}")
    assert [item["contact"] for item in rest["items"]] == ["visitor-alice"]
    assert rest["next"] is None


async def test_bad_filters_get_a_sentence(api: Api, services: Services) -> None:
    for query, word in (("?state=sleeping", "state"), ("?started_from=yesterday", "started_from"),
                        ("?started_from=2026-12-01T00:00:00", "time zone"),
                        ("?limit=0", "limit"), ("?channel=fax", "channel")):
        response = await api.get("/api/interactions" + query)
        assert response.status_code == 422, query
        assert word in str(response.json_body), (query, response.json_body)


async def test_the_state_of_an_old_interaction_is_filled_in(services: Services) -> None:
    """Interactions stored before ``state`` existed get theirs when the indexes are ensured."""
    await drinks_conversations(services)
    collection = services.store.interactions.collection
    await collection.update_many({}, {"$unset": {"state": ""}})
    await services.store.interactions.ensure_indexes()
    states = sorted([document["state"] async for document in collection.find()])
    assert states == ["ended", "waiting", "waiting"]


async def test_the_pages_list_and_show_a_conversation(app: Quart, services: Services) -> None:
    await drinks_conversations(services)
    pages = Pages(app)
    await pages.log_in()
    status, text, _ = await pages.get("/admin/interactions?contact=Bob")
    assert status == 200
    assert "Bob" in text and "Alice" not in text and "1 conversation," in text
    interaction = await services.store.interactions.find_one({"contact": "visitor-bob"})
    assert interaction is not None and interaction.state is InteractionState.ended
    status, text, _ = await pages.get(f"/admin/interactions/{interaction.id}")
    assert status == 200
    assert "visitor-bob" in text and "webchat" in text and "v1" in text
    assert text.count('class="box') and "on-path" in text  # the path on the tree
    assert "data-live-url" not in text  # an ended conversation does not refresh

    alice = await services.store.interactions.find_one({"contact": "visitor-alice"})
    assert alice is not None
    _, text, _ = await pages.get(f"/admin/interactions/{alice.id}")
    assert "data-live-url" in text
    status, live, _ = await pages.get(f"/admin/interactions/{alice.id}/live")
    assert status == 200 and 'data-live="on"' in live and "Tea or coffee?" in live

    status, text, _ = await pages.get("/admin/interactions?state=asleep&from=tomorrow")
    assert status == 200
    assert "choose a state from the list" in text and "a date, as 2026-12-04" in text


async def test_the_audit_log_filters_by_user_kind_target_and_dates(
    app: Quart, api: Api, services: Services
) -> None:
    from routing_core.model.audit import Actor

    alice, bob = Actor(id="u-alice", name="alice@example.com"), Actor(id="u-bob", name="bob")
    audit = services.store.audit
    await audit.record_change(alice, "version.produce", "version", "v-1")
    await audit.record_change(bob, "version.schedule", "version", "v-2")
    await audit.record_change(bob, "user.update", "user", "u-alice")

    async def actions(query: str) -> list[str]:
        response = await api.get("/api/audit" + query)
        assert response.status_code == 200, response.json_body
        return [item["action"] for item in response.json_body["items"]]

    assert await actions("?actor=u-bob") == ["user.update", "version.schedule"]
    assert await actions("?action=version") == ["version.schedule", "version.produce"]
    assert await actions("?action=version.produce") == ["version.produce"]
    assert await actions("?target=v-2") == ["version.schedule"]
    assert await actions("?target=user") == ["user.update"]
    tomorrow = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%dT00:00:00Z")
    assert await actions(f"?since={tomorrow}") == []
    assert len(await actions(f"?before={tomorrow}&limit=2")) == 2
    assert (await api.get("/api/audit?since=soon")).status_code == 422

    pages = Pages(app)
    await pages.log_in()
    status, text, _ = await pages.get("/admin/audit?user=u-bob&kind=version")
    assert status == 200
    rows = re.findall(r'data-audit="([^"]+)"', text)
    assert rows == ["version.schedule"]
    _, text, _ = await pages.get("/admin/audit?from=someday")
    assert "a date, as 2026-12-04" in text


async def test_stuck_conversations_are_found_and_repaired(
    app: Quart, api: Api, services: Services
) -> None:
    """Alice waits too long: run the question again; Carol is moved to an answer; a repair
    with a stale event_seq is refused; a bad action is refused; each is audited."""
    await drinks_conversations(services)
    collection = services.store.interactions.collection
    await collection.update_many({"active": True},
                                 {"$set": {"updated_at": utcnow() - timedelta(hours=3)}})
    alice = await services.store.interactions.find_one({"contact": "visitor-alice"})
    carol = await services.store.interactions.find_one({"contact": "visitor-carol"})
    assert alice is not None and carol is not None

    listed = (await api.get("/api/interactions/stuck?waiting_minutes=60")).json_body["items"]
    assert {item["interaction"]["contact"]: item["reasons"] for item in listed} == {
        "visitor-alice": ["waiting_too_long"], "visitor-carol": ["waiting_too_long"]}
    assert (await api.get("/api/interactions/stuck?waiting_minutes=600")).json_body[
        "items"] == []

    stale = await api.post(f"/api/interactions/{alice.id}/repair",
                           {"kind": "rerun", "event_seq": alice.event_seq - 1})
    assert stale.status_code == 409 and "moved on" in stale.json_body["error"]["message"]
    bad = await api.post(f"/api/interactions/{alice.id}/repair",
                         {"kind": "move", "event_seq": alice.event_seq, "action": "nowhere"})
    assert bad.status_code == 422
    rerun = await api.post(f"/api/interactions/{alice.id}/repair",
                           {"kind": "rerun", "event_seq": alice.event_seq})
    assert rerun.status_code == 200, rerun.json_body
    assert rerun.json_body["state"] == "waiting" and rerun.json_body["event_seq"] > alice.event_seq
    events = await services.store.events.of_interaction(alice.id)
    repaired = [(event.type, event.data.get("text")) for event in events][-2:]
    assert repaired == [("repair", None), ("outbound", "Tea or coffee?")]
    # the conversation goes on from there: the customer answers the question asked again
    await services.runtime.receive(said(alice.entry_point_id, "visitor-alice", "Coffee", "a2"),
                                   wait=True)
    assert (await services.store.interactions.get(alice.id)).state is InteractionState.ended

    pages = Pages(app)
    await pages.log_in()
    status, text, _ = await pages.get("/admin/stuck-conversations?minutes=60")
    assert status == 200 and "1 stuck conversation" in text and "Carol" in text
    status, _, response = await pages.post(f"/admin/stuck-conversations/{carol.id}", {
        "kind": "move", "seq": str(carol.event_seq), "action": "tea", "minutes": "60"})
    assert status == 302
    text = await pages.follow(response)
    assert "The conversation was moved." in text and "Nothing is stuck" in text
    moved = await services.store.interactions.get(carol.id)
    assert moved.state is InteractionState.ended and "tea" in moved.path
    _, _, response = await pages.post(f"/admin/stuck-conversations/{carol.id}", {
        "kind": "end", "seq": str(carol.event_seq)})
    assert "Not repaired: the conversation has ended meanwhile." in await pages.follow(response)

    audited = [item["action"] for item in
               (await api.get("/api/audit?action=interaction")).json_body["items"]]
    assert audited == ["interaction.move", "interaction.rerun"]


async def test_a_failing_step_is_counted_until_a_step_commits(services: Services) -> None:
    await drinks_conversations(services)
    alice = await services.store.interactions.find_one({"contact": "visitor-alice"})
    assert alice is not None
    collection = services.store.interactions.collection
    await collection.update_one({"_id": alice.id}, {"$set": {"lease_owner": "me"}})
    await services.store.interactions.note_step_failure(alice.id, "me", "KeyError: 'x'")
    await collection.update_one({"_id": alice.id}, {"$set": {"lease_owner": None}})
    [item] = await services.repairs.stuck(timedelta(hours=1))
    assert item.reasons == ["step_failing"] and item.interaction.step_error == "KeyError: 'x'"
    await services.runtime.receive(said(alice.entry_point_id, "visitor-alice", "Tea", "a3"),
                                   wait=True)
    assert await services.repairs.stuck(timedelta(hours=1)) == []


async def test_statistics_count_what_ran(app: Quart, api: Api, services: Services) -> None:
    """Alice waits, Bob chose tea, Carol waits: the counts per day, per action and link,
    per entry point match those conversations; the page draws them on the tree."""
    setup = await drinks_conversations(services)
    version = await services.store.versions.find_one({"routing_id": setup["routing"]})
    assert version is not None
    since = (utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    before = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    response = await api.get(f"/api/smart-routings/{setup['routing']}/statistics"
                             f"?since={since}&before={before}")
    assert response.status_code == 200, response.json_body
    figures = response.json_body
    assert sum(day["started"] for day in figures["days"]) == 3
    assert sum(day["ended"] for day in figures["days"]) == 1
    assert sum(day["abandoned"] + day["failed"] + day["with_agent"]
               for day in figures["days"]) == 0
    actions = figures["actions"]
    assert actions["total"] == 3
    assert actions["conversations"] == {"start": 3, "ask": 3, "tea": 1}
    assert actions["ended_here"] == {"tea": 1}
    links = {(link["after"], link["before"]): link["conversations"] for link in actions["links"]}
    assert links == {("start", "ask"): 3, ("ask", "tea"): 1}
    by_entry_point = {item["entry_point_id"]: item for item in figures["entry_points"]}
    front = by_entry_point[setup["front"]]
    assert (front["conversations"], front["inbound"], front["outbound"]) == (2, 3, 3)
    assert front["replies_timed"] == 3 and front["latency_p50_ms"] is not None
    assert by_entry_point[setup["side"]]["inbound"] == 1

    bad = await api.get(f"/api/smart-routings/{setup['routing']}/statistics"
                        f"?since={before}&before={since}")
    assert bad.status_code == 422 and "before must come after since" in str(bad.json_body)

    pages = Pages(app)
    await pages.log_in()
    status, text, _ = await pages.get(f"/admin/statistics?routing={setup['routing']}")
    assert status == 200
    assert re.search(r'data-total="started"><span class="figure-value">3<', text)
    assert 'data-link="ask:tea" data-count="1"' in text
    assert re.search(r'data-action="ask"[^>]*>.*?data-count="3"', text, re.S)
    assert text.count('class="chart-bar') == 7 * 5  # a week, five series
    status, text, _ = await pages.get("/admin/statistics?from=2026-12-10&to=2026-12-01")
    assert status == 200 and "the last day comes after the first" in text


async def test_the_editor_draws_the_last_weeks_counts(app: Quart, services: Services) -> None:
    setup = await drinks_conversations(services)
    version = await services.store.versions.find_one({"routing_id": setup["routing"]})
    assert version is not None
    pages = Pages(app)
    await pages.log_in()
    _, text, _ = await pages.get(f"/admin/versions/{version.id}")
    assert "data-link=" not in text and "Counts" in text
    _, text, _ = await pages.get(f"/admin/versions/{version.id}?counts=1")
    assert 'data-link="start:ask" data-count="3"' in text
    assert 'data-link="ask:tea" data-count="1"' in text
    assert 'data-link="ask:coffee" data-count="0"' in text


async def test_the_home_page_shows_what_runs(app: Quart, services: Services) -> None:
    await drinks_conversations(services)
    response = await app.test_client().get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/")
    pages = Pages(app)
    await pages.log_in()
    status, text, _ = await pages.get("/admin/")
    assert status == 200 and "At a glance" in text
    assert re.search(r'data-figure="live">\s*<span class="figure-value">2<', text)
    assert re.search(r'data-figure="failed">\s*<span class="figure-value">0<', text)
    assert "No production is scheduled." in text
    for page_link in ("/admin/interactions", "/admin/failed-messages", "/admin/audit",
                      "/admin/stuck-conversations", "/admin/statistics"):
        assert f'href="{page_link}"' in text
