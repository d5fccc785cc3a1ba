"""Opening-hours schedules: a week of ranges plus dated exceptions, in the schedule's
own time zone; ``schedule_state`` says whether one is open at a moment."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Literal

from routing_core.infra.clock import utcnow
from routing_core.model.audit import Actor
from routing_core.model.reference import Schedule
from routing_core.reference.catalogue import Catalogue
from routing_core.reference.coercion import build
from routing_core.store import Store

ScheduleState = Literal["open", "closed", "exception"]
# -- schedules ---------------------------------------------------------------------------

def schedule_state(schedule: Schedule, moment: datetime) -> ScheduleState:
    """Whether ``schedule`` is open at ``moment`` (timezone-aware), in its own timezone.

    ``moment`` is turned into the schedule's local wall-clock time with zoneinfo, so daylight
    saving changes need no special case: 09:00 is 09:00 local on either side of the change.
    Then, on the local date:

    - an exception whose ``closed`` is true → ``"exception"`` all day;
    - an exception with ranges → ``"exception"`` inside one of them, ``"closed"`` outside
      (the dated hours replace the week's hours for that day);
    - no exception → the weekday's ranges: ``"open"`` inside one, else ``"closed"``.

    A range includes its start and excludes its end; ``24:00`` ends at midnight. A range
    never crosses midnight: split it over two days.
    """
    if moment.tzinfo is None:
        raise ValueError("schedule_state needs a timezone-aware moment")
    local = moment.astimezone(schedule.zone)
    minute_of_day = local.hour * 60 + local.minute
    exception = schedule.exception_on(local.date().isoformat())
    if exception is not None:
        if exception.closed:
            return "exception"
        inside = any(item.contains(minute_of_day) for item in exception.ranges)
        return "exception" if inside else "closed"
    ranges = schedule.weekly.on(local.weekday())
    return "open" if any(item.contains(minute_of_day) for item in ranges) else "closed"


class Schedules(Catalogue[Schedule]):
    """Opening hours; the engine's ``schedule_test`` action calls ``state``."""

    kind, what = "schedule", "schedule"

    def __init__(self, store: Store, clock: Callable[[], datetime] = utcnow):
        super().__init__(store, store.schedules, clock)

    async def create(self, actor: Actor, **data: Any) -> Schedule:
        return await self._create(actor, build(Schedule, data))

    async def update(self, actor: Actor, schedule_id: str, changes: Mapping[str, Any]) -> Schedule:
        current = await self.repository.get(schedule_id)
        return await self._save(
            actor, current, self._merged(current, changes), fields=sorted(changes)
        )

    async def state(self, schedule_name: str, moment: datetime | None = None) -> ScheduleState:
        """For the engine: ``schedule_state`` of the named schedule, now by default."""
        schedule = await self.named(schedule_name)
        return schedule_state(schedule, moment or self.clock())


