"""Scheduled productions really happen, exactly once, also late and with two processes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from config import Settings
from routing_core.infra.clock import utcnow
from routing_core.infra.errors import Conflict
from routing_core.model.audit import SYSTEM
from routing_core.model.routing import VersionStatus
from routing_core.routing.lifecycle import Lifecycle
from routing_core.routing.scheduling import ProductionScheduler
from routing_core.services import Services
from routing_core.store import Store
from tests.conftest import Api
from tests.integration.builders import domain_ready_version, new_routing, ok, ready_version


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "not within the timeout"
        await asyncio.sleep(0.05)


async def run_after(delay: float, work: Awaitable[Any]) -> Any:
    """Start ``work`` a little later: staggered racers meet at every step, not in lockstep."""
    await asyncio.sleep(delay)
    return await work


@asynccontextmanager
async def running(*schedulers: ProductionScheduler) -> AsyncIterator[None]:
    await asyncio.gather(*(scheduler.start() for scheduler in schedulers))
    try:
        yield
    finally:
        for scheduler in schedulers:
            await scheduler.stop()


async def audit_of(services: Services, version_id: str, action: str) -> list[dict[str, Any]]:
    return await services.store.audit.collection.find(
        {"target_id": version_id, "action": action}
    ).to_list()


def status_is(services: Services, version_id: str, status: VersionStatus) -> Callable[[], Any]:
    async def check() -> bool:
        return (await services.store.versions.get(version_id)).status is status

    return check


async def test_a_schedule_due_in_a_second_goes_to_production(services: Services) -> None:
    lifecycle = services.lifecycle
    current = await domain_ready_version(services, "main", "current")
    await lifecycle.put_in_production(SYSTEM, current.id)
    version = await lifecycle.create_version(
        SYSTEM, current.routing_id, name="next", copy_from=current.id
    )
    cancelled = await domain_ready_version(services, "other")
    soon = utcnow() + timedelta(seconds=1.5)
    await lifecycle.schedule(SYSTEM, version.id, soon)
    await lifecycle.schedule(SYSTEM, cancelled.id, soon)
    await lifecycle.cancel_schedule(SYSTEM, cancelled.id)

    async with running(ProductionScheduler(lifecycle, poll_seconds=0.2)):
        await eventually(status_is(services, version.id, VersionStatus.production))
    assert utcnow() >= soon
    promoted = await services.store.versions.get(version.id)
    assert promoted.scheduled_at is None and promoted.production_at is not None
    assert (await services.store.versions.get(current.id)).status is VersionStatus.backup
    (entry,) = await audit_of(services, version.id, "version.scheduled_production")
    assert entry["actor"] == "system" and entry["details"]["late"] is False
    assert entry["details"]["previous"] == current.id
    untouched = await services.store.versions.get(cancelled.id)
    assert untouched.status is VersionStatus.development
    assert await audit_of(services, cancelled.id, "version.scheduled_production") == []


async def test_a_schedule_made_through_the_api_runs_at_its_time(
    api: Api, services: Services
) -> None:
    """The service's own scheduler polls hourly in tests: only the exact-time job can run it."""
    routing = await new_routing(api)
    version = await ready_version(api, routing["id"])
    at = (utcnow() + timedelta(seconds=1.5)).isoformat()
    ok(await api.put(f"/api/versions/{version['id']}/schedule", json={"at": at}))
    await eventually(status_is(services, version["id"], VersionStatus.production))
    assert len(await audit_of(services, version["id"], "version.scheduled_production")) == 1


async def test_two_processes_run_each_schedule_exactly_once(
    services: Services, settings: Settings
) -> None:
    lifecycle = services.lifecycle
    pairs = []  # (current production, scheduled successor) of four routings
    for number in range(4):
        current = await domain_ready_version(services, f"routing-{number}", "current")
        await lifecycle.put_in_production(SYSTEM, current.id)
        successor = await lifecycle.create_version(
            SYSTEM, current.routing_id, name="next", copy_from=current.id
        )
        pairs.append((current, successor))
    soon = utcnow() + timedelta(seconds=1.5)
    for _, successor in pairs:
        await lifecycle.schedule(SYSTEM, successor.id, soon)
    stores = [
        Store.connect(settings.mongodb_uri or "", settings.mongodb_database) for _ in range(2)
    ]
    schedulers = [
        ProductionScheduler(Lifecycle(store, settings.zone), poll_seconds=0.05) for store in stores
    ]
    try:
        async with running(*schedulers):
            for _, successor in pairs:
                await eventually(status_is(services, successor.id, VersionStatus.production))
            await asyncio.sleep(0.3)  # more polls from both processes: still nothing to do
    finally:
        for store in stores:
            await store.close()
    for current, successor in pairs:
        assert len(await audit_of(services, successor.id, "version.scheduled_production")) == 1
        versions = await services.store.versions.all({"routing_id": current.routing_id})
        assert {version.id: version.status for version in versions} == {
            current.id: VersionStatus.backup,
            successor.id: VersionStatus.production,
        }


