"""Steps that end together commit in one command, and each still learns its own outcome.

A grouped update says only how many documents matched; the store must tell each step
whether *its* commit was written (the lease went back), and send the others down the path
that keeps a message that came meanwhile or reports the lease lost. Checked against a real
mongod, with the commands counted.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import AsyncMongoClient, monitoring

from config import Settings
from routing_core.model.interaction import Channel, Inbound, Interaction
from routing_core.store import Store
from routing_core.store.interactions import LOST_COMMIT

OWNER = "this-process"


class Commands(monitoring.CommandListener):
    """The update and find-and-modify commands sent to the interactions collection."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in ("update", "findAndModify") and \
                event.command.get(event.command_name) == "interactions":
            self.names.append(event.command_name)

    def succeeded(self, event: Any) -> None:
        pass

    def failed(self, event: Any) -> None:
        pass


def leased(contact: str, now: datetime, pending: list[str]) -> Interaction:
    return Interaction(
        entry_point_id="ep-grouped", channel=Channel.webchat, contact=contact,
        contact_id=f"c-{contact}", routing_id="r", version_id="v", revision=1,
        pending=[Inbound(channel=Channel.webchat, entry_point_id="ep-grouped",
                         contact=contact, provider_id=provider_id, text=provider_id,
                         received_at=now) for provider_id in pending],
        lease_owner=OWNER, lease_until=now + timedelta(seconds=30), lease_epoch=1,
        step_at=now, created_at=now, updated_at=now,
    )


async def test_steps_ending_together_commit_in_one_command_each_with_its_own_outcome(
    settings: Settings,
) -> None:
    commands = Commands()
    client: AsyncMongoClient = AsyncMongoClient(
        settings.mongodb_uri, tz_aware=True, w="majority", event_listeners=[commands])
    store = Store(client, client[settings.mongodb_database])
    try:
        await in_one_group(store, commands)
    finally:
        await client.close()


async def in_one_group(store: Store, commands: Commands) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    quiet = [leased(f"quiet-{number}", now, ["m1"]) for number in range(3)]
    busy = leased("busy", now, ["m1", "m2"])  # m2 came during the step
    taken = leased("taken", now, ["m1"])  # another process took the lease meanwhile
    gone = leased("gone", now, ["m1"])  # never stored (or removed under the step)
    for interaction in [*quiet, busy, taken]:
        await store.interactions.insert(interaction)
    await store.interactions.collection.update_one(
        {"_id": taken.id}, {"$set": {"lease_owner": "another-process", "lease_epoch": 2}})

    commands.names.clear()
    for interaction in [*quiet, busy, taken, gone]:
        interaction.variables = {"step": "done"}
    answers = await asyncio.gather(*(
        store.interactions.commit(interaction, OWNER, ["m1"], now + timedelta(seconds=30), now)
        for interaction in [*quiet, busy, taken, gone]))

    *quiet_answers, busy_answer, taken_answer, gone_answer = answers
    for answer in quiet_answers:
        assert answer is not None and answer["lease_owner"] is None and answer["pending"] == []
    # the busy one keeps its lease and the message that came; the others lost theirs
    assert busy_answer is not None and busy_answer["lease_owner"] == OWNER
    assert [message["provider_id"] for message in busy_answer["pending"]] == ["m2"]
    assert taken_answer is None and gone_answer is None
    # one update for the six, then a find-and-modify for each that was not written
    assert commands.names == ["update"] + ["findAndModify"] * 3

    for interaction in quiet:
        stored = await store.interactions.find(interaction.id)
        assert stored.variables == {"step": "done"} and stored.lease_owner is None
    stored_busy = await store.interactions.find(busy.id)
    assert stored_busy.variables == {"step": "done"} and stored_busy.lease_owner == OWNER
    stored_taken = await store.interactions.find(taken.id)
    assert stored_taken.variables == {} and stored_taken.lease_owner == "another-process"
    # the commit of a conversation that was not there left nothing behind
    assert await store.interactions.collection.count_documents({"_id": gone.id}) == 0
    assert await store.interactions.collection.count_documents({LOST_COMMIT: True}) == 0
