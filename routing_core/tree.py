"""Tree editing and validation, as pure functions over a ``Tree``, plus the service that
loads a version, applies one edit and saves it through the lifecycle's rules.

Edits never leave a dangling link: deleting an action re-points the links that entered it
to its single successor (or unlinks them), and links on branches an action no longer has
are dropped when its parameters change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from routing_core.actions.base import action_type, branches_of, validate_params
from routing_core.errors import DomainError, Invalid, NotFound
from routing_core.model.audit import Actor
from routing_core.model.routing import Version
from routing_core.model.tree import Action, Tree

if TYPE_CHECKING:
    from routing_core.lifecycle import Lifecycle
    from routing_core.store import Store

# -- validation ------------------------------------------------------------------------


class Finding(BaseModel):
    code: str
    message: str
    action: str | None = None
    branch: str | None = None


class ValidationReport(BaseModel):
    errors: list[Finding] = []
    warnings: list[Finding] = []


def _declared_branches(action: Action) -> list[str] | None:
    """The action's branches, or None when its type or parameters are invalid."""
    try:
        return branches_of(action.type, action.params)
    except DomainError:
        return None


def validate(tree: Tree) -> ValidationReport:
    """Errors make a version unfit for production; warnings are worth a look."""
    report = ValidationReport()
    actions = tree.by_id()
    starts = [action for action in tree.actions if action.type == "start"]
    if len(starts) != 1 or tree.start not in actions or actions[tree.start].type != "start":
        report.errors.append(Finding(code="start", message="the tree must have exactly one Start"))
    if len(actions) != len(tree.actions):
        report.errors.append(Finding(code="duplicate_id", message="two actions share an id"))
    for action in tree.actions:
        _check_action(action, actions, report)
    graph = {
        action.id: [to for to in action.next.values() if to in actions] for action in tree.actions
    }
    reachable = _reachable(graph, tree.start)
    for action in tree.actions:
        if action.id not in reachable:
            report.warnings.append(
                Finding(
                    code="unreachable",
                    message=f"action {_label(action)} cannot be reached from Start",
                    action=action.id,
                )
            )
    for cycle in _cycles(graph):
        if not any(_breaks_loops(actions[member]) for member in cycle):
            names = ", ".join(_label(actions[member]) for member in cycle)
            report.warnings.append(
                Finding(
                    code="unguarded_loop",
                    message=f"the loop through {names} has neither a wait nor a passages check",
                    action=cycle[0],
                )
            )
    return report


def _check_action(action: Action, actions: dict[str, Action], report: ValidationReport) -> None:
    try:
        action_type(action.type)
        validate_params(action.type, action.params)
    except DomainError as error:
        report.errors.append(
            Finding(
                code="bad_action",
                message=f"action {_label(action)}: {error.message}",
                action=action.id,
            )
        )
        return
    branches = _declared_branches(action) or []
    for branch, target in action.next.items():
        if branch not in branches:
            report.errors.append(
                Finding(
                    code="unknown_branch",
                    message=f"action {_label(action)} has no branch {branch!r}",
                    action=action.id,
                    branch=branch,
                )
            )
        if target is not None and target not in actions:
            report.errors.append(
                Finding(
                    code="missing_target",
                    message=f"branch {branch!r} of {_label(action)} links to a missing "
                    f"action {target!r}",
                    action=action.id,
                    branch=branch,
                )
            )
        if target is not None and target in actions and actions[target].type == "start":
            report.errors.append(
                Finding(
                    code="link_to_start",
                    message=f"branch {branch!r} of {_label(action)} links back to Start",
                    action=action.id,
                    branch=branch,
                )
            )


def _label(action: Action) -> str:
    return (
        f"{action.name!r} ({action.type}, {action.id})"
        if action.name
        else f"{action.type} {action.id}"
    )


def _breaks_loops(action: Action) -> bool:
    try:
        kind = action_type(action.type)
    except DomainError:
        return False
    return kind.waits or kind.guards_loops


