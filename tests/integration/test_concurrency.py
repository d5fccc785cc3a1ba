"""Concurrent requests on one routing: exactly one winner, never zero or two productions,
never a silently lost tree edit."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

from routing_core.infra.errors import Conflict
from routing_core.model.audit import SYSTEM
from routing_core.services import Services
from tests.conftest import Api
from tests.integration.builders import (
    domain_ready_version,
    new_routing,
    new_version,
    ok,
    ready_version,
    statuses,
)


async def production_count(services: Services, routing_id: str) -> int:
    return await services.store.versions.collection.count_documents(
        {"routing_id": routing_id, "status": "production"}
    )


async def test_ten_concurrent_productions_of_one_version_have_one_winner(
    api: Api, services: Services
) -> None:
    routing = await new_routing(api)
    version = await ready_version(api, routing["id"])
    path = f"/api/versions/{version['id']}/production"
    responses = await asyncio.gather(*(api.post(path) for _ in range(10)))
    assert Counter(response.status_code for response in responses) == {200: 1, 409: 9}
    assert await production_count(services, routing["id"]) == 1
    audited = await services.store.audit.collection.count_documents(
        {"target_id": version["id"], "action": "version.production"}
    )
    assert audited == 1


async def test_concurrent_productions_through_the_lifecycle(services: Services) -> None:
    version = await domain_ready_version(services, "direct")
    outcomes = await asyncio.gather(
        *(services.lifecycle.put_in_production(SYSTEM, version.id) for _ in range(10)),
        return_exceptions=True,
    )
    winners = [outcome for outcome in outcomes if isinstance(outcome, tuple)]
    losers = [outcome for outcome in outcomes if isinstance(outcome, Conflict)]
    assert (len(winners), len(losers)) == (1, 9), outcomes
    assert await production_count(services, version.routing_id) == 1


async def test_two_versions_racing_to_production_leave_exactly_one(
    api: Api, services: Services
) -> None:
    routing = await new_routing(api)
    rid = routing["id"]
    current = await ready_version(api, rid, "current")
    ok(await api.post(f"/api/versions/{current['id']}/production"))
    for round_number in range(5):
        first = await ready_version(api, rid, f"a{round_number}")
        second = await ready_version(api, rid, f"b{round_number}")
        responses = await asyncio.gather(
            api.post(f"/api/versions/{first['id']}/production"),
            api.post(f"/api/versions/{second['id']}/production"),
        )
        assert {response.status_code for response in responses} <= {200, 409}
        assert 200 in {response.status_code for response in responses}
        assert await production_count(services, rid) == 1
        now = await statuses(api, rid)
        assert {now[f"a{round_number}"], now[f"b{round_number}"]} in (
            {"production", "backup"},
            {"production", "development"},
        )
        winners = [response.json_body for response in responses if response.status_code == 200]
        # Each winner's "previous" was the production just before it, never lost track of.
        previous_ids = {winner["previous"]["id"] for winner in winners}
        assert len(previous_ids) == len(winners)


async def test_concurrent_put_in_test_has_one_winner(api: Api, services: Services) -> None:
    routing = await new_routing(api)
    versions = [await new_version(api, routing["id"], f"v{n}") for n in range(5)]
    responses = await asyncio.gather(
        *(api.post(f"/api/versions/{version['id']}/test") for version in versions)
    )
    assert Counter(response.status_code for response in responses) == {200: 1, 409: 4}
    in_test = await services.store.versions.collection.count_documents(
        {"routing_id": routing["id"], "in_test": True}
    )
    assert in_test == 1


async def test_concurrent_tree_edits_lose_nothing(api: Api) -> None:
    routing = await new_routing(api)
    version = await new_version(api, routing["id"])
    vid, start = version["id"], version["tree"]["start"]
    body = {"type": "checkpoint", "after": {"action": start}}
    responses = await asyncio.gather(
        *(
            api.post(f"/api/versions/{vid}/actions", json=body | {"params": {"label": f"c{n}"}})
            for n in range(8)
        )
    )
    codes = Counter(response.status_code for response in responses)
    assert set(codes) <= {201, 409} and codes[201] >= 1
    for response in responses:
        if response.status_code == 409:
            assert response.json_body["error"]["code"] == "concurrent_change"
    added = {response.json_body["id"] for response in responses if response.status_code == 201}
    saved = ok(await api.get(f"/api/versions/{vid}"))
    in_tree = {action["id"] for action in saved["tree"]["actions"]} - {start}
    assert in_tree == added  # every acknowledged edit is there, nothing else
    assert saved["revision"] == version["revision"] + len(added)


async def test_an_edit_racing_production_is_refused_or_lands_before_it(
    api: Api, services: Services
) -> None:
    routing = await new_routing(api)
    version = await ready_version(api, routing["id"])
    vid = version["id"]
    rename, production = await asyncio.gather(
        api.patch(f"/api/versions/{vid}", json={"name": "renamed"}),
        api.post(f"/api/versions/{vid}/production"),
    )
    assert production.status_code == 200
    saved = ok(await api.get(f"/api/versions/{vid}"))
    assert saved["status"] == "production"
    if rename.status_code == 200:
        assert saved["name"] == "renamed"
    else:
        assert rename.status_code == 409 and saved["name"] == version["name"]


async def test_concurrent_routings_with_one_reference_have_one_winner(api: Api) -> None:
    body = {"name": "Sales", "reference": "sales", "type": "start"}
    responses = await asyncio.gather(
        *(api.post("/api/smart-routings", json=body) for _ in range(5))
    )
    assert Counter(response.status_code for response in responses) == {201: 1, 409: 4}
    assert len(ok(await api.get("/api/smart-routings"))["items"]) == 1


async def test_concurrent_schedules_on_one_date_have_one_winner(api: Api) -> None:
    routing = await new_routing(api)
    versions = [await ready_version(api, routing["id"], f"v{n}") for n in range(4)]
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(hour=8, minute=0)
    responses = await asyncio.gather(
        *(
            api.put(
                f"/api/versions/{version['id']}/schedule",
                json={"at": (tomorrow + timedelta(hours=n)).isoformat()},
            )
            for n, version in enumerate(versions)
        )
    )
    assert Counter(response.status_code for response in responses) == {200: 1, 409: 3}


async def test_deleting_a_backup_while_it_is_rolled_back_never_leaves_zero_productions(
    api: Api, services: Services
) -> None:
    routing = await new_routing(api)
    rid = routing["id"]
    for round_number in range(4):
        backup = await ready_version(api, rid, f"backup {round_number}")
        production = await ready_version(api, rid, f"production {round_number}")
        ok(await api.post(f"/api/versions/{backup['id']}/production"))
        ok(await api.post(f"/api/versions/{production['id']}/production"))
        rollback, delete = await asyncio.gather(
            api.post(f"/api/versions/{backup['id']}/production"),
            api.delete(f"/api/versions/{backup['id']}"),
        )
        assert await production_count(services, rid) == 1
        survivor = await services.store.versions.find(backup["id"])
        if rollback.status_code == 200:
            assert delete.status_code == 409 and survivor is not None
            assert survivor.status.value == "production"
        else:
            assert rollback.status_code in (404, 409) and delete.status_code == 204
            assert survivor is None
        await services.store.versions.collection.delete_many({"routing_id": rid})
