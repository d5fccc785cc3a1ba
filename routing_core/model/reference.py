"""Reference data the engine reads while it runs: value tables, global variables, custom
databases and their rows, opening-hours schedules.

Admins change these without a new version of any tree, which is why trees refer to them by
name. Checks that concern one value (a name, a clock time, a timezone) live on the types
here, so the API reports them with the exact field; checks across values (unique keys, rows
against columns, coercion of row values) live in ``routing_core.reference``.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from routing_core.model.base import Timestamped

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MINUTES_PER_DAY = 24 * 60

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_CLOCK = re.compile(r"([01]\d|2[0-3]):[0-5]\d|24:00")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def invalid(message: str) -> PydanticCustomError:
    """A validation error whose message reads without pydantic's "Value error," prefix."""
    return PydanticCustomError("invalid", message)


def _identifier(name: str) -> str:
    if not _IDENTIFIER.fullmatch(name):
        raise invalid(
            f"{name!r} is not a valid name: up to 64 letters, digits or '_', not starting "
            "with a digit"
        )
    return name


def _timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise invalid(f"unknown timezone {name!r} (use an IANA name like 'Europe/Paris')") from None
    return name


def _clock_time(text: str) -> str:
    if not _CLOCK.fullmatch(text):
        raise invalid(f"{text!r} is not a time of day HH:MM (00:00 to 24:00)")
    return text


def _iso_date(text: str) -> str:
    try:
        if not _ISO_DATE.fullmatch(text):
            raise ValueError(text)
        date.fromisoformat(text)
    except ValueError:
        raise invalid(f"{text!r} is not a date YYYY-MM-DD") from None
    return text


def _scalar(value: Any) -> Any:
    if value is not None and not isinstance(value, str | int | float | bool):
        raise invalid("a cell holds text, a number, a boolean or null")
    return value


def minutes(clock_time: str) -> int:
    """Minutes since midnight of a checked ``HH:MM`` ("24:00" is the end of the day)."""
    hours, mins = clock_time.split(":")
    return int(hours) * 60 + int(mins)


# The name a tree uses to refer to a stored thing (same rule as the actions' references).
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(max_length=5000)]
# A column, field or variable name: usable in templates and as a MongoDB field name.
Identifier = Annotated[str, AfterValidator(_identifier)]
Timezone = Annotated[str, AfterValidator(_timezone)]
ClockTime = Annotated[str, AfterValidator(_clock_time)]
IsoDate = Annotated[str, AfterValidator(_iso_date)]
# A cell of a value table: what a CSV or a JSON scalar can hold.
Cell = Annotated[Any, AfterValidator(_scalar)]


# -- value tables ------------------------------------------------------------------------

class ValueTable(Timestamped):
    """A small lookup table (postcode → agency, product → queue); the first column is the key."""

    name: Name
    description: Description = ""
    columns: list[Identifier]
    rows: list[dict[str, Cell]] = Field(default_factory=list)
    revision: int = 0

    @property
    def key_column(self) -> str:
        return self.columns[0]


# -- global variables --------------------------------------------------------------------

class VariableType(StrEnum):
    text = "text"
    number = "number"
    boolean = "boolean"
    json = "json"


# What a variable without value nor default reads as.
VARIABLE_ZERO: dict[VariableType, Any] = {
    VariableType.text: "",
    VariableType.number: 0,
    VariableType.boolean: False,
    VariableType.json: None,
}


class GlobalVariable(Timestamped):
    """A value every tree can read, changed by admins without a new version.

    ``value`` is the current value; while it is null the variable reads as ``default_value``,
    and while that is null too, as the type's zero ("", 0, false, null).
    """

    name: Identifier
    description: Description = ""
    type: VariableType
    default_value: Any = None
    value: Any = None
    revision: int = 0

    @property
    def effective_value(self) -> Any:
        if self.value is not None:
            return self.value
        if self.default_value is not None:
            return self.default_value
        return VARIABLE_ZERO[self.type]


# -- custom databases --------------------------------------------------------------------

class FieldType(StrEnum):
    text = "text"
    number = "number"
    boolean = "boolean"
    date = "date"
    datetime = "datetime"
    email = "email"
    phone = "phone"


class DatabaseField(BaseModel):
    """One typed column of a custom database; ``default`` fills rows saved without it."""

    model_config = ConfigDict(extra="forbid")

    name: Identifier
    type: FieldType
    required: bool = False
    unique: bool = False
    default: Any = None


