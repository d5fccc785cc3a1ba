"""Actions that hand the conversation on: to a queue of agents, one agent, another routing.

``to_queue`` and ``to_user`` reach the distribution service through the port
``ctx.ports.extra["distribution"]`` (``routing_core.model.queues.DistributionPort``). They
put the conversation in line, then wait for a *signal*: ``assigned`` when an agent has it
(the service records the ``assigned`` event and the agent on the interaction), or their
timeout when nobody took it in time. The wait's ticket is fixed per passage, so a step
replayed after a crash asks for the same place in line.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from routing_core.actions.base import ActionType, Call, Outcome, Wait, register
from routing_core.actions.params import ConversationVariable, Reference, RequiredTemplate, Template
from routing_core.expressions.templates import render
from routing_core.infra.errors import Invalid, Words
from routing_core.model.queues import DistributionPort, Placement, TicketRequest

if TYPE_CHECKING:
    from routing_core.actions.context import RunContext

# A wait that times out while an agent's claim is being delivered waits this much longer.
CLAIM_GRACE_SECONDS = 30


def distribution_port(ctx: RunContext) -> DistributionPort:
    port = ctx.ports.extra.get("distribution")
    if port is None:
        raise Invalid(Words(
            "%(type)s: distribution to agents is not available here",
            type=ctx.action.type))
    return port  # type: ignore[no-any-return]


def ticket_request(ctx: RunContext, **fields: Any) -> TicketRequest:
    interaction = ctx.interaction
    passage = interaction.passages.get(ctx.action.id, 0)
    return TicketRequest(
        interaction_id=interaction.id, ticket=f"{interaction.id}:{ctx.action.id}:{passage}",
        now=ctx.now, entry_point_id=interaction.entry_point_id, contact=interaction.contact,
        contact_name=interaction.contact_name, channel=interaction.channel.value, **fields,
    )


def waiting(placement: Placement, ticket: str, **memory: Any) -> Outcome:
    return Outcome(wait=Wait(kind="signal", until=placement.deadline,
                             memory={"ticket": ticket, "until": placement.deadline, **memory}))


async def settled(ctx: RunContext, answered: str, refused: str) -> Outcome | None:
    """The outcome of a resumed wait: the agent took it, or the time is up (unless a claim
    is being delivered right now: then a little longer). None on a first run."""
    ticket = str(ctx.memory.get("ticket", ""))
    if ctx.trigger == "signal":
        if ctx.signal.get("name") == "assigned":
            return Outcome.follow(answered)
        return Outcome(wait=Wait(kind="signal", until=ctx.memory.get("until"),
                                 memory=dict(ctx.memory)))
    if ctx.trigger == "timeout":
        if await distribution_port(ctx).expire(ctx.interaction.id, ticket) == "claimed":
            until = ctx.now + timedelta(seconds=CLAIM_GRACE_SECONDS)
            return Outcome(wait=Wait(kind="signal", until=until, memory=dict(ctx.memory)))
        ctx.emit(refused, reason="wait expired", **{
            key: ctx.memory[key] for key in ("queue", "user") if key in ctx.memory
        })
        return Outcome.follow(refused)
    return None


@register
class ToQueue(ActionType):
    """Puts the conversation in front of the agents of a queue, or says none can take it."""

    type = "to_queue"
    title = "Distribution to queue"
    branches = ("answered", "no_agent")
    waits: ClassVar[bool] = True

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        queue: Reference
        priority: Annotated[int, Field(ge=0, le=10)] = 0
        max_wait_seconds: Annotated[int, Field(ge=10, le=86_400)] = 600
        waiting_message: Template = ""

    async def run(self, params: Params, ctx: RunContext) -> Outcome:
        resumed = await settled(ctx, "answered", "no_agent")
        if resumed is not None:
            return resumed
        request = ticket_request(ctx, queue=params.queue, priority=params.priority,
                                 max_wait_seconds=params.max_wait_seconds)
        placement = await distribution_port(ctx).enqueue(request)
        ctx.interaction.queued = True  # placed or refused: the end looks at the entries
        if not placement.accepted:
            ctx.emit("no_agent", queue=params.queue, reason=placement.reason)
            return Outcome.follow("no_agent")
        queue = {"name": placement.queue_name, "position": placement.position}
        text = params.waiting_message or placement.waiting_message
        if text:
            ctx.send(render(text, {**ctx.scope(), "queue": queue}))
        if placement.announce_position:
            ctx.send(f"You are number {placement.position} in the queue.")
        ctx.emit("queued", queue=placement.queue_name, queue_id=placement.queue_id,
                 priority=params.priority, position=placement.position)
        return waiting(placement, request.ticket, queue=placement.queue_name)


@register
class ToSmartRouting(ActionType):
    """Hands the interaction to another routing's production version; this tree ends here."""

    type = "to_smart_routing"
    title = "Distribution to smart routing"
    branches = ()

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        routing: Reference

    async def run(self, params: Params, ctx: RunContext) -> Outcome:
        # The interpreter finds the production version and records the hand-off.
        return Outcome(handoff=params.routing)


@register
class CallSmartRouting(ActionType):
    """Runs another routing's production version, then comes back to ``next``."""

    # Beside ``to_smart_routing``, which hands over for good. The called routing sees the
    # caller's variables; what it sets comes back over them, or into one variable
    # (``into``) when given, leaving the caller's own untouched.
    type = "call_smart_routing"
    title = "Call a smart routing"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        routing: Reference
        into: ConversationVariable | None = None

    async def run(self, params: Params, ctx: RunContext) -> Outcome:
        # The interpreter switches trees, records the call and the return.
        return Outcome(call=Call(routing=params.routing, into=params.into))


@register
class ToUser(ActionType):
    """Offers the conversation to one named agent (e.g. the contact's usual adviser)."""

    type = "to_user"
    title = "Distribution to user"
    branches = ("answered", "unavailable")
    waits: ClassVar[bool] = True

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        user: RequiredTemplate

    async def run(self, params: Params, ctx: RunContext) -> Outcome:
        resumed = await settled(ctx, "answered", "unavailable")
        if resumed is not None:
            return resumed
        wanted = ctx.render(params.user).strip()
        request = ticket_request(ctx, user=wanted)
        placement = await distribution_port(ctx).offer_to_user(request)
        ctx.interaction.queued = True
        if not placement.accepted:
            ctx.emit("unavailable", user=placement.user_id or wanted, reason=placement.reason)
            return Outcome.follow("unavailable")
        ctx.emit("offered", user=placement.user_id, user_id=placement.user_id)
        return waiting(placement, request.ticket, user=placement.user_id)
