"""Scheduled productions on APScheduler, with the version document as the source of truth.

Each process plans a date job for every schedule it knows and polls for due schedules
(so a schedule made on another process, or missed while the service was down, still
runs). Running one is a conditional transition in ``Lifecycle.run_due_schedule``: with any
number of processes, it happens once.
"""

from __future__ import annotations

import logging
from datetime import UTC

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from routing_core.model.routing import Version
from routing_core.routing.lifecycle import Lifecycle

log = logging.getLogger(__name__)


class ProductionScheduler:
    def __init__(self, lifecycle: Lifecycle, poll_seconds: float):
        self.lifecycle = lifecycle
        self.poll_seconds = poll_seconds
        self._scheduler: AsyncIOScheduler | None = None

    async def start(self) -> None:
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._scheduler.add_job(
            self.run_due,
            "interval",
            seconds=self.poll_seconds,
            id="due-schedules",
            next_run_time=self.lifecycle.clock(),  # at start-up: the missed ones first
            max_instances=1,
            coalesce=True,
        )
        self._scheduler.start()
        for version in await self.lifecycle.store.versions.all({"scheduled_at": {"$type": "date"}}):
            self.plan(version)

    async def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None

    def plan(self, version: Version) -> None:
        """Add, move or drop the exact-time job of one version after its schedule changed."""
        if self._scheduler is None:
            return
        if version.scheduled_at is None:
            self.forget(version.id)
            return
        self._scheduler.add_job(
            self.run_one,
            "date",
            run_date=version.scheduled_at,
            args=[version.id],
            id=f"schedule:{version.id}",
            replace_existing=True,
            misfire_grace_time=None,
        )

    def version_changed(self, version_id: str, version: Version | None) -> None:
        """A lifecycle listener: every change of a version's schedule re-plans its job."""
        if version is None:
            self.forget(version_id)
        else:
            self.plan(version)

    def forget(self, version_id: str) -> None:
        if self._scheduler is not None and self._scheduler.get_job(f"schedule:{version_id}"):
            self._scheduler.remove_job(f"schedule:{version_id}")

    async def run_one(self, version_id: str) -> None:
        try:
            if await self.lifecycle.run_due_schedule(version_id):
                log.info("scheduled production of version %s done", version_id)
        except Exception:  # the poll retries; never kill the scheduler thread
            log.exception("scheduled production of version %s failed", version_id)

    async def run_due(self) -> None:
        try:
            due = await self.lifecycle.due_schedules()
        except Exception:
            log.exception("cannot read due schedules")
            return
        for version in due:
            await self.run_one(version.id)
