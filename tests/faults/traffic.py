"""Steady web chat traffic for the fault suite: visitors who keep talking, reconnecting
whenever the service goes away, and remember which of their messages were accepted."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from dataclasses import dataclass, field
from typing import Any

import aiohttp

# The first message starts a 1 s pause (a durable timer) that ends with "woke"; then every
# accepted message gets exactly one "echo <text>" and the question again. Lost messages,
# duplicates and lost timers all show in the counts.
ECHO_TREE = {
    "start": "start",
    "actions": [
        {"id": "start", "type": "start", "next": {"next": "nap"}},
        {"id": "nap", "type": "pause", "params": {"seconds": 1}, "next": {"next": "woke"}},
        {"id": "woke", "type": "message", "params": {"text": "woke"}, "next": {"next": "ask"}},
        {"id": "ask", "type": "message_wait", "params": {
            "text": "Say something", "into": "said", "timeout_seconds": 86400},
         "next": {"answered": "echo", "invalid": None, "timeout": None}},
        {"id": "echo", "type": "message", "params": {"text": "echo {{ vars.said }}"},
         "next": {"next": "ask"}},
    ],
}
DISCONNECTED = (aiohttp.ClientError, asyncio.TimeoutError, OSError, ConnectionError,
                TypeError, ValueError)


@dataclass
class Visitor:
    name: str
    accepted: list[str] = field(default_factory=list)  # answers whose ack came back
    started: bool = False  # the first message (which starts the tree) was accepted
    awake: bool = False  # the pause's "woke" arrived
    sent: int = 0
    key: str = ""  # the visitor key the first history frame gave


async def _frames_until(socket: Any, wanted: str) -> None:
    while True:
        frame = await socket.receive_json(timeout=10)
        texts = [m.get("text") for m in frame.get("messages", [])] + [frame.get("text")]
        if wanted in texts:
            return


async def _send(socket: Any, visitor: Visitor, text: str) -> bool:
    await socket.send_str(json.dumps({"type": "message", "text": text, "id": text}))
    while True:
        frame = await socket.receive_json(timeout=10)
        if frame.get("type") == "ack" and frame.get("id") == text:
            return True


async def talk(visitor: Visitor, url: str, stop: asyncio.Event) -> None:
    """Start the conversation, wait for the timer, then send answers one reply at a time;
    on any failure, reconnect (a reconnection's history says what was missed)."""
    async with aiohttp.ClientSession() as session:
        while not stop.is_set():
            with contextlib.suppress(*DISCONNECTED):
                async with session.ws_connect(
                    f"{url.replace('http', 'ws', 1)}/chat/faults/ws?visitor={visitor.name}"
                    f"&key={visitor.key}", timeout=aiohttp.ClientWSTimeout(ws_close=2),
                ) as socket:
                    history = await socket.receive_json(timeout=10)
                    visitor.key = visitor.key or history.get("key", "")
                    said = [m.get("text") for m in history.get("messages", [])]
                    visitor.awake = visitor.awake or "woke" in said
                    if not visitor.started:
                        await _send(socket, visitor, f"{visitor.name}-start")
                        visitor.started = True
                    if not visitor.awake:
                        await _frames_until(socket, "woke")
                        visitor.awake = True
                    while not stop.is_set():
                        visitor.sent += 1
                        text = f"{visitor.name}-{visitor.sent}"
                        await _send(socket, visitor, text)
                        visitor.accepted.append(text)
                        await _frames_until(socket, f"echo {text}")
                        await asyncio.sleep(random.uniform(0.02, 0.2))
            await asyncio.sleep(0.3)


@dataclass
class Chat:
    """A Telegram user: updates posted to the webhook, redelivered until a 2xx, as
    Telegram does; ``accepted`` holds the answers that got one (the first update only
    starts the conversation)."""

    chat_id: int
    started: bool = False
    accepted: list[str] = field(default_factory=list)
    sent: int = 0

    def next_update(self, update_id: int) -> tuple[str, dict[str, Any]]:
        """The chat's next message (its text, and the update Telegram posts for it)."""
        self.sent += 1
        text = f"tg{self.chat_id}-{self.sent}"
        return text, {"update_id": update_id, "message": {
            "message_id": self.sent, "date": 1717171717, "text": text,
            "chat": {"id": self.chat_id, "type": "private"},
            "from": {"id": self.chat_id, "is_bot": False, "first_name": "T"}}}


async def _post_until_accepted(session: aiohttp.ClientSession, target: Any, update: Any,
                               stop: asyncio.Event) -> bool:
    """Telegram's redelivery: the same update again until it gets a 2xx."""
    while not stop.is_set():
        url, headers = target()
        with contextlib.suppress(*DISCONNECTED):
            async with session.post(url, json=update, headers=headers,
                                    timeout=aiohttp.ClientTimeout(total=10)) as reply:
                if reply.status == 200:
                    return True
        await asyncio.sleep(0.3)
    return False


async def telegram_user(chat: Chat, target: Any, awake: Any, stop: asyncio.Event,
                        update_ids: Any) -> None:
    """``target()`` gives (webhook url, headers) of the current service process;
    ``awake(chat_id)`` tells whether the bot's "woke" reached this chat."""
    async with aiohttp.ClientSession() as session:
        while not stop.is_set():
            text, update = chat.next_update(next(update_ids))
            if not await _post_until_accepted(session, target, update, stop):
                return
            if chat.started:
                chat.accepted.append(text)
            else:
                chat.started = True
                while not awake(chat.chat_id) and not stop.is_set():
                    await asyncio.sleep(0.1)
            await asyncio.sleep(random.uniform(0.1, 0.4))
