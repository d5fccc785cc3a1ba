"""Regression replays: start one for a candidate version, follow its progress, read the
verdict of each conversation."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field
from quart import Blueprint
from quart_schema import validate_querystring, validate_request, validate_response

from admin.context import actor, require, services
from admin.schemas.common import Strict

blueprint = Blueprint("api_replays", __name__, url_prefix="/api")
Verdict = Literal["same", "different_replies", "different_path", "not_replayable"]


class ReplayIn(Strict):
    last: int = Field(100, ge=1, le=5_000, description="The newest recorded conversations")
    against: str | None = Field(None, max_length=100, description="The version whose "
                                "conversations are replayed (default: production)")
    entry_point: str | None = Field(None, max_length=100,
                                    description="Only conversations of this entry point")
    since: AwareDatetime | None = Field(None, description="Only those started from then")
    before: AwareDatetime | None = Field(None, description="Only those started before")


class ReplayJobOut(BaseModel):
    id: str
    version_id: str
    against_id: str
    requested: int
    total: int
    done: int
    status: Literal["running", "done", "failed", "stale"]
    counts: dict[str, int]
    error: str | None
    seconds: float | None
    created_at: datetime


class ReplayResultOut(BaseModel):
    interaction_id: str
    verdict: Verdict
    reason: str | None
    recorded: list[str]
    replayed: list[str]
    first_difference: int | None
    recorded_path: list[str]
    replayed_path: list[str]
    messages: int


class ReplayResultList(BaseModel):
    items: list[ReplayResultOut]
    next: str | None


class ResultQuery(BaseModel):
    verdict: Verdict | None = None
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=500)


async def job_out(job_id: str) -> ReplayJobOut:
    jobs = services().replays
    job = await services().store.replay_jobs.get(job_id)
    data = job.model_dump()
    if jobs.stale(job):
        data["status"] = "stale"
    return ReplayJobOut.model_validate(data)


@blueprint.post("/versions/<version_id>/replays")
@require("smart_routings:edit")
@validate_request(ReplayIn)
@validate_response(ReplayJobOut, 202)
async def start(version_id: str, data: ReplayIn) -> tuple[ReplayJobOut, int]:
    """Replay the newest recorded conversations of production (or ``against``) through this
    version, in the background: no message sent, nothing written outside the report."""
    job = await services().replays.start(actor(), version_id, data.last, data.against,
                                         entry_point_id=data.entry_point, since=data.since,
                                         before=data.before)
    return await job_out(job.id), 202


@blueprint.get("/replays/<job_id>")
@require("smart_routings:read")
@validate_response(ReplayJobOut)
async def get(job_id: str) -> ReplayJobOut:
    """Progress and the count of each verdict."""
    return await job_out(job_id)


@blueprint.get("/replays/<job_id>/results")
@require("smart_routings:read")
@validate_querystring(ResultQuery)
@validate_response(ReplayResultList)
async def results(job_id: str, query_args: ResultQuery) -> ReplayResultList:
    await services().store.replay_jobs.get(job_id)
    query: dict[str, str] = {"job_id": job_id}
    if query_args.verdict:
        query["verdict"] = query_args.verdict
    items, cursor = await services().store.replay_results.list(
        query, cursor=query_args.cursor, limit=query_args.limit)
    return ReplayResultList(items=[ReplayResultOut.model_validate(item.model_dump())
                                   for item in items], next=cursor)
