"""Provider webhooks: verify, parse, persist, answer — never run a tree in the request.

The answer is 2xx only once every message of the request is stored (de-duplicated by its
provider id), so a provider that gets no 2xx redelivers and nothing accepted is lost; a
storage outage answers 503 for the same reason, and so does a process whose backlog is past
``inbox_limit`` (with ``Retry-After``): it accepts nothing it could not answer soon.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from pymongo.errors import PyMongoError
from quart import Blueprint, Response, current_app, request

from admin.context import services
from connectors.base import Connector, MalformedPayload, WebhookRefused, WebhookRequest
from routing_core.infra.errors import NotFound, Words

log = logging.getLogger(__name__)
blueprint = Blueprint("webhooks", __name__)
_provider_calls: set[asyncio.Task[None]] = set()


def connectors() -> dict[str, Connector]:
    return current_app.extensions["connectors"]  # type: ignore[no-any-return]


async def _request(kind: str) -> WebhookRequest:
    body = await request.get_data()
    form: dict[str, str] = {}
    if request.mimetype == "application/x-www-form-urlencoded":
        form = {key: value for key, value in (await request.form).items()}
    query = request.query_string.decode()
    public_url = services().settings.public_url + request.path + (f"?{query}" if query else "")
    return WebhookRequest(
        method=request.method, public_url=public_url, kind=kind,
        headers=dict(request.headers), query=dict(request.args), body=body, form=form,
    )


def _text(status: int, body: str, content_type: str = "text/plain") -> Response:
    """A response made here, which the schema extension passes through as it is (a tuple
    with headers is converted field by field on every request: measurable per message)."""
    return Response(body, status, content_type=content_type)


@blueprint.route("/webhooks/<channel>/<entry_point_id>", methods=["GET", "POST"])
@blueprint.route("/webhooks/<channel>/<entry_point_id>/status", methods=["POST"],
                 defaults={"kind": "status"})
async def webhook(channel: str, entry_point_id: str, kind: str = "event") -> Any:
    connector = connectors().get(channel)
    built = services()
    if kind == "event" and request.method == "POST" and (
            built.runtime.backlog >= built.settings.inbox_limit):
        # refused before any work, so that refusing stays cheap however busy the process
        return ({"error": {"code": "busy", "message": "too many messages wait; deliver again "
                           "in a second"}}, 503, {"Retry-After": "1"})
    try:
        entry_point = await built.store.entry_points.current(entry_point_id)
    except NotFound:
        entry_point = None
    if connector is None or entry_point is None or entry_point.channel.value != channel:
        raise NotFound(Words(
            "no %(channel)s entry point %(entry_point_id)r",
            channel=channel, entry_point_id=entry_point_id))
    credentials = built.entry_points.credentials(entry_point)
    incoming = await _request(kind)
    if request.method == "GET":
        return _text(*await connector.challenge(incoming, entry_point, credentials))
    try:
        try:
            await connector.verify(incoming, entry_point, credentials)
        except WebhookRefused:
            # signed with credentials changed a moment ago in another process, before the
            # change reached this one's cache: judged on the stored entry point
            stored = await built.store.entry_points.reread(entry_point_id)
            if stored is None:
                raise
            entry_point, credentials = stored, built.entry_points.credentials(stored)
            await connector.verify(incoming, entry_point, credentials)
        result = connector.parse(incoming, entry_point)
    except WebhookRefused as refusal:
        log.warning("%s webhook %s refused: %s", channel, entry_point_id, refusal.message)
        return {"error": {"code": "refused", "message": refusal.message}}, refusal.status
    except MalformedPayload as error:
        return {"error": {"code": "malformed", "message": str(error)}}, 400
    try:
        for inbound in result.inbound:
            await built.runtime.receive(inbound)
        for report in result.reports:
            await built.outbox.record_status(report.provider_id, report.status, report.error)
        for read in result.reads:
            await built.outbox.record_read(entry_point.id, read.contact, read.until)
    except PyMongoError:
        log.exception("%s webhook %s: storage unavailable", channel, entry_point_id)
        return {"error": {"code": "unavailable",
                          "message": "storage unavailable; deliver again later"}}, 503, {
                              "Retry-After": "1"}
    for call in result.after_persist:  # kept referenced: a bare task may be collected
        task = asyncio.get_running_loop().create_task(call())
        _provider_calls.add(task)
        task.add_done_callback(_provider_calls.discard)
    return _text(200, result.body, result.content_type)
