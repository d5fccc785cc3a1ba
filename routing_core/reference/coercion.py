"""Values coerced against a declared type (text, number, boolean, date, e-mail, phone,
JSON): each coercer takes what JSON or a rendered template gives and returns the stored
value, or raises ``Invalid`` with a sentence for people. Operators never pass as values."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import bson
from pydantic import BaseModel, ValidationError

from routing_core.infra.errors import Invalid, Words
from routing_core.infra.sentences import invalid
from routing_core.model.reference import (
    FieldType,
    VariableType,
)

MAX_TEXT = 10_000
MAX_JSON_BYTES = 64 * 1024
MAX_INT = 2**63 - 1
SAFE_INTEGER = 2**53

ModelT = TypeVar("ModelT", bound=BaseModel)
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
        raise Invalid(Words("%(field_)s: %(error)s", field_=field, error=error),
                      field=field) from None


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
        raise invalid(error) from None


