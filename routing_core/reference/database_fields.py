"""Pure checks of custom databases: declared fields, typed row values, the unique keys of
a row, and the typed queries the engine and the API run over rows."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pymongo.errors import DuplicateKeyError

from routing_core.infra.errors import Conflict, Invalid, Words
from routing_core.model.reference import (
    CustomDatabase,
    DatabaseField,
)
from routing_core.reference.coercion import FIELD_COERCERS, canonical, coerce, is_blank
from routing_core.reference.table_checks import ensure_unique_names

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
                Words(
                    "%(name)r is not a field of this database (fields: %(known)s)",
                    name=name, known=', '.join(known) or 'none'),
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
            raise Invalid(Words("%(name)s is required", name=field.name),
                          field=f"values.{field.name}")
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
        return Conflict(Words("another %(what)s already has one of these unique values", what=what),
                        code="value_taken")
    name, value = key.split("=", 1)
    return Conflict(
        Words(
            "another %(what)s already has %(value)r in the unique field %(name)s",
            what=what, value=value, name=name),
        field=f"values.{name}",
        code="value_taken",
    )


