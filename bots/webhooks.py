"""Provider webhooks: verify, parse, persist, answer — never run a tree in the request.

The answer is 2xx only once every message of the request is stored (de-duplicated by its
provider id), so a provider that gets no 2xx redelivers and nothing accepted is lost; a
storage outage answers 503 for the same reason, and so does a process whose backlog is past
``inbox_limit`` (with ``Retry-After``): it accepts nothing it could not answer soon. Past
``inbox_pace`` conversations in progress, a message waits (a second at most) for one to
finish before it is taken (``routing_core/engine/admission.py``).

This module decides the answer and knows no web framework: ``bots/webhook_gate.py`` reads
the request off the ASGI connection and writes the answer back, ahead of the app's routing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from pymongo.errors import PyMongoError

from connectors.base import Connector, MalformedPayload, WebhookRefused, WebhookRequest
from routing_core.infra.errors import NotFound
from routing_core.services import Services

log = logging.getLogger(__name__)
_provider_calls: set[asyncio.Future[None]] = set()
HOLD_SECONDS = 1.0  # the longest a webhook waits for a busy process (routing_core.engine.admission)


@dataclass(frozen=True)
class WebhookAddress:
    """What the path of a webhook names: ``/webhooks/<channel>/<entry point>[/status]``."""

    channel: str
    entry_point_id: str
    kind: str  # "event", or "status" for delivery reports

    @classmethod
    def of(cls, path: str) -> WebhookAddress | None:
        parts = path.removeprefix("/webhooks/").split("/")
        if len(parts) == 2 and all(parts):
            return cls(parts[0], parts[1], "event")
        if len(parts) == 3 and parts[0] and parts[1] and parts[2] == "status":
            return cls(parts[0], parts[1], "status")
        return None

    @property
    def methods(self) -> tuple[str, ...]:
        """GET is a provider's subscription check (Meta's); delivery reports are POSTed."""
        return ("POST",) if self.kind == "status" else ("GET", "HEAD", "POST")


@dataclass(frozen=True)
class Answer:
    status: int
    body: str = ""
    content_type: str = "text/plain"
    headers: tuple[tuple[str, str], ...] = ()


def refusal(status: int, code: str, message: str, *,
            headers: tuple[tuple[str, str], ...] = ()) -> Answer:
    """The JSON error shape of the API, for a provider (or a person trying the address)."""
    return Answer(status, json.dumps({"error": {"code": code, "message": message}}),
                  "application/json", headers)


BUSY = refusal(503, "busy", "too many messages wait; deliver again in a second",
               headers=(("Retry-After", "1"),))
UNAVAILABLE = refusal(503, "unavailable", "storage unavailable; deliver again later",
                      headers=(("Retry-After", "1"),))


def over_limit(built: Services, address: WebhookAddress, method: str) -> bool:
    """Whether a message must be refused before any work (refusing stays cheap however
    busy the process): the backlog of this process is past its bound."""
    return (address.kind == "event" and method == "POST"
            and built.runtime.backlog >= built.settings.inbox_limit)


async def answer(built: Services, connectors: Mapping[str, Connector],
                 address: WebhookAddress, incoming: WebhookRequest) -> Answer:
    """Verify, parse and persist what ``incoming`` brings to ``address``; the answer."""
    connector = connectors.get(address.channel)
    try:
        entry_point = await built.store.entry_points.current(address.entry_point_id)
    except NotFound:
        entry_point = None
    if connector is None or entry_point is None or (
            entry_point.channel.value != address.channel):
        return refusal(404, "not_found", f"no {address.channel} entry point "
                       f"{address.entry_point_id!r}")
    credentials = built.entry_points.credentials(entry_point)
    if incoming.method in ("GET", "HEAD"):
        status, body = await connector.challenge(incoming, entry_point, credentials)
        return Answer(status, body)
    try:
        try:
            await connector.verify(incoming, entry_point, credentials)
        except WebhookRefused:
            # signed with credentials changed a moment ago in another process, before the
            # change reached this one's cache: judged on the stored entry point
            stored = await built.store.entry_points.reread(address.entry_point_id)
            if stored is None:
                raise
            entry_point, credentials = stored, built.entry_points.credentials(stored)
            await connector.verify(incoming, entry_point, credentials)
        result = connector.parse(incoming, entry_point)
    except WebhookRefused as refused:
        log.warning("%s webhook %s refused: %s", address.channel, address.entry_point_id,
                    refused.message)
        return refusal(refused.status, "refused", refused.message)
    except MalformedPayload as error:
        return refusal(400, "malformed", str(error))
    if result.inbound and address.kind == "event":
        await built.runtime.admission.enter(HOLD_SECONDS)
        if over_limit(built, address, incoming.method):
            return BUSY
    try:
        for inbound in result.inbound:
            await built.runtime.receive(inbound)
        for report in result.reports:
            await built.outbox.record_status(report.provider_id, report.status, report.error)
        for read in result.reads:
            await built.outbox.record_read(entry_point.id, read.contact, read.until)
    except PyMongoError:
        log.exception("%s webhook %s: storage unavailable", address.channel,
                      address.entry_point_id)
        return UNAVAILABLE
    for call in result.after_persist:  # kept referenced: a bare task may be collected
        task = asyncio.ensure_future(call())
        _provider_calls.add(task)
        task.add_done_callback(_provider_calls.discard)
    return Answer(200, result.body, result.content_type)
