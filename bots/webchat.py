"""The web chat channel: a demo page, the embeddable widget, and the visitor's WebSocket.

Protocol (API.md, plus acknowledgements and replay): the client sends
``{type: "message", text, id?}``, ``{type: "choice", value, id?}``, ``{type: "end"}``
(the visitor closes the conversation) or ``{type: "read"}`` (the visitor has the page in
front: what was sent so far is read); the server sends
``{type: "message", text, choices?, media_url?, seq}`` for every bot message, ``{type:
"ack", id}`` once a client message is stored, and on connection either the conversation's
``history`` or, with ``?after=<seq>``, the messages missed since ``seq``.

A socket is ``?visitor=<id>&key=<key>``: a visitor that never wrote comes without a key
and receives it in its ``history`` frame (``key``); once it wrote, the key is required
(4401 without it). ``seq`` is opaque (bots/webchat_keys.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import uuid
from collections import deque
from typing import Any, cast

from quart import Blueprint, current_app, render_template, websocket

from admin import simulator_tickets
from admin.context import address_behind_proxies, services
from bots.origins import same_origin_socket
from bots.webchat_keys import keys
from bots.webchat_limits import REFUSALS_BEFORE_CLOSE, WebChatGuard, WebChatLimits
from bots.webchat_uploads import MAX_FILES_PER_MESSAGE, uploaded
from routing_core.infra.errors import DomainError
from routing_core.model.interaction import Channel, Event, Inbound

blueprint = Blueprint(
    "webchat", __name__, template_folder="templates", static_folder="static",
    static_url_path="/chat/static",
)

VISITOR = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_TEXT = 4096
LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?")
log = logging.getLogger(__name__)
SLOW_DOWN = "slow down: this message was not sent, you are writing too fast"
HISTORY_LIMIT = 100


class ReadFrame:
    """The visitor read what was sent so far (a frame that carries nothing else)."""


READ = ReadFrame()
READ_EVERY = 1.0  # seconds: reads said more often change nothing and write nothing


def message_frame(event: Event) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "message", "text": event.data.get("text", ""),
                             "seq": keys().seal(event.id), "from": "bot"}
    if event.data.get("agent"):  # a person wrote it: the widget shows who
        frame["from"], frame["agent"] = "agent", agent_shown_name(event.data)
    if choices := event.data.get("choices"):
        frame["choices"] = choices
    if media_url := event.data.get("media_url"):
        # our own file: by its path, which the widget puts after the service's origin (the
        # one it was loaded from), whatever SR_PUBLIC_URL says
        public = services().settings.public_url.rstrip("/") + "/media/files/"
        frame["media_url"] = (media_url.removeprefix(public.removesuffix("/media/files/"))
                              if media_url.startswith(public) else media_url)
        if kind := event.data.get("media_kind"):
            frame["media_kind"] = kind
    return frame


def agent_shown_name(data: dict[str, Any]) -> str:
    """How a customer sees the agent: a first name, never the agent's e-mail address."""
    given = str(data.get("agent_name") or "")
    first = given.split("@", 1)[0].replace("_", ".").split(".", 1)[0]
    return first[:1].upper() + first[1:] if first else "An agent"


@blueprint.get("/chat/widget.js")
async def widget() -> Any:
    return await blueprint.send_static_file("widget.js")


@blueprint.get("/chat/<entry_point_key>")
async def demo_page(entry_point_key: str) -> Any:
    entry_point = await services().entry_points.resolve(entry_point_key)
    if entry_point.channel is not Channel.webchat or entry_point.simulated_version:
        return {"error": {"code": "not_found", "message": "not a web chat entry point"}}, 404
    return await render_template("chat.html", entry_point=entry_point)


