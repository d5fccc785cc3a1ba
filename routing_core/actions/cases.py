"""Actions that tie an interaction to cases, CRM cards, CRM V2 objects and tasks.

They reach the records through the ports ``ctx.ports.extra["cases"]``, ``["crm"]`` and
``["tasks"]`` (``routing_core.model.cases.CasesPort``…). The associated case, card and
object are kept as snapshots in the variables ``case``, ``crm`` and ``crm2``: templates
read ``vars.case.reference``, ``vars.crm.name``, and the interaction view shows them. What
an action creates carries its step's key (interaction, action, passage), so a step
replayed after a crash finds it rather than creating it twice.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from routing_core.actions.base import ActionType, Outcome, register
from routing_core.actions.params import (
    FieldName,
    Fields,
    Reference,
    RequiredTemplate,
    Template,
    Title,
    invalid,
)
from routing_core.actions.sending import failed
from routing_core.actions.support import evaluated, storable
from routing_core.infra.errors import Conflict, DomainError, Invalid, NotFound, Words
from routing_core.model.cases import CasesPort
from routing_core.model.crm import CrmPort
from routing_core.model.tasks import TasksPort

if TYPE_CHECKING:
    from routing_core.actions.context import RunContext

CasePriority = Literal["low", "normal", "high", "urgent"]
CaseStatus = Literal["open", "pending", "closed"]
# Enough to tell one match from several.
SEVERAL = 2


def step_key(ctx: RunContext) -> str:
    """The same for a step and its replay: what this passage of the action creates."""
    passage = ctx.interaction.passages.get(ctx.action.id, 0)
    return f"{ctx.interaction.id}:{ctx.action.id}:{passage}"


def port(ctx: RunContext, name: str, what: str) -> Any:
    found = ctx.ports.extra.get(name)
    if found is None:
        raise Invalid(Words(
            "%(type)s: %(what)s are not available here",
            type=ctx.action.type, what=what))
    return found


def cases_port(ctx: RunContext) -> CasesPort:
    return cast(CasesPort, port(ctx, "cases", "cases"))


def crm_port(ctx: RunContext) -> CrmPort:
    return cast(CrmPort, port(ctx, "crm", "CRM records"))


def associated_case(ctx: RunContext) -> str | None:
    case_id = ctx.lookup("case.id")
    return str(case_id) if case_id else None


async def associate(ctx: RunContext, snapshot: dict[str, Any], event: str) -> None:
    """Keep ``snapshot`` as the interaction's case (a previous one is let go)."""
    previous = associated_case(ctx)
    if previous and previous != snapshot["id"]:
        await cases_port(ctx).unlink(previous, ctx.interaction.id)
    ctx.set_variable("case", storable(snapshot))
    ctx.emit(event, case=snapshot["id"], reference=snapshot["reference"])


@register
class CaseAssociate(ActionType):
    """Links the interaction to an existing case so later actions read ``vars.case.*``."""

    type = "case_associate"
    title = "Associate a case"
    branches = ("found", "not_found")

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        lookup: Literal["latest_open", "by_reference"] = "latest_open"
        reference: Template | None = Field(None, validate_default=True)

        @field_validator("reference")
        @classmethod
        def _reference_for_lookup(cls, reference: str | None, info: ValidationInfo) -> str | None:
            if info.data.get("lookup") == "by_reference" and not reference:
                raise invalid("required when lookup is by_reference")
            return reference

    async def run(self, params: Params, ctx: RunContext) -> Outcome:
        cases = cases_port(ctx)
        if params.lookup == "by_reference":
            reference = ctx.render(params.reference or "").strip()
            found = await cases.by_reference(reference) if reference else None
        else:
            found = await cases.latest_open(ctx.interaction.contact_id)
        if found is not None:
            found = await cases.link(found["id"], ctx.interaction.id)
        if found is None:
            return Outcome.follow("not_found")
        await associate(ctx, found, "case_associated")
        return Outcome.follow("found")


