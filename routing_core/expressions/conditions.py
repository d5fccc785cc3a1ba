"""The operators of structured conditions (``left``, ``operator``, ``right``), never ``eval``.

Operands arrive evaluated (a template that is one expression keeps its type). The rules,
the same for every action that tests values:

- Texts compare exactly, surrounding spaces trimmed, case included (``matches`` with
  ``(?i)`` ignores case). ``None`` reads as the empty text, booleans as ``true``/``false``.
- ``equals`` compares numerically when either operand is a real number (``3`` equals
  ``"3.0"``); two texts compare as texts, so ``"007"`` does not equal ``"7"``.
- ``lt``/``le``/``gt``/``ge`` hold only between numbers (texts such as ``"3,5"`` count).
- ``before``/``after`` compare dates or date-times; a date against a date-time compares days.
- ``in_list`` takes a list, or comma-separated values, on the right.
- ``contains`` on a list tests its items, on a mapping its keys.
- An operand of the wrong kind makes the condition false, not an error; only a regular
  expression that times out is an error (``RegexTimeout``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from routing_core.expressions import moments
from routing_core.expressions.values import bounded_match, is_email, normalise_phone, parse_number


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def _number(value: Any) -> float | int | None:
    return parse_number(value) if value is not None else None


def _equal(left: Any, right: Any) -> bool:
    if _is_real_number(left) or _is_real_number(right):
        left_number, right_number = _number(left), _number(right)
        if left_number is not None and right_number is not None:
            return left_number == right_number
    return as_text(left) == as_text(right)


def _is_real_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_empty(value: Any) -> bool:
    if isinstance(value, list | tuple | dict | set):
        return not value
    return as_text(value) == ""


def _contains(left: Any, right: Any) -> bool:
    if isinstance(left, Mapping):
        return as_text(right) in left
    if isinstance(left, list | tuple | set):
        return any(_equal(item, right) for item in left)
    return as_text(right) in as_text(left)


def _in_list(left: Any, right: Any) -> bool:
    items = right if isinstance(right, list | tuple | set) else as_text(right).split(",")
    return any(_equal(left, item) for item in items)


def _numbers(compare: Callable[[float, float], bool]) -> Callable[[Any, Any], bool]:
    def test(left: Any, right: Any) -> bool:
        left_number, right_number = _number(left), _number(right)
        if left_number is None or right_number is None:
            return False
        return compare(left_number, right_number)

    return test


def _moments(sign: int) -> Callable[[Any, Any], bool]:
    def test(left: Any, right: Any) -> bool:
        left_moment, right_moment = moments.parse_moment(left), moments.parse_moment(right)
        if left_moment is None or right_moment is None:
            return False
        return moments.compare(left_moment, right_moment) == sign

    return test


def _matches(left: Any, right: Any) -> bool:
    return bounded_match(as_text(right), as_text(left))


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "equals": _equal,
    "not_equals": lambda left, right: not _equal(left, right),
    "contains": _contains,
    "starts_with": lambda left, right: as_text(left).startswith(as_text(right)),
    "ends_with": lambda left, right: as_text(left).endswith(as_text(right)),
    "matches": _matches,
    "lt": _numbers(lambda left, right: left < right),
    "le": _numbers(lambda left, right: left <= right),
    "gt": _numbers(lambda left, right: left > right),
    "ge": _numbers(lambda left, right: left >= right),
    "is_empty": lambda left, _: _is_empty(left),
    "is_not_empty": lambda left, _: not _is_empty(left),
    "in_list": _in_list,
    "is_number": lambda left, _: _number(left) is not None,
    "is_email": lambda left, _: is_email(as_text(left)),
    "is_phone": lambda left, _: normalise_phone(as_text(left)) is not None,
    "before": _moments(-1),
    "after": _moments(1),
}
OPERATORS = frozenset(_OPERATORS)


def holds(left: Any, operator: str, right: Any) -> bool:
    """Whether ``left operator right``; KeyError for an unknown operator (params prevent it)."""
    return _OPERATORS[operator](left, right)
