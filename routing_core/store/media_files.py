"""Our copies of media files (GridFS bucket ``media``): a web chat visitor's uploads, and
a provider's files once fetched — fetched once, then served from here, so a provider's
expiring URL or a bot's token is never needed again (nor shown)."""

from __future__ import annotations

import contextlib
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from gridfs.asynchronous import AsyncGridFSBucket
from gridfs.errors import NoFile

from routing_core.model.media import MediaFile

MAX_MEDIA_BYTES = 16 * 1024 * 1024  # what WhatsApp takes for a video; more is refused


class MediaFiles:
    def __init__(self, database: Any):
        self.bucket = AsyncGridFSBucket(database, bucket_name="media")
        self.listing = database["media.files"]  # GridFS's own list of the files

    async def put(self, content: MediaFile, **metadata: Any) -> str:
        file_id = await self.bucket.upload_from_stream(
            content.name or "media", content.data,
            metadata={"content_type": content.content_type, **metadata})
        return str(file_id)

    async def get(self, file_id: str) -> MediaFile | None:
        try:
            stream = await self.bucket.open_download_stream(ObjectId(file_id))
        except (InvalidId, NoFile):
            return None
        metadata = stream.metadata or {}
        return MediaFile(await stream.read(), str(metadata.get("content_type")
                                                  or "application/octet-stream"),
                         stream.filename)

    async def ids_where(self, metadata: dict[str, Any]) -> list[str]:
        """The files whose metadata match (``{"visitor": …}`` is ``metadata.visitor``)."""
        query = {f"metadata.{key}": value for key, value in metadata.items()}
        return [str(document["_id"]) async for document in
                self.listing.find(query, projection={"_id": 1})]

    async def delete(self, file_id: str) -> None:
        with contextlib.suppress(InvalidId, NoFile):
            await self.bucket.delete(ObjectId(file_id))
