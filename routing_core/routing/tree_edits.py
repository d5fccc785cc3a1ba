"""Tree edits as pure functions: each takes a ``Tree`` and returns a new one, or refuses.

Edits never leave a dangling link: deleting an action re-points the links that entered it
to its single successor (or unlinks them), and links on branches an action no longer has
are dropped when its parameters change. Nothing here loads or saves: ``TreeEditor`` does,
through the lifecycle's rules.
"""

from __future__ import annotations

from typing import Any

from routing_core.actions.base import action_type, branches_of, validate_params
from routing_core.infra.errors import Invalid, NotFound, Words
from routing_core.model.tree import Action, Tree
from routing_core.routing.validation import declared_branches, label


def _require(tree: Tree, action_id: str, field: str) -> Action:
    action = tree.find(action_id)
    if action is None:
        raise NotFound(Words("no action %(action_id)r in this version", action_id=action_id),
                       field=field)
    return action


def _require_branch(action: Action, branch: str, field: str) -> None:
    branches = declared_branches(action)
    if branches is not None and branch not in branches:
        raise Invalid(
            Words(
                "action %(action)s has no branch %(branch)r; it has: %(branches)s",
                action=label(action), branch=branch, branches=', '.join(branches) or 'none'),
            field=field,
        )


def _default_branch(action: Action, field: str) -> str:
    branches = declared_branches(action)
    if branches is None:
        raise Invalid(Words("action %(action)s has invalid parameters", action=label(action)),
                      field=field)
    if not branches:
        raise Invalid(Words(
            "action %(action)s ends the tree and has no branch",
            action=label(action)), field=field)
    return branches[0]


def new_action(type_key: str, name: str, params: dict[str, Any], record_passage: bool) -> Action:
    kind = action_type(type_key)
    if kind.fixed:
        raise Invalid(
            Words(
                "a %(type_key)r action cannot be added: the tree has exactly one",
                type_key=type_key), field="type"
        )
    clean = validate_params(type_key, params)
    action = Action(type=type_key, name=name, params=clean, record_passage=record_passage)
    action.next = {branch: None for branch in branches_of(type_key, clean)}
    return action


def copied_action(source: Action) -> Action:
    """A copy of an action from this or another version, without its links."""
    if action_type(source.type).fixed:
        raise Invalid("Start cannot be copied", field="copy.action")
    return new_action(source.type, source.name, source.params, source.record_passage)


def insert_action(
    tree: Tree, action: Action, after: str, branch: str | None, before: str | None,
    following: str | None = None,
) -> Tree:
    """Put ``action`` on ``after``'s branch; what that branch led to now follows ``action``
    (on its first branch), unless ``following`` names another action of the version to
    follow it, or is "" (the new action's first branch leads nowhere yet).

    With ``before`` the caller says which link it means to split ("add between these two
    actions"): it must be the action the branch currently leads to.
    """
    edited = tree.model_copy(deep=True)
    parent = _require(edited, after, "after.action")
    branch = branch or _default_branch(parent, "after.branch")
    _require_branch(parent, branch, "after.branch")
    current_target = parent.next.get(branch)
    if before is not None:
        _require(edited, before, "before")
        if current_target != before:
            raise Invalid(
                Words(
                    "branch %(branch)r of %(parent)s does not lead to %(before)r",
                    branch=branch, parent=label(parent), before=before), field="before"
            )
    if following is not None:
        if following:
            destination = edited.find(following)
            if destination is None:
                raise Invalid(Words("no action %(following)r in this version", following=following),
                              field="following")
            if destination.type == "start":
                raise Invalid("no action can lead back to Start", field="following")
        current_target = following or None
    if action.next:
        action.next[_default_branch(action, "type")] = current_target
    parent.next[branch] = action.id
    edited.actions.append(action)
    return edited


def set_link(tree: Tree, origin: str, branch: str, target: str | None) -> Tree:
    edited = tree.model_copy(deep=True)
    action = _require(edited, origin, "from")
    _require_branch(action, branch, "branch")
    if target is not None:
        destination = _require(edited, target, "to")
        if destination.type == "start":
            raise Invalid("no link can lead back to Start", field="to")
    action.next[branch] = target
    return edited


def update_action(tree: Tree, action_id: str, changes: dict[str, Any]) -> Tree:
    """Rename, re-parametrise or toggle passage recording; links of vanished branches go."""
    edited = tree.model_copy(deep=True)
    action = _require(edited, action_id, "action")
    if "params" in changes:
        if action_type(action.type).fixed and changes["params"]:
            raise Invalid("Start has no parameters", field="params")
        action.params = validate_params(action.type, changes["params"] or {})
        action._parsed_params = None
        branches = branches_of(action.type, action.params)
        action.next = {branch: action.next.get(branch) for branch in branches}
    if "name" in changes:
        action.name = changes["name"]
    if "record_passage" in changes:
        action.record_passage = bool(changes["record_passage"])
    return edited


def delete_action(tree: Tree, action_id: str) -> Tree:
    """Remove one action; links into it follow its only successor, or end there."""
    edited = tree.model_copy(deep=True)
    action = _require(edited, action_id, "action")
    if action_type(action.type).fixed:
        raise Invalid("Start cannot be deleted", field="action")
    successors = [target for target in action.next.values() if target is not None]
    replacement = successors[0] if len(successors) == 1 else None
    if replacement == action_id:
        replacement = None
    edited.actions = [other for other in edited.actions if other.id != action_id]
    for other in edited.actions:
        for branch, target in other.next.items():
            if target == action_id:
                other.next[branch] = replacement
    return edited




def following(tree: Tree, action_id: str) -> set[str]:
    """The action and every action after it (what moves with it)."""
    seen: set[str] = set()
    pending = [action_id]
    while pending:
        current = pending.pop()
        action = tree.find(current)
        if action is None or current in seen:
            continue
        seen.add(current)
        pending.extend(target for target in action.next.values() if target is not None)
    return seen


def move_action(tree: Tree, action_id: str, after: str, branch: str) -> Tree:
    """Move an action, with everything after it, to the end of ``after``'s ``branch``: the
    links that led to it from elsewhere now end there (a loop back into it from its own
    part stays)."""
    edited = tree.model_copy(deep=True)
    action = _require(edited, action_id, "action")
    if action_type(action.type).fixed:
        raise Invalid("Start cannot be moved", field="action")
    parent = _require(edited, after, "after")
    _require_branch(parent, branch, "after")
    moving = following(edited, action_id)
    if after in moving:
        raise Invalid("an action cannot move after itself or after what follows it",
                      field="after")
    if parent.next.get(branch) is not None:
        raise Invalid(Words(
            "branch %(branch)s of this action already leads somewhere: choose a branch that "
            "ends the tree, or remove its link first",
            branch=branch), field="after")
    for other in edited.actions:
        if other.id in moving:
            continue
        for name, target in other.next.items():
            if target == action_id:
                other.next[name] = None
    parent.next[branch] = action_id
    return edited
