"""Actions that read, test and compute values: variables, tables, databases, dates, counters."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from routing_core.actions.base import ActionType, register
from routing_core.actions.params import (
    BranchName,
    Condition,
    FieldName,
    Fields,
    Reference,
    RequiredTemplate,
    Template,
    Timezone,
    VariableName,
    ensure_unique,
    invalid,
)

# Columns of a looked-up row copied into variables: {column: variable}.
Into = dict[FieldName, VariableName]
NonEmptyFields = Annotated[Fields, Field(min_length=1)]


class Assignment(BaseModel):
    """One variable set from a template."""

    model_config = ConfigDict(extra="forbid")

    variable: VariableName
    value: Template


@register
class VariablesAssign(ActionType):
    """Stores values for later actions (``contact.`` variables outlive the interaction)."""

    type = "variables_assign"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        assignments: Annotated[list[Assignment], Field(min_length=1, max_length=50)]


class Case(BaseModel):
    """A branch taken when all its conditions hold."""

    model_config = ConfigDict(extra="forbid")

    branch: BranchName
    conditions: Annotated[list[Condition], Field(min_length=1, max_length=20)]


@register
class ValuesTest(ActionType):
    """Branches on structured conditions; the first matching case wins, else ``other``."""

    type = "values_test"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        cases: Annotated[list[Case], Field(min_length=1, max_length=20)]

        @field_validator("cases")
        @classmethod
        def _unique_branches(cls, cases: list[Case]) -> list[Case]:
            ensure_unique((case.branch for case in cases), "branch")
            return cases

    @classmethod
    def branches_for(cls, params: BaseModel) -> list[str]:
        assert isinstance(params, cls.Params)
        return [case.branch for case in params.cases] + ["other"]


@register
class ValuesTable(ActionType):
    """Looks a key up in a value table, so lists can change without a new version."""

    type = "values_table"
    branches = ("found", "not_found")

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        table: Reference
        key: RequiredTemplate
        into: Into = {}


@register
class DatabaseRead(ActionType):
    """Reads the first matching row of a custom database into variables."""

    type = "database_read"
    branches = ("found", "not_found")

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        database: Reference
        filter: NonEmptyFields
        into: Into = {}


@register
class DatabaseSave(ActionType):
    """Inserts a row into a custom database; ``failure`` on a clash or an invalid value."""

    type = "database_save"
    branches = ("next", "failure")

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        database: Reference
        values: NonEmptyFields


@register
class DatabaseModify(ActionType):
    """Updates the matching rows of a custom database (a filter is required: no mass update)."""

    type = "database_modify"
    branches = ("next", "not_found")

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        database: Reference
        filter: NonEmptyFields
        values: NonEmptyFields
        count_into: VariableName = "modified_count"


# The operands each datetime operation cannot do without.
_REQUIRED_OPERANDS = {
    "now": frozenset[str](),
    "add": frozenset({"amount"}),
    "subtract": frozenset({"amount"}),
    "difference": frozenset({"other"}),
    "format": frozenset({"format"}),
}


@register
class Datetime(ActionType):
    """Gets and computes dates and times in a timezone (opening days, delays, ages)."""

    type = "datetime"

    class Params(BaseModel):
        """``value`` is the date worked on (empty: now); ``other`` the one to subtract."""

        model_config = ConfigDict(extra="forbid")

        operation: Literal["now", "add", "subtract", "difference", "format"]
        timezone: Timezone = "UTC"
        value: Template = ""
        amount: Annotated[int, Field(ge=0, le=1_000_000)] | None = Field(
            None, validate_default=True
        )
        unit: Literal["seconds", "minutes", "hours", "days", "weeks"] = "minutes"
        other: Template | None = Field(None, validate_default=True)
        format: Annotated[str, Field(min_length=1, max_length=100)] | None = Field(
            None, validate_default=True
        )
        into: VariableName

        # Field validators rather than a model validator: the error then names the operand.
        @field_validator("amount", "other", "format")
        @classmethod
        def _operand_for_operation(cls, operand: object, info: ValidationInfo) -> object:
            operation = info.data.get("operation")
            needed = _REQUIRED_OPERANDS.get(operation or "", frozenset())
            if info.field_name in needed and operand in (None, ""):
                raise invalid(f"required when operation is {operation}")
            return operand


@register
class PassagesCheck(ActionType):
    """Bounds how often a conversation goes through an action, which makes a loop safe."""

    type = "passages_check"
    branches = ("below", "reached")
    guards_loops: ClassVar[bool] = True

    class Params(BaseModel):
        """``action`` is the id of the counted action; none counts this one."""

        model_config = ConfigDict(extra="forbid")

        action: Annotated[str, Field(min_length=1, max_length=40)] | None = None
        max: Annotated[int, Field(ge=1, le=10_000)]


@register
class NthContactCheck(ActionType):
    """Treats first, n-th and frequent contacts differently within a period."""

    type = "nth_contact_check"
    branches = ("first", "nth", "more")

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        period: Literal["day", "week", "month", "ever"] = "day"
        scope: Literal["routing", "entry_point", "any"] = "routing"
        n: Annotated[int, Field(ge=1, le=10_000)]
