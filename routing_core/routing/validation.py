"""Validation of a tree: what would block production (errors) and what a customer might
suffer (warnings). Pure functions over a ``Tree``; the lifecycle calls them before any
version goes to production, the editor shows them beside the tree."""

from __future__ import annotations

from pydantic import BaseModel

from routing_core.actions.base import action_type, branches_of, parse_params, validate_params
from routing_core.infra.errors import DomainError
from routing_core.model.tree import Action, Tree


class Finding(BaseModel):
    """``message`` in English; ``words``: what the sentence names (an action's label, a
    branch), so that a page can say it in its viewer's language from ``code``."""

    code: str
    message: str
    action: str | None = None
    branch: str | None = None
    words: dict[str, str] = {}
    actions: list[str] = []  # a loop's actions, in order (``words["actions"]`` names them)


class ValidationReport(BaseModel):
    errors: list[Finding] = []
    warnings: list[Finding] = []


def declared_branches(action: Action) -> list[str] | None:
    """The action's branches, or None when its type or parameters are invalid."""
    try:
        return branches_of(action.type, action.params)
    except DomainError:
        return None


def validate(tree: Tree) -> ValidationReport:
    """Errors make a version unfit for production; warnings are worth a look."""
    report = ValidationReport()
    if tree.is_blank():
        report.errors.append(Finding(
            code="blank_tree", message="cannot go to production: add an action after Start"))
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
                    message=f"action {label(action)} cannot be reached from Start",
                    action=action.id, words={"action": label(action)},
                )
            )
    for cycle in _cycles(graph):
        if not any(_breaks_loops(actions[member]) for member in cycle):
            names = ", ".join(label(actions[member]) for member in cycle)
            report.warnings.append(
                Finding(
                    code="unguarded_loop",
                    message=f"the loop through {names} has neither a wait nor a passages check",
                    action=cycle[0], words={"actions": names}, actions=cycle,
                )
            )
        elif not any(_waits_for_someone(actions[member]) for member in cycle):
            names = ", ".join(label(actions[member]) for member in cycle)
            report.warnings.append(
                Finding(
                    code="timer_loop",
                    message=f"the loop through {names} waits only on a timer: it repeats "
                            "(and messages the customer) even when nobody is there, until "
                            "the conversation expires; add a passages check or a question",
                    action=cycle[0], words={"actions": names}, actions=cycle,
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
                message=f"action {label(action)}: {error.message}",
                action=action.id, words={"action": label(action), "problem": error.message},
            )
        )
        return
    branches = declared_branches(action) or []
    kind = action_type(action.type)
    for branch in kind.answered_branches(parse_params(action.type, action.params)):
        if action.next.get(branch) is None:
            report.warnings.append(Finding(
                code="dead_end_after_question",
                message=f"after the customer answers {label(action)} (branch {branch!r}), "
                        "nothing follows: the answer gets no reply and the conversation "
                        "ends",
                action=action.id, branch=branch,
                words={"action": label(action), "branch": repr(branch)}))
    for branch, target in action.next.items():
        if branch not in branches:
            report.errors.append(
                Finding(
                    code="unknown_branch",
                    message=f"action {label(action)} has no branch {branch!r}",
                    action=action.id,
                    branch=branch, words={"action": label(action), "branch": repr(branch)},
                )
            )
        if target is not None and target not in actions:
            report.errors.append(
                Finding(
                    code="missing_target",
                    message=f"branch {branch!r} of {label(action)} links to a missing "
                    f"action {target!r}",
                    action=action.id,
                    branch=branch, words={"action": label(action), "branch": repr(branch),
                                          "target": repr(target)},
                )
            )
        if target is not None and target in actions and actions[target].type == "start":
            report.errors.append(
                Finding(
                    code="link_to_start",
                    message=f"branch {branch!r} of {label(action)} links back to Start",
                    action=action.id,
                    branch=branch, words={"action": label(action), "branch": repr(branch)},
                )
            )


def label(action: Action, title: str | None = None) -> str:
    """How a finding names an action: its name and what it is ("'Ask the name' (Message
    awaiting response)"), else what it is and its id; ``title``: its type's title in
    another language (a page relabels the findings it shows)."""
    if title is None:
        try:
            title = action_type(action.type).title or action.type
        except DomainError:  # an unknown type: its key is all there is
            title = action.type
    return f"{action.name!r} ({title})" if action.name else f"{title} {action.id}"


def _breaks_loops(action: Action) -> bool:
    try:
        kind = action_type(action.type)
    except DomainError:
        return False
    return kind.waits or kind.guards_loops


def _waits_for_someone(action: Action) -> bool:
    """A wait that the customer (or an agent) ends, or a passages check: a loop through it
    does not spin by itself."""
    try:
        kind = action_type(action.type)
    except DomainError:
        return False
    return kind.guards_loops or (kind.waits and not kind.wakes_by_itself)


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


