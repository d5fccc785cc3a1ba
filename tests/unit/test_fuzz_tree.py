"""Random sequences of tree edits, through the pure functions of ``routing.tree_edits``.

Every edit either refuses with a domain error (the tree unchanged) or gives a tree the
engine can run; and ``validate()`` agrees with an independent check of what the engine
needs, both ways: no errors exactly when every link leads to an action, every branch is one
its type declares, parameters are valid, ids are unique and there is one Start that
nothing links back to. Broken trees (built by corrupting a good one) must be reported.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from routing_core.actions import known_types
from routing_core.actions.base import branches_of, validate_params
from routing_core.infra.errors import DomainError
from routing_core.model.tree import Action, Tree
from routing_core.routing import tree_edits, validation

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "actions"
TYPES = sorted(known_types())


def golden_params() -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for type_key in TYPES:
        path = GOLDEN / f"{type_key}.json"
        cases = json.loads(path.read_text()) if path.exists() else []
        found[type_key] = [case.get("params", {}) for case in cases] or [{}]
    return found


VALID_PARAMS = golden_params()
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                  max_size=3),
    max_leaves=6,
)


@st.composite
def params_for(draw: st.DrawFn, type_key: str) -> dict[str, Any]:
    """Valid parameters of the type (from its golden cases), broken ones, or garbage."""
    base = dict(draw(st.sampled_from(VALID_PARAMS.get(type_key, [{}]))))
    kind = draw(st.sampled_from(["valid", "valid", "dropped", "retyped", "garbage"]))
    if kind == "dropped" and base:
        base.pop(draw(st.sampled_from(sorted(base))))
    elif kind == "retyped" and base:
        base[draw(st.sampled_from(sorted(base)))] = draw(JSON_VALUES)
    elif kind == "garbage":
        base = draw(st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=4))
    return base


def runnable_problems(tree: Tree) -> list[str]:
    """What would stop the engine, checked without ``routing_core.routing.tree_edits``."""
    problems = []
    ids = [action.id for action in tree.actions]
    by_id = {action.id: action for action in tree.actions}
    starts = [action.id for action in tree.actions if action.type == "start"]
    if len(set(ids)) != len(ids):
        problems.append("duplicate ids")
    if starts != [tree.start]:
        problems.append(f"starts {starts}, tree.start {tree.start}")
    for action in tree.actions:
        try:
            validate_params(action.type, action.params)
            declared = set(branches_of(action.type, action.params))
        except DomainError as error:
            problems.append(f"{action.id}: {error.message}")
            continue
        for branch, target in action.next.items():
            if branch not in declared:
                problems.append(f"{action.id}: undeclared branch {branch!r}")
            if target is not None and target not in by_id:
                problems.append(f"{action.id}.{branch} → missing {target!r}")
            if target is not None and target in by_id and by_id[target].type == "start":
                problems.append(f"{action.id}.{branch} → Start")
    return problems


def corruptions(tree: Tree, draw: st.DrawFn) -> Tree:
    """A copy of ``tree`` with one thing broken behind the editing functions' back."""
    broken = tree.model_copy(deep=True)
    victim = draw(st.sampled_from(broken.actions))
    kind = draw(st.sampled_from(
        ["dangling", "unknown_branch", "second_start", "bad_params", "duplicate_id",
         "link_to_start", "unknown_type", "start_pointer"]
    ))
    if kind == "dangling":
        victim.next[draw(st.sampled_from(sorted(victim.next) or ["next"]))] = "nowhere"
    elif kind == "unknown_branch":
        victim.next["no_such_branch"] = None
    elif kind == "second_start":
        broken.actions.append(Action(type="start", name="Start", next={"next": None}))
    elif kind == "bad_params":  # a message whose text is a list
        victim.type, victim.params = "message", {"text": ["not", "a", "text"]}
    elif kind == "duplicate_id":
        broken.actions.append(victim.model_copy(deep=True))
    elif kind == "link_to_start":
        victim.next[draw(st.sampled_from(sorted(victim.next) or ["next"]))] = broken.start
    elif kind == "unknown_type":
        victim.type = "no_such_type"
    else:
        broken.start = "elsewhere"
    return broken


