"""Actions that branch on the current time: opening hours and week parity."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from routing_core.actions.base import ActionType, register
from routing_core.actions.params import Reference, Timezone


@register
class ScheduleTest(ActionType):
    """Tests now against a stored schedule, so hours change without a new version."""

    type = "schedule_test"
    branches = ("open", "closed", "exception")

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        schedule: Reference


@register
class WeekParity(ActionType):
    """Alternates by ISO week (e.g. teams on duty every other week)."""

    type = "week_parity"
    branches = ("even", "odd")

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        timezone: Timezone = "UTC"
