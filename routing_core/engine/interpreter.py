"""Runs an interaction's tree from where it stands until a wait, a hand-off or the end.

One *activation* handles one trigger (the start, a reply, a timer). It mutates the
interaction in memory and records events in the journal; the runtime persists both.
A step budget stops runaway loops; an action that fails takes its ``failure`` branch
when it has one, else the interaction ends with an error event.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from routing_core.actions.base import Call, Outcome, action_type, parse_params
from routing_core.actions.context import Journal, OutboundLimits, RunContext, Trigger
from routing_core.engine.sandbox import sandboxed
from routing_core.expressions.templates import TemplateFailure
from routing_core.infra.errors import DomainError
from routing_core.model.interaction import CallFrame, Inbound, Interaction, Waiting
from routing_core.model.tree import Action, Tree
from routing_core.ports.world import Ports

log = logging.getLogger(__name__)
PATH_KEPT = 1000
MAX_CALL_DEPTH = 10  # routings calling routings: deeper is a routing calling itself


class Trees(Protocol):
    """Where the interpreter gets the tree an interaction is pinned to."""

    async def pinned_tree(self, interaction: Interaction) -> Tree: ...

    async def production_of(self, reference: str) -> tuple[str, str, int, Tree] | None:
        """(routing id, version id, revision, tree) of a routing's production version."""
        ...


@dataclass
class Activation:
    ended: bool = False
    reason: str | None = None