class TreeEditing(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tree = Tree.blank()

    def pick_id(self, data: st.DataObject, label: str) -> str:
        """An id of the tree, mostly; sometimes one that does not exist."""
        ids = [action.id for action in self.tree.actions]
        return data.draw(st.sampled_from(ids) | st.just("missing-id"), label=label)

    def pick_branch(self, data: st.DataObject, action_id: str, label: str) -> str | None:
        action = self.tree.find(action_id)
        known = sorted(action.next) if action else []
        choices = st.sampled_from(known) if known else st.nothing()
        return data.draw(choices | st.none() | st.text(max_size=5), label=label)

    def attempt(self, edit: Any, *args: Any) -> None:
        """Apply one edit; a refusal must be a domain error and leave the tree as it was."""
        before = self.tree.model_copy(deep=True)
        try:
            edited = edit(self.tree, *args)
        except DomainError:
            assert self.tree == before, "a refused edit changed the tree"
            event(f"{edit.__name__} refused")
            return
        assert self.tree == before, "an edit changed its input (the functions are pure)"
        self.tree = edited
        event(f"{edit.__name__} applied")

    @rule(data=st.data(), type_key=st.sampled_from(TYPES), record_passage=st.booleans())
    def insert(self, data: st.DataObject, type_key: str, record_passage: bool) -> None:
        params = data.draw(params_for(type_key), label="params")
        try:
            action = tree_edits.new_action(type_key, "fuzzed", params, record_passage)
        except DomainError:
            return
        after = self.pick_id(data, "after")
        branch = self.pick_branch(data, after, "branch")
        before = data.draw(st.none() | st.just(self.pick_id(data, "before")), label="before?")
        self.attempt(tree_edits.insert_action, action, after, branch, before)

    @rule(data=st.data(), type_key=st.sampled_from([t for t in TYPES if t != "start"]))
    def grow(self, data: st.DataObject, type_key: str) -> None:
        """A well-formed insertion, so that trees grow large enough to be interesting."""
        params = data.draw(st.sampled_from(VALID_PARAMS[type_key]), label="params")
        action = tree_edits.new_action(type_key, "grown", params, False)
        parent = data.draw(st.sampled_from([a for a in self.tree.actions if a.next]
                                           or self.tree.actions), label="after")
        branch = data.draw(st.sampled_from(sorted(parent.next)) if parent.next else st.none(),
                           label="branch")
        self.attempt(tree_edits.insert_action, action, parent.id, branch, None)

    @rule(data=st.data())
    def copy(self, data: st.DataObject) -> None:
        source = self.tree.find(self.pick_id(data, "source"))
        if source is None:
            return
        try:
            action = tree_edits.copied_action(source)
        except DomainError:
            return
        after = self.pick_id(data, "after")
        branch = self.pick_branch(data, after, "b")
        self.attempt(tree_edits.insert_action, action, after, branch, None)

    @rule(data=st.data())
    def link(self, data: st.DataObject) -> None:
        origin = self.pick_id(data, "from")
        branch = self.pick_branch(data, origin, "branch") or "next"
        target = data.draw(st.none() | st.just(self.pick_id(data, "to")), label="to")
        self.attempt(tree_edits.set_link, origin, branch, target)

    @rule(data=st.data())
    def update(self, data: st.DataObject) -> None:
        action_id = self.pick_id(data, "action")
        action = self.tree.find(action_id)
        changes: dict[str, Any] = {}
        if data.draw(st.booleans(), label="change params"):
            type_key = action.type if action else "message"
            changes["params"] = data.draw(params_for(type_key) | st.none(), label="params")
        if data.draw(st.booleans(), label="rename"):
            changes["name"] = data.draw(st.text(max_size=10), label="name")
        if data.draw(st.booleans(), label="passages"):
            changes["record_passage"] = data.draw(st.booleans(), label="record")
        self.attempt(tree_edits.update_action, action_id, changes)

    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        self.attempt(tree_edits.delete_action, self.pick_id(data, "action"))

    def teardown(self) -> None:
        event(f"{min(len(self.tree.actions), 10)}{'+' * (len(self.tree.actions) >= 10)} actions")

    @invariant()
    def edits_leave_a_runnable_tree(self) -> None:
        assert runnable_problems(self.tree) == []
        # an empty tree runs (it ends at once); it only is not fit for production
        assert [error for error in validation.validate(self.tree).errors
                if error.code != "blank_tree"] == []

    @precondition(lambda self: len(self.tree.actions) > 0)
    @rule(data=st.data())
    def a_broken_copy_is_reported(self, data: st.DataObject) -> None:
        broken = corruptions(self.tree, data.draw)
        problems = runnable_problems(broken)
        assert problems, "the corruption broke nothing"
        assert validation.validate(broken).errors, problems


TreeEditing.TestCase.settings = settings(
    max_examples=100, stateful_step_count=40, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_random_edits = TreeEditing.TestCase