async def test_racing_runs_of_one_due_schedule_promote_it_once(
    services: Services, settings: Settings
) -> None:
    """What two processes' jobs do at the same instant, staggered a little differently in
    each round so that the racers meet at every step of the transition."""
    stores = [
        Store.connect(settings.mongodb_uri or "", settings.mongodb_database) for _ in range(2)
    ]
    lifecycles = [Lifecycle(store, settings.zone) for store in stores]
    current = await domain_ready_version(services, "main", "v0")
    await services.lifecycle.put_in_production(SYSTEM, current.id)
    try:
        for step in (0.0, 0.0005, 0.001, 0.002, 0.004):
            successor = await services.lifecycle.create_version(
                SYSTEM, current.routing_id, name=f"after {current.name}", copy_from=current.id
            )
            await services.lifecycle.schedule(SYSTEM, successor.id, utcnow() + timedelta(hours=1))
            await services.store.versions.collection.update_one(
                {"_id": successor.id}, {"$set": {"scheduled_at": utcnow()}}
            )
            outcomes = await asyncio.gather(
                *(
                    run_after(number * step, lifecycle.run_due_schedule(successor.id))
                    for number, lifecycle in enumerate(lifecycles * 4)
                ),
                return_exceptions=True,
            )
            assert outcomes.count(True) == 1, outcomes
            assert {type(outcome) for outcome in outcomes} <= {bool, Conflict}, outcomes
            statuses = {
                version.id: version.status
                for version in await services.store.versions.all(
                    {"routing_id": current.routing_id, "status": {"$ne": "backup"}}
                )
            }
            assert statuses == {successor.id: VersionStatus.production}, step
            audited = await audit_of(services, successor.id, "version.scheduled_production")
            assert [entry["details"]["previous"] for entry in audited] == [current.id]
            current = successor
    finally:
        for store in stores:
            await store.close()


async def test_a_schedule_missed_while_down_runs_at_start_and_says_late(
    services: Services,
) -> None:
    version = await domain_ready_version(services, "main")
    await services.lifecycle.schedule(SYSTEM, version.id, utcnow() + timedelta(hours=1))
    missed = utcnow() - timedelta(minutes=10)
    await services.store.versions.collection.update_one(
        {"_id": version.id}, {"$set": {"scheduled_at": missed}}
    )
    async with running(ProductionScheduler(services.lifecycle, poll_seconds=3600)):
        await eventually(status_is(services, version.id, VersionStatus.production))
    (entry,) = await audit_of(services, version.id, "version.scheduled_production")
    assert entry["details"]["late"] is True
    assert entry["details"]["late_by_seconds"] >= 600


async def test_a_due_schedule_of_an_invalid_tree_is_dropped_and_audited(
    services: Services,
) -> None:
    current = await domain_ready_version(services, "main", "current")
    await services.lifecycle.put_in_production(SYSTEM, current.id)
    version = await services.lifecycle.create_version(
        SYSTEM, current.routing_id, name="broken", copy_from=current.id
    )
    await services.lifecycle.schedule(SYSTEM, version.id, utcnow() + timedelta(hours=1))
    await services.store.versions.collection.update_one(
        {"_id": version.id},
        {"$set": {"scheduled_at": utcnow(), "tree.actions.1.next.next": "ghost"}},
    )

    async def dropped() -> bool:
        return bool(await audit_of(services, version.id, "version.schedule_failed"))

    async with running(ProductionScheduler(services.lifecycle, poll_seconds=3600)):
        await eventually(dropped)
    (entry,) = await audit_of(services, version.id, "version.schedule_failed")
    assert "ghost" in entry["details"]["reason"]
    kept = await services.store.versions.get(version.id)
    assert kept.status is VersionStatus.development and kept.scheduled_at is None
    assert (await services.store.versions.get(current.id)).status is VersionStatus.production