def _reachable(graph: dict[str, list[str]], start: str) -> set[str]:
    seen: set[str] = set()
    pending = [start] if start in graph else []
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        pending.extend(graph[current])
    return seen


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components that hold a loop (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, position = work.pop()
            if position == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            successors = graph[node]
            if position < len(successors):
                work.append((node, position + 1))
                successor = successors[position]
                if successor not in index:
                    work.append((successor, 0))
                elif successor in on_stack:
                    low[node] = min(low[node], index[successor])
                continue
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    components.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return components


# -- editing (pure) ----------------------------------------------------------------------


def _require(tree: Tree, action_id: str, field: str) -> Action:
    action = tree.find(action_id)
    if action is None:
        raise NotFound(f"no action {action_id!r} in this version", field=field)
    return action


def _require_branch(action: Action, branch: str, field: str) -> None:
    branches = _declared_branches(action)
    if branches is not None and branch not in branches:
        raise Invalid(
            f"action {_label(action)} has no branch {branch!r}; "
            f"it has: {', '.join(branches) or 'none'}",
            field=field,
        )


def _default_branch(action: Action, field: str) -> str:
    branches = _declared_branches(action)
    if branches is None:
        raise Invalid(f"action {_label(action)} has invalid parameters", field=field)
    if not branches:
        raise Invalid(f"action {_label(action)} ends the tree and has no branch", field=field)
    return branches[0]


def new_action(type_key: str, name: str, params: dict[str, Any], record_passage: bool) -> Action:
    kind = action_type(type_key)
    if kind.fixed:
        raise Invalid(
            f"a {type_key!r} action cannot be added: the tree has exactly one", field="type"
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
    tree: Tree, action: Action, after: str, branch: str | None, before: str | None
) -> Tree:
    """Put ``action`` on ``after``'s branch; what that branch led to now follows ``action``.

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
                f"branch {branch!r} of {_label(parent)} does not lead to {before!r}", field="before"
            )
    if current_target is not None and action.next:
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


# -- the editing service -----------------------------------------------------------------


class TreeEditor:
    """Loads a version, applies one edit, saves it through the lifecycle (development only,
    conditional on the revision that was read)."""

    def __init__(self, store: Store, lifecycle: Lifecycle):
        self.store = store
        self.lifecycle = lifecycle

    async def _editable(self, version_id: str) -> Version:
        from routing_core.lifecycle import require_development

        version = await self.store.versions.get(version_id)
        require_development(version, "edit")
        return version

    async def add(
        self,
        actor: Actor,
        version_id: str,
        *,
        after: str,
        branch: str | None = None,
        before: str | None = None,
        type: str | None = None,
        name: str = "",
        params: dict[str, Any] | None = None,
        record_passage: bool = False,
        copy_version: str | None = None,
        copy_action: str | None = None,
    ) -> Action:
        version = await self._editable(version_id)
        if copy_action is not None:
            source_version = (
                version
                if copy_version in (None, version_id)
                else await self.store.versions.find(copy_version or "")
            )
            if source_version is None:
                raise Invalid(f"no version {copy_version!r} to copy from", field="copy.version")
            source = source_version.tree.find(copy_action)
            if source is None:
                raise Invalid(f"no action {copy_action!r} to copy", field="copy.action")
            action = copied_action(source)
        elif type is None:
            raise Invalid("give the action's type, or an action to copy", field="type")
        else:
            action = new_action(type, name, params or {}, record_passage)
        tree = insert_action(version.tree, action, after, branch, before)
        await self.lifecycle.save_tree(actor, version, tree, "add")
        return action

    async def update(
        self, actor: Actor, version_id: str, action_id: str, changes: dict[str, Any]
    ) -> Action:
        version = await self._editable(version_id)
        tree = update_action(version.tree, action_id, changes)
        await self.lifecycle.save_tree(actor, version, tree, "update")
        updated = tree.find(action_id)
        assert updated is not None
        return updated

    async def delete(self, actor: Actor, version_id: str, action_id: str) -> None:
        version = await self._editable(version_id)
        tree = delete_action(version.tree, action_id)
        await self.lifecycle.save_tree(actor, version, tree, "delete")

    async def link(
        self, actor: Actor, version_id: str, origin: str, branch: str, target: str | None
    ) -> Version:
        version = await self._editable(version_id)
        tree = set_link(version.tree, origin, branch, target)
        return await self.lifecycle.save_tree(actor, version, tree, "link")
