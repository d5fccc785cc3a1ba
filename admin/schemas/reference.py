"""Value tables, variables, custom databases and schedules as the API shows and accepts them.

Request bodies reuse the domain's value types (names, clock times, timezones, ranges), so a
bad value is refused with the exact field before any service runs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from admin.schemas.common import PageQuery, Strict
from routing_core.model.reference import (
    Cell,
    CustomDatabase,
    DatabaseField,
    DatabaseRow,
    Description,
    Exceptions,
    GlobalVariable,
    Identifier,
    Name,
    Schedule,
    Timezone,
    ValueTable,
    VariableType,
    WeeklyHours,
)

Columns = Annotated[list[Identifier], Field(min_length=1, max_length=100)]
TableRows = list[dict[str, Cell]]
Fields = Annotated[list[DatabaseField], Field(max_length=100)]


class Stored(BaseModel):
    """What every stored item shows: its id, its revision and its times."""

    id: str
    revision: int
    created_at: datetime
    updated_at: datetime


# -- value tables ------------------------------------------------------------------------

class ValueTableIn(Strict):
    name: Name
    description: Description = ""
    columns: Columns = Field(description="The first column is the key looked up.")
    rows: TableRows = Field(default_factory=list)


class ValueTablePatch(Strict):
    name: Name | None = None
    description: Description | None = None
    columns: Columns | None = None
    rows: TableRows | None = None


class ValueTableRowsIn(Strict):
    rows: TableRows


class ValueTableSummary(Stored):
    """A table in a list: its rows are counted, not shown (GET the table for them)."""

    name: str
    description: str
    columns: list[str]
    row_count: int

    @classmethod
    def of(cls, table: ValueTable) -> ValueTableSummary:
        return cls.model_validate(table.model_dump() | {"row_count": len(table.rows)})


class ValueTableOut(ValueTableSummary):
    rows: list[dict[str, Any]]

    @classmethod
    def of(cls, table: ValueTable) -> ValueTableOut:
        return cls.model_validate(table.model_dump() | {"row_count": len(table.rows)})


class ValueTableList(BaseModel):
    items: list[ValueTableSummary]
    next: str | None


# -- variables ---------------------------------------------------------------------------

class VariableIn(Strict):
    name: Identifier
    description: Description = ""
    type: VariableType
    default_value: Any = Field(None, description="Null reads as the type's zero: '', 0, false.")
    value: Any = Field(None, description="The current value; null reads as the default.")


class VariablePatch(Strict):
    name: Identifier | None = None
    description: Description | None = None
    type: VariableType | None = None
    default_value: Any = None
    value: Any = None


class VariableOut(Stored):
    name: str
    description: str
    type: VariableType
    default_value: Any
    value: Any

    @classmethod
    def of(cls, variable: GlobalVariable) -> VariableOut:
        return cls.model_validate(variable.model_dump())


class VariableList(BaseModel):
    items: list[VariableOut]
    next: str | None


# -- custom databases --------------------------------------------------------------------

class DatabaseIn(Strict):
    name: Name
    description: Description = ""
    fields: Fields = Field(default_factory=list)


class DatabasePatch(Strict):
    name: Name | None = None
    description: Description | None = None
    fields: Fields | None = None


class DatabaseOut(Stored):
    name: str
    description: str
    fields: list[DatabaseField]

    @classmethod
    def of(cls, database: CustomDatabase) -> DatabaseOut:
        return cls.model_validate(database.model_dump())


class DatabaseList(BaseModel):
    items: list[DatabaseOut]
    next: str | None


class RowIn(Strict):
    values: dict[str, Any] = Field(description="{field: value}, coerced to the field types.")


class RowPatch(Strict):
    values: dict[str, Any] = Field(description="The values to change; null clears one.")


class RowOut(Stored):
    database_id: str
    values: dict[str, Any]

    @classmethod
    def of(cls, row: DatabaseRow) -> RowOut:
        return cls.model_validate(row.model_dump())


class RowList(BaseModel):
    items: list[RowOut]
    next: str | None


class RowQuery(PageQuery):
    """Any other query argument ``<field>=<value>`` filters the rows on that field."""


# -- schedules ---------------------------------------------------------------------------

class ScheduleIn(Strict):
    name: Name
    description: Description = ""
    timezone: Timezone = "UTC"
    weekly: WeeklyHours = Field(default_factory=WeeklyHours)
    exceptions: Exceptions = Field(default_factory=list)


class SchedulePatch(Strict):
    name: Name | None = None
    description: Description | None = None
    timezone: Timezone | None = None
    weekly: WeeklyHours | None = None
    exceptions: Exceptions | None = None


class ScheduleOut(Stored):
    name: str
    description: str
    timezone: str
    weekly: WeeklyHours
    exceptions: Exceptions

    @classmethod
    def of(cls, schedule: Schedule) -> ScheduleOut:
        return cls.model_validate(schedule.model_dump())


class ScheduleList(BaseModel):
    items: list[ScheduleOut]
    next: str | None


class StateQuery(BaseModel):
    at: datetime | None = Field(None, description="An ISO-8601 instant with offset; now if absent.")


class StateOut(BaseModel):
    state: str = Field(description="open, closed or exception")
    at: datetime
    local_time: str
