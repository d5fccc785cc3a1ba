"""Regression replays: a job replays recorded conversations of one version through
another; each conversation's verdict is a result of its own (a job's results can be many)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from routing_core.model.base import Record, Timestamped

ReplayStatus = Literal["running", "done", "failed"]


class ReplayJob(Timestamped):
    version_id: str  # the candidate
    against_id: str  # the version whose conversations are replayed
    requested: int  # how many recorded conversations were asked for (the newest)
    entry_point_id: str | None = None  # only those that came through this entry point
    since: datetime | None = None  # only those started from then
    before: datetime | None = None  # only those started before then
    total: int = 0
    done: int = 0
    status: ReplayStatus = "running"
    counts: dict[str, int] = Field(default_factory=dict)  # verdict → conversations
    error: str | None = None
    actor: str = ""
    seconds: float | None = None  # how long it ran


class ReplayOutcome(Record):
    """One conversation's verdict in a job."""

    job_id: str
    interaction_id: str
    verdict: str
    reason: str | None = None
    recorded: list[str] = Field(default_factory=list)
    replayed: list[str] = Field(default_factory=list)
    first_difference: int | None = None
    recorded_path: list[str] = Field(default_factory=list)
    replayed_path: list[str] = Field(default_factory=list)
    messages: int = 0
