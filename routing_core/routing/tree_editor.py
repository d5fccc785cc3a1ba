"""The tree editing service: loads a version, applies one pure edit from ``tree_edits``
and saves the result through ``Lifecycle.save_tree``, which alone checks that the version
is in development and that nobody saved it meanwhile (its revision)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from routing_core.infra.errors import Conflict, Invalid, Words
from routing_core.model.audit import Actor
from routing_core.model.routing import TreeEdit, Version
from routing_core.model.tree import Action, Tree
from routing_core.routing.lifecycle import Lifecycle, require_development
from routing_core.routing.tree_edits import (
    copied_action,
    delete_action,
    insert_action,
    move_action,
    new_action,
    set_link,
    update_action,
)
from routing_core.store import Store


class TreeEditor:
    """Loads a version, applies one edit, saves it through the lifecycle (development only,
    conditional on the revision that was read)."""

    def __init__(self, store: Store, lifecycle: Lifecycle):
        self.store = store
        self.lifecycle = lifecycle

    async def _editable(self, version_id: str) -> Version:
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
        following: str | None = None,
    ) -> Action:
        """A new action (or a copy) on ``after``'s branch; ``following``: which action it
        leads to ("" none; None: what the branch led to)."""
        version = await self._editable(version_id)
        if copy_action is not None:
            source_version = (
                version
                if copy_version in (None, version_id)
                else await self.store.versions.find(copy_version or "")
            )
            if source_version is None:
                raise Invalid(Words(
                    "no version %(copy_version)r to copy from",
                    copy_version=copy_version), field="copy.version")
            source = source_version.tree.find(copy_action)
            if source is None:
                raise Invalid(Words("no action %(copy_action)r to copy", copy_action=copy_action),
                              field="copy.action")
            action = copied_action(source)
        elif type is None:
            raise Invalid("give the action's type, or an action to copy", field="type")
        else:
            action = new_action(type, name, params or {}, record_passage)
        tree = insert_action(version.tree, action, after, branch, before, following)
        await self.lifecycle.save_tree(actor, version, tree, "add", f"add {named(action)}")
        return action

    async def update(
        self, actor: Actor, version_id: str, action_id: str, changes: dict[str, Any]
    ) -> Action:
        version = await self._editable(version_id)
        tree = update_action(version.tree, action_id, changes)
        updated = tree.find(action_id)
        assert updated is not None
        await self.lifecycle.save_tree(actor, version, tree, "update", f"change {named(updated)}")
        return updated

    async def delete(self, actor: Actor, version_id: str, action_id: str) -> None:
        await self._edit(actor, version_id, "delete", action_id, "",
                         lambda tree: delete_action(tree, action_id))

    async def link(
        self, actor: Actor, version_id: str, origin: str, branch: str, target: str | None
    ) -> Version:
        return await self._edit(actor, version_id, "link", origin, f" ({branch})",
                                lambda tree: set_link(tree, origin, branch, target),
                                verb="re-link")

    async def move(
        self, actor: Actor, version_id: str, action_id: str, after: str, branch: str
    ) -> Version:
        """The action and what follows it, to the end of ``after``'s ``branch``."""
        return await self._edit(actor, version_id, "move", action_id, "",
                                lambda tree: move_action(tree, action_id, after, branch))

    async def _edit(self, actor: Actor, version_id: str, kind: str, action_id: str,
                    detail: str, change: Callable[[Tree], Tree], verb: str = "") -> Version:
        """One edit of the tree, saved with the words the undo list shows for it."""
        version = await self._editable(version_id)
        tree = change(version.tree)
        concerned = version.tree.find(action_id)
        verb = verb or kind
        label = f"{verb} {named(concerned)}{detail}" if concerned else verb
        return await self.lifecycle.save_tree(actor, version, tree, kind, label)

    async def undo(self, actor: Actor, version_id: str) -> Version:
        """Put the tree back as it was before its last edit (a revision-checked save);
        refused when there is nothing to undo or the tree changed another way since."""
        return await self._travel(actor, version_id, back=True)

    async def redo(self, actor: Actor, version_id: str) -> Version:
        """Make again the edit undone last; refused after a new edit replaced it."""
        return await self._travel(actor, version_id, back=False)

    async def _travel(self, actor: Actor, version_id: str, back: bool) -> Version:
        version = await self._editable(version_id)
        edits = self.store.tree_edits
        edit = await (edits.last_done(version_id) if back else edits.first_undone(version_id))
        word = "undo" if back else "redo"
        if edit is None:
            raise Conflict(Words("there is no edit to %(word)s", word=word),
                           code=f"nothing_to_{word}")
        expected, restored = (edit.after, edit.before) if back else (edit.before, edit.after)
        if expected.model_dump() != version.tree.model_dump():
            raise Conflict("the tree changed since that edit (another editor?); reload it",
                           code="concurrent_change")
        saved = await self.lifecycle.save_tree(actor, version, restored, word,
                                               f"{word} {edit.label}", remember=False)
        await edits.mark(edit, undone=back)
        return saved

    async def history(self, version_id: str) -> tuple[TreeEdit | None, TreeEdit | None]:
        """What Undo and Redo would do now (None: nothing)."""
        return (await self.store.tree_edits.last_done(version_id),
                await self.store.tree_edits.first_undone(version_id))


def named(action: Action) -> str:
    return action.name or action.type
