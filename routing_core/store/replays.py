"""Regression replay jobs and their per-conversation results."""

from __future__ import annotations

from pymongo import ASCENDING, DESCENDING, IndexModel

from routing_core.model.replays import ReplayJob, ReplayOutcome
from routing_core.store.repository import Repository


class ReplayJobRepository(Repository[ReplayJob]):
    collection_name = "replay_jobs"
    record = ReplayJob
    label = "replay"
    INDEXES = [IndexModel([("version_id", ASCENDING), ("_id", DESCENDING)],
                          name="by_version")]


class ReplayOutcomeRepository(Repository[ReplayOutcome]):
    collection_name = "replay_results"
    record = ReplayOutcome
    label = "replay result"
    INDEXES = [IndexModel([("job_id", ASCENDING), ("verdict", ASCENDING), ("_id", ASCENDING)],
                          name="by_job")]
