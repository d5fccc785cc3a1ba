"""Build routings straight from tree definitions, as an export file would hold them."""

from __future__ import annotations

from typing import Any

from routing_core.model.audit import SYSTEM
from routing_core.model.entry_point import EntryPoint
from routing_core.model.interaction import Channel
from routing_core.routing.portability import import_routing
from routing_core.services import Services


def action(
    action_id: str, type_key: str, params: dict[str, Any] | None = None, **links: str | None
) -> dict[str, Any]:
    """One action of a tree definition; ``links`` maps branch → next action id."""
    return {"id": action_id, "type": type_key, "name": action_id, "params": params or {},
            "next": links}


def tree(*actions: dict[str, Any], start_next: str | None = None) -> dict[str, Any]:
    first = start_next or (actions[0]["id"] if actions else None)
    return {"start": "start",
            "actions": [action("start", "start", next=first), *actions]}


async def production_routing(
    services: Services, reference: str, definition: dict[str, Any], type: str = "start"
) -> str:
    routing = await import_routing(services.lifecycle, SYSTEM, {
        "routing": {"name": reference, "reference": reference, "type": type},
        "versions": [{"name": "v1", "status": "production", "tree": definition}],
    })
    return routing.id


async def webchat_entry_point(
    services: Services, start_routing: str, address: str = "web", **extra: Any
) -> EntryPoint:
    return await services.entry_points.create(
        SYSTEM,
        {"channel": Channel.webchat, "name": address, "address": address,
         "start_routing": start_routing, **extra},
        {},
    )


# A choice with a reply per branch, as the channel tests send it.
DRINKS = tree(
    action("ask", "message_choice", {
        "text": "Tea or coffee?",
        "choices": [{"label": "Tea", "value": "tea", "branch": "tea"},
                    {"label": "Coffee", "value": "coffee", "branch": "coffee"}],
    }, tea="tea", coffee="coffee"),
    action("tea", "message", {"text": "Tea it is."}),
    action("coffee", "message", {"text": "Coffee it is."}),
)
