"""The interaction viewer: one conversation with its events list, as the engine recorded it."""

from __future__ import annotations

import json
from typing import Any

from quart import Blueprint

from admin.context import require, services
from admin.pages import catalogue
from admin.pages.views import page
from routing_core.model.interaction import Event

blueprint = Blueprint("interactions", __name__, url_prefix="/interactions")
TEXT_KEYS = ("text", "label", "message", "error", "reason")


def event_text(event: Event) -> str:
    """The gist of an event for a list: its text when it has one, else its data."""
    for key in TEXT_KEYS:
        value = event.data.get(key)
        if isinstance(value, str) and value:
            return value
    shown = {key: value for key, value in event.data.items() if value not in (None, "", [], {})}
    text = json.dumps(shown, ensure_ascii=False, default=str) if shown else ""
    return text if len(text) <= 300 else text[:299] + "…"


@blueprint.get("/<interaction_id>")
@require("interactions:read")
async def show(interaction_id: str) -> Any:
    store = services().store
    interaction, events = await services().runtime.history(interaction_id)
    version = await store.versions.find(interaction.version_id)
    return await page(
        "interactions/show.html",
        active_nav="routings",
        interaction=interaction,
        events=events,
        version=version,
        routing=await store.routings.find(interaction.routing_id),
        entry_point=await store.entry_points.find(interaction.entry_point_id),
        actions=version.tree.by_id() if version else {},
        title_of=catalogue.action_title,
        event_text=event_text,
    )