class CustomDatabase(Timestamped):
    """A typed table the trees read and write (customers, appointments, opt-outs…)."""

    name: Name
    description: Description = ""
    fields: list[DatabaseField] = Field(default_factory=list)
    revision: int = 0

    def field(self, name: str) -> DatabaseField | None:
        return next((field for field in self.fields if field.name == name), None)


class DatabaseRow(Timestamped):
    """A row of a custom database.

    ``unique_key`` holds ``"<field>=<canonical value>"`` for each unique field the row has:
    one multikey unique index on (database_id, unique_key) then enforces every unique field
    of every database, even against concurrent inserts.
    """

    database_id: str
    values: dict[str, Any] = Field(default_factory=dict)
    unique_key: list[str] = Field(default_factory=list)
    revision: int = 0


# -- schedules ---------------------------------------------------------------------------

class TimeRange(BaseModel):
    """Opening from ``start`` (included) to ``end`` (excluded), local wall-clock time."""

    model_config = ConfigDict(extra="forbid")

    start: ClockTime
    end: ClockTime

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: str, info: ValidationInfo) -> str:
        start = info.data.get("start")
        if start is not None and minutes(end) <= minutes(start):
            raise invalid(f"the end {end} must be after the start {start}")
        return end

    def contains(self, minute_of_day: int) -> bool:
        return minutes(self.start) <= minute_of_day < minutes(self.end)


def _no_overlap(ranges: list[TimeRange]) -> list[TimeRange]:
    ordered = sorted(ranges, key=lambda item: minutes(item.start))
    for before, after in zip(ordered, ordered[1:], strict=False):
        if minutes(after.start) < minutes(before.end):
            raise invalid(
                f"the ranges {before.start}-{before.end} and {after.start}-{after.end} overlap"
            )
    return ordered


# A day's opening ranges: sorted, not overlapping (touching is fine: 12:00-14:00, 14:00-18:00).
Ranges = Annotated[list[TimeRange], Field(max_length=24), AfterValidator(_no_overlap)]


class WeeklyHours(BaseModel):
    """The usual week; a day without ranges is closed all day."""

    model_config = ConfigDict(extra="forbid")

    monday: Ranges = Field(default_factory=list)
    tuesday: Ranges = Field(default_factory=list)
    wednesday: Ranges = Field(default_factory=list)
    thursday: Ranges = Field(default_factory=list)
    friday: Ranges = Field(default_factory=list)
    saturday: Ranges = Field(default_factory=list)
    sunday: Ranges = Field(default_factory=list)

    def on(self, weekday: int) -> list[TimeRange]:
        """The ranges of ``weekday`` (0 = Monday, as ``date.weekday()``)."""
        ranges: list[TimeRange] = getattr(self, WEEKDAYS[weekday])
        return ranges


class ScheduleException(BaseModel):
    """A dated departure from the week: closed all day, or open only within its ranges."""

    model_config = ConfigDict(extra="forbid")

    date: IsoDate
    closed: bool = False
    ranges: Ranges = Field(default_factory=list, validate_default=True)
    label: Annotated[str, StringConstraints(max_length=200)] = ""

    @field_validator("ranges")
    @classmethod
    def _closed_or_ranges(cls, ranges: list[TimeRange], info: ValidationInfo) -> list[TimeRange]:
        closed = info.data.get("closed")
        if closed and ranges:
            raise invalid("a closed exception has no ranges")
        if closed is False and not ranges:
            raise invalid("an exception is either closed or has opening ranges")
        return ranges


def _unique_dates(exceptions: list[ScheduleException]) -> list[ScheduleException]:
    seen: set[str] = set()
    for exception in exceptions:
        if exception.date in seen:
            raise invalid(f"the date {exception.date} has two exceptions")
        seen.add(exception.date)
    return sorted(exceptions, key=lambda item: item.date)


Exceptions = Annotated[
    list[ScheduleException], Field(max_length=1000), AfterValidator(_unique_dates)
]


class Schedule(Timestamped):
    """Opening hours in one timezone, tested by ``schedule_test`` and queues."""

    name: Name
    description: Description = ""
    timezone: Timezone = "UTC"
    weekly: WeeklyHours = Field(default_factory=WeeklyHours)
    exceptions: Exceptions = Field(default_factory=list)
    revision: int = 0

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def exception_on(self, day: str) -> ScheduleException | None:
        return next((item for item in self.exceptions if item.date == day), None)
