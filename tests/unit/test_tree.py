"""Tree edits as pure functions, and validate(): one broken tree per rule."""

from __future__ import annotations

from typing import Any

import pytest

from routing_core.infra.errors import Invalid, NotFound
from routing_core.model.tree import Action, Tree
from routing_core.routing import tree_edits, validation

SAY = {"text": "Hello"}
ASK = {"text": "Your name?", "into": "name"}
YES_NO = {
    "text": "Shall we?",
    "choices": [
        {"label": "Yes", "value": "y", "branch": "yes"},
        {"label": "No", "value": "n", "branch": "no"},
    ],
}


def action(type_key: str, params: dict[str, Any] | None = None, **next_: str | None) -> Action:
    """A valid action with every declared branch unlinked, then ``next_`` links applied."""
    built = tree_edits.new_action(type_key, "", params or {}, False)
    built.next.update(next_)
    return built


def chain(*actions: Action) -> Tree:
    """Start → actions[0]; the caller links the rest."""
    tree = Tree.blank()
    tree.actions[0].next["next"] = actions[0].id if actions else None
    tree.actions.extend(actions)
    return tree


def start_of(tree: Tree) -> Action:
    found = tree.find(tree.start)
    assert found is not None
    return found


def get(tree: Tree, action_id: str) -> Action:
    found = tree.find(action_id)
    assert found is not None
    return found


# -- edits -------------------------------------------------------------------------------


def test_insert_after_a_branch_keeps_what_followed() -> None:
    choice = action("message_choice", YES_NO)
    goodbye = action("message", SAY)
    choice.next["yes"] = goodbye.id
    tree = chain(choice, goodbye)
    inserted = action("checkpoint", {"label": "agreed"})

    edited = tree_edits.insert_action(tree, inserted, choice.id, "yes", None)

    assert get(edited, choice.id).next == {
        "yes": inserted.id,
        "no": None,
        "no_match": None,
        "timeout": None,
    }
    assert get(edited, inserted.id).next == {"next": goodbye.id}
    assert tree.find(inserted.id) is None  # pure: the input is untouched


def test_insert_after_defaults_to_the_first_branch() -> None:
    tree = Tree.blank()
    hello = action("message", SAY)
    edited = tree_edits.insert_action(tree, hello, tree.start, None, None)
    assert start_of(edited).next == {"next": hello.id}


@pytest.mark.parametrize("branch", ["maybe", "next"])
def test_insert_after_a_branch_the_action_lacks_is_refused(branch: str) -> None:
    choice = action("message_choice", YES_NO)
    with pytest.raises(Invalid) as refused:
        tree_edits.insert_action(chain(choice), action("message", SAY), choice.id, branch, None)
    assert refused.value.field == "after.branch"


def test_insert_between_two_linked_actions() -> None:
    first, second = action("message", SAY), action("message", SAY)
    first.next["next"] = second.id
    tree = chain(first, second)
    middle = action("node")
    edited = tree_edits.insert_action(tree, middle, first.id, "next", second.id)
    assert get(edited, first.id).next["next"] == middle.id
    assert get(edited, middle.id).next["next"] == second.id


def test_insert_between_refuses_a_before_the_branch_does_not_lead_to() -> None:
    first, second, third = action("message", SAY), action("message", SAY), action("node")
    first.next["next"] = second.id
    tree = chain(first, second, third)
    with pytest.raises(Invalid) as refused:
        tree_edits.insert_action(tree, action("node"), first.id, "next", third.id)
    assert refused.value.field == "before"


def test_insert_after_an_unknown_action_is_not_found() -> None:
    with pytest.raises(NotFound):
        tree_edits.insert_action(Tree.blank(), action("node"), "nope", None, None)


def test_links_are_set_replaced_and_unset() -> None:
    hello, bye = action("message", SAY), action("message", SAY)
    tree = chain(hello, bye)
    linked = tree_edits.set_link(tree, hello.id, "next", bye.id)
    assert get(linked, hello.id).next["next"] == bye.id
    unlinked = tree_edits.set_link(linked, hello.id, "next", None)
    assert get(unlinked, hello.id).next["next"] is None


@pytest.mark.parametrize(
    ("origin", "branch", "target", "error", "field"),
    [
        ("hello", "next", "start", Invalid, "to"),
        ("hello", "yes", None, Invalid, "branch"),
        ("hello", "next", "ghost", NotFound, "to"),
        ("ghost", "next", None, NotFound, "from"),
    ],
)
def test_refused_links(origin: str, branch: str, target: str | None, error: type, field: str):
    hello = action("message", SAY)
    tree = chain(hello)
    ids = {"hello": hello.id, "start": tree.start, "ghost": "ghost", None: None}
    with pytest.raises(error) as refused:
        tree_edits.set_link(tree, ids[origin], branch, ids[target])
    assert refused.value.field == field


