"""How a conversation opens: for a customer's message, or for the entry point's end routing
and a call from another system (``Opening``).

The first message of a contact this process never met is the hot path's most frequent
opening (every new chat on a busy bot). Its contact and its conversation are written *at
the same time*, each with the other first messages of the moment (group commit): the
conversation is built for the contact the message would create, so the webhook is answered,
and the step starts, after one round of writes instead of two. Almost always the contact
was indeed new — it can have no conversation yet, so nothing is looked up. When it
existed after all (met by another process, or before a restart), the conversation just
inserted is *adopted*: it takes the stored contact's id, name and variables, and the
provider ids its last conversation saw, before any step runs — so a redelivered message
is still answered once, and a known customer is still known. A contact that existed with
a conversation in progress needs nothing more: the unique index refuses the second
active conversation, and the message goes into the one in progress, as any follow-up.

On a provider's channel the first step goes further: it is computed *before* anything is
written (``speculate``), and its events are written in the same round as the contact and
the conversation, so the reply leaves one round of writes after the webhook instead of
two (a round costs ~8-11 ms on a loaded two-core machine). The step may read what is
cached or stored, nothing else: its ports refuse the outside (``NeedsOutside``), and a step
that reaches for a web service, a record or a mail gives up before anything is written and
takes the way above. Should the contact have existed, or the conversation be refused, the
step's events are deleted again before the message goes the usual way — held by this
process, nobody sends them meanwhile; should it die in between, the outbox finds their
conversation missing and drops them (``engine/outbox.py``). Web chat keeps the way above:
storing its message is sending it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from pymongo.errors import DuplicateKeyError

from routing_core.engine.held_messages import HeldMessages
from routing_core.engine.interpreter import Interpreter
from routing_core.engine.known_contacts import KnownContacts
from routing_core.engine.local_work import LocalWork
from routing_core.engine.sandbox import Unreachable, sandboxed
from routing_core.engine.step_writer import StepWriter
from routing_core.engine.versions import StartVersions, TreeCache
from routing_core.model.entry_point import EntryPoint, EntryPointMode
from routing_core.model.interaction import (
    SEEN_IDS_KEPT,
    Channel,
    Contact,
    Inbound,
    Interaction,
    language_code,
)
from routing_core.model.routing import Version
from routing_core.ports.world import Ports
from routing_core.store import Store
from routing_core.store.contacts import Proposal


class Runtime(Protocol):
    """What opening a conversation needs of the runtime (``engine/runtime.py``), which
    calls it."""

    store: Store
    owner: str
    known_contacts: KnownContacts
    start_versions: StartVersions
    trees: TreeCache
    slots: asyncio.Semaphore
    local: LocalWork
    held: HeldMessages
    writer: StepWriter
    speculative_interpreter: Interpreter

    def _lease_until(self, now: datetime) -> datetime: ...

    def _expiry(self, now: datetime) -> datetime: ...

    def _spawn(self, work: Any) -> asyncio.Task[Any]: ...

    async def prepare_step(self, document: dict[str, Any], operation: Any = None,
                           interpreter: Interpreter | None = None) -> Any: ...

    async def conclude_step(self, prepared: Any,
                            appended: list[str] | None = None) -> dict[str, Any] | None: ...

    async def steps(self, document: dict[str, Any], first: Any = None) -> None: ...


def started_on(entry_point: EntryPoint, version: Version | None) -> dict[str, Any]:
    """The version a new interaction runs, and whether it is a test or a canary one."""
    if version is None:
        return {"version_id": "", "revision": 0}
    return {
        "version_id": version.id, "revision": version.revision,
        "test": bool(entry_point.simulated_version
                     or (version.in_test and entry_point.mode is EntryPointMode.test)),
        "canary": bool(entry_point.canary and version.id == entry_point.canary.version_id),
        "simulated": bool(entry_point.simulated_version),
    }


async def person_of(store: Store, contact: Contact) -> Contact:
    """The contact whose variables a conversation reads and writes: the one this address
    was merged into (the same person on another channel), else the address's own."""
    if contact.merged_into is None:
        return contact
    return await store.contacts.find(contact.merged_into) or contact


async def person_with_language(store: Store, contact: Contact, inbound: Inbound) -> Contact:
    """The person, with the language the channel tells kept once (known from before: kept)."""
    person = await person_of(store, contact)
    if inbound.locale and "language" not in person.variables:
        person.variables["language"] = language_code(inbound.locale)
        await store.contacts.save_variables(person.id, person.variables)
    return person


def contact_fields(contact: Contact, person: Contact) -> dict[str, Any]:
    """What an interaction keeps of its contact (and of the person it was merged into)."""
    return {
        "contact_id": contact.id, "contact_name": contact.name, "contact_phone": contact.phone,
        "contact_variables": person.variables,
        "person_id": None if person is contact else person.id,
        "opted_out": contact.opted_out_at is not None,
    }


