"""Operations > Conversations: every interaction, filtered as an operator looks for one, and
the viewer of one conversation (its contact, channel, version, events and the path it took
drawn on its tree), which refreshes itself while the conversation runs."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from typing import Any

from quart import Blueprint, request

from admin.context import require, services, viewer_zone
from admin.pages import catalogue
from admin.pages.layout import draw
from admin.pages.nav import NavEntry, add_entry
from admin.pages.views import local_day, page
from routing_core.model.interaction import Channel, Event, InteractionState
from routing_core.store.interaction_search import COUNT_CAP, InteractionFilter, search

blueprint = Blueprint("interactions", __name__, url_prefix="/interactions")
READ = "interactions:read"
add_entry(NavEntry("interactions", "Operations", "Conversations", "pages.interactions.index",
                   READ, rank=10))
TEXT_KEYS = ("text", "label", "message", "error", "reason")
STATE_LABELS = {
    InteractionState.running: "Running",
    InteractionState.waiting: "Waiting",
    InteractionState.with_agent: "With an agent",
    InteractionState.ended: "Ended",
    InteractionState.failed: "Failed",
}
PAGE_SIZE = 50
LIVE_REFRESH_MS = 2000


def event_text(event: Event) -> str:
    """The gist of an event for a list: its text when it has one, else its data."""
    for key in TEXT_KEYS:
        value = event.data.get(key)
        if isinstance(value, str) and value:
            return value
    if event.data.get("media"):  # a file or a place without words: shown as media
        return ""
    shown = {key: value for key, value in event.data.items()
             if value not in (None, "", [], {}) and key != "media"}  # shown as media
    text = json.dumps(shown, ensure_ascii=False, default=str) if shown else ""
    return text if len(text) <= 300 else text[:299] + "…"


def read_filters(args: Any) -> tuple[InteractionFilter, dict[str, str]]:
    """The list's filters from the query string; what cannot be read is said by its field."""
    errors: dict[str, str] = {}
    states: tuple[InteractionState, ...] = ()
    if state := args.get("state", ""):
        try:
            states = (InteractionState(state),)
        except ValueError:
            errors["state"] = "choose a state from the list"
    channel = args.get("channel", "") or None
    if channel is not None and channel not in {member.value for member in Channel}:
        errors["channel"], channel = "choose a channel from the list", None
    zone = viewer_zone()
    first = local_day(args.get("from", ""), "from", errors)
    last = local_day(args.get("to", ""), "to", errors)
    if first and last and last < first:
        errors["to"] = "the last day comes after the first"
        last = None
    contact = args.get("contact", "").strip()[:200] or None
    return InteractionFilter(
        routing_id=args.get("routing") or None,
        version_id=args.get("version") or None,
        entry_point_id=args.get("entry_point") or None,
        channel=channel,
        states=states,
        started_from=datetime.combine(first, time(), zone) if first else None,
        started_to=datetime.combine(last + timedelta(days=1), time(), zone) if last else None,
        contact=contact,
        test=args.get("test") == "1",
    ), errors


@blueprint.get("")
@require(READ)
async def index() -> Any:
    store = services().store
    filters, errors = read_filters(request.args)
    found = await search(store.interactions, filters, cursor=request.args.get("cursor"),
                         limit=PAGE_SIZE)
    routings = {routing.id: routing for routing in await store.routings.all()}
    entry_points = {point.id: point for point in await store.entry_points.all(
        {"simulated_version": None})}
    versions = {}
    if filters.routing_id:
        versions = {version.id: version for version in await store.versions.all(
            {"routing_id": filters.routing_id})}
    args = {key: value for key, value in request.args.items() if key != "cursor" and value}
    return await page(
        "interactions/list.html",
        active_nav="interactions",
        found=found, count_cap=COUNT_CAP, errors=errors, args=args,
        routings=routings, entry_points=entry_points, versions=versions,
        channels=[member.value for member in Channel], states=STATE_LABELS,
    )


async def _viewer_context(interaction_id: str) -> dict[str, Any]:
    store = services().store
    interaction, events = await services().runtime.history(interaction_id)
    version = await store.versions.find(interaction.version_id)
    path = [action for action in interaction.path
            if version is not None and version.tree.find(action) is not None]
    return {
        "active_nav": "interactions",
        "interaction": interaction,
        "events": events,
        "version": version,
        "routing": await store.routings.find(interaction.routing_id),
        "entry_point": await store.entry_points.find(interaction.entry_point_id),
        "actions": version.tree.by_id() if version else {},
        "drawing": draw(version.tree) if version else None,
        "path_ids": set(path),
        "path_pairs": set(zip(path, path[1:], strict=False)),
        "panel": {"action_id": interaction.cursor if interaction.active else None,
                  "after": None},
        "editable": False,
        "title_of": catalogue.action_title,
        "event_text": event_text,
        "state_label": STATE_LABELS[interaction.state],
        "live": interaction.active,
        "refresh_ms": LIVE_REFRESH_MS,
    }


@blueprint.get("/<interaction_id>")
@require(READ)
async def show(interaction_id: str) -> Any:
    return await page("interactions/show.html", **await _viewer_context(interaction_id))


@blueprint.get("/<interaction_id>/live")
@require(READ)
async def live(interaction_id: str) -> Any:
    """The part of the viewer that changes while the conversation runs (polled by the page:
    one find of the interaction and one of its events, nothing added to a turn)."""
    return await page("interactions/live.html", **await _viewer_context(interaction_id))

