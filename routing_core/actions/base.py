"""The shape every action type shares, and the registry that knows them all.

An action type declares its ``type`` key, a pydantic ``Params`` model (validated when the
action is saved and again before production), the branches it can take, and ``run``.
Actions never persist anything themselves: they return an ``Outcome`` and the engine
applies it.
"""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from routing_core.errors import Invalid


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Outcome(BaseModel):
    """What running an action decided: the branch to follow, or a wait (or the tree's end)."""

    branch: str | None = None
    wait_until: datetime | None = None
    wait_for_reply: bool = False
    end: bool = False
    events: list[dict[str, Any]] = []
    variables: dict[str, Any] = {}


class ActionType:
    """Base class of every action type; subclasses are registered with ``@register``."""

    type: ClassVar[str]
    Params: ClassVar[builtins.type[BaseModel]] = NoParams
    branches: ClassVar[tuple[str, ...]] = ("next",)
    # Can suspend the interaction (waits for a reply, a timer or an agent): breaks a loop.
    waits: ClassVar[bool] = False
    # Bounds the number of passages through it: also makes a loop safe.
    guards_loops: ClassVar[bool] = False
    # Only Start is fixed in the tree: created with the version, never deleted or copied.
    fixed: ClassVar[bool] = False

    @classmethod
    def branches_for(cls, params: BaseModel) -> list[str]:
        """The branches of an action with these parameters (some types derive them)."""
        return list(cls.branches)

    async def run(self, params: Any, ctx: Any) -> Outcome:
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
        raise Invalid(f"unknown action type {type_key!r}", field="type") from None


def parse_params(type_key: str, raw: dict[str, Any]) -> BaseModel:
    """Validate raw parameters against the type's model; the error names the field."""
    kind = action_type(type_key)
    try:
        return kind.Params.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        field = f"params.{where}" if where else "params"
        raise Invalid(f"{field}: {first['msg']}", field=field) from None


def validate_params(type_key: str, raw: dict[str, Any]) -> dict[str, Any]:
    """Validated parameters in their stored (JSON) form."""
    return parse_params(type_key, raw).model_dump(mode="json")


def branches_of(type_key: str, params: dict[str, Any]) -> list[str]:
    return action_type(type_key).branches_for(parse_params(type_key, params))