@dataclass
class Opened:
    """A conversation opened for a new contact's first message, leased to this process;
    ``stepping``: its first step is under way already (speculated), in that task."""

    document: dict[str, Any]
    stepping: asyncio.Task[None] | None = None


class NeedsOutside(BaseException):
    """A speculative first step reached for the outside (a web service, a record, a mail):
    it gives up, nothing written, and the message takes the usual way. A BaseException, so
    that no action takes it for a failure of its own and records it."""


def speculative_ports(ports: Ports) -> Ports:
    """What a first step computed before anything is written may use: reads only."""
    return sandboxed(ports, NeedsOutside, mail=Unreachable("send an e-mail", NeedsOutside),
                     sms=Unreachable("send an SMS", NeedsOutside))


ABORTED = object()  # a speculative first step gave up (or failed) before writing anything


async def first_of_a_new_contact(runtime: Runtime, inbound: Inbound,
                                 now: datetime) -> Opened | None:
    """The conversation opened for the first message of a contact this process never met
    (see the module's docstring), leased to ``runtime``. None for a contact this process
    met before, or one with a conversation in progress (the caller ingests into it), or a
    message its last conversation already saw (the caller finds it a duplicate)."""
    if not runtime.known_contacts.first_sight(inbound.entry_point_id, inbound.contact):
        return None
    proposal = runtime.store.contacts.proposal(inbound, now)
    interaction = await new_interaction(runtime, inbound, now, seen=[], contact=proposal.contact)
    if await speculable(runtime, interaction, inbound):
        accepted: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        task = runtime._spawn(speculate(runtime, inbound, proposal, interaction, accepted))
        opened = await accepted
        if opened is not ABORTED:
            return opened  # type: ignore[no-any-return]
        await task
    created, inserted = await asyncio.gather(
        runtime.store.contacts.create_if_new(proposal),
        runtime.store.interactions.insert_grouped(interaction),
        return_exceptions=True)
    return await written_together(runtime, inbound, interaction, now, created, inserted)


async def speculable(runtime: Runtime, interaction: Interaction, inbound: Inbound) -> bool:
    """Whether the first step may run before anything is written: a provider's message
    (storing a web chat message is sending it), a step slot free (a webhook never waits
    for one), and no consent keyword (that step writes the contact's consent)."""
    if interaction.channel is Channel.webchat or runtime.slots.locked():
        return False
    entry_point = await runtime.store.entry_points.current(inbound.entry_point_id)
    return inbound.payload is not None or not inbound.text or \
        entry_point.consent.keyword(inbound.text) is None


async def speculate(runtime: Runtime, inbound: Inbound, proposal: Proposal,
                    interaction: Interaction, accepted: asyncio.Future[Any]) -> None:
    """A new contact's first step computed before anything is written, then written with
    its contact and its conversation at the same time: the reply goes as soon as all three
    are durable, one round of writes after the webhook. ``accepted`` gets the ``Opened``
    (or ``ABORTED``: the step reached for the outside or failed, nothing was written) as
    soon as the message is stored; the step goes on here. Should the contact have existed, or the
    conversation be refused, the step's events are deleted (held by this process, nobody
    sends them meanwhile; should it die first, the outbox finds their conversation missing
    and drops them) and the message goes the usual way."""
    try:
        async with runtime.slots, runtime.local.exclusive(interaction.id):
            document = interaction.to_document()
            try:
                prepared = await runtime.prepare_step(
                    document, interpreter=runtime.speculative_interpreter)
            except (NeedsOutside, Exception):
                # the outside, or a step that fails (a read, a bug): the usual way stores the
                # message first, and a failing step is then recorded, retried, never lost
                accepted.set_result(ABORTED)
                return
            store = runtime.store
            runtime.writer.stamp(prepared.interaction, prepared.journal)
            events = prepared.journal.events
            created, inserted, appended = await asyncio.gather(
                store.contacts.create_if_new(proposal),
                store.interactions.insert_grouped(interaction),
                store.events.append_grouped(events), return_exceptions=True)
            if created is True and inserted is None and isinstance(appended, list):
                accepted.set_result(Opened(document, asyncio.current_task()))  # type: ignore[arg-type]
                await runtime.steps(
                    document, first=lambda: runtime.conclude_step(prepared, appended))
                return
            ids = [event.id for event in events]
            runtime.held.release(ids)
            await store.events.remove_unsent(interaction.id, ids)
        opened = await written_together(runtime, inbound, interaction, prepared.now, created,
                                        inserted)
        accepted.set_result(opened)
    except Exception as error:
        if not accepted.done():
            accepted.set_exception(error)
        else:
            raise


