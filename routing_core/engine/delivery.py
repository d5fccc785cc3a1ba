"""Hand committed outbound messages to whoever delivers them.

Web chat messages are delivered by storing them (a socket that reconnects replays what it
missed) and pushed to the sockets open in this process through ``LocalHub``. Provider
channels are sent by the outbox senders (connectors), registered per channel.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Protocol

from routing_core.model.interaction import Channel, Event

log = logging.getLogger(__name__)


class ChannelSender(Protocol):
    async def dispatch(self, events: list[Event]) -> None: ...


class LocalHub:
    """The web chat sockets open in this process, by (entry point, visitor)."""

    def __init__(self) -> None:
        self._queues: dict[tuple[str, str], set[asyncio.Queue[Event]]] = defaultdict(set)

    def subscribe(self, entry_point_id: str, contact: str) -> asyncio.Queue[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue()
        self._queues[(entry_point_id, contact)].add(queue)
        return queue

    def unsubscribe(self, entry_point_id: str, contact: str, queue: asyncio.Queue[Event]) -> None:
        key = (entry_point_id, contact)
        self._queues[key].discard(queue)
        if not self._queues[key]:
            del self._queues[key]

    def publish(self, event: Event) -> None:
        for queue in self._queues.get((event.entry_point_id or "", event.contact or ""), ()):
            queue.put_nowait(event)

    async def dispatch(self, events: list[Event]) -> None:
        for event in events:
            self.publish(event)


class Delivery:
    """Routes outbound events to their channel's sender."""

    def __init__(self, hub: LocalHub):
        self.hub = hub
        self.senders: dict[Channel, ChannelSender] = {Channel.webchat: hub}

    def register(self, channel: Channel, sender: ChannelSender) -> None:
        self.senders[channel] = sender

    async def typing(self, channel: Channel, entry_point_id: str, contact: str) -> None:
        """"typing…" on a provider channel (its sender decides whether it can)."""
        show = getattr(self.senders.get(channel), "typing", None)
        if show is not None:
            await show(channel, entry_point_id, contact)

    def stored_as_sent(self, channel: Channel) -> bool:
        """Web chat needs no provider: storing the message is sending it."""
        return channel is Channel.webchat

    async def dispatch(self, events: list[Event]) -> None:
        """Outbound messages to their sender; a notice (a conversation's end) to the web
        chat sockets open on it, the only channel that shows one."""
        by_channel: dict[Channel, list[Event]] = defaultdict(list)
        for event in events:
            if event.type == "outbound" and event.channel is not None:
                by_channel[event.channel].append(event)
        for channel, batch in by_channel.items():
            sender = self.senders.get(channel)
            if sender is None:
                log.warning("no sender for %s: %d message(s) stay pending", channel, len(batch))
                continue
            await sender.dispatch(batch)
        for event in events:  # after the messages they follow
            if event.type != "outbound" and event.channel is Channel.webchat:
                self.hub.publish(event)
