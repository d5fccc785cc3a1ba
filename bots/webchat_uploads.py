"""A web chat visitor sends a file: ``POST /chat/<module>/upload?visitor=…&key=…``
(multipart field ``file``), then names the answer's ``id`` in a message frame
(``{type: "message", text, media: [id]}``).

The visitor's key (the one the socket gave) is the only credential: no cookie, so the
widget may upload from the customer's own site (the answer allows any origin to read
it). A type outside ``UPLOAD_TYPES`` or more than ``MAX_UPLOAD_BYTES`` is refused with a
sentence; a file can be named only by the visitor who uploaded it, on that module.
"""

from __future__ import annotations

from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from quart import Blueprint, request

from admin.context import services
from bots.webchat_keys import keys
from routing_core.infra.errors import DomainError
from routing_core.model.interaction import Channel
from routing_core.model.media import (
    MAX_UPLOAD_BYTES,
    UPLOAD_TYPES,
    Media,
    MediaFile,
    kind_of,
    upload_refusal,
)

blueprint = Blueprint("webchat_uploads", __name__)
MAX_FILES_PER_MESSAGE = 5
OPEN_TO_PAGES = {"Access-Control-Allow-Origin": "*"}  # the key authenticates, no cookie


def refused(message: str, status: int) -> tuple[dict[str, Any], int, dict[str, str]]:
    return {"error": {"code": "upload_refused", "message": message}}, status, OPEN_TO_PAGES


@blueprint.post("/chat/<entry_point_key>/upload")
async def upload(entry_point_key: str) -> Any:
    visitor = request.args.get("visitor", "")[:64]
    key = request.args.get("key", "")[:64]
    try:
        entry_point = await services().entry_points.resolve(entry_point_key)
    except DomainError:
        return refused("unknown chat module", 404)
    if entry_point.channel is not Channel.webchat or not keys().holds(
            entry_point.id, visitor, key):
        return refused("a visitor and their key are needed: open the chat first", 401)
    if (request.content_length or 0) > MAX_UPLOAD_BYTES + 64 * 1024:
        return refused("a file is at most 10 MB", 413)
    sent = (await request.files).get("file")
    if sent is None:
        return refused("send the file as the multipart field 'file'", 400)
    content_type = (sent.mimetype or "").lower()
    data = sent.read(MAX_UPLOAD_BYTES + 1)
    if (refusal := upload_refusal(content_type, len(data))) is not None:
        return refused(refusal, 415 if content_type not in UPLOAD_TYPES
                       else 413 if data else 400)
    name = (sent.filename or "file")[-120:]
    stored = await services().store.media_files.put(
        MediaFile(data, content_type, name), entry_point=entry_point.id, visitor=visitor)
    return {"id": stored, "kind": kind_of(content_type).value, "name": name,
            "size": len(data), "content_type": content_type}, 201, OPEN_TO_PAGES


async def uploaded(entry_point_id: str, visitor: str, ids: list[str]) -> list[Media] | None:
    """The media a message names, each uploaded by this visitor on this module; None when
    one is not (unknown, someone else's)."""
    found = []
    files = services().store.database["media.files"]
    for file_id in ids[:MAX_FILES_PER_MESSAGE]:
        try:
            document = await files.find_one({"_id": ObjectId(file_id)})
        except InvalidId:
            return None
        metadata = (document or {}).get("metadata") or {}
        if (document is None or metadata.get("entry_point") != entry_point_id
                or metadata.get("visitor") != visitor):
            return None
        content_type = str(metadata.get("content_type") or "application/octet-stream")
        found.append(Media(kind=kind_of(content_type), stored=file_id,
                           content_type=content_type, name=document.get("filename"),
                           size=document.get("length")))
    return found