def _parse(raw: str | bytes) -> tuple[str, str | None, str | None, list[str]] | str | ReadFrame:
    """(text, payload, client id, uploaded files' ids) of a client frame, or the reason
    it is refused."""
    try:
        frame = json.loads(raw)
    except (ValueError, TypeError):
        return "frames are JSON objects"
    if not isinstance(frame, dict):
        return "frames are JSON objects"
    client_id = frame.get("id")
    if client_id is not None and (not isinstance(client_id, str) or len(client_id) > 64):
        return "id must be a string of at most 64 characters"
    if frame.get("type") == "message":
        text, media = frame.get("text", ""), frame.get("media") or []
        if not isinstance(media, list) or len(media) > MAX_FILES_PER_MESSAGE or not all(
                isinstance(item, str) and len(item) <= 64 for item in media):
            return f"media must list at most {MAX_FILES_PER_MESSAGE} uploaded files' ids"
        if not isinstance(text, str) or len(text) > MAX_TEXT or not (text.strip() or media):
            return f"text must be a non-empty string of at most {MAX_TEXT} characters"
        return text, None, client_id, media
    if frame.get("type") == "choice":
        value = frame.get("value")
        if not isinstance(value, str) or not value or len(value) > 64:
            return "value must be a non-empty string of at most 64 characters"
        label = frame.get("label")
        text = label if isinstance(label, str) and len(label) <= MAX_TEXT else value
        return text, value, client_id, []
    if frame.get("type") == "end":
        return "", None, None, []
    if frame.get("type") == "read":
        return READ
    return "type must be message, choice, end or read"


@blueprint.websocket("/chat/<entry_point_key>/ws")
async def chat_socket(entry_point_key: str) -> None:
    visitor = websocket.args.get("visitor", "")
    try:
        entry_point = await services().entry_points.resolve(entry_point_key)
    except DomainError:
        await websocket.close(4404, "unknown chat module")
        return
    if entry_point.channel is not Channel.webchat or not VISITOR.match(visitor):
        await websocket.close(4400, "a web chat entry point and ?visitor=<8-64 letters> needed")
        return
    # a simulator's chat is the admin panel's: a user allowed to simulate, on its pages,
    # with a ticket the page asked for a moment ago (admin/simulator_tickets.py)
    if entry_point.simulated_version and not (
            same_origin_socket() and await simulator_tickets.holder(
                websocket.args.get("ticket", ""), entry_point.id)):
        await websocket.close(4403, "log in to the admin panel with the permission to "
                              "simulate to chat with a version")
        return
    issued = await _visitor_key(entry_point.id, visitor)
    if issued is None:
        await websocket.close(4401, "this conversation continues only with the visitor's "
                              "key: start a new conversation")
        return
    address = address_behind_proxies(websocket.remote_addr, websocket.headers) or "unknown"
    limits = guard()
    if (refusal := limits.open(address)) is not None:
        if limits.first_refusal_in_a_while(address):
            log.warning("web chat refused for %s: %s (behind a reverse proxy? list it in "
                        "SR_TRUSTED_PROXIES)", address, refusal)
        await websocket.close(4429, refusal)
        return
    try:
        await _converse(entry_point, visitor, limits, issued)
    finally:
        limits.close(address)


async def _visitor_key(entry_point_id: str, visitor: str) -> str | None:
    """An empty text when the socket holds the visitor's key; the key to give a visitor
    that has never written (so has no conversation anyone could take over); else None."""
    given = websocket.args.get("key", "")
    if given:
        return "" if keys().holds(entry_point_id, visitor, given[:64]) else None
    known = await services().store.contacts.collection.find_one(
        {"entry_point_id": entry_point_id, "external_id": visitor}, projection={"_id": 1})
    return None if known is not None else keys().visitor_key(entry_point_id, visitor)


