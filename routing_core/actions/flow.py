"""Actions that shape the tree itself: start, junctions, milestones, pauses, load sharing."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from routing_core.actions.base import ActionType, register
from routing_core.actions.params import BranchName, Label, ensure_unique, invalid


@register
class Start(ActionType):
    """The root of every tree: created with the version, never deleted or copied."""

    type = "start"
    fixed: ClassVar[bool] = True


class Share(BaseModel):
    """One weighted outlet of a load sharing action."""

    model_config = ConfigDict(extra="forbid")

    branch: BranchName
    percent: Annotated[int, Field(ge=0, le=100)]


@register
class LoadSharing(ActionType):
    """Splits traffic by weight, the same way on every replay of an interaction."""

    type = "load_sharing"

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


@register
class Checkpoint(ActionType):
    """A milestone for reporting; its label is plain text so reports can group by it."""

    type = "checkpoint"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        label: Label


@register
class Pause(ActionType):
    """A durable delay in the conversation, kept across restarts."""

    type = "pause"
    waits: ClassVar[bool] = True

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        seconds: Annotated[int, Field(ge=1, le=604_800)]


@register
class Node(ActionType):
    """A junction: lets several branches meet and loops be drawn."""

    type = "node"
