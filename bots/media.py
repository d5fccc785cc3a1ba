"""``GET /media/<message>/<n>``: a customer's media, through our own address.

Pages never link to a provider: a Twilio media URL needs the account's credentials, a
Telegram file address holds the bot's token, a Messenger URL expires. This address asks
for who is looking (someone who may read conversations, or the agent holding this one),
fetches the file once through the channel's connector and serves our copy from then on.
Files that are not images, sounds or videos are downloaded, never shown inline, and
every answer forbids sniffing and scripts.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response

from admin.context import authenticated_user, services
from routing_core.infra.errors import Forbidden, NotFound
from routing_core.model.media import MediaFile, MediaKind, kind_of
from routing_core.model.users import AGENT_CONSOLE, permission

blueprint = Blueprint("media", __name__)
SHOWN_INLINE = {MediaKind.image, MediaKind.audio, MediaKind.video}


@blueprint.get("/media/files/<token>")
async def sent_file(token: str) -> Any:
    """A file we send (an agent's photo): fetched by the provider and by the visitor's
    browser, by its signed address alone."""
    built = services()
    file_id = built.media_links.file_of(token[:200])
    content = await built.store.media_files.get(file_id) if file_id else None
    if content is None:
        raise NotFound("no such file")
    return served(content, kind_of(content.content_type), content.name or "file")


@blueprint.get("/media/<event_id>/<int:index>")
async def media(event_id: str, index: int) -> Any:
    user, permissions = await authenticated_user()
    built = services()
    event, item = await built.media.item(event_id[:100], index)
    if permission("interactions", "read") not in permissions:
        interaction = await built.store.interactions.find(event.interaction_id)
        if (AGENT_CONSOLE not in permissions or interaction is None
                or interaction.agent_id != user.id):
            raise Forbidden("this conversation is not yours to read")
    content = await built.media.content(event, index, item)
    return served(content, item.kind, item.name or f"media-{index}")


def served(content: MediaFile, kind: MediaKind, name: str) -> Response:
    inline = kind in SHOWN_INLINE and content.content_type.split("/")[0] in (
        "image", "audio", "video")
    return Response(content.data, content_type=content.content_type if inline
                    else "application/octet-stream", headers={
        "Content-Disposition": f'{"inline" if inline else "attachment"}; '
                               f'filename="{name.replace(chr(34), "")}"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, max-age=3600",
    })
