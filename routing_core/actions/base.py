"""The shape every action type shares, and the registry that knows them all.

An action type declares its ``type`` key, a pydantic ``Params`` model (validated when the
action is saved and again before production), the branches it can take, and ``run``.
Actions never persist anything themselves: they return an ``Outcome`` and the engine
applies it.
"""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from routing_core.infra.errors import Invalid, Words
from routing_core.infra.sentences import invalid

if TYPE_CHECKING:
    from routing_core.actions.context import RunContext


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Wait(BaseModel):
    """A suspension: until a reply, a timer or an agent; ``memory`` survives the wait."""

    kind: Literal["reply", "timer", "agent", "signal"]
    until: datetime | None = None
    memory: dict[str, Any] = {}


class Call(BaseModel):
    """Run another routing's production version, then come back to this action's
    ``next`` with what it set: into one variable (``into``), or over the caller's."""

    routing: str
    into: str | None = None


class Outcome(BaseModel):
    """What running an action decided: a branch to follow, a wait, a hand-off or the end.

    Effects (messages, variables, events) go through the run context, which records them
    for the host to apply; an action never writes anything itself.
    """

    branch: str | None = None
    wait: Wait | None = None
    handoff: str | None = None  # the reference of the routing that takes over
    call: Call | None = None  # a routing to run before coming back to ``next``
    end: bool = False

    @classmethod
    def follow(cls, branch: str) -> Outcome:
        return cls(branch=branch)

    @classmethod
    def wait_for_reply(cls, until: datetime | None, **memory: Any) -> Outcome:
        return cls(wait=Wait(kind="reply", until=until, memory=memory))

    @classmethod
    def wait_until(cls, until: datetime, **memory: Any) -> Outcome:
        return cls(wait=Wait(kind="timer", until=until, memory=memory))


class ActionType:
    """Base class of every action type; subclasses are registered with ``@register``."""

    type: ClassVar[str]
    title: ClassVar[str] = ""  # what the editor calls it ("Simple message"); else its type
    Params: ClassVar[builtins.type[BaseModel]] = NoParams
    branches: ClassVar[tuple[str, ...]] = ("next",)
    # Can suspend the interaction (waits for a reply, a timer or an agent): breaks a loop.
    waits: ClassVar[bool] = False
    # Its wait ends by itself (a timer), not by the customer: a loop through it alone repeats
    # while nobody is there.
    wakes_by_itself: ClassVar[bool] = False
    # Bounds the number of passages through it: also makes a loop safe.
    guards_loops: ClassVar[bool] = False
    # Only Start is fixed in the tree: created with the version, never deleted or copied.
    fixed: ClassVar[bool] = False

    @classmethod
    def branches_for(cls, params: BaseModel) -> list[str]:
        """The branches of an action with these parameters (some types derive them)."""
        return list(cls.branches)

    @classmethod
    def answered_branches(cls, params: BaseModel) -> list[str]:
        """The branches taken once the customer answered a question it asked: one leading
        nowhere leaves the customer waiting for a reply that never comes."""
        return []

    @classmethod
    def ends_the_tree(cls) -> bool:
        """No branch, whatever its parameters: nothing can follow it."""
        return not cls.branches and cls.branches_for.__func__ is ActionType.branches_for.__func__  # type: ignore[attr-defined]

    async def run(self, params: Any, ctx: RunContext) -> Outcome:
        """Decide the outcome; ``ctx.trigger`` says whether this is a first run or a resume."""
        raise NotImplementedError(f"the engine cannot run {self.type!r} actions yet")


_REGISTRY: dict[str, type[ActionType]] = {}


def register(cls: type[ActionType]) -> type[ActionType]:
    """Class decorator: make an action type known by its ``type`` key."""
    if cls.type in _REGISTRY and _REGISTRY[cls.type] is not cls:
        raise ValueError(f"action type {cls.type!r} registered twice")
    _REGISTRY[cls.type] = cls
    return cls


def known_types() -> dict[str, type[ActionType]]:
    return dict(_REGISTRY)


def action_type(type_key: str) -> type[ActionType]:
    try:
        return _REGISTRY[type_key]
    except KeyError:
        raise Invalid(Words("unknown action type %(type_key)r", type_key=type_key),
                      field="type") from None


def parse_params(type_key: str, raw: dict[str, Any]) -> BaseModel:
    """Validate raw parameters against the type's model; the error names the field."""
    kind = action_type(type_key)
    try:
        return kind.Params.model_validate(raw)
    except ValidationError as error:
        raise invalid(error, prefix="params") from None


def validate_params(type_key: str, raw: dict[str, Any]) -> dict[str, Any]:
    """Validated parameters in their stored (JSON) form."""
    return parse_params(type_key, raw).model_dump(mode="json")


def branches_of(type_key: str, params: dict[str, Any]) -> list[str]:
    return action_type(type_key).branches_for(parse_params(type_key, params))
