"""A validation library's complaint, said as a person would say it next to the field.

Pydantic's messages ("String should have at most 200 characters", "Input should be
'start' or 'end'", "Field required") read like a dump and name types, not needs. Every
place that turns a ``ValidationError`` into something a person reads — the API's 422,
a form's field error, the CLI — goes through ``sentence`` so they all say "at most 200
characters", "choose start or end", "required".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from routing_core.infra.errors import Invalid, put_in

FIXED = {
    "missing": "required",
    "int_parsing": "a whole number", "int_type": "a whole number",
    "int_from_float": "a whole number",
    "float_parsing": "a number", "float_type": "a number", "decimal_parsing": "a number",
    "bool_parsing": "yes or no", "bool_type": "yes or no",
    "string_type": "text", "list_type": "a list", "dict_type": "an object",
    "model_type": "an object", "model_attributes_type": "an object",
    "extra_forbidden": "not a field this accepts",
    "json_invalid": "not valid JSON", "json_type": "not valid JSON",
    "url_parsing": "a web address such as https://example.com",
    "url_scheme": "a web address such as https://example.com",
    "string_pattern_mismatch": "use letters, digits, '_', '.' or '-', starting with a "
                               "letter or a digit",
    "uuid_parsing": "an identifier", "none_required": "must be left empty",
}


BOUNDS = {"greater_than_equal": ("at least %(limit)s", "ge"),
          "greater_than": ("more than %(limit)s", "gt"),
          "less_than_equal": ("at most %(limit)s", "le"),
          "less_than": ("less than %(limit)s", "lt")}
DATES = {"datetime": "a date and time such as 2030-01-31T17:00",
         "date": "a date such as 2030-01-31", "time": "a time such as 09:30"}
# every sentence ``worded`` can give, before its values are put in: a page lists them for
# its translators and says them in its viewer's language
SENTENCES = [
    *dict.fromkeys(FIXED.values()), "at least %(count)s characters", "at most %(count)s characters",
    "at least 1 item", "at least %(count)s items", "at most %(count)s items",
    "choose %(options)s", "choose one of the options",
    *(words for words, _ in BOUNDS.values()), *DATES.values(),
]


def worded(problem: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """What one pydantic error means for the person who typed the value: one of
    ``SENTENCES`` and the values it names — or, for a check of our own models (a
    validator's ``ValueError``), its message as written and no values."""
    kind = str(problem.get("type", ""))
    ctx = problem.get("ctx") or {}
    if kind in FIXED:
        return FIXED[kind], {}
    if kind == "string_too_short":
        least = ctx.get("min_length", 1)
        return ("required", {}) if least <= 1 else ("at least %(count)s characters",
                                                    {"count": least})
    if kind == "string_too_long":
        return "at most %(count)s characters", {"count": ctx.get("max_length")}
    if kind == "too_short":
        least = ctx.get("min_length")
        return ("at least 1 item", {}) if least == 1 else ("at least %(count)s items",
                                                           {"count": least})
    if kind == "too_long":
        return "at most %(count)s items", {"count": ctx.get("max_length")}
    if kind in ("enum", "literal_error"):
        if "expected" not in ctx:
            return "choose one of the options", {}
        return "choose %(options)s", {"options": str(ctx["expected"]).replace("'", "")}
    if kind in BOUNDS:
        words, key = BOUNDS[kind]
        return words, {"limit": ctx.get(key)}
    for prefix, words in DATES.items():
        if kind.startswith(prefix):
            return words, {}
    message = str(problem.get("msg", "not accepted"))
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message, {}


def sentence(problem: Mapping[str, Any]) -> str:
    """``worded`` with its values put in (in English)."""
    return put_in(*worded(problem))


def field_of(problem: Mapping[str, Any], prefix: str = "") -> str | None:
    """The dotted path of the field a problem is about (``prefix`` before it)."""
    where = ".".join(str(part) for part in problem.get("loc", ()))
    return ".".join(part for part in (prefix, where) if part) or None


def invalid(error: ValidationError, prefix: str = "") -> Invalid:
    """The first problem of ``error`` as a 422: "field: sentence", naming the field."""
    problem = error.errors()[0]
    field = field_of(problem, prefix)
    said = sentence(problem)
    return Invalid(f"{field}: {said}" if field else said, field=field, worded=worded(problem))
