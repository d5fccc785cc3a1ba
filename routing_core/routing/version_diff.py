"""What changed between two versions of a routing, action by action.

Actions keep their id from version to version (duplicating a version copies its tree), so
two trees are compared by id: an id only in the newer tree was added, only in the older
one removed, in both with another name, parameter, link or passage flag changed. Pure: the
API, the editor's colour overlay and the production confirmation all read this one result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from routing_core.actions import action_type
from routing_core.infra.errors import DomainError
from routing_core.model.tree import Action, Tree


@dataclass
class ActionRef:
    id: str
    type: str
    name: str


@dataclass
class ParamChange:
    name: str
    old: Any
    new: Any


@dataclass
class LinkChange:
    branch: str
    old: str | None  # the action it led to (None: the end, or no such branch)
    new: str | None


@dataclass
class ActionChange:
    id: str
    type: str
    name: str
    old_name: str | None = None  # set when the name changed
    params: list[ParamChange] = field(default_factory=list)
    links: list[LinkChange] = field(default_factory=list)
    record_passage: tuple[bool, bool] | None = None  # (old, new) when toggled


@dataclass
class VersionDiff:
    added: list[ActionRef] = field(default_factory=list)
    removed: list[ActionRef] = field(default_factory=list)
    changed: list[ActionChange] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def kind_of(self, action_id: str) -> str | None:
        """added, changed or None: how the editor colours an action of the newer tree."""
        if any(item.id == action_id for item in self.added):
            return "added"
        if any(item.id == action_id for item in self.changed):
            return "changed"
        return None


def _ref(action: Action) -> ActionRef:
    return ActionRef(id=action.id, type=action.type, name=action.name or action.type)


def _params(action: Action) -> dict[str, Any]:
    """The parameters as the action runs them, defaults included: a tree saved by the
    editor (defaults written out) and one imported (defaults left out) compare equal."""
    try:
        parsed = action_type(action.type).Params.model_validate(action.params)
    except (DomainError, ValidationError):  # an unknown type, or not valid (yet)
        return dict(action.params)
    return {**parsed.model_dump(mode="json"), **{
        key: value for key, value in action.params.items() if key not in type(parsed).model_fields}}


def _changes(old: Action, new: Action) -> ActionChange | None:
    change = ActionChange(id=new.id, type=new.type, name=new.name or new.type)
    if old.name != new.name:
        change.old_name = old.name
    before, after = _params(old), _params(new)
    for name in sorted(set(before) | set(after)):
        if before.get(name) != after.get(name):
            change.params.append(ParamChange(name, before.get(name), after.get(name)))
    for branch in sorted(set(old.next) | set(new.next)):
        if old.next.get(branch) != new.next.get(branch):
            change.links.append(LinkChange(branch, old.next.get(branch), new.next.get(branch)))
    if old.record_passage != new.record_passage:
        change.record_passage = (old.record_passage, new.record_passage)
    touched = (change.old_name is not None or change.params or change.links
               or change.record_passage is not None or old.type != new.type)
    return change if touched else None


def diff_trees(old: Tree, new: Tree) -> VersionDiff:
    """From ``old`` (typically production) to ``new`` (the candidate), in the new tree's
    order; removed actions in the old tree's."""
    before = {action.id: action for action in old.actions}
    after = {action.id: action for action in new.actions}
    result = VersionDiff()
    for action in new.actions:
        previous = before.get(action.id)
        if previous is None:
            result.added.append(_ref(action))
        elif (change := _changes(previous, action)) is not None:
            result.changed.append(change)
    result.removed = [_ref(action) for action in old.actions if action.id not in after]
    return result