def test_delete_re_points_entering_links_to_the_single_successor() -> None:
    first, middle, last = action("message", SAY), action("node"), action("message", SAY)
    first.next["next"] = middle.id
    middle.next["next"] = last.id
    edited = tree_edits.delete_action(chain(first, middle, last), middle.id)
    assert edited.find(middle.id) is None
    assert get(edited, first.id).next["next"] == last.id


def test_delete_of_an_action_with_several_successors_ends_the_entering_links() -> None:
    choice, yes, no = action("message_choice", YES_NO), action("node"), action("node")
    choice.next.update(yes=yes.id, no=no.id)
    edited = tree_edits.delete_action(chain(choice, yes, no), choice.id)
    assert start_of(edited).next["next"] is None
    assert {a.id for a in edited.actions} == {edited.start, yes.id, no.id}


def test_delete_of_a_self_loop_does_not_link_to_itself() -> None:
    loop = action("node")
    loop.next["next"] = loop.id
    edited = tree_edits.delete_action(chain(loop), loop.id)
    assert start_of(edited).next["next"] is None


def test_start_can_be_neither_deleted_nor_copied_nor_added() -> None:
    tree = Tree.blank()
    with pytest.raises(Invalid, match="Start cannot be deleted"):
        tree_edits.delete_action(tree, tree.start)
    with pytest.raises(Invalid, match="Start cannot be copied"):
        tree_edits.copied_action(start_of(tree))
    with pytest.raises(Invalid):
        tree_edits.new_action("start", "", {}, False)


def test_a_copied_action_is_new_and_unlinked() -> None:
    original = action("message", SAY, next="somewhere")
    original.record_passage = True
    copy = tree_edits.copied_action(original)
    assert copy.id != original.id
    assert (copy.type, copy.params, copy.record_passage) == ("message", original.params, True)
    assert copy.next == {"next": None}


def test_new_action_validates_its_type_and_params() -> None:
    with pytest.raises(Invalid, match="unknown action type"):
        tree_edits.new_action("teleport", "", {}, False)
    with pytest.raises(Invalid) as refused:
        tree_edits.new_action("pause", "", {"seconds": 0}, False)
    assert refused.value.field == "params.seconds"


def test_changing_params_drops_the_links_of_vanished_branches() -> None:
    choice, yes, no = action("message_choice", YES_NO), action("node"), action("node")
    choice.next.update(yes=yes.id, no=no.id)
    tree = chain(choice, yes, no)
    only_yes = {**YES_NO, "choices": YES_NO["choices"][:1]}
    edited = tree_edits.update_action(tree, choice.id, {"params": only_yes, "name": "Ask"})
    changed = get(edited, choice.id)
    assert changed.next == {"yes": yes.id, "no_match": None, "timeout": None}
    assert changed.name == "Ask"


def test_update_refuses_bad_params_and_params_on_start() -> None:
    hello = action("message", SAY)
    tree = chain(hello)
    with pytest.raises(Invalid):
        tree_edits.update_action(tree, hello.id, {"params": {"text": ""}})
    with pytest.raises(Invalid, match="Start has no parameters"):
        tree_edits.update_action(tree, tree.start, {"params": {"x": 1}})


def test_record_passage_toggles() -> None:
    hello = action("message", SAY)
    edited = tree_edits.update_action(chain(hello), hello.id, {"record_passage": True})
    assert get(edited, hello.id).record_passage is True


# -- validate() --------------------------------------------------------------------------


def codes(findings: list[validation.Finding]) -> list[str]:
    return [finding.code for finding in findings]


def test_a_sound_tree_has_no_finding() -> None:
    ask, hello = action("message_wait", ASK), action("message", SAY)
    ask.next["answered"] = hello.id
    report = validation.validate(chain(ask, hello))
    assert report.errors == [] and report.warnings == []


def broken_unknown_type() -> Tree:
    return chain(Action(type="teleport"))


def broken_params() -> Tree:
    return chain(Action(type="pause", params={"seconds": -5}, next={"next": None}))


def broken_missing_target() -> Tree:
    return chain(action("message", SAY, next="ghost"))


def broken_unknown_branch() -> Tree:
    hello = action("message", SAY)
    hello.next["answered"] = None
    return chain(hello)


def broken_link_to_start() -> Tree:
    hello = action("message", SAY)
    tree = chain(hello)
    hello.next["next"] = tree.start
    return tree


def broken_two_starts() -> Tree:
    tree = Tree.blank()
    tree.actions.append(Action(type="start", next={"next": None}))
    return tree


