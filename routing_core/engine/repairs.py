"""Stuck conversations, and the repairs an operator makes to them.

A conversation is *stuck* when it waits longer than a threshold, waits on an action that
its version's tree no longer holds (a test version edited under it), or its steps keep
failing (each attempt raised; the sweeper keeps trying). An operator can end it, move it to
another action of its tree, or run its current action again.

Every repair runs like an agent's operation: under the conversation's lease, committed like
a step, and only if the conversation is where the operator saw it (its ``event_seq``): a
repair never overwrites what a step wrote meanwhile. Each is audited, and recorded in the
conversation's events as ``repair``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from routing_core.actions.context import Journal
from routing_core.engine.interpreter import Activation
from routing_core.engine.runtime import Runtime
from routing_core.infra.errors import Conflict, Invalid, NotFound, Words
from routing_core.model.audit import Actor
from routing_core.model.interaction import Interaction, InteractionState
from routing_core.model.tree import Tree

StuckReason = Literal["waiting_too_long", "action_missing", "step_failing"]
RepairKind = Literal["end", "move", "rerun"]
REASONS: dict[str, str] = {
    "waiting_too_long": "waits longer than the threshold",
    "action_missing": "waits on an action its tree no longer has",
    "step_failing": "its steps keep failing",
}
STUCK_SHOWN = 200


@dataclass
class StuckConversation:
    interaction: Interaction
    reasons: list[StuckReason] = field(default_factory=list)
    tree: Tree | None = None  # None: its version was deleted


class Repairs:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.store = runtime.store

    async def stuck(self, waiting_longer_than: timedelta,
                    limit: int = STUCK_SHOWN) -> list[StuckConversation]:
        """The stuck conversations, the longest-waiting first (real ones, not tests)."""
        now = self.runtime.clock()
        cutoff = now - waiting_longer_than
        collection = self.store.interactions.collection
        # two reads, each on its index: the waiting conversations, oldest first, until
        # ``limit`` of them wait since before the cutoff; the steps failing (a partial index
        # that holds only those). A conversation on a tree that lost its action is one of
        # them: it fails at its next step, or waits for ever.
        waiting_long = collection.find(
            {"state": InteractionState.waiting.value, "test": False,
             "updated_at": {"$lt": cutoff}},
            hint="list_by_state").sort("_id", 1).limit(limit)
        failing = collection.find(
            {"step_failures": {"$gt": 0}, "active": True, "test": False},
            hint="failing_steps").limit(limit)
        documents = {document["_id"]: document
                     for found in (await waiting_long.to_list(), await failing.to_list())
                     for document in found}
        found: dict[str, StuckConversation] = {}
        for document in sorted(documents.values(), key=lambda item: item["updated_at"]):
            interaction = Interaction.from_document(document)
            reasons: list[StuckReason] = []
            tree = await self._tree_of(interaction)
            waiting = interaction.waiting
            if waiting is not None and (tree is None or tree.find(waiting.action) is None):
                reasons.append("action_missing")
            if (interaction.state is InteractionState.waiting
                    and interaction.updated_at < now - waiting_longer_than):
                reasons.append("waiting_too_long")
            if interaction.step_failures:
                reasons.append("step_failing")
            if reasons:
                found[interaction.id] = StuckConversation(interaction, reasons, tree)
        return list(found.values())[:limit]

    async def _tree_of(self, interaction: Interaction) -> Tree | None:
        try:
            return await self.runtime.trees.pinned_tree(interaction)
        except NotFound:
            return None

    async def repair(
        self, actor: Actor, interaction_id: str, kind: RepairKind, expected_seq: int,
        action_id: str | None = None,
    ) -> Interaction:
        """End, move or run again; Conflict when the conversation ended or moved since
        ``expected_seq``, Invalid when the action named cannot be run."""
        interaction = await self.store.interactions.find(interaction_id)
        if interaction is None:
            raise NotFound(Words(
                "no interaction with id %(interaction_id)r",
                interaction_id=interaction_id))
        if not interaction.active:
            raise Conflict("the conversation has ended meanwhile", code="ended")
        tree = await self._tree_of(interaction)
        target = await self._target(interaction, tree, kind, action_id)
        by = actor.name

        async def operate(current: Interaction, journal: Journal, now: datetime) -> Activation:
            journal.add("repair", target, kind=kind, by=by)
            if kind == "end":
                return Activation(ended=True, reason="ended by operator")
            assert target is not None
            return await self.runtime.interpreter.run_at(current, target, journal, now)

        await self.runtime.apply(interaction_id, operate, expected_seq=expected_seq)
        await self.store.audit.record_change(
            actor, f"interaction.{kind}", "interaction", interaction_id,
            to_action=target, seq=expected_seq)
        return await self.store.interactions.get(interaction_id)

    @staticmethod
    async def _target(interaction: Interaction, tree: Tree | None, kind: RepairKind,
                      action_id: str | None) -> str | None:
        if kind == "end":
            return None
        if tree is None:
            raise Invalid("its version no longer exists: the conversation can only be ended",
                          field="kind")
        if kind == "rerun":
            current = interaction.waiting.action if interaction.waiting else interaction.cursor
            if not current or tree.find(current) is None:
                raise Invalid("its current action no longer exists in its tree: move it to "
                              "another action, or end it", field="kind")
            return current
        action = tree.find(action_id or "")
        if action is None or action.type == "start":
            raise Invalid("choose an action of the conversation's tree to move it to",
                          field="action")
        return action.id