class Interpreter:
    def __init__(self, ports: Ports, trees: Trees, step_budget: int = 200,
                 limits: OutboundLimits | None = None):
        self.ports = ports
        self.trees = trees
        self.step_budget = step_budget
        self.limits = limits or OutboundLimits()

    async def activate(
        self,
        interaction: Interaction,
        trigger: Trigger,
        journal: Journal,
        now: datetime,
        message: Inbound | None = None,
        signal: dict[str, Any] | None = None,
    ) -> Activation:
        tree = await self.trees.pinned_tree(interaction)
        memory: dict[str, object] = {}
        if trigger == "run":
            interaction.cursor = tree.start
        elif interaction.waiting is not None:
            waiting = interaction.waiting
            if trigger == "reply" and waiting.kind != "reply":
                return Activation()  # recorded; a pause or an agent is not a question
            interaction.cursor = waiting.action
            memory = dict(waiting.memory)
            interaction.waiting = None
        else:
            return Activation(ended=True, reason="nothing to resume")
        return await self._run(
            interaction, tree, trigger=trigger, journal=journal, now=now, message=message,
            memory=memory, signal=signal,
        )

    async def run_at(
        self, interaction: Interaction, action_id: str, journal: Journal, now: datetime,
    ) -> Activation:
        """Run the tree from ``action_id`` as if a branch led there (an operator's repair:
        move a conversation, or run its current action again); its wait is dropped."""
        tree = await self.trees.pinned_tree(interaction)
        interaction.waiting = None
        interaction.cursor = action_id
        return await self._run(
            interaction, tree, trigger="run", journal=journal, now=now, message=None,
            memory={}, signal=None,
        )

    async def _run(
        self,
        interaction: Interaction,
        tree: Tree,
        *,
        trigger: Trigger,
        journal: Journal,
        now: datetime,
        message: Inbound | None,
        memory: dict[str, object],
        signal: dict[str, Any] | None,
    ) -> Activation:
        resuming = trigger != "run"
        scope = await self._shared_scope()
        for _ in range(self.step_budget):
            action = tree.find(interaction.cursor or "")
            if action is None:
                journal.add("error", None, message=f"action {interaction.cursor!r} is missing")
                return Activation(ended=True, reason="error")
            if not resuming:
                self._count_passage(interaction, journal, action)
            ctx = RunContext(
                interaction=interaction, action=action, now=now,
                trigger=trigger if resuming else "run",
                message=message if resuming else None,
                memory=memory if resuming else {},
                # the admin's simulator writes no record, sends no SMS or e-mail
                ports=sandboxed(self.ports) if interaction.simulated else self.ports,
                journal=journal, extra_scope=scope,
                signal=signal if resuming else None, limits=self.limits,
            )
            outcome = await self._run_action(ctx)
            if ctx.changes:
                journal.add("variables", action.id, changes=ctx.changes)
            resuming, memory = False, {}
            if outcome is None:
                failure = "failure" in action.next
                if not failure:
                    return Activation(ended=True, reason="error")
                outcome = Outcome.follow("failure")
            if outcome.wait is not None:
                interaction.waiting = Waiting(action=action.id, **outcome.wait.model_dump())
                return Activation()
            if outcome.end:
                return Activation(ended=True, reason="ended by action")
            if outcome.handoff is not None:
                target = await self.trees.production_of(outcome.handoff)
                if target is None:
                    journal.add("error", action.id,
                                message=f"smart routing {outcome.handoff!r} has no production")
                    return Activation(ended=True, reason="error")
                interaction.routing_id, interaction.version_id, interaction.revision, tree = target
                journal.add("handoff", action.id, routing=outcome.handoff,
                            version=interaction.version_id)
                interaction.cursor = tree.start
                continue
            if outcome.call is not None:
                called = await self._call(interaction, action, outcome.call, journal)
                if called is None:
                    return Activation(ended=True, reason="error")
                tree = called
                interaction.cursor = tree.start
                continue
            following = action.next.get(outcome.branch or "")
            while following is None and interaction.calls:  # a called routing is over
                tree, following = await self._return(interaction, journal)
            if following is None:
                return Activation(ended=True, reason="end of tree")
            interaction.cursor = following
        journal.add("error", interaction.cursor,
                    message=f"step budget of {self.step_budget} actions exhausted: a loop?")
        return Activation(ended=True, reason="step budget")

    async def _call(self, interaction: Interaction, action: Action, call: Call,
                    journal: Journal) -> Tree | None:
        """Switch to the called routing's production tree, remembering where to return;
        None (after an error event) when it cannot be called."""
        if len(interaction.calls) >= MAX_CALL_DEPTH:
            journal.add("error", action.id, message=f"routings call each other more than "
                        f"{MAX_CALL_DEPTH} deep: a routing calling itself?")
            return None
        target = await self.trees.production_of(call.routing)
        if target is None:
            journal.add("error", action.id,
                        message=f"smart routing {call.routing!r} has no production")
            return None
        interaction.calls.append(CallFrame(
            routing_id=interaction.routing_id, version_id=interaction.version_id,
            revision=interaction.revision, action=action.id,
            return_to=action.next.get("next"), into=call.into,
            variables=dict(interaction.variables) if call.into else None))
        interaction.routing_id, interaction.version_id, interaction.revision, tree = target
        journal.add("call", action.id, routing=call.routing, version=interaction.version_id)
        return tree

    async def _return(self, interaction: Interaction, journal: Journal) -> tuple[Tree, str | None]:
        """Back in the caller's tree after its called routing ended: its tree, and where
        it goes on. With ``into``, the caller's variables come back, and what the called
        routing set or changed lands in that one variable."""
        frame = interaction.calls.pop()
        returned: dict[str, Any] = {}
        if frame.into is not None:
            kept = frame.variables or {}
            returned = {name: value for name, value in interaction.variables.items()
                        if name not in kept or kept[name] != value}
            interaction.variables = {**kept, frame.into: returned}
        interaction.routing_id, interaction.version_id, interaction.revision = (
            frame.routing_id, frame.version_id, frame.revision)
        journal.add("return", frame.action, routing=frame.routing_id, into=frame.into,
                    variables=returned)
        return await self.trees.pinned_tree(interaction), frame.return_to

    async def _shared_scope(self) -> dict[str, Any]:
        """Template names beyond the interaction's own: the global variables."""
        if self.ports.reference is None:
            return {}
        return {"globals": await self.ports.reference.global_variables()}

    @staticmethod
    def _count_passage(interaction: Interaction, journal: Journal, action: Action) -> None:
        interaction.passages[action.id] = interaction.passages.get(action.id, 0) + 1
        if len(interaction.path) < PATH_KEPT:
            interaction.path.append(action.id)
        if action.record_passage:
            journal.add("passage", action.id, type=action.type, name=action.name)

    @staticmethod
    async def _run_action(ctx: RunContext) -> Outcome | None:
        """The action's outcome, or None after recording why it failed."""
        try:
            kind = action_type(ctx.action.type)
            params = ctx.action._parsed_params
            if params is None:  # validated once per action of a cached tree
                params = ctx.action._parsed_params = parse_params(
                    ctx.action.type, ctx.action.params
                )
            return await kind().run(params, ctx)
        except (DomainError, TemplateFailure, NotImplementedError) as error:
            ctx.emit("error", message=str(getattr(error, "message", error)))
        except Exception as error:  # an action bug must not kill the worker
            log.exception("action %s (%s) failed", ctx.action.id, ctx.action.type)
            ctx.emit("error", message=f"{type(error).__name__}: {error}")
        return None