@register
class CrmAssociate(ActionType):
    """Finds the contact's CRM card by a field value (e.g. phone = contact phone)."""

    type = "crm_associate"
    title = "Associate a CRM card"
    branches = ("found", "not_found", "several")

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        field: FieldName
        value: RequiredTemplate

    async def run(self, params: Params, ctx: RunContext) -> Outcome:
        value = searched_value(ctx, params.value)
        found = [] if value is None else await crm_port(ctx).find_cards(
            params.field, value, SEVERAL
        )
        return found_one(ctx, found, "crm", "card")


def searched_value(ctx: RunContext, template: str) -> Any:
    """The evaluated value looked for; None when it is empty (nothing is looked up). Only a
    text, a number or a yes/no is looked for: a template that gives a mapping (an operator
    such as ``{'$regex': …}``, or a web service's answer) or a list looks up nothing, with
    an error event, so no template can widen a query."""
    value = storable(ctx.evaluate(template))
    if isinstance(value, str):
        value = value.strip()
    if value is not None and not isinstance(value, str | int | float | bool):
        ctx.emit("error", message="the value looked for must be a text, a number or a "
                 f"yes/no, not a {'list' if isinstance(value, list) else 'mapping'}")
        return None
    return None if value in (None, "") else value


def found_one(ctx: RunContext, found: list[dict[str, Any]], variable: str, what: str) -> Outcome:
    if not found:
        return Outcome.follow("not_found")
    if len(found) > 1:
        return Outcome.follow("several")
    ctx.set_variable(variable, storable(found[0]))
    ctx.emit(f"{variable}_associated", **{what: found[0]["id"]})
    return Outcome.follow("found")


@register
class Crm2Associate(ActionType):
    """Finds a typed CRM V2 object by a field value."""

    type = "crm2_associate"
    title = "Associate a CRM V2 object"
    branches = ("found", "not_found", "several")

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        object_type: Reference
        field: FieldName
        value: RequiredTemplate

    async def run(self, params: Params, ctx: RunContext) -> Outcome:
        value = searched_value(ctx, params.value)
        found = [] if value is None else await crm_port(ctx).find_objects(
            params.object_type, params.field, value, SEVERAL
        )
        return found_one(ctx, found, "crm2", "object")


@register
class CrmCreate(ActionType):
    """Creates a CRM card for a new contact and associates it."""

    type = "crm_create"
    title = "Create a CRM card"
    branches = ("next", "failure")

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        fields: Annotated[Fields, Field(min_length=1)]

    async def run(self, params: Params, ctx: RunContext) -> Outcome:
        try:
            card = await crm_port(ctx).create_card(evaluated(ctx, params.fields), step_key(ctx))
        except (Invalid, Conflict) as refusal:
            return failed(ctx, refusal.message, refusal.code)
        ctx.set_variable("crm", storable(card))
        ctx.emit("crm_created", card=card["id"])
        return Outcome.follow("next")


@register
class Crm2Create(ActionType):
    """Creates a typed CRM V2 object; its fields are checked against the type when run."""

    type = "crm2_create"
    title = "Create a CRM V2 object"
    branches = ("next", "failure")

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        object_type: Reference
        fields: Annotated[Fields, Field(min_length=1)]

    async def run(self, params: Params, ctx: RunContext) -> Outcome:
        try:
            created = await crm_port(ctx).create_object(
                params.object_type, evaluated(ctx, params.fields), step_key(ctx)
            )
        except (Invalid, Conflict, NotFound) as refusal:
            return failed(ctx, refusal.message, refusal.code)
        ctx.set_variable("crm2", storable(created))
        ctx.emit("crm2_created", object=created["id"], type=params.object_type)
        return Outcome.follow("next")


