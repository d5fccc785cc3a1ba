"""A stored document tested against a MongoDB filter, in this process.

A shared change stream (``change_feed.py``) brings every subscriber's changes; each one
keeps those its own filter takes. Only the operators such filters use are known —
equality, ``$eq``, ``$ne``, ``$in``, ``$nin``, ``$exists``, ``$or``, ``$and``, ``$nor`` —
and any other is refused when the filter is checked, never silently taken as a match.
"""

from __future__ import annotations

from typing import Any

LOGICAL = frozenset({"$or", "$and", "$nor"})
COMPARISONS = frozenset({"$eq", "$ne", "$in", "$nin", "$exists"})
MISSING = object()


def check_filter(query: dict[str, Any]) -> None:
    """ValueError naming an operator ``matches`` does not know."""
    for key, value in query.items():
        if key in LOGICAL:
            for clause in value:
                check_filter(clause)
        elif key.startswith("$"):
            raise ValueError(f"unsupported operator {key} in a change filter")
        elif isinstance(value, dict) and any(name.startswith("$") for name in value):
            unknown = set(value) - COMPARISONS
            if unknown:
                raise ValueError(f"unsupported operator {sorted(unknown)[0]} in a change filter")


def matches(document: dict[str, Any], query: dict[str, Any]) -> bool:
    """Whether ``document`` passes ``query``, as MongoDB would for these operators (a
    missing field equals None)."""
    for key, condition in query.items():
        if key == "$or":
            if not any(matches(document, clause) for clause in condition):
                return False
        elif key == "$and":
            if not all(matches(document, clause) for clause in condition):
                return False
        elif key == "$nor":
            if any(matches(document, clause) for clause in condition):
                return False
        elif not _field_passes(_value_at(document, key), condition):
            return False
    return True


def _value_at(document: dict[str, Any], path: str) -> Any:
    value: Any = document
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return MISSING
        value = value[part]
    return value


def _equals(value: Any, expected: Any) -> bool:
    if expected is None:
        return value is MISSING or value is None
    if isinstance(value, list) and not isinstance(expected, list):
        return expected in value  # an array field matches one of its elements
    return value is not MISSING and value == expected


def _field_passes(value: Any, condition: Any) -> bool:
    if not (isinstance(condition, dict) and any(name.startswith("$") for name in condition)):
        return _equals(value, condition)
    for operator, operand in condition.items():
        if operator == "$eq" and not _equals(value, operand):
            return False
        if operator == "$ne" and _equals(value, operand):
            return False
        if operator == "$in" and not any(_equals(value, each) for each in operand):
            return False
        if operator == "$nin" and any(_equals(value, each) for each in operand):
            return False
        if operator == "$exists" and (value is not MISSING) != bool(operand):
            return False
    return True
