"""Parameter pieces shared by action types: templates, names, references, conditions, choices.

Each check lives once here, so every action reports the same mistake the same way and the
error names the faulty field (``parse_params`` turns the pydantic location into it).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment
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

# Branches some types add after their derived ones: a user-named branch must not shadow them.
RESERVED_BRANCHES = frozenset({"other", "no_match", "timeout"})
MAX_PATTERN_LENGTH = 500

_TEMPLATES = SandboxedEnvironment()


def invalid(message: str) -> PydanticCustomError:
    """A validation error whose message reads without pydantic's "Value error," prefix."""
    return PydanticCustomError("invalid", message)


def check_template(text: str) -> str:
    try:
        _TEMPLATES.parse(text)
    except TemplateSyntaxError as error:
        raise invalid(f"not a valid template (line {error.lineno}): {error.message}") from None
    return text


def is_literal(text: str) -> bool:
    """True when a template holds no Jinja2 syntax, so its value is known when saved."""
    return not any(marker in text for marker in ("{{", "{%", "{#"))


def check_regex(pattern: str) -> str:
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise invalid(f"a regular expression has at most {MAX_PATTERN_LENGTH} characters")
    try:
        re.compile(pattern)
    except re.error as error:
        raise invalid(f"not a valid regular expression: {error}") from None
    return pattern


def _check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise invalid(f"unknown timezone {name!r}") from None
    return name


def matching(regex: str, rule: str) -> AfterValidator:
    """A check that the whole text matches ``regex``, failing with ``rule`` (for people)."""
    compiled = re.compile(regex)

    def check(text: str) -> str:
        if not compiled.fullmatch(text):
            raise invalid(rule)
        return text

    return AfterValidator(check)


def _not_reserved(name: str) -> str:
    if name in RESERVED_BRANCHES:
        raise invalid(f"{name!r} is a reserved branch name")
    return name


def ensure_unique(values: Iterable[str], what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise invalid(f"{what} {value!r} is used twice")
        seen.add(value)


def folded(text: str) -> str:
    """Text compared the way a reply is matched: case and accents ignored."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char)).strip()


# A Jinja2 template (sandboxed when rendered); its syntax is checked when saved.
Template = Annotated[str, StringConstraints(max_length=20_000), AfterValidator(check_template)]
RequiredTemplate = Annotated[
    str, StringConstraints(min_length=1, max_length=20_000), AfterValidator(check_template)
]
# A one-line text: a title or a subject.
Title = Annotated[
    str, StringConstraints(min_length=1, max_length=500), AfterValidator(check_template)
]
# The name of a stored thing (table, database, queue, routing, campaign, survey, schedule…).
Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
# An interaction variable, or a contact variable with the ``contact.`` prefix.
VariableName = Annotated[
    str,
    matching(
        r"(contact\.)?[A-Za-z_][A-Za-z0-9_]{0,63}",
        "a variable name has up to 64 letters, digits or '_' (not first), "
        "after an optional 'contact.' prefix",
    ),
]
# An interaction variable only (no ``contact.`` prefix).
ConversationVariable = Annotated[
    str,
    matching(r"[A-Za-z_][A-Za-z0-9_]{0,63}",
             "a variable name has up to 64 letters, digits or '_' (not first)"),
]
# A field or column of a record (CRM card, case, database row, value table); dots reach inside.
FieldName = Annotated[
    str,
    matching(
        r"[A-Za-z_][A-Za-z0-9_]{0,63}(\.[A-Za-z_][A-Za-z0-9_]{0,63}){0,4}",
        "a field name has letters, digits or '_' (not first), parts joined by dots",
    ),
]
BranchName = Annotated[
    str,
    matching(
        r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}", "a branch name has 1 to 40 letters, digits, '_' or '-'"
    ),
    AfterValidator(_not_reserved),
]
Timezone = Annotated[str, AfterValidator(_check_timezone)]
Pattern = Annotated[str, StringConstraints(min_length=1), AfterValidator(check_regex)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
TimeoutSeconds = Annotated[int, Field(ge=10, le=604_800)]
Retries = Annotated[int, Field(ge=0, le=5)]

Fields = dict[FieldName, Template]

UNARY_OPERATORS = frozenset({"is_empty", "is_not_empty", "is_number", "is_email", "is_phone"})
# Binary operators that compare with an empty right operand are meaningless, except equality.
OPTIONAL_RIGHT_OPERATORS = frozenset({"equals", "not_equals"})
Operator = Literal[
    "equals", "not_equals", "contains", "starts_with", "ends_with", "matches",
    "lt", "le", "gt", "ge", "is_empty", "is_not_empty", "in_list",
    "is_number", "is_email", "is_phone", "before", "after",
]  # fmt: skip


class Condition(BaseModel):
    """A structured test, never ``eval``: ``in_list`` takes comma-separated values on the right."""

    model_config = ConfigDict(extra="forbid")

    left: Template
    operator: Operator
    right: Template = Field("", validate_default=True)

    @field_validator("right")
    @classmethod
    def _right_fits_operator(cls, right: str, info: ValidationInfo) -> str:
        operator = info.data.get("operator")
        if operator is None:
            return right
        if operator in UNARY_OPERATORS and right:
            raise invalid(f"{operator} takes no right operand")
        if operator not in UNARY_OPERATORS | OPTIONAL_RIGHT_OPERATORS and not right:
            raise invalid(f"{operator} needs a right operand")
        if operator == "matches" and is_literal(right):
            check_regex(right)
        return right


class Choice(BaseModel):
    """One answer offered by message_choice, and the branch it leads to."""

    model_config = ConfigDict(extra="forbid")

    label: Annotated[
        str, StringConstraints(min_length=1, max_length=100), AfterValidator(check_template)
    ]
    value: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    branch: BranchName
