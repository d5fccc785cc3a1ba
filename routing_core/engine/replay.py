"""Regression replay: recorded conversations of one version, their customers' messages
played again through another version, in memory, with no side effect outside it.

For each recorded conversation the candidate's tree runs from Start with the first inbound
message, then each following one as a reply, exactly as the runtime would — but on an
interaction that is never stored, with ports that cannot reach the world:

- reference data is read (value tables, variables, custom databases, schedules) but never
  written: a database insert or change makes the conversation *not replayable*;
- a web-service call is answered from what the recorded conversation received for the same
  method and address (``web_service`` events), else the conversation is not replayable;
- SMS and e-mail are captured, never sent; cases, CRM, tasks, campaigns, surveys and
  distribution to agents are not replayable (they write, or need people).

The verdict compares what the customer read and where the conversation went: the same
replies along the same path, different replies (the transcripts side by side from the first
difference), or a different path. Timers and agents are outside a replay: a recorded
conversation is compared up to the first timeout or hand-over to an agent.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from routing_core.actions.context import Journal
from routing_core.engine.interpreter import Interpreter
from routing_core.engine.sandbox import sandboxed
from routing_core.engine.versions import TreeCache
from routing_core.infra.errors import DomainError
from routing_core.infra.ids import new_id
from routing_core.model.interaction import Event, Inbound, Interaction
from routing_core.model.tree import Tree
from routing_core.ports.world import HttpFailure, HttpResponse, Ports, ReferencePort

Verdict = Literal["same", "different_replies", "different_path", "not_replayable"]
STOP_TYPES = frozenset({"timeout", "queued", "agent_message", "handoff_agent"})


class NotReplayable(DomainError):
    """The conversation needs the world (a write, a person, an unrecorded call)."""


class ReplayGuard:
    """What one replay touched that it may not: the first such thing is its verdict."""

    def __init__(self) -> None:
        self.problem: str | None = None

    def refuse(self, what: str) -> NotReplayable:
        if self.problem is None:
            self.problem = f"it would {what}"
        return NotReplayable(what)


class RecordedHttp:
    """Answers each request with what the recorded conversation got for the same method and
    address, in order."""

    def __init__(self, recorded: list[Event], guard: ReplayGuard):
        self.answers: dict[tuple[str, str], deque[dict[str, Any]]] = defaultdict(deque)
        for event in recorded:
            if event.type == "web_service" and "url" in event.data:
                self.answers[(event.data.get("method", "GET"), event.data["url"])].append(
                    event.data)
        self.guard = guard

    async def request(self, method: str, url: str, *, headers: dict[str, str],
                      body: bytes | None, timeout_seconds: float) -> HttpResponse:
        answers = self.answers.get((method, url))
        if not answers:
            raise self.guard.refuse(f"call a web service ({method} {url}) with no recorded "
                                    "answer")
        answer = answers.popleft()
        if answer.get("status") is None:
            raise HttpFailure(str(answer.get("error") or "recorded failure"))
        return HttpResponse(status=int(answer["status"]), headers={},
                            body=str(answer.get("body", "")).encode())


@dataclass
class ReplayResult:
    interaction_id: str
    verdict: Verdict
    reason: str | None = None
    recorded: list[str] = field(default_factory=list)  # what the customer read
    replayed: list[str] = field(default_factory=list)
    first_difference: int | None = None  # index in both transcripts
    recorded_path: list[str] = field(default_factory=list)
    replayed_path: list[str] = field(default_factory=list)
    messages: int = 0  # inbound messages replayed


class FixedTree:
    """The interpreter's trees: the candidate's, and the productions it may hand over to."""

    def __init__(self, tree: Tree, trees: TreeCache):
        self.tree = tree
        self.trees = trees

    async def pinned_tree(self, interaction: Interaction) -> Tree:
        return self.tree

    async def production_of(self, reference: str) -> tuple[str, str, int, Tree] | None:
        return await self.trees.production_of(reference)


def recorded_messages(events: list[Event]) -> tuple[list[Inbound], list[str], bool]:
    """The customer's messages, the bot's replies (up to a timer or an agent), and whether
    the recording was cut there."""
    inbound: list[Inbound] = []
    replies: list[str] = []
    for event in events:
        if event.type in STOP_TYPES or event.agent_id:
            return inbound, replies, True
        if event.type == "inbound":
            inbound.append(Inbound(
                channel="webchat", entry_point_id="", contact="",  # type: ignore[arg-type]
                provider_id=str(event.data.get("provider_id") or event.id),
                text=str(event.data.get("text", "")), payload=event.data.get("payload"),
                received_at=event.at))
        elif event.type == "outbound":
            replies.append(str(event.data.get("text", "")))
    return inbound, replies, False


async def replay_one(
    original: Interaction, events: list[Event], tree: Tree, trees: TreeCache,
    reference: ReferencePort | None, now: datetime,
) -> ReplayResult:
    """Play the conversation's messages again through ``tree``; never stored, never sent."""
    guard = ReplayGuard()
    real = Ports(reference=reference)
    ports = sandboxed(real, guard.refuse, http=RecordedHttp(events, guard))
    interpreter = Interpreter(ports, FixedTree(tree, trees))
    inbound, recorded, cut = recorded_messages(events)
    interaction = Interaction(
        id=f"replay-{new_id()}", entry_point_id=original.entry_point_id,
        channel=original.channel, contact=original.contact, contact_id=original.contact_id,
        contact_name=original.contact_name, contact_phone=original.contact_phone,
        contact_variables=dict(original.contact_variables), routing_id=original.routing_id,
        version_id="replay", revision=0)
    replayed: list[str] = []
    result = ReplayResult(original.id, "same", recorded=recorded,
                          recorded_path=list(original.path))
    for number, said in enumerate(inbound):
        message = said.model_copy(update={"channel": original.channel,
                                          "entry_point_id": original.entry_point_id,
                                          "contact": original.contact})
        if number and interaction.waiting is None:
            break  # the candidate ended (or never asked) where the recording went on
        journal = Journal(interaction, message.received_at)
        journal.add("inbound", None, text=message.text)
        await interpreter.activate(interaction, "run" if number == 0 else "reply", journal,
                                   message.received_at, message)
        replayed += [str(event.data.get("text", "")) for event in journal.outbound_messages()]
        result.messages = number + 1
        if guard.problem:
            break
        if interaction.waiting is not None and interaction.waiting.kind != "reply":
            break  # a timer, an agent or a signal: outside a replay
    result.replayed = replayed
    result.replayed_path = list(interaction.path)
    if guard.problem:
        result.verdict, result.reason = "not_replayable", guard.problem
        return result
    compared = min(len(recorded), len(replayed))
    difference = next((index for index in range(compared)
                       if recorded[index] != replayed[index]), None)
    if difference is None and len(recorded) != len(replayed):
        difference = compared
    result.first_difference = difference
    recorded_path = result.recorded_path
    if cut:  # compared up to a timer or an agent: the path so far
        recorded_path = recorded_path[:len(result.replayed_path)]
    if recorded_path != result.replayed_path:
        result.verdict = "different_path"
    elif difference is not None:
        result.verdict = "different_replies"
    return result

