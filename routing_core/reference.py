"""Reference data: value tables, global variables, custom databases, schedules.

Admins maintain them through the API; the engine reads (and, for databases, writes) them
by name while interactions run, through the service methods documented as "for the
engine". Every admin change is audited. Deleting something a tree refers to by name is
allowed (and audited): the validation report of the tree flags the missing reference.

The pure helpers (value coercion, table and field checks, ``schedule_state``) come first;
the services after them.
"""

from __future__ import annotations

import csv
import io
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any, ClassVar, Generic, Literal, TypeVar

import bson
from pydantic import BaseModel, ValidationError
from pymongo import UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import BulkWriteError, DuplicateKeyError

from routing_core.clock import utcnow
from routing_core.errors import Conflict, Invalid, NotFound
from routing_core.model.audit import Actor
from routing_core.model.reference import (
    CustomDatabase,
    DatabaseField,
    DatabaseRow,
    FieldType,
    GlobalVariable,
    Schedule,
    ValueTable,
    VariableType,
)
from routing_core.store import Store
from routing_core.store.repository import DEFAULT_PAGE, Repository

MAX_TABLE_ROWS = 10_000
MAX_TEXT = 10_000
MAX_JSON_BYTES = 64 * 1024
MAX_INT = 2**63 - 1
SAFE_INTEGER = 2**53

