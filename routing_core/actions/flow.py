"""Actions that shape the tree itself: start, junctions, milestones, pauses, load sharing."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from routing_core.actions.base import ActionType, Outcome, register
from routing_core.actions.params import BranchName, Label, ensure_unique, invalid

if TYPE_CHECKING:
    from routing_core.actions.context import RunContext


@register
class Start(ActionType):
    """The root of every tree: created with the version, never deleted or copied."""

    type = "start"
    title = "Start"
    fixed: ClassVar[bool] = True

    async def run(self, params: BaseModel, ctx: RunContext) -> Outcome:
        return Outcome.follow("next")


class Share(BaseModel):
    """One weighted outlet of a load sharing action."""

    model_config = ConfigDict(extra="forbid")

    branch: BranchName
    percent: Annotated[int, Field(ge=0, le=100)]


@register
class LoadSharing(ActionType):
    """Splits traffic by weight, the same way on every replay of an interaction."""

    type = "load_sharing"
    title = "Load sharing"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        shares: Annotated[list[Share], Field(min_length=2, max_length=10)]

        @field_validator("shares")
        @classmethod
        def _shares_add_up(cls, shares: list[Share]) -> list[Share]:
            ensure_unique((share.branch for share in shares), "branch")
            total = sum(share.percent for share in shares)
            if total != 100:
                raise invalid(f"the percents add up to {total}, not 100")
            return shares

    @classmethod
    def branches_for(cls, params: BaseModel) -> list[str]:
        assert isinstance(params, cls.Params)
        return [share.branch for share in params.shares]

    async def run(self, params: Params, ctx: RunContext) -> Outcome:
        point = ctx.stable_fraction() * 100
        cumulative = 0
        for share in params.shares:
            cumulative += share.percent
            if point < cumulative:
                return Outcome.follow(share.branch)
        return Outcome.follow(params.shares[-1].branch)


@register
class Checkpoint(ActionType):
    """A milestone for reporting; its label is plain text so reports can group by it."""

    type = "checkpoint"
    title = "Checkpoint"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        label: Label

    async def run(self, params: Params, ctx: RunContext) -> Outcome:
        ctx.emit("checkpoint", label=params.label)
        return Outcome.follow("next")


@register
class Pause(ActionType):
    """A durable delay in the conversation, kept across restarts."""

    type = "pause"
    title = "Pause"
    waits: ClassVar[bool] = True
    wakes_by_itself: ClassVar[bool] = True

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        seconds: Annotated[int, Field(ge=1, le=604_800)]

    async def run(self, params: Params, ctx: RunContext) -> Outcome:
        if ctx.trigger == "timeout":
            return Outcome.follow("next")
        return Outcome.wait_until(ctx.now + timedelta(seconds=params.seconds))


@register
class Node(ActionType):
    """A junction: lets several branches meet and loops be drawn."""

    type = "node"
    title = "Node"

    async def run(self, params: BaseModel, ctx: RunContext) -> Outcome:
        return Outcome.follow("next")
