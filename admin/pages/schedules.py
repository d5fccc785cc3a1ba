"""Reference > Schedules: weekly opening hours per day, dated exceptions, a timezone.

Hours are typed as ``09:00-12:00, 14:00-18:00``; an exception line is
``2025-12-25 closed Christmas`` or ``2025-12-24 09:00-12:00 Christmas Eve``.
"""

from __future__ import annotations

import re
from typing import Any

from admin.context import services
from admin.i18n import marked, phrase
from admin.pages.resources import Column, Field, Resource
from routing_core.infra.errors import Invalid, Words
from routing_core.model.reference import WEEKDAYS, Schedule

# the days' names in the viewer's language (at the time the form is built)
DAY_NAMES = {
    "monday": lambda: phrase("Monday"), "tuesday": lambda: phrase("Tuesday"),
    "wednesday": lambda: phrase("Wednesday"), "thursday": lambda: phrase("Thursday"),
    "friday": lambda: phrase("Friday"), "saturday": lambda: phrase("Saturday"),
    "sunday": lambda: phrase("Sunday"),
}

RANGE = re.compile(r"^\s*(\S+)\s*-\s*(\S+)\s*$")


def _ranges(text: str, field: str) -> list[dict[str, str]]:
    ranges = []
    for part in (piece for piece in text.split(",") if piece.strip()):
        found = RANGE.match(part)
        if not found:
            raise Invalid(Words("%(strip)r: write ranges as 09:00-12:00", strip=part.strip()),
                          field=field)
        ranges.append({"start": found.group(1), "end": found.group(2)})
    return ranges


def _exceptions(text: str) -> list[dict[str, Any]]:
    exceptions = []
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.split()
        if not words:
            continue
        if len(words) < 2:
            raise Invalid(Words("line %(number)s: a date, then 'closed' or hours", number=number),
                          field="exceptions")
        day, rest = words[0], words[1:]
        if rest[0].lower() == "closed":
            exceptions.append({"date": day, "closed": True, "label": " ".join(rest[1:])})
            continue
        hours = [word for word in rest if re.fullmatch(r"[\d:]+-[\d:]+,?", word)]
        label = " ".join(word for word in rest if word not in hours)
        exceptions.append({"date": day, "closed": False, "label": label,
                           "ranges": _ranges(" ".join(hours), "exceptions")})
    return exceptions


def _read(form: Any, item: Schedule | None) -> dict[str, Any]:
    return {
        "name": form.text("name"), "description": form.raw("description"),
        "timezone": form.text("timezone") or "UTC",
        "weekly": {day: _ranges(form.text(f"weekly.{day}"), f"weekly.{day}")
                   for day in WEEKDAYS},
        "exceptions": _exceptions(form.raw("exceptions")),
    }


def _hours(ranges: list[Any]) -> str:
    return ", ".join(f"{item.start}-{item.end}" for item in ranges)


def _values(item: Schedule) -> dict[str, Any]:
    lines = [
        f"{e.date} closed {e.label}".rstrip() if e.closed
        else f"{e.date} {_hours(e.ranges)} {e.label}".rstrip()
        for e in item.exceptions
    ]
    return {
        "name": item.name, "description": item.description, "timezone": item.timezone,
        "exceptions": "\n".join(lines),
    } | {f"weekly.{day}": _hours(getattr(item.weekly, day)) for day in WEEKDAYS}


async def _fields(item: Schedule | None) -> list[Field]:
    return [
        Field("name", phrase("Name"), required=True),
        Field("description", phrase("Description"), "textarea"),
        Field("timezone", phrase("Timezone"), help=phrase("An IANA name such as Europe/Paris.")),
        *[Field(f"weekly.{day}", DAY_NAMES[day](),
                help=phrase("e.g. 09:00-12:00, 14:00-18:00 · blank: closed all day")
                if day == "monday" else "") for day in WEEKDAYS],
        Field("exceptions", phrase("Dated exceptions"), "textarea", rows=5,
              help=phrase("One per line: '2025-12-25 closed Christmas' or "
                          "'2025-12-24 09:00-12:00 Christmas Eve'.")),
    ]


resource = Resource(
    key="schedules", url="/schedules", title="Schedules", singular="schedule",
    section="Reference data",
    load_all=lambda: services().store.schedules.all(),  # noqa: PLW0108
    load=lambda item_id: services().store.schedules.get(item_id),  # noqa: PLW0108
    fields=_fields, values_of=_values,
    create=lambda who, values: services().schedules.create(who, **values),
    update=lambda who, item_id, values: services().schedules.update(who, item_id, values),  # noqa: PLW0108
    delete=lambda who, item_id: services().schedules.delete(who, item_id),  # noqa: PLW0108
    columns=[
        Column("Name", lambda item: item.name),
        Column("Timezone", lambda item: item.timezone),
        Column("Monday", lambda item: _hours(item.weekly.monday) or phrase("closed")),
        Column("Exceptions", lambda item: str(len(item.exceptions))),
    ],
    read_form=_read,
    describe=marked("A schedule gives opening hours, tested by trees and queues."),
)
blueprint = resource.blueprint
