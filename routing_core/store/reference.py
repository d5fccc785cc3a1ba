"""Value tables, global variables, custom databases and their rows, schedules."""

from __future__ import annotations

from pymongo import ASCENDING, IndexModel

from routing_core.model.reference import (
    CustomDatabase,
    DatabaseRow,
    GlobalVariable,
    Schedule,
    ValueTable,
)
from routing_core.store.repository import Repository

UNIQUE_NAME = IndexModel([("name", ASCENDING)], unique=True, name="unique_name")


class ValueTableRepository(Repository[ValueTable]):
    """Rows are embedded: tables are small, and a lookup is one indexed read."""

    collection_name = "value_tables"
    record = ValueTable
    label = "value table"
    INDEXES = [UNIQUE_NAME]


class VariableRepository(Repository[GlobalVariable]):
    collection_name = "variables"
    record = GlobalVariable
    label = "variable"
    INDEXES = [UNIQUE_NAME]


class DatabaseRepository(Repository[CustomDatabase]):
    collection_name = "databases"
    record = CustomDatabase
    label = "database"
    INDEXES = [UNIQUE_NAME]


class DatabaseRowRepository(Repository[DatabaseRow]):
    """Rows of every custom database in one collection.

    The unique index is multikey over ``unique_key`` (``"<field>=<value>"`` strings), so one
    index enforces every unique field of every database; rows without any unique value
    (an empty array) are left out by the partial filter, so they never clash on "nothing".
    """

    collection_name = "database_rows"
    record = DatabaseRow
    label = "row"
    INDEXES = [
        IndexModel([("database_id", ASCENDING), ("_id", ASCENDING)], name="by_database"),
        IndexModel(
            [("database_id", ASCENDING), ("unique_key", ASCENDING)],
            unique=True,
            partialFilterExpression={"unique_key": {"$type": "string"}},
            name="unique_values_per_database",
        ),
    ]


class ScheduleRepository(Repository[Schedule]):
    collection_name = "schedules"
    record = Schedule
    label = "schedule"
    INDEXES = [UNIQUE_NAME]
