"""A customer's media, for the pages that show it: fetched from the provider on first
view (with the entry point's credentials, by the channel's connector), kept in our own
store, then served from there. Two processes fetching at once keep one copy."""

from __future__ import annotations

from routing_core.infra.errors import Invalid, NotFound, Words
from routing_core.model.interaction import Channel, Event
from routing_core.model.media import Media, MediaFile, MediaKind
from routing_core.ports.channels import ChannelClient, MediaUnavailable, SendContext
from routing_core.routing.entry_points import EntryPoints
from routing_core.store import Store
from routing_core.store.media_files import MAX_MEDIA_BYTES


class MediaLibrary:
    def __init__(self, store: Store, entry_points: EntryPoints,
                 clients: dict[Channel, ChannelClient]):
        self.store = store
        self.files = store.media_files
        self.entry_points = entry_points
        self.clients = clients  # the outbox's: filled when the connectors are registered

    async def item(self, event_id: str, index: int) -> tuple[Event, Media]:
        event = await self.store.events.find(event_id)
        listed = (event.data.get("media") or []) if event is not None else []
        if event is None or not 0 <= index < len(listed):
            raise NotFound(Words(
                "no media %(index)s in message %(event_id)r",
                index=index, event_id=event_id))
        return event, Media.model_validate(listed[index])

    async def content(self, event: Event, index: int, media: Media) -> MediaFile:
        """The file: ours if kept, else fetched from the provider and kept."""
        if media.kind is MediaKind.location:
            raise Invalid("a place has no file: it is shown on a map", field="index")
        if media.stored and (kept := await self.files.get(media.stored)) is not None:
            return kept
        entry_point = await self.store.entry_points.find(event.entry_point_id or "")
        client = self.clients.get(entry_point.channel) if entry_point else None
        fetch = getattr(client, "fetch_media", None)
        if entry_point is None or fetch is None or not media.source:
            raise NotFound("this media can no longer be fetched: its entry point or "
                           "channel is gone")
        try:
            fetched: MediaFile = await fetch(media, SendContext(
                entry_point=entry_point, credentials=self.entry_points.credentials(entry_point)))
        except MediaUnavailable as error:
            raise NotFound(Words(
                "the provider did not give the file: %(error)s",
                error=error)) from None
        if len(fetched.data) > MAX_MEDIA_BYTES:
            raise Invalid("the file is larger than 16 MB", field="index")
        stored = await self.files.put(fetched, event=event.id, index=index)
        recorded = await self.store.events.collection.update_one(
            {"_id": event.id, f"data.media.{index}.stored": None},
            {"$set": {f"data.media.{index}.stored": stored}})
        if recorded.modified_count == 0:  # another process kept it first: one copy
            await self.files.delete(stored)
        return fetched
