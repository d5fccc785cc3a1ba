"""Media a customer sends: an image, a video, a sound, a file, or a place.

What a provider gives is a way to fetch the file (a Twilio media URL that needs the
account's credentials, a Messenger CDN URL, a Telegram ``file_id`` that needs the bot's
token), never the file itself; a web chat visitor's upload is stored by us at once. A
media item keeps how to fetch it (``source``) and, once fetched, where we keep it
(``stored``): pages show it through our own authenticated address, never the provider's.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, model_validator


class MediaKind(StrEnum):
    image = "image"
    video = "video"
    audio = "audio"
    file = "file"
    location = "location"


class Media(BaseModel):
    kind: MediaKind
    source: str | None = None  # the provider's URL or file id (none: a place, an upload)
    stored: str | None = None  # our copy (GridFS id): an upload, or fetched once
    content_type: str | None = None
    name: str | None = None  # a file's name, a place's label
    size: int | None = Field(None, ge=0)
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)

    @model_validator(mode="before")
    @classmethod
    def _from_url(cls, value: Any) -> Any:
        """A bare URL (as stored before media had kinds) is a file at that address."""
        if isinstance(value, str):
            return {"kind": MediaKind.file, "source": value}
        return value


# What a person may send (a web chat visitor, an agent): what every channel carries
UPLOAD_TYPES = frozenset({
    "image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf", "text/plain",
    "audio/mpeg", "audio/ogg", "audio/webm", "audio/mp4", "video/mp4", "video/webm"})
MAX_UPLOAD_BYTES = 10 * 1024 * 1024


def upload_refusal(content_type: str, size: int) -> str | None:
    """Why a file cannot be sent, in words; None when it can."""
    if content_type not in UPLOAD_TYPES:
        return "this kind of file cannot be sent: images, PDF, text, sound and video only"
    if size > MAX_UPLOAD_BYTES:
        return "a file is at most 10 MB"
    if size == 0:
        return "the file is empty"
    return None


def kind_of(content_type: str | None) -> MediaKind:
    """What a MIME type is for a person: ``image/jpeg`` an image, ``application/pdf`` a file."""
    major = (content_type or "").split("/")[0].strip().lower()
    return {"image": MediaKind.image, "video": MediaKind.video,
            "audio": MediaKind.audio}.get(major, MediaKind.file)


@dataclass
class MediaFile:
    """A media file's content, as fetched or uploaded."""

    data: bytes
    content_type: str
    name: str | None = None
