"""Distribution > Queues: where conversations wait for agents (members, schedule, wait)."""

from __future__ import annotations

from typing import Any

from admin.api.queues import distribution
from admin.context import services
from admin.i18n import marked, phrase
from admin.pages.resources import Column, Field, Resource
from routing_core.infra.errors import Invalid
from routing_core.model.queues import PriorityHandling, Queue


def _read(form: Any, item: Queue | None) -> dict[str, Any]:
    try:
        wait = int(form.text("max_wait_seconds") or "600")
    except ValueError:
        raise Invalid("a whole number of seconds", field="max_wait_seconds") from None
    return {
        "name": form.text("name"), "description": form.raw("description"),
        "members": form.all("members"), "schedule": form.text("schedule") or None,
        "max_wait_seconds": wait, "waiting_message": form.raw("waiting_message"),
        "announce_position": form.checked("announce_position"),
        "priority_handling": form.text("priority_handling") or PriorityHandling.priority.value,
    }


async def _fields(item: Queue | None) -> list[Field]:
    users = await services().store.users.all()
    schedules = await services().store.schedules.all()
    return [
        Field("name", phrase("Name"), required=True),
        Field("description", phrase("Description"), "textarea"),
        Field("members", phrase("Members"), "checks", options=[(u.id, u.email) for u in users],
              help=phrase("The agents who answer this queue's conversations.")),
        Field("schedule", phrase("Schedule"), "select",
              options=[("", phrase("— always open —"))] + [(s.name, s.name) for s in schedules],
              help=phrase("Outside its hours the queue is closed.")),
        Field("max_wait_seconds", phrase("Maximum wait (seconds)"), "number"),
        Field("waiting_message", phrase("Waiting message"), "textarea"),
        Field("announce_position", phrase("Announce the position in the queue"), "checkbox"),
        Field("priority_handling", phrase("Order"), "select", options=[
            ("priority", phrase("Priority first, then arrival")),
            ("arrival", phrase("Strict arrival order"))]),
    ]


def _values(item: Queue) -> dict[str, Any]:
    return item.model_dump(mode="json") | {"schedule": item.schedule or ""}


resource = Resource(
    key="queues", url="/queues", title="Queues", singular="queue", section="Distribution",
    load_all=lambda: distribution().queue_records.all(),  # noqa: PLW0108
    load=lambda item_id: distribution().queue_records.get(item_id),  # noqa: PLW0108
    fields=_fields, values_of=_values,
    create=lambda who, values: distribution().queues.create(who, **values),
    update=lambda who, item_id, values: distribution().queues.update(who, item_id, values),  # noqa: PLW0108
    delete=lambda who, item_id: distribution().queues.delete(who, item_id),  # noqa: PLW0108
    columns=[
        Column("Name", lambda item: item.name),
        Column("Members", lambda item: str(len(item.members))),
        Column("Schedule", lambda item: item.schedule or phrase("always open")),
        Column("Maximum wait", lambda item: f"{item.max_wait_seconds} s"),
    ],
    read_form=_read,
    describe=marked("A queue holds conversations waiting for one of its agents."),
)
blueprint = resource.blueprint
