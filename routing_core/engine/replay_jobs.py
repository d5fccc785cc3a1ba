"""Replay jobs: the last N recorded conversations of a version (by default the routing's
production) replayed through a candidate, in the background of the process that was asked,
with progress stored as it goes (``replay_jobs``) and a verdict per conversation
(``replay_results``). A job whose process died is seen as stale (no progress for a minute)
and can simply be asked again: a replay has no side effect."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from routing_core.engine.replay import replay_one
from routing_core.engine.runtime import Runtime
from routing_core.infra.errors import Conflict, Invalid
from routing_core.infra.ids import id_at
from routing_core.model.audit import Actor
from routing_core.model.interaction import Interaction
from routing_core.model.replays import ReplayJob, ReplayOutcome
from routing_core.model.routing import VersionStatus

log = logging.getLogger(__name__)
BATCH = 100
MAX_CONVERSATIONS = 5_000
STALE_AFTER = timedelta(minutes=1)


class ReplayJobs:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.store = runtime.store
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, actor: Actor, version_id: str, last: int,
                    against_id: str | None = None, *, entry_point_id: str | None = None,
                    since: datetime | None = None, before: datetime | None = None,
                    ) -> ReplayJob:
        if not 1 <= last <= MAX_CONVERSATIONS:
            raise Invalid(f"replay from 1 to {MAX_CONVERSATIONS:,} conversations",
                          field="last")
        candidate = await self.store.versions.get(version_id)
        if against_id:
            against = await self.store.versions.get(against_id)
            if against.routing_id != candidate.routing_id:
                raise Invalid("replay conversations of a version of the same smart routing",
                              field="against")
        else:
            found = await self.store.versions.find_one(
                {"routing_id": candidate.routing_id, "status": VersionStatus.production.value})
            if found is None:
                raise Conflict("the smart routing has no production version whose "
                               "conversations could be replayed", code="no_production")
            against = found
        if since and before and before <= since:
            raise Invalid("the period's end comes after its start", field="before")
        job = ReplayJob(version_id=candidate.id, against_id=against.id, requested=last,
                        entry_point_id=entry_point_id, since=since, before=before,
                        actor=actor.name)
        await self.store.replay_jobs.insert(job)
        await self.store.audit.record_change(actor, "version.replay", "version", candidate.id,
                                             against=against.id, last=last, job=job.id)
        task = asyncio.create_task(self._run(job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    async def wait(self) -> None:
        """Until every job started here is over (tests, shut-down)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def _run(self, job: ReplayJob) -> None:
        started = time.perf_counter()
        try:
            await self._replay(job)
        except Exception as error:  # the job says it failed; the service goes on
            log.exception("replay job %s failed", job.id)
            await self._progress(job, status="failed", error=f"{type(error).__name__}: {error}")
            return
        await self._progress(job, status="done", seconds=round(time.perf_counter() - started, 3))

    async def _replay(self, job: ReplayJob) -> None:
        candidate = await self.store.versions.get(job.version_id)
        tree = candidate.tree
        query: dict[str, Any] = {"version_id": job.against_id, "test": False, "kind": "start"}
        if job.entry_point_id:
            query["entry_point_id"] = job.entry_point_id
        bounds = {key: id_at(moment) for key, moment in (("$gte", job.since),
                                                         ("$lt", job.before)) if moment}
        if bounds:
            query["_id"] = bounds
        found = self.store.interactions.collection.find(query).sort("_id", -1).limit(
            job.requested)
        recorded = [Interaction.from_document(document) for document in await found.to_list()]
        await self._progress(job, total=len(recorded))
        reference = self.runtime.interpreter.ports.reference
        for start in range(0, len(recorded), BATCH):
            batch = recorded[start:start + BATCH]
            events = await self.store.events.of_interactions([item.id for item in batch])
            outcomes = []
            for original in batch:
                result = await replay_one(original, events.get(original.id, []), tree,
                                          self.runtime.trees, reference, self.runtime.clock())
                outcomes.append(ReplayOutcome(job_id=job.id, **asdict(result)))
                job.counts[result.verdict] = job.counts.get(result.verdict, 0) + 1
            await self.store.replay_results.collection.insert_many(
                [outcome.to_document() for outcome in outcomes])
            job.done += len(batch)
            await self._progress(job, done=job.done, counts=job.counts)

    async def _progress(self, job: ReplayJob, **fields: Any) -> None:
        for key, value in fields.items():
            setattr(job, key, value)
        await self.store.replay_jobs.collection.update_one(
            {"_id": job.id}, {"$set": {**fields, "updated_at": self.runtime.clock()}})

    def stale(self, job: ReplayJob) -> bool:
        """Running, but no progress for a minute: its process died."""
        return job.status == "running" and self.runtime.clock() - job.updated_at > STALE_AFTER
