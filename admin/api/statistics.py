"""How a routing performs over a period (the statistics page's figures, as JSON)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

from pydantic import AwareDatetime, BaseModel, Field, model_validator
from quart import Blueprint
from quart_schema import validate_querystring, validate_response

from admin.context import require, services
from routing_core.infra.errors import NotFound, Words
from routing_core.store.statistics import Period

blueprint = Blueprint("api_statistics", __name__, url_prefix="/api")
MAX_PERIOD = timedelta(days=366)


class StatisticsQuery(BaseModel):
    since: AwareDatetime
    before: AwareDatetime
    version: str | None = Field(None, max_length=100, description="Default: production")
    only_version: bool = Field(False, description="Per day and entry point: this version's "
                               "conversations only (default: every version's)")

    @model_validator(mode="after")
    def _period(self) -> StatisticsQuery:
        if self.before <= self.since:
            raise ValueError("before must come after since")
        if self.before - self.since > MAX_PERIOD:
            raise ValueError("at most 366 days at a time")
        return self


class DayOut(BaseModel):
    day: str
    started: int
    ended: int
    with_agent: int
    abandoned: int
    failed: int


class LinkOut(BaseModel):
    after: str
    before: str
    conversations: int


class ActionsOut(BaseModel):
    version_id: str
    total: int
    conversations: dict[str, int]
    passages: dict[str, int]
    ended_here: dict[str, int]
    links: list[LinkOut]


class EntryPointStatisticsOut(BaseModel):
    entry_point_id: str
    conversations: int
    inbound: int
    outbound: int
    replies_timed: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None


class VersionStatisticsOut(BaseModel):
    version_id: str
    canary: bool
    started: int
    ended: int
    with_agent: int
    abandoned: int
    failed: int


class StatisticsOut(BaseModel):
    days: list[DayOut]
    versions: list[VersionStatisticsOut] = Field(
        description="Every version's conversations of the period, canary ones apart")
    actions: ActionsOut | None
    entry_points: list[EntryPointStatisticsOut]


@blueprint.get("/smart-routings/<routing_id>/statistics")
@require("smart_routings:read")
@validate_querystring(StatisticsQuery)
@validate_response(StatisticsOut)
async def statistics(routing_id: str, query_args: StatisticsQuery) -> StatisticsOut:
    """Per day (the day each conversation started, in the service's time zone), per action
    and link of a version, per entry point; real conversations only."""
    store = services().store
    routing = await store.routings.get(routing_id)
    version = None
    if query_args.version:
        version = await store.versions.get(query_args.version)
        if version.routing_id != routing.id:
            raise NotFound(Words(
                "no version %(version)r in this smart routing",
                version=query_args.version))
    else:
        version = await store.versions.find_one(
            {"routing_id": routing.id, "status": "production"})
    period = Period(since=query_args.since, before=query_args.before,
                    zone=services().settings.timezone)
    scope = version.id if (query_args.only_version and version) else None
    figures = services().statistics
    actions = await figures.per_action(version.id, period) if version else None
    return StatisticsOut(
        days=[DayOut(**asdict(day)) for day in await figures.per_day(routing.id, scope, period)],
        versions=[VersionStatisticsOut(**asdict(item))
                  for item in await figures.per_version(routing.id, period)],
        actions=ActionsOut(
            version_id=version.id, total=actions.total, conversations=actions.conversations,
            passages=actions.passages, ended_here=actions.ended_here,
            links=[LinkOut(after=after, before=before, conversations=count)
                   for (after, before), count in actions.links.items()],
        ) if version and actions else None,
        entry_points=[EntryPointStatisticsOut(**asdict(item)) for item in
                      await figures.per_entry_point(routing.id, scope, period)],
    )



