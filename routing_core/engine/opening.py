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
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from pymongo.errors import DuplicateKeyError

from routing_core.engine.known_contacts import KnownContacts
from routing_core.engine.versions import StartVersions, TreeCache
from routing_core.model.entry_point import EntryPoint, EntryPointMode
from routing_core.model.interaction import (
    SEEN_IDS_KEPT,
    Contact,
    Inbound,
    Interaction,
    language_code,
)
from routing_core.model.routing import Version
from routing_core.store import Store


class Runtime(Protocol):
    """What opening a conversation needs of the runtime (``engine/runtime.py``), which
    calls it."""

    store: Store
    owner: str
    known_contacts: KnownContacts
    start_versions: StartVersions
    trees: TreeCache

    def _lease_until(self, now: datetime) -> datetime: ...

    def _expiry(self, now: datetime) -> datetime: ...


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


async def first_of_a_new_contact(runtime: Runtime, inbound: Inbound,
                                 now: datetime) -> dict[str, Any] | None:
    """The conversation opened for the first message of a contact this process never met
    (see the module's docstring), leased to ``runtime``. None for a contact this process
    met before, or one with a conversation in progress (the caller ingests into it), or a
    message its last conversation already saw (the caller finds it a duplicate)."""
    if not runtime.known_contacts.first_sight(inbound.entry_point_id, inbound.contact):
        return None
    proposal = runtime.store.contacts.proposal(inbound, now)
    interaction = await new_interaction(runtime, inbound, now, seen=[], contact=proposal.contact)
    created, inserted = await asyncio.gather(
        runtime.store.contacts.create_if_new(proposal),
        runtime.store.interactions.insert_grouped(interaction),
        return_exceptions=True)
    if isinstance(inserted, DuplicateKeyError):  # a conversation is in progress: join it
        if isinstance(created, BaseException):
            raise created
        return None
    if isinstance(inserted, BaseException):
        raise inserted
    if isinstance(created, BaseException):
        # the message is stored, in a conversation this process holds: the sweeper processes
        # it once its lease runs out; the provider, told of the failure, delivers again and
        # finds it seen
        raise created
    if created:
        return inserted
    return await adopt(runtime, inbound, interaction, now)


async def adopt(runtime: Runtime, inbound: Inbound, interaction: Interaction,
                now: datetime) -> dict[str, Any] | None:
    """The conversation just inserted for a contact that existed after all, made its own:
    the stored contact's id, name and variables, the provider ids its last conversation
    saw. A message that conversation already saw is taken out again (None: nothing else
    came meanwhile, and the conversation is gone)."""
    store = runtime.store
    # the stored one, its name and phone refreshed from the message (written again only if
    # it vanished meanwhile: erased)
    contact, _ = await store.contacts.upsert(inbound, now)
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
