"""The demo bot: a routing, its reference data and a web chat entry point, installed on the
first start so a new user can open ``/chat/demo`` and talk to a working bot."""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path

from routing_core.infra.errors import Conflict
from routing_core.model.audit import SYSTEM
from routing_core.routing.portability import import_routing
from routing_core.services import Services

log = logging.getLogger(__name__)
BUNDLE = Path(__file__).with_name("demo.json")


async def install_demo(services: Services) -> bool:
    """Install what is missing of the demo; never touch what an admin already has."""
    store = services.store
    bundle = json.loads(BUNDLE.read_text())
    if await store.entry_points.find_one({"channel": "webchat", "address": "demo"}):
        return False
    # every process of a multi-worker start may get here at once: what another one created
    # meanwhile is a Conflict, which means the piece is there — never a failed start
    for table in bundle["value_tables"]:
        if not await store.value_tables.find_one({"name": table["name"]}):
            with contextlib.suppress(Conflict):
                await services.value_tables.create(SYSTEM, **table)
    for schedule in bundle["schedules"]:
        if not await store.schedules.find_one({"name": schedule["name"]}):
            with contextlib.suppress(Conflict):
                await services.schedules.create(SYSTEM, **schedule)
    reference = bundle["routing"]["routing"]["reference"]
    routing = await store.routings.find_one({"reference": reference})
    if routing is None:
        try:
            routing = await import_routing(services.lifecycle, SYSTEM, bundle["routing"])
        except Conflict:  # another process installed it meanwhile
            return False
    try:
        await services.entry_points.create(
            SYSTEM, {**bundle["entry_point"], "start_routing": routing.id}, {}
        )
    except Conflict:
        return False
    log.info("demo bot installed: open /chat/demo")
    return True
