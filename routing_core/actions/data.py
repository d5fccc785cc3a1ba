"""Actions that read, test and compute values: variables, tables, databases, dates, counters."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from routing_core.actions.base import ActionType, Outcome, register
from routing_core.actions.context import get_path
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
from routing_core.actions.support import evaluated, reference_port, storable
from routing_core.expressions import moments
from routing_core.expressions.conditions import holds
from routing_core.expressions.values import RegexTimeout
from routing_core.infra.errors import Conflict, Invalid, Words

if TYPE_CHECKING:
    from routing_core.actions.context import RunContext

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
    title = "Assign variables"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        assignments: Annotated[list[Assignment], Field(min_length=1, max_length=50)]

    async def run(self, params: Params, ctx: RunContext) -> Outcome:
        # In order: an assignment sees the variables the ones before it set.
        for assignment in params.assignments:
            ctx.set_variable(assignment.variable, storable(ctx.evaluate(assignment.value)))
        return Outcome.follow("next")


class Case(BaseModel):
    """A branch taken when all its conditions hold."""

    model_config = ConfigDict(extra="forbid")

    branch: BranchName
    conditions: Annotated[list[Condition], Field(min_length=1, max_length=20)]


@register
class ValuesTest(ActionType):
    """Branches on structured conditions; the first matching case wins, else ``other``."""

    type = "values_test"
    title = "Test a value(s)"

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

    async def run(self, params: Params, ctx: RunContext) -> Outcome:
        for case in params.cases:
            if all(condition_holds(condition, ctx) for condition in case.conditions):
                return Outcome.follow(case.branch)
        return Outcome.follow("other")


def condition_holds(condition: Condition, ctx: RunContext) -> bool:
    """Both operands evaluated as templates, then compared (a bad regex is an error)."""
    left = ctx.evaluate(condition.left)
    right = ctx.evaluate(condition.right) if condition.right else ""
    try:
        return holds(left, condition.operator, right)
    except RegexTimeout as error:
        raise Invalid(Words("values_test: %(error)s", error=error)) from None


def copy_into(ctx: RunContext, row: dict[str, Any], into: dict[str, str]) -> None:
    """Columns (or fields) of a found row into variables; a missing one gives None."""
    for column, variable in into.items():
        ctx.set_variable(variable, storable(get_path(row, column)))


@register
class ValuesTable(ActionType):
    """Looks a key up in a value table, so lists can change without a new version."""

    type = "values_table"
    title = "Look up a value table"
    branches = ("found", "not_found")

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        table: Reference
        key: RequiredTemplate
        into: Into = {}

    async def run(self, params: Params, ctx: RunContext) -> Outcome:
        key = ctx.render(params.key).strip()
        row = await reference_port(ctx).value_table_row(params.table, key)
        if row is None:
            return Outcome.follow("not_found")
        copy_into(ctx, row, params.into)
        return Outcome.follow("found")


@register
class DatabaseRead(ActionType):
    """Reads the first matching row of a custom database into variables."""

    type = "database_read"
    title = "Read a database"
    branches = ("found", "not_found")

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        database: Reference
        filter: NonEmptyFields
        into: Into = {}

    async def run(self, params: Params, ctx: RunContext) -> Outcome:
        match = evaluated(ctx, params.filter)
        row = await reference_port(ctx).database_read(params.database, match)
        if row is None:
            return Outcome.follow("not_found")
        copy_into(ctx, row, params.into)
        return Outcome.follow("found")


@register
class DatabaseSave(ActionType):
    """Inserts a row into a custom database; ``failure`` on a clash or an invalid value."""

    type = "database_save"
    title = "Save in a database"
    branches = ("next", "failure")

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        database: Reference
        values: NonEmptyFields

    async def run(self, params: Params, ctx: RunContext) -> Outcome:
        reference, values = reference_port(ctx), evaluated(ctx, params.values)
        try:
            await reference.database_insert(params.database, values)
        except (Conflict, Invalid) as refusal:  # a unique clash or a value the field refuses
            ctx.emit("error", database=params.database, message=refusal.message)
            return Outcome.follow("failure")
        return Outcome.follow("next")


@register
class DatabaseModify(ActionType):
    """Updates the matching rows of a custom database (a filter is required: no mass update)."""

    type = "database_modify"
    title = "Modify a database"
    branches = ("next", "not_found")

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        database: Reference
        filter: NonEmptyFields
        values: NonEmptyFields
        count_into: VariableName = "modified_count"

    async def run(self, params: Params, ctx: RunContext) -> Outcome:
        match, values = evaluated(ctx, params.filter), evaluated(ctx, params.values)
        count = await reference_port(ctx).database_modify(params.database, match, values)
        ctx.set_variable(params.count_into, count)
        return Outcome.follow("next" if count else "not_found")


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
    title = "Date and time"

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

    async def run(self, params: Params, ctx: RunContext) -> Outcome:
        """Results are ISO texts in the timezone (a date stays a date); a difference is a
        whole number of ``unit`` (days and weeks count calendar days)."""
        zone = ZoneInfo(params.timezone)
        value = self._moment("" if params.operation == "now" else params.value, ctx, zone)
        result: Any
        match params.operation:
            case "now":
                result = value
            case "add" | "subtract":
                seconds = (params.amount or 0) * moments.UNIT_SECONDS[params.unit]
                sign = 1 if params.operation == "add" else -1
                result = moments.shift(value, sign * seconds, params.unit, zone)
            case "difference":
                other = self._moment(params.other or "", ctx, zone)
                result = moments.elapsed(value, other, params.unit)
            case "format":
                result = self._formatted(value, params.format or "")
        ctx.set_variable(params.into, storable(result))
        return Outcome.follow("next")

    @staticmethod
    def _moment(template: str, ctx: RunContext, zone: ZoneInfo) -> moments.Moment:
        """The operand's date or date-time; an empty operand is now."""
        value = ctx.evaluate(template) if template else None
        if value in (None, ""):
            return ctx.now.astimezone(zone).replace(microsecond=0)
        moment = moments.parse_moment(value, zone)
        if moment is None:
            raise Invalid(Words(
                "datetime: %(value)r is not a date or a date-time",
                value=str(value)[:40]))
        return moment

    @staticmethod
    def _formatted(moment: moments.Moment, pattern: str) -> str:
        try:
            return moment.strftime(pattern)
        except ValueError as error:
            raise Invalid(Words(
                "datetime: the format %(pattern)r is refused: %(error)s",
                pattern=pattern, error=error)) from None