async def written_together(runtime: Runtime, inbound: Inbound, interaction: Interaction,
                           now: datetime, created: bool | BaseException,
                           inserted: None | BaseException) -> Opened | None:
    """The conversation, once the contact and it were written at the same time (the first
    step not concluded): adopted when the contact existed; None when another conversation
    was in progress (the caller ingests into it) or the message was seen before."""
    if isinstance(inserted, DuplicateKeyError):  # a conversation is in progress: join it
        if isinstance(created, BaseException):
            raise created
        return None
    if isinstance(inserted, BaseException):
        raise inserted
    if isinstance(created, BaseException):
        # the message is stored, in a conversation this process holds: it is processed
        # here (or, should this process die, by whoever sweeps); the provider, told of the
        # failure, delivers again, and finds it seen
        raise created
    if created:
        return Opened(interaction.to_document())
    adopted = await adopt(runtime, inbound, interaction, now)
    return None if adopted is None else Opened(adopted)


async def adopt(runtime: Runtime, inbound: Inbound, interaction: Interaction,
                now: datetime) -> dict[str, Any] | None:
    """The conversation just inserted for a contact that existed after all, made its own:
    the stored contact's id, name and variables, the provider ids its last conversation
    saw. A message that conversation already saw is taken out again (None: nothing else
    came meanwhile, and the conversation is gone)."""
    store = runtime.store
    contact, _ = await store.contacts.upsert(inbound, now)  # the stored one, name refreshed
    person = await person_with_language(store, contact, inbound)
    earlier = await store.interactions.latest(
        inbound.entry_point_id, inbound.contact, before=interaction.id) or {}
    seen_before: list[str] = earlier.get("seen", [])
    duplicate = inbound.provider_id in seen_before
    if duplicate and await store.interactions.drop_unused(interaction.id, runtime.owner):
        return None
    return await store.interactions.adopt(
        interaction.id, runtime.owner, seen_before=seen_before,
        without=inbound.provider_id if duplicate else None,
        fields=contact_fields(contact, person))


@dataclass
class Opening:
    """How a conversation opens when no message of the customer opens it: the entry
    point's end routing after a conversation, or a call from another system
    (``engine/outside_starts.py``)."""

    kind: Literal["end", "api"]
    routing_id: str
    variables: dict[str, Any]
    previous: str | None = None
    interaction_id: str | None = None  # given: a second call with it finds the first
    last_inbound_at: datetime | None = None  # the customer's last message, before this


async def new_interaction(
    runtime: Runtime, inbound: Inbound, now: datetime, *, seen: list[str],
    contact: Contact | None = None, opening: Opening | None = None,
) -> Interaction:
    """A new interaction leased to ``runtime``, not yet stored: holding the customer's
    message, or opened by ``opening``; its version pinned."""
    entry_point = await runtime.store.entry_points.current(inbound.entry_point_id)
    routing_id = opening.routing_id if opening else entry_point.start_routing
    version = await runtime.start_versions.of(
        entry_point, routing_id, None if opening and opening.kind == "end" else inbound.contact)
    if contact is None:
        contact, _ = await runtime.store.contacts.upsert(inbound, now)
    person = await person_with_language(runtime.store, contact, inbound)
    lease_until = runtime._lease_until(now)
    interaction = Interaction(
        entry_point_id=entry_point.id,
        channel=entry_point.channel,
        contact=inbound.contact,
        **contact_fields(contact, person),
        routing_id=routing_id,
        **started_on(entry_point, version),
        kind=opening.kind if opening else "start",
        variables=opening.variables if opening else {},
        pending=[] if opening else [inbound],
        seen=seen if opening else (seen + [inbound.provider_id])[-SEEN_IDS_KEPT:],
        expires_at=runtime._expiry(now),
        last_inbound_at=opening.last_inbound_at if opening else now,
        lease_owner=runtime.owner,
        lease_until=lease_until,
        lease_epoch=1,
        step_at=now,
        wake_at=lease_until,
        previous_interaction=opening.previous if opening else None,
        created_at=now,
        updated_at=now,
    )
    if opening and opening.interaction_id:
        interaction.id = opening.interaction_id
    if version is not None:
        await runtime.trees.pin(version)
    return interaction


async def open_interaction(
    runtime: Runtime, inbound: Inbound, now: datetime, *, seen: list[str],
    contact: Contact | None = None, opening: Opening | None = None,
) -> dict[str, Any]:
    """A new interaction leased to ``runtime``, stored: holding the customer's message, or
    opened by ``opening``. DuplicateKeyError if one became active meanwhile."""
    interaction = await new_interaction(runtime, inbound, now, seen=seen, contact=contact,
                                        opening=opening)
    await runtime.store.interactions.insert_grouped(interaction)
    return interaction.to_document()
