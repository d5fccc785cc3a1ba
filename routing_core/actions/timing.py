"""Actions that branch on the current time: opening hours and week parity."""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from routing_core.actions.base import ActionType, Outcome, register
from routing_core.actions.params import Reference, Timezone
from routing_core.actions.support import reference_port
from routing_core.infra.errors import Invalid, Words

if TYPE_CHECKING:
    from routing_core.actions.context import RunContext

SCHEDULE_STATES = frozenset({"open", "closed", "exception"})


@register
class ScheduleTest(ActionType):
    """Tests now against a stored schedule, so hours change without a new version."""

    type = "schedule_test"
    title = "Test a schedule"
    branches = ("open", "closed", "exception")

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        schedule: Reference

    async def run(self, params: Params, ctx: RunContext) -> Outcome:
        state = await reference_port(ctx).schedule_state(params.schedule, ctx.now)
        if state is None:
            raise Invalid(Words(
                "schedule_test: no schedule named %(schedule)r",
                schedule=params.schedule))
        if state not in SCHEDULE_STATES:
            raise Invalid(Words("schedule_test: unexpected schedule state %(state)r", state=state))
        return Outcome.follow(state)


@register
class WeekParity(ActionType):
    """Alternates by ISO week (e.g. teams on duty every other week)."""

    type = "week_parity"
    title = "Week parity"
    branches = ("even", "odd")

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        timezone: Timezone = "UTC"

    async def run(self, params: Params, ctx: RunContext) -> Outcome:
        week = ctx.now.astimezone(ZoneInfo(params.timezone)).isocalendar().week
        return Outcome.follow("odd" if week % 2 else "even")