class Assignee(BaseModel):
    """Who a task goes to: one agent (id or template) or a queue (by name)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["user", "queue"]
    ref: RequiredTemplate


@register
class TaskCreate(ActionType):
    """Leaves follow-up work for people, linked to the interaction and its case."""

    type = "task_create"
    title = "Create a task"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        title: Title
        description: Template = ""
        due_in_minutes: Annotated[int, Field(ge=1, le=525_600)] | None = None
        assignee: Assignee | None = None

    async def run(self, params: Params, ctx: RunContext) -> Outcome:
        tasks = cast(TasksPort, port(ctx, "tasks", "tasks"))
        assignee = None
        if params.assignee is not None:
            ref = ctx.render(params.assignee.ref).strip()
            if not ref:
                raise Invalid(Words(
                    "task_create: the %(kind)s rendered empty",
                    kind=params.assignee.kind))
            assignee = {"kind": params.assignee.kind, "ref": ref}
        due_at = None
        if params.due_in_minutes is not None:
            due_at = ctx.now + timedelta(minutes=params.due_in_minutes)
        task = await tasks.create_task(
            title=" ".join(ctx.render(params.title).split()),
            description=ctx.render(params.description), assignee=assignee, due_at=due_at,
            interaction_id=ctx.interaction.id, case_id=associated_case(ctx),
            origin=step_key(ctx),
        )
        ctx.emit("task_created", task=task["id"], title=task["title"],
                 assignee=task.get("assignee"), due_at=task.get("due_at"))
        return Outcome.follow("next")


@register
class CaseDissociate(ActionType):
    """Unlinks the case so the rest of the tree works without it."""

    type = "case_dissociate"
    title = "Dissociate the case"

    async def run(self, params: BaseModel, ctx: RunContext) -> Outcome:
        case_id = associated_case(ctx)
        if case_id is not None:
            await cases_port(ctx).unlink(case_id, ctx.interaction.id)
            ctx.set_variable("case", None)
            ctx.emit("case_dissociated", case=case_id)
        return Outcome.follow("next")


@register
class CaseCreate(ActionType):
    """Opens a case for the conversation and associates it."""

    type = "case_create"
    title = "Create a case"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        title: Title
        fields: Fields = {}
        priority: CasePriority = "normal"

    async def run(self, params: Params, ctx: RunContext) -> Outcome:
        case = await cases_port(ctx).open_case(
            title=" ".join(ctx.render(params.title).split()),
            fields=evaluated(ctx, params.fields), priority=params.priority,
            contact_id=ctx.interaction.contact_id, interaction_id=ctx.interaction.id,
            origin=step_key(ctx),
        )
        await associate(ctx, case, "case_created")
        return Outcome.follow("next")


@register
class CaseModify(ActionType):
    """Updates the associated case; ``failure`` when none is associated."""

    type = "case_modify"
    title = "Modify the case"
    branches = ("next", "failure")

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        fields: Fields = {}
        status: CaseStatus | None = None
        priority: CasePriority | None = None

        @model_validator(mode="after")
        def _changes_something(self) -> Self:
            if not self.fields and self.status is None and self.priority is None:
                raise invalid("give fields, a status or a priority to change")
            return self

    async def run(self, params: Params, ctx: RunContext) -> Outcome:
        case_id = associated_case(ctx)
        if case_id is None:
            return failed(ctx, "no case is associated with the interaction", "no_case")
        try:
            case = await cases_port(ctx).modify(
                case_id, fields=evaluated(ctx, params.fields), status=params.status,
                priority=params.priority,
            )
        except DomainError as refusal:
            return failed(ctx, refusal.message, refusal.code)
        if case is None:
            return failed(ctx, f"the associated case {case_id} no longer exists", "no_case")
        ctx.set_variable("case", storable(case))
        changes = {"status": params.status, "priority": params.priority,
                   "fields": sorted(params.fields)}
        ctx.emit("case_modified", case=case_id,
                 **{name: value for name, value in changes.items() if value})
        return Outcome.follow("next")
