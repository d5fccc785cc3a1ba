"""The operators' list of conversations: filters that each run on an index, newest first.

Every filter an operator picks alone (routing, version, entry point, channel, state,
contact) has an index that ends with ``_id`` descending, so a page is an index walk of
``limit`` keys whatever the collection's size, and "started between" is a range on that
same ``_id`` (ids are ObjectIds: their first bytes are the creation second). Counts stop at
``COUNT_CAP``: the exact number of a million ended conversations is not worth a scan of a
million keys on every page view; the page says "more than 10,000".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from routing_core.infra.ids import id_at
from routing_core.model.interaction import Interaction, InteractionState
from routing_core.store.interactions import InteractionRepository
from routing_core.store.repository import MAX_PAGE

COUNT_CAP = 10_000
LIVE_STATES = (InteractionState.running, InteractionState.waiting, InteractionState.with_agent)
OVER_STATES = (InteractionState.ended, InteractionState.failed)


@dataclass(frozen=True)
class InteractionFilter:
    routing_id: str | None = None
    version_id: str | None = None
    entry_point_id: str | None = None
    channel: str | None = None
    states: tuple[InteractionState, ...] = ()  # any of them
    started_from: datetime | None = None  # included
    started_to: datetime | None = None  # excluded
    contact: str | None = None  # an address, a phone number, or the start of a name
    test: bool = False  # the simulator's and test entry points' conversations, or the real

    def query(self) -> dict[str, Any]:
        query: dict[str, Any] = {"test": self.test}
        for field, key in (("routing_id", "routing_id"), ("version_id", "version_id"),
                           ("entry_point_id", "entry_point_id"), ("channel", "channel")):
            value = getattr(self, field)
            if value:
                query[key] = value
        if len(self.states) == 1:
            query["state"] = self.states[0].value
        elif self.states:
            query["state"] = {"$in": [state.value for state in self.states]}
        bounds: dict[str, str] = {}
        if self.started_from is not None:
            bounds["$gte"] = id_at(self.started_from)
        if self.started_to is not None:
            bounds["$lt"] = id_at(self.started_to)
        if bounds:
            query["_id"] = bounds
        if self.contact:
            query["$or"] = contact_clauses(self.contact)
        return query


def contact_clauses(text: str) -> list[dict[str, Any]]:
    """The channel address or phone number as typed, or a name that starts with it (as
    typed, or capitalised: people type "ali" for "Alice"). Each clause has its index."""
    text = text.strip()
    prefixes = {text, text[:1].upper() + text[1:]}
    return [
        {"contact": text},
        {"contact_phone": text},
        {"contact_name": {"$in": [re.compile("^" + re.escape(prefix))
                                  for prefix in sorted(prefixes)]}},
    ]


@dataclass
class InteractionPage:
    items: list[Interaction]
    next_cursor: str | None
    count: int  # at most COUNT_CAP + 1
    count_capped: bool


async def search(
    repository: InteractionRepository, filters: InteractionFilter, *,
    cursor: str | None = None, limit: int = 50,
) -> InteractionPage:
    """A page of the conversations that match, newest first, and how many match."""
    query = filters.query()
    limit = max(1, min(limit, MAX_PAGE))
    count = await repository.collection.count_documents(query, limit=COUNT_CAP + 1)
    if cursor:
        bound = dict(query.get("_id", {}))
        bound["$lt"] = min(cursor, bound.get("$lt", cursor))
        query["_id"] = bound
    found = repository.collection.find(query).sort("_id", -1).limit(limit + 1)
    documents = await found.to_list()
    items = [Interaction.from_document(document) for document in documents[:limit]]
    next_cursor = items[-1].id if len(documents) > limit else None
    return InteractionPage(items, next_cursor, min(count, COUNT_CAP + 1), count > COUNT_CAP)