@pytest.mark.parametrize(
    ("build", "code"),
    [
        (broken_unknown_type, "bad_action"),
        (broken_params, "bad_action"),
        (broken_missing_target, "missing_target"),
        (broken_unknown_branch, "unknown_branch"),
        (broken_link_to_start, "link_to_start"),
        (broken_two_starts, "start"),
    ],
)
def test_one_error_per_rule(build: Any, code: str) -> None:
    report = validation.validate(build())
    assert code in codes(report.errors)


def test_an_unreachable_action_is_a_warning() -> None:
    lonely = action("message", SAY)
    tree = chain(action("message", SAY))
    tree.actions.append(lonely)
    report = validation.validate(tree)
    assert report.errors == []
    assert [(f.code, f.action) for f in report.warnings] == [("unreachable", lonely.id)]


def loop_through(type_key: str, params: dict[str, Any], branch: str) -> Tree:
    """Start → node → guard -(branch)→ node: a loop whose only other member is ``guard``."""
    junction, guard = action("node"), action(type_key, params)
    junction.next["next"] = guard.id
    guard.next[branch] = junction.id
    return chain(junction, guard)


def test_a_loop_without_wait_or_passages_check_is_warned() -> None:
    report = validation.validate(loop_through("message", SAY, "next"))
    assert report.errors == []
    assert codes(report.warnings) == ["unguarded_loop"]


def test_a_self_loop_is_warned() -> None:
    junction = action("node")
    junction.next["next"] = junction.id
    assert codes(validation.validate(chain(junction)).warnings) == ["unguarded_loop"]


@pytest.mark.parametrize(
    ("type_key", "params", "branch"),
    [
        ("message_wait", ASK, "invalid"),
        ("passages_check", {"max": 3}, "below"),
    ],
)
def test_a_loop_through_a_wait_or_a_passages_check_is_not_warned(
    type_key: str, params: dict[str, Any], branch: str
) -> None:
    report = validation.validate(loop_through(type_key, params, branch))
    assert report.errors == []
    assert not {"unguarded_loop", "timer_loop"} & set(codes(report.warnings))


def test_a_loop_that_waits_only_on_a_timer_is_warned() -> None:
    """message → pause → back: it messages a customer who left, until expiry."""
    report = validation.validate(loop_through("pause", {"seconds": 60}, "next"))
    assert report.errors == []
    assert codes(report.warnings) == ["timer_loop"]
    assert "waits only on a timer" in report.warnings[0].message


def test_every_parameter_naming_a_record_is_checked_for_it() -> None:
    """A parameter typed ``Reference`` names a record: validation must know which kind,
    or a version naming one that does not exist would reach production unchecked."""
    from routing_core.actions import known_types
    from routing_core.routing.references import NAMED_RECORDS, reference_fields

    named = {(key, field) for key in known_types() for field in reference_fields(key)}
    assert len(named) >= 13  # queues, tables, databases, schedules, routings, surveys…
    unchecked = sorted((key, field) for key, field in named if field not in NAMED_RECORDS)
    assert unchecked == [], f"add these to NAMED_RECORDS: {unchecked}"


def test_move_takes_what_follows_and_ends_the_old_branch() -> None:
    """Start → choice; yes → ask → thanks; no ends. Moving ask after no moves thanks with
    it, and yes then ends the tree; a loop from thanks back to ask moves along."""
    choice, ask, thanks = action("message_choice", YES_NO), action("message_wait", ASK), \
        action("message", SAY)
    choice.next["yes"] = ask.id
    ask.next["answered"] = thanks.id
    ask.next["invalid"] = ask.id  # a loop inside the part that moves
    tree = chain(choice, ask, thanks)
    moved = tree_edits.move_action(tree, ask.id, choice.id, "no")
    assert get(moved, choice.id).next == {"yes": None, "no": ask.id, "no_match": None,
                                          "timeout": None}
    assert get(moved, ask.id).next["answered"] == thanks.id
    assert get(moved, ask.id).next["invalid"] == ask.id
    assert tree.find(choice.id).next["yes"] == ask.id  # the original is untouched


@pytest.mark.parametrize(("moving", "after", "branch", "said"), [
    ("start", "choice", "no", "Start cannot be moved"),
    ("ask", "thanks", "next", "after itself or after what follows it"),
    ("ask", "ask", "timeout", "after itself or after what follows it"),
    ("thanks", "choice", "yes", "already leads somewhere"),
    ("thanks", "choice", "maybe", "branch"),
])
def test_refused_moves(moving: str, after: str, branch: str, said: str) -> None:
    choice, ask, thanks = action("message_choice", YES_NO), action("message_wait", ASK), \
        action("message", SAY)
    choice.next["yes"] = ask.id
    ask.next["answered"] = thanks.id
    tree = chain(choice, ask, thanks)
    ids = {"start": tree.start, "choice": choice.id, "ask": ask.id, "thanks": thanks.id}
    with pytest.raises(Invalid, match=said):
        tree_edits.move_action(tree, ids[moving], ids[after], branch)