@register
class PassagesCheck(ActionType):
    """Bounds how often a conversation goes through an action, which makes a loop safe."""

    type = "passages_check"
    title = "Check the passages"
    branches = ("below", "reached")
    guards_loops: ClassVar[bool] = True

    class Params(BaseModel):
        """``action`` is the id of the counted action; none counts this one."""

        model_config = ConfigDict(extra="forbid")

        action: Annotated[str, Field(min_length=1, max_length=40)] | None = None
        max: Annotated[int, Field(ge=1, le=10_000)]

    async def run(self, params: Params, ctx: RunContext) -> Outcome:
        # The interpreter counts a passage before running the action: this one is included.
        counted = ctx.interaction.passages.get(params.action or ctx.action.id, 0)
        return Outcome.follow("below" if counted <= params.max else "reached")


@register
class NthContactCheck(ActionType):
    """Treats first, n-th and frequent contacts differently within a period."""

    type = "nth_contact_check"
    title = "Nth contact of the contact"
    branches = ("first", "nth", "more")

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        period: Literal["day", "week", "month", "ever"] = "day"
        scope: Literal["routing", "entry_point", "any"] = "routing"
        n: Annotated[int, Field(ge=1, le=10_000)]

    async def run(self, params: Params, ctx: RunContext) -> Outcome:
        interaction = ctx.interaction
        days = PERIOD_DAYS[params.period]
        count = await reference_port(ctx).count_interactions(
            interaction.contact_id,
            None if days is None else ctx.now - timedelta(days=days),
            interaction.routing_id if params.scope == "routing" else None,
            interaction.entry_point_id if params.scope == "entry_point" else None,
        )
        return Outcome.follow(nth_branch(count, params.n))


# Periods are rolling windows ending now: no timezone decides where a "day" starts.
PERIOD_DAYS: dict[str, int | None] = {"day": 1, "week": 7, "month": 30, "ever": None}


def nth_branch(count: int, n: int) -> str:
    """``count`` includes the current interaction. ``more`` beyond the n-th, ``nth`` at the
    n-th, ``first`` before it. With n = 1 the first contact is also the n-th: ``first``
    wins, so such an action only tells ``first`` from ``more`` (``nth`` is never taken).
    """
    if count > n:
        return "more"
    if count == n and n > 1:
        return "nth"
    return "first"
