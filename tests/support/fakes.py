"""In-memory ports: the engine runs against them exactly as against MongoDB and the network.

Both take the plain JSON a golden case holds, and record what the action asked, so a
case can check the calls as well as the outcome.
"""

from __future__ import annotations

import json
from copy import deepcopy
from datetime import datetime
from typing import Any

from routing_core.expressions.values import parse_number
from routing_core.infra.errors import Conflict, Invalid, NotFound
from routing_core.ports.world import HttpFailure, HttpRefused, HttpResponse


class FakeDatabase:
    """A custom database: typed fields (``text`` or ``number``), unique fields, rows."""

    def __init__(self, name: str, fields: dict[str, str], unique: list[str],
                 rows: list[dict[str, Any]]):
        self.name = name
        self.fields = fields
        self.unique = unique
        self.rows = [self.coerce(row) for row in rows]

    def coerce(self, values: dict[str, Any]) -> dict[str, Any]:
        coerced: dict[str, Any] = {}
        for field, value in values.items():
            kind = self.fields.get(field)
            if kind is None:
                raise Invalid(f"{field!r} is not a field of {self.name!r}", field=field)
            if kind == "number":
                number = parse_number(value) if value not in (None, "") else None
                if number is None:
                    raise Invalid(f"{field}: expected a number", field=field)
                coerced[field] = number
            else:
                coerced[field] = "" if value is None else str(value)
        return coerced

    def matching(self, match: dict[str, Any]) -> list[dict[str, Any]]:
        wanted = self.coerce(match)
        return [row for row in self.rows
                if all(row.get(field) == value for field, value in wanted.items())]

    def clash(self, row: dict[str, Any], ignore: dict[str, Any] | None = None) -> None:
        for field in self.unique:
            if any(other is not ignore and other.get(field) == row.get(field)
                   for other in self.rows):
                raise Conflict(f"another row has {field} = {row.get(field)!r}")


class FakeReference:
    """The ReferencePort over dictionaries.

    ``interactions_count`` is the number the store would count, or a list of the contact's
    interactions (``{"at", "routing_id", "entry_point_id"}``) filtered like the store does.
    """

    def __init__(
        self,
        *,
        value_tables: dict[str, dict[str, dict[str, Any]]] | None = None,
        databases: dict[str, dict[str, Any]] | None = None,
        schedules: dict[str, str] | None = None,
        interactions_count: int | list[dict[str, Any]] = 0,
        global_variables: dict[str, Any] | None = None,
    ):
        self.value_tables = deepcopy(value_tables or {})
        self.databases = {
            name: FakeDatabase(name, spec.get("fields", {}), spec.get("unique", []),
                               spec.get("rows", []))
            for name, spec in (databases or {}).items()
        }
        self.schedules = schedules or {}
        self.interactions_count = interactions_count
        self.variables = global_variables or {}
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def _database(self, name: str) -> FakeDatabase:
        if name not in self.databases:
            raise NotFound(f"no database named {name!r}")
        return self.databases[name]

    async def value_table_row(self, table: str, key: str) -> dict[str, Any] | None:
        self.calls.append(("value_table_row", (table, key)))
        if table not in self.value_tables:
            raise NotFound(f"no value table named {table!r}")
        row = self.value_tables[table].get(key)
        return dict(row) if row is not None else None

    async def global_variables(self) -> dict[str, Any]:
        return dict(self.variables)

    async def database_read(self, database: str, match: dict[str, Any]) -> dict[str, Any] | None:
        self.calls.append(("database_read", (database, match)))
        rows = self._database(database).matching(match)
        return dict(rows[0]) if rows else None

    async def database_insert(self, database: str, values: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(("database_insert", (database, values)))
        store = self._database(database)
        row = store.coerce(values)
        store.clash(row)
        store.rows.append(row)
        return dict(row)

    async def database_modify(
        self, database: str, match: dict[str, Any], values: dict[str, Any]
    ) -> int:
        self.calls.append(("database_modify", (database, match, values)))
        store = self._database(database)
        changes = store.coerce(values)
        rows = store.matching(match)
        for row in rows:
            store.clash({**row, **changes}, ignore=row)
        for row in rows:
            row.update(changes)
        return len(rows)

    async def schedule_state(self, schedule: str, moment: datetime) -> str | None:
        self.calls.append(("schedule_state", (schedule, moment)))
        return self.schedules.get(schedule)

    async def count_interactions(
        self, contact_id: str, since: datetime | None, routing_id: str | None,
        entry_point_id: str | None,
    ) -> int:
        self.calls.append(("count_interactions", (contact_id, since, routing_id, entry_point_id)))
        if isinstance(self.interactions_count, int):
            return self.interactions_count
        return sum(
            1 for past in self.interactions_count
            if (since is None or datetime.fromisoformat(past["at"]) >= since)
            and (routing_id is None or past.get("routing_id") == routing_id)
            and (entry_point_id is None or past.get("entry_point_id") == entry_point_id)
        )

    def database_rows(self) -> dict[str, list[dict[str, Any]]]:
        return {name: store.rows for name, store in self.databases.items()}


class FakeHttp:
    """Answers calls from a script of canned responses, in order, and records each request.

    A response is ``{"status", "json" | "body", "headers"}``, or ``{"raise": "failure" |
    "refused", "message"}`` for a call that does not complete.
    """

    def __init__(self, responses: list[dict[str, Any]]):
        self.responses = list(responses)
        self.requests: list[dict[str, Any]] = []

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        body: bytes | None,
        timeout_seconds: float,
    ) -> HttpResponse:
        self.requests.append({
            "method": method, "url": url, "headers": dict(headers),
            "body": body.decode() if body is not None else None,
            "timeout_seconds": timeout_seconds,
        })
        if not self.responses:
            raise AssertionError(f"unexpected call {method} {url}: no canned response left")
        canned = self.responses.pop(0)
        if canned.get("raise") == "failure":
            raise HttpFailure(canned.get("message", "connection failed"))
        if canned.get("raise") == "refused":
            raise HttpRefused(canned.get("message", "address refused"))
        if "json" in canned:
            content = json.dumps(canned["json"]).encode()
        else:
            content = str(canned.get("body", "")).encode()
        return HttpResponse(int(canned.get("status", 200)), dict(canned.get("headers", {})),
                            content)
