"""The action tree of a version: actions keyed by id, links as (action, branch) → action."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, PrivateAttr

from routing_core.infra.ids import new_action_id


class Action(BaseModel):
    """One box of the tree; ``next`` maps each of its branches to the following action."""

    id: str = Field(default_factory=new_action_id)
    type: str
    name: str = ""
    params: dict[str, Any] = Field(default_factory=dict)
    record_passage: bool = False
    next: dict[str, str | None] = Field(default_factory=dict)
    # the validated parameters, kept by the engine: a pinned tree never changes
    _parsed_params: Any = PrivateAttr(default=None)


class Tree(BaseModel):
    """A rooted graph of actions; ``start`` is the id of the single Start action."""

    start: str
    actions: list[Action]

    @classmethod
    def blank(cls) -> Tree:
        start = Action(type="start", name="Start", next={"next": None})
        return cls(start=start.id, actions=[start])

    def find(self, action_id: str) -> Action | None:
        return next((action for action in self.actions if action.id == action_id), None)

    def by_id(self) -> dict[str, Action]:
        return {action.id: action for action in self.actions}

    def is_blank(self) -> bool:
        """True while nothing follows Start: such a version cannot go to production."""
        start = self.find(self.start)
        return start is None or not any(start.next.values())