ModelT = TypeVar("ModelT", bound=BaseModel)
ScheduleState = Literal["open", "closed", "exception"]
LOOKUP_CACHE_SECONDS = 1.0
Session = AsyncClientSession | None

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_PHONE_SEPARATORS = re.compile(r"[\s().\-]")
_PHONE = re.compile(r"\+\d{6,15}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TRUE = frozenset({"true", "yes", "1", "on"})
_FALSE = frozenset({"false", "no", "0", "off"})


# -- values: coercion against a declared type -------------------------------------------
# Each coercer takes what JSON or a rendered template gives and returns the stored value,
# or raises ValueError with a message for people.

def as_text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("expected text")
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_TEXT:
        raise ValueError(f"a text has at most {MAX_TEXT} characters")
    return text


def as_number(value: Any) -> int | float:
    """Numbers and numeric texts; integral values become ints so 2 and 2.0 are one value."""
    if isinstance(value, bool):
        raise ValueError("expected a number, not a boolean")
    if isinstance(value, str):
        value = _parse_number(value.strip())
    if not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("expected a number")
    if isinstance(value, float) and value.is_integer() and abs(value) < SAFE_INTEGER:
        value = int(value)
    if isinstance(value, int) and abs(value) > MAX_INT:
        raise ValueError("the number is too large")
    return value


def _parse_number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None


def as_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError("expected a boolean (true or false)")


def as_date(value: Any) -> str:
    """A calendar date, stored as its ISO text ``YYYY-MM-DD`` (sorts and compares as text)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    raise ValueError("expected a date YYYY-MM-DD")


def as_datetime(value: Any) -> datetime:
    """An instant with its UTC offset, stored in UTC to the millisecond (MongoDB's precision)."""
    moment = value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError("expected an ISO-8601 date-time with its UTC offset") from None
    if not isinstance(moment, datetime):
        raise ValueError("expected an ISO-8601 date-time with its UTC offset")
    if moment.tzinfo is None:
        raise ValueError("the date-time must carry a UTC offset (e.g. +02:00 or Z)")
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def as_email(value: Any) -> str:
    """A simple shape check (something@domain.tld), lower-cased so uniqueness ignores case."""
    if not isinstance(value, str) or not _EMAIL.fullmatch(value.strip()):
        raise ValueError("expected an e-mail address")
    return value.strip().lower()


def as_phone(value: Any) -> str:
    """E.164-ish: ``+`` and 6 to 15 digits; spaces, dots, dashes and brackets are dropped."""
    text = _PHONE_SEPARATORS.sub("", value) if isinstance(value, str) else ""
    if text.startswith("00"):
        text = "+" + text[2:]
    if not _PHONE.fullmatch(text):
        raise ValueError("expected a phone number in international form: + and 6 to 15 digits")
    return text


def as_json(value: Any) -> Any:
    """Any JSON value MongoDB can store as is: no ``$`` keys, 64 KiB at most."""
    _refuse_operator_keys(value)
    try:
        size = len(bson.encode({"value": value}))
    except (OverflowError, bson.errors.InvalidDocument) as error:
        raise ValueError(f"not a storable JSON value: {error}") from None
    if size > MAX_JSON_BYTES:
        raise ValueError(f"a JSON value takes at most {MAX_JSON_BYTES // 1024} KiB")
    return value


def _refuse_operator_keys(value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or key.startswith("$"):
                raise ValueError(f"the key {key!r} is not allowed (keys cannot start with '$')")
            _refuse_operator_keys(item)
    elif isinstance(value, list):
        for item in value:
            _refuse_operator_keys(item)


Coercer = Callable[[Any], Any]
FIELD_COERCERS: dict[FieldType, Coercer] = {
    FieldType.text: as_text,
    FieldType.number: as_number,
    FieldType.boolean: as_boolean,
    FieldType.date: as_date,
    FieldType.datetime: as_datetime,
    FieldType.email: as_email,
    FieldType.phone: as_phone,
}
VARIABLE_COERCERS: dict[VariableType, Coercer] = {
    VariableType.text: as_text,
    VariableType.number: as_number,
    VariableType.boolean: as_boolean,
    VariableType.json: as_json,
}


def coerce(coercer: Coercer, value: Any, field: str) -> Any:
    """``coercer(value)``, its refusal turned into a 422 naming ``field``."""
    try:
        return coercer(value)
    except ValueError as error:
        raise Invalid(f"{field}: {error}", field=field) from None


def is_blank(value: Any) -> bool:
    """No value: null or an empty text (what an empty template or form field gives)."""
    return value is None or (isinstance(value, str) and not value.strip())


def canonical(value: Any) -> str:
    """The text form of a stored value used in unique keys: equal values, equal texts."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="milliseconds")
    return str(value)


def build(model: type[ModelT], data: Mapping[str, Any]) -> ModelT:
    """Validate ``data`` as ``model``; a refusal becomes a 422 naming the first bad field."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as error:
        problem = error.errors()[0]
        field = ".".join(str(part) for part in problem["loc"]) or None
        message = f"{field}: {problem['msg']}" if field else problem["msg"]
        raise Invalid(message, field=field) from None


# -- value tables: pure checks -----------------------------------------------------------

def ensure_unique_names(names: Iterable[str], field: str) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            raise Invalid(f"{name!r} appears twice", field=f"{field}.{index}")
        seen.add(name)


def check_table_rows(columns: list[str], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows use only the columns, and each has a distinct, non-empty text key (column 1)."""
    if len(rows) > MAX_TABLE_ROWS:
        raise Invalid(f"a value table has at most {MAX_TABLE_ROWS} rows", field="rows")
    key_column, allowed, keys = columns[0], set(columns), set[str]()
    for index, row in enumerate(rows):
        for column in row.keys() - allowed:
            raise Invalid(
                f"{column!r} is not a column of the table", field=f"rows.{index}.{column}"
            )
        key = row.get(key_column)
        where = f"rows.{index}.{key_column}"
        if not isinstance(key, str) or not key:
            raise Invalid(f"every row needs a text key in column {key_column!r}", field=where)
        if key in keys:
            raise Invalid(f"the key {key!r} is used by two rows", field=where)
        keys.add(key)
    return rows


def parse_csv(text: str) -> tuple[list[str], list[dict[str, str]]]:
    """The header row gives the columns, each further non-blank line a row (cells as text)."""
    try:
        lines = list(csv.reader(io.StringIO(text), strict=True))
    except csv.Error as error:
        raise Invalid(f"the CSV cannot be read: {error}", field="csv") from None
    lines = [line for line in lines if any(cell.strip() for cell in line)]
    if not lines:
        raise Invalid("the CSV is empty: it needs a header row", field="csv")
    columns = [cell.strip() for cell in lines[0]]
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if len(line) != len(columns):
            raise Invalid(
                f"CSV row {number} has {len(line)} cells, the header has {len(columns)}",
                field="csv",
            )
        rows.append(dict(zip(columns, line, strict=True)))
    return columns, rows


def csv_place(refusal: Invalid) -> str:
    """Where in the CSV a table refusal points: " (row N)", the header being row 1."""
    parts = (refusal.field or "").split(".")
    if parts[0] == "rows" and len(parts) > 1 and parts[1].isdigit():
        return f" (row {int(parts[1]) + 2})"
    return " (header)" if parts[0] == "columns" else ""


# -- custom databases: pure checks -------------------------------------------------------

def check_fields(fields: list[DatabaseField]) -> list[DatabaseField]:
    """Distinct names; a default fits its type; a unique field has no default (it would clash)."""
    ensure_unique_names((field.name for field in fields), "fields")
    checked = []
    for index, field in enumerate(fields):
        default = field.default
        if not is_blank(default):
            if field.unique:
                raise Invalid(
                    "a unique field cannot have a default: every row would share it",
                    field=f"fields.{index}.default",
                )
            default = coerce(FIELD_COERCERS[field.type], default, f"fields.{index}.default")
        checked.append(field.model_copy(update={"default": None if is_blank(default) else default}))
    return checked


def coerce_values(fields: list[DatabaseField], values: Mapping[str, Any]) -> dict[str, Any]:
    """Each given value in its field's type; a blank value is None (the field is cleared)."""
    known = {field.name: field for field in fields}
    coerced: dict[str, Any] = {}
    for name, raw in values.items():
        field = known.get(name)
        if field is None:
            raise Invalid(
                f"{name!r} is not a field of this database (fields: {', '.join(known) or 'none'})",
                field=f"values.{name}",
            )
        blank = is_blank(raw)
        coerced[name] = None if blank else coerce(FIELD_COERCERS[field.type], raw, f"values.{name}")
    return coerced


def complete_row(fields: list[DatabaseField], values: Mapping[str, Any]) -> dict[str, Any]:
    """Drop cleared values and refuse a row that lacks a required field."""
    present = {name: value for name, value in values.items() if value is not None}
    for field in fields:
        if field.required and field.name not in present:
            raise Invalid(f"{field.name} is required", field=f"values.{field.name}")
    return present


def new_row_values(fields: list[DatabaseField], values: Mapping[str, Any]) -> dict[str, Any]:
    """The values of a new row: coerced, defaults filled in, required fields checked."""
    coerced = coerce_values(fields, values)
    for field in fields:
        if coerced.get(field.name) is None and field.default is not None:
            coerced[field.name] = field.default
    return complete_row(fields, coerced)


def unique_keys(fields: list[DatabaseField], values: Mapping[str, Any]) -> list[str]:
    return [
        f"{field.name}={canonical(values[field.name])}"
        for field in fields
        if field.unique and field.name in values
    ]


def row_query(database: CustomDatabase, filter: Mapping[str, Any]) -> dict[str, Any]:
    """Equality on each field; unique fields go through the unique index's keys."""
    return typed_query({"database_id": database.id},
                       coerce_values(database.fields, filter), database.field)


def typed_query(
    query: dict[str, Any], values: Mapping[str, Any], field_of: Callable[[str], Any]
) -> dict[str, Any]:
    """A query on coerced ``values`` of typed records (custom database rows, CRM V2
    objects): a unique field is found through the multikey ``unique_key`` index."""
    keys = []
    for name, value in values.items():
        field = field_of(name)
        if field is not None and field.unique and value is not None:
            keys.append(f"{name}={canonical(value)}")
        else:
            query[f"values.{name}"] = value
    if keys:
        query["unique_key"] = keys[0] if len(keys) == 1 else {"$all": keys}
    return query


def clash(error: DuplicateKeyError, what: str = "row") -> Conflict:
    """The 409 for a unique-index refusal, naming the field whose value is taken."""
    details = error.details or {}
    key = str((details.get("keyValue") or {}).get("unique_key", ""))
    if "=" not in key:
        return Conflict(f"another {what} already has one of these unique values",
                        code="value_taken")
    name, value = key.split("=", 1)
    return Conflict(
        f"another {what} already has {value!r} in the unique field {name}",
        field=f"values.{name}",
        code="value_taken",
    )


# -- variables: pure checks --------------------------------------------------------------

def check_variable(variable: GlobalVariable) -> GlobalVariable:
    """Default and current value fit the type; null means unset (read as the type's zero,
    so a variable changing type keeps no stale default)."""
    coercer = VARIABLE_COERCERS[variable.type]
    default, value = variable.default_value, variable.value
    default = None if default is None else coerce(coercer, default, "default_value")
    value = None if value is None else coerce(coercer, value, "value")
    return variable.model_copy(update={"default_value": default, "value": value})


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


# -- the services ------------------------------------------------------------------------

NamedT = TypeVar("NamedT", ValueTable, GlobalVariable, CustomDatabase, Schedule)


class Catalogue(Generic[NamedT]):
    """What every kind of reference data shares: unique names, revision-checked saves
    (two admins editing at once: the second gets a 409, not a silent overwrite), audit."""

    kind: ClassVar[str]
    what: ClassVar[str]

    def __init__(
        self, store: Store, repository: Repository[NamedT], clock: Callable[[], datetime] = utcnow
    ):
        self.store = store
        self.repository: Repository[NamedT] = repository
        self.clock = clock

    def _name_taken(self, name: str) -> Conflict:
        return Conflict(f"a {self.what} named {name!r} exists", field="name", code="name_taken")

    async def named(self, name: str) -> NamedT:
        """The item a tree refers to by ``name``; NotFound when it was deleted or renamed."""
        item = await self.repository.find_one({"name": name})
        if item is None:
            raise NotFound(f"no {self.what} named {name!r}")
        return item

    def _merged(self, current: NamedT, changes: Mapping[str, Any]) -> NamedT:
        return build(type(current), {**current.model_dump(), **changes})

    async def _create(self, actor: Actor, item: NamedT) -> NamedT:
        try:
            await self.repository.insert(item)
        except DuplicateKeyError:
            raise self._name_taken(item.name) from None
        self._changed()
        await self.store.audit.record_change(
            actor, f"{self.kind}.create", self.kind, item.id, name=item.name
        )
        return item

    def _changed(self) -> None:
        """An item was written by this process: subclasses drop what they cached."""

    async def _save(
        self, actor: Actor, current: NamedT, updated: NamedT, action: str = "update",
        session: Session = None, **details: object,
    ) -> NamedT:
        """Replace ``current`` by ``updated`` only if nobody saved it since it was read."""
        saved = updated.model_copy(
            update={"revision": current.revision + 1, "updated_at": self.clock()}
        )
        try:
            result = await self.repository.collection.replace_one(
                {"_id": current.id, "revision": current.revision},
                saved.to_document(),
                session=session,
            )
        except DuplicateKeyError:
            raise self._name_taken(updated.name) from None
        if result.matched_count != 1:
            raise Conflict(
                f"{self.what} {current.name!r} was changed meanwhile; reload it and try again",
                code="concurrent_change",
            )
        self._changed()
        await self.store.audit.record_change(
            actor, f"{self.kind}.{action}", self.kind, current.id, session=session, **details
        )
        return saved

    async def delete(self, actor: Actor, item_id: str) -> None:
        """Allowed even while trees name it: their validation report flags the reference."""
        item = await self.repository.get(item_id)
        await self.repository.delete(item_id)
        self._changed()
        await self.store.audit.record_change(
            actor, f"{self.kind}.delete", self.kind, item_id, name=item.name
        )


class ValueTables(Catalogue[ValueTable]):
    """Lookup tables; the engine's ``values_table`` action calls ``lookup``."""

    kind, what = "value_table", "value table"

    def __init__(self, store: Store, clock: Callable[[], datetime] = utcnow):
        super().__init__(store, store.value_tables, clock)
        self._index: dict[str, tuple[float, dict[str, dict[str, Any]]]] = {}

    @staticmethod
    def _checked(table: ValueTable) -> ValueTable:
        ensure_unique_names(table.columns, "columns")
        if not table.columns:
            raise Invalid("a value table has at least one column (the key)", field="columns")
        check_table_rows(table.columns, table.rows)
        return table

    async def create(
        self, actor: Actor, *, name: str, description: str = "", columns: list[str],
        rows: list[dict[str, Any]] | None = None,
    ) -> ValueTable:
        data = {"name": name, "description": description, "columns": columns, "rows": rows or []}
        return await self._create(actor, self._checked(build(ValueTable, data)))

    async def update(self, actor: Actor, table_id: str, changes: Mapping[str, Any]) -> ValueTable:
        """Changing the columns alone must keep the stored rows valid: else 409."""
        current = await self.repository.get(table_id)
        updated = self._merged(current, changes)
        try:
            self._checked(updated)
        except Invalid as refusal:
            if "rows" in changes or not (refusal.field or "").startswith("rows"):
                raise
            raise Conflict(
                f"the stored rows do not fit the new columns: {refusal.message}",
                field="columns", code="rows_use_column",
            ) from None
        return await self._save(actor, current, updated, fields=sorted(changes))

    async def replace_rows(
        self, actor: Actor, table_id: str, rows: list[dict[str, Any]]
    ) -> ValueTable:
        current = await self.repository.get(table_id)
        updated = self._checked(self._merged(current, {"rows": rows}))
        return await self._save(actor, current, updated, "rows", rows=len(rows))

    async def import_csv(self, actor: Actor, table_id: str, text: str) -> ValueTable:
        """Replace columns and rows by a CSV (header row = columns); nothing stored if bad."""
        current = await self.repository.get(table_id)
        columns, rows = parse_csv(text)
        try:
            updated = self._checked(self._merged(current, {"columns": columns, "rows": rows}))
        except Invalid as refusal:
            raise Invalid(f"the CSV is refused{csv_place(refusal)}: {refusal.message}",
                          field="csv") from None
        return await self._save(actor, current, updated, "import", rows=len(rows))

    async def lookup(self, table_name: str, key: str) -> dict[str, Any] | None:
        """For the engine: the row whose key column equals ``key`` exactly (case-sensitive),
        or None; NotFound when no table has that name. Tables are read whole and kept for
        a second (this process's own changes at once): a look-up per message costs no
        round trip."""
        now = time.monotonic()
        cached = self._index.get(table_name)
        if cached is None or now - cached[0] > LOOKUP_CACHE_SECONDS:
            table = await self.repository.find_one({"name": table_name})
            if table is None:
                raise NotFound(f"no {self.what} named {table_name!r}")
            key_column = table.columns[0]
            rows = {str(row.get(key_column)): row for row in table.rows}
            cached = self._index[table_name] = (now, rows)
        row = cached[1].get(str(key))
        return dict(row) if row is not None else None

    def _changed(self) -> None:
        self._index.clear()


class Variables(Catalogue[GlobalVariable]):
    """Global variables; the engine reads them all at once with ``global_values``."""

    kind, what = "variable", "variable"

    def __init__(self, store: Store, clock: Callable[[], datetime] = utcnow):
        super().__init__(store, store.variables, clock)

    async def create(
        self, actor: Actor, *, name: str, type: VariableType, description: str = "",
        default_value: Any = None, value: Any = None,
    ) -> GlobalVariable:
        data = {
            "name": name, "type": type, "description": description,
            "default_value": default_value, "value": value,
        }
        return await self._create(actor, check_variable(build(GlobalVariable, data)))

    async def update(
        self, actor: Actor, variable_id: str, changes: Mapping[str, Any]
    ) -> GlobalVariable:
        """A new type re-checks the default and the value against it (422 if they misfit)."""
        current = await self.repository.get(variable_id)
        updated = check_variable(self._merged(current, changes))
        return await self._save(actor, current, updated, fields=sorted(changes))

    async def global_values(self) -> dict[str, Any]:
        """For the engine: every variable's value, or its default while no value is set."""
        return {item.name: item.effective_value for item in await self.repository.all()}


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


class Databases(Catalogue[CustomDatabase]):
    """Custom databases and their rows; the engine calls ``read_first``, ``insert``, ``modify``.

    A change of fields never leaves stored rows invalid silently: removing or retyping a
    field that rows use is refused, a new required field needs a default while rows lack it
    (the default is then written into them), and a field made unique is indexed in the same
    transaction as the change, which is refused if rows share a value.
    """

    kind, what = "database", "database"

    def __init__(self, store: Store, clock: Callable[[], datetime] = utcnow):
        super().__init__(store, store.databases, clock)
        self.rows = store.database_rows

    # the databases

    async def create(
        self, actor: Actor, *, name: str, description: str = "",
        fields: list[DatabaseField] | list[dict[str, Any]] | None = None,
    ) -> CustomDatabase:
        data = {"name": name, "description": description, "fields": fields or []}
        database = build(CustomDatabase, data)
        database.fields = check_fields(database.fields)
        return await self._create(actor, database)

    async def update(
        self, actor: Actor, database_id: str, changes: Mapping[str, Any]
    ) -> CustomDatabase:
        current = await self.repository.get(database_id)
        updated = self._merged(current, changes)
        updated.fields = check_fields(updated.fields)

        async def work(session: AsyncClientSession) -> CustomDatabase:
            await self._migrate_rows(current, updated.fields, session)
            return await self._save(
                actor, current, updated, session=session, fields=sorted(changes)
            )

        return await self.store.in_transaction(work)

    async def delete(self, actor: Actor, item_id: str) -> None:
        """The database and all its rows, together."""
        database = await self.repository.get(item_id)

        async def work(session: AsyncClientSession) -> None:
            await self.rows.collection.delete_many({"database_id": item_id}, session=session)
            await self.repository.delete(item_id, session=session)
            await self.store.audit.record_change(
                actor, "database.delete", "database", item_id, session=session, name=database.name
            )

        await self.store.in_transaction(work)

    # keeping rows valid when fields change

    async def _migrate_rows(
        self, database: CustomDatabase, fields: list[DatabaseField], session: AsyncClientSession
    ) -> None:
        before = {field.name: field for field in database.fields}
        kept = {field.name for field in fields}
        for name in before.keys() - kept:
            await self._refuse_if_used(
                database, name, "fields", f"remove the field {name!r}", session
            )
        for index, field in enumerate(fields):
            old = before.get(field.name)
            if old is not None and old.type != field.type:
                await self._refuse_if_used(
                    database, field.name, f"fields.{index}.type",
                    f"change the type of field {field.name!r}", session,
                )
            if field.required and not (old and old.required):
                await self._fill_required(database, field, index, session)
            if field.unique and not (old and old.unique):
                await self._index_unique(database, field, index, session)
            if old and old.unique and not field.unique:
                await self.rows.collection.update_many(
                    {"database_id": database.id},
                    {"$pull": {"unique_key": {"$regex": f"^{re.escape(field.name)}="}}},
                    session=session,
                )

    async def _refuse_if_used(
        self, database: CustomDatabase, name: str, field: str, doing: str,
        session: AsyncClientSession,
    ) -> None:
        used = await self.rows.collection.find_one(
            {"database_id": database.id, f"values.{name}": {"$exists": True}},
            projection={"_id": 1},
            session=session,
        )
        if used is not None:
            raise Conflict(
                f"cannot {doing}: rows hold values in it; clear them first",
                field=field, code="field_in_use",
            )

    async def _fill_required(
        self, database: CustomDatabase, field: DatabaseField, index: int,
        session: AsyncClientSession,
    ) -> None:
        lacking = {"database_id": database.id, f"values.{field.name}": {"$exists": False}}
        if field.default is None:
            if await self.rows.collection.find_one(lacking, projection={"_id": 1}, session=session):
                raise Conflict(
                    f"rows have no {field.name}: give the field a default to make it required",
                    field=f"fields.{index}.required", code="rows_lack_field",
                )
            return
        await self.rows.collection.update_many(
            lacking, {"$set": {f"values.{field.name}": field.default}}, session=session
        )

    async def _index_unique(
        self, database: CustomDatabase, field: DatabaseField, index: int,
        session: AsyncClientSession,
    ) -> None:
        holding = {"database_id": database.id, f"values.{field.name}": {"$exists": True}}
        documents = await self.rows.collection.find(holding, session=session).to_list()
        updates = [
            UpdateOne(
                {"_id": document["_id"]},
                {"$addToSet": {"unique_key": unique_keys([field], document["values"])[0]}},
            )
            for document in documents
        ]
        if not updates:
            return
        try:
            await self.rows.collection.bulk_write(updates, session=session)
        except (DuplicateKeyError, BulkWriteError):
            raise Conflict(
                f"rows share values of {field.name}: make them distinct to make it unique",
                field=f"fields.{index}.unique", code="values_not_unique",
            ) from None

    # rows, for the API

    async def list_rows(
        self, database_id: str, filter: Mapping[str, Any], *, cursor: str | None = None,
        limit: int = DEFAULT_PAGE,
    ) -> tuple[list[DatabaseRow], str | None]:
        database = await self.repository.get(database_id)
        return await self.rows.list(row_query(database, filter), cursor=cursor, limit=limit)

    async def get_row(self, database_id: str, row_id: str) -> DatabaseRow:
        row = await self.rows.find_one({"_id": row_id, "database_id": database_id})
        if row is None:
            await self.repository.get(database_id)
            raise NotFound(f"no row with id {row_id!r} in this database")
        return row

    async def create_row(
        self, actor: Actor, database_id: str, values: Mapping[str, Any]
    ) -> DatabaseRow:
        row = await self._insert_row(await self.repository.get(database_id), values)
        await self.store.audit.record_change(
            actor, "database_row.create", "database_row", row.id, database=database_id
        )
        return row

    async def update_row(
        self, actor: Actor, database_id: str, row_id: str, values: Mapping[str, Any]
    ) -> DatabaseRow:
        """Changes the given values only; null (or "") clears a value."""
        database = await self.repository.get(database_id)
        row = await self.get_row(database_id, row_id)
        changes = coerce_values(database.fields, values)
        merged = complete_row(database.fields, {**row.values, **changes})
        updated = await self._rewrite_row(database, row, merged)
        await self.store.audit.record_change(
            actor, "database_row.update", "database_row", row_id,
            database=database_id, fields=sorted(values),
        )
        return updated

    async def delete_row(self, actor: Actor, database_id: str, row_id: str) -> None:
        await self.get_row(database_id, row_id)
        await self.rows.delete(row_id)
        await self.store.audit.record_change(
            actor, "database_row.delete", "database_row", row_id, database=database_id
        )

    async def _insert_row(self, database: CustomDatabase, values: Mapping[str, Any]) -> DatabaseRow:
        stored = new_row_values(database.fields, values)
        row = DatabaseRow(
            database_id=database.id, values=stored, unique_key=unique_keys(database.fields, stored)
        )
        try:
            return await self.rows.insert(row)
        except DuplicateKeyError as error:
            raise clash(error) from None

    async def _rewrite_row(
        self, database: CustomDatabase, row: DatabaseRow, values: dict[str, Any],
        session: Session = None,
    ) -> DatabaseRow:
        updated = row.model_copy(update={
            "values": values,
            "unique_key": unique_keys(database.fields, values),
            "revision": row.revision + 1,
            "updated_at": self.clock(),
        })
        try:
            result = await self.rows.collection.replace_one(
                {"_id": row.id, "revision": row.revision}, updated.to_document(), session=session
            )
        except DuplicateKeyError as error:
            raise clash(error) from None
        if result.matched_count != 1:
            raise Conflict("the row was changed meanwhile; reload it", code="concurrent_change")
        return updated

    # for the engine

    async def read_first(
        self, database_name: str, filter: Mapping[str, Any]
    ) -> DatabaseRow | None:
        """The oldest row whose fields equal ``filter`` (values coerced to the field types)."""
        database = await self.named(database_name)
        found = self.rows.collection.find(row_query(database, filter)).sort("_id", 1).limit(1)
        documents = await found.to_list()
        return DatabaseRow.from_document(documents[0]) if documents else None

    async def insert(self, database_name: str, values: Mapping[str, Any]) -> DatabaseRow:
        """A new row; Invalid (bad value, missing required field), Conflict (unique clash)."""
        return await self._insert_row(await self.named(database_name), values)

    async def modify(
        self, database_name: str, filter: Mapping[str, Any], values: Mapping[str, Any]
    ) -> int:
        """Set ``values`` on every row matching ``filter``; all rows or none; the count."""
        if not filter:
            raise Invalid("a filter is required: rows are never all modified at once",
                          field="filter")
        database = await self.named(database_name)
        query = row_query(database, filter)
        changes = coerce_values(database.fields, values)

        async def work(session: AsyncClientSession) -> int:
            documents = await self.rows.collection.find(query, session=session).to_list()
            for document in documents:
                row = DatabaseRow.from_document(document)
                merged = complete_row(database.fields, {**row.values, **changes})
                await self._rewrite_row(database, row, merged, session)
            return len(documents)

        return await self.store.in_transaction(work)