async def _converse(entry_point: Any, visitor: str, limits: WebChatGuard, issued: str) -> None:
    await websocket.accept()
    built = services()
    queue = built.hub.subscribe(entry_point.id, visitor)
    forward = asyncio.create_task(_forward(queue))
    bucket, refused, last_read = limits.messages(), 0, float("-inf")
    language = language_code(websocket.args.get("lang", ""))
    try:
        await _catch_up(entry_point.id, visitor, websocket.args.get("after"), issued)
        while True:
            parsed = _parse(await websocket.receive())
            if isinstance(parsed, ReadFrame):
                if (moment := asyncio.get_running_loop().time()) - last_read >= READ_EVERY:
                    last_read = moment  # more often: nothing new to say, and no write
                    await built.outbox.record_read(entry_point.id, visitor, built.runtime.clock())
                continue
            if isinstance(parsed, str):
                await websocket.send_json({"type": "error", "message": parsed})
                continue
            if not bucket.take():
                refused += 1
                if refused >= REFUSALS_BEFORE_CLOSE:
                    await websocket.close(4429, "too many messages too fast")
                    return
                await websocket.send_json({"type": "error", "message": SLOW_DOWN})
                continue
            refused = 0
            text, payload, client_id, media_ids = parsed
            if not text and not media_ids:  # the visitor closed the conversation
                await _close_conversation(entry_point.id, visitor)
                continue
            media = await uploaded(entry_point.id, visitor, media_ids) if media_ids else []
            if media is None:
                await websocket.send_json({"type": "error", "message": "a file of this "
                                           "message is unknown: send it again"})
                continue
            receipt = await built.runtime.receive(Inbound(
                channel=Channel.webchat, entry_point_id=entry_point.id, contact=visitor,
                provider_id=f"wc:{client_id or uuid.uuid4().hex}", text=text, payload=payload,
                locale=language, media=media,
            ))
            if client_id:
                await websocket.send_json(
                    {"type": "ack", "id": client_id, "duplicate": receipt.duplicate}
                )
    finally:
        forward.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await forward
        built.hub.unsubscribe(entry_point.id, visitor, queue)


def language_code(typed: str) -> str | None:
    """The browser's language as the widget sends it ("fr-FR"), if it looks like one."""
    code = typed.strip()[:16]
    return code if LANGUAGE.fullmatch(code) else None


def guard() -> WebChatGuard:
    """This process's web chat bounds, from the settings (made once per app)."""
    extensions = current_app.extensions
    if "webchat_guard" not in extensions:
        settings = services().settings
        extensions["webchat_guard"] = WebChatGuard(WebChatLimits(
            messages_per_minute=settings.webchat_messages_per_minute,
            sockets_per_address=settings.webchat_sockets_per_address,
            opens_per_minute=settings.webchat_opens_per_minute,
        ))
    return cast(WebChatGuard, extensions["webchat_guard"])


async def _close_conversation(entry_point_id: str, visitor: str) -> None:
    """The customer closed the chat: the interaction ends and the end routing runs."""
    active = await services().store.interactions.latest(entry_point_id, visitor)
    if active is not None and active.get("active"):
        with contextlib.suppress(DomainError):
            await services().runtime.end_interaction(active["_id"], "closed by customer")
    await websocket.send_json({"type": "ended"})


async def _catch_up(entry_point_id: str, visitor: str, after: str | None,
                    issued: str) -> None:
    """Replay what a reconnecting socket missed, or the conversation so far (with the key,
    for a visitor that came without one)."""
    store = services().store
    position = keys().open(after[:200]) if after and not issued else None
    if position is not None:
        for event in await store.events.outbound_after(entry_point_id, visitor, position):
            await websocket.send_json(message_frame(event))
        return
    if issued:  # a visitor who never wrote here has no conversation to show
        await websocket.send_json({"type": "history", "messages": [], "key": issued})
        return
    latest = await store.interactions.collection.find_one(
        {"entry_point_id": entry_point_id, "contact": visitor},
        projection={"_id": 1, "active": 1}, sort=[("_id", -1)],
    )
    if latest is None:
        await websocket.send_json({"type": "history", "messages": []})
        return
    events = await store.events.latest_of_interaction(latest["_id"], HISTORY_LIMIT,
                                                      types=("inbound", "outbound"))
    messages = [
        {"from": "visitor", "text": event.data.get("text", ""),
         "files": [item.get("name") or item.get("kind") for item in
                   event.data.get("media") or [] if isinstance(item, dict)]}
        if event.type == "inbound" else message_frame(event)
        for event in events
    ]
    await websocket.send_json({"type": "history", "messages": messages,
                               "ended": not latest.get("active")})


async def _forward(queue: asyncio.Queue[Event]) -> None:
    recent: deque[str] = deque(maxlen=64)  # a message may come both live and relayed
    while True:
        event = await queue.get()
        if event.id in recent:
            continue
        recent.append(event.id)
        if event.type == "end":
            await websocket.send_json({"type": "ended", "reason": event.data.get("reason")})
        elif event.type == "typing":
            await websocket.send_json({"type": "typing", "from": "agent"})
        else:
            await websocket.send_json(message_frame(event))
