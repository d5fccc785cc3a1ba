"""Entry points: where conversations come in (a bot, a number, a page, a chat module)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field

from routing_core.model.base import Timestamped
from routing_core.model.interaction import Channel


class EntryPointMode(StrEnum):
    production = "production"
    test = "test"  # runs the start routing's version in test, when there is one


CanaryShare = Annotated[int, Field(ge=1, le=50)]


class Canary(BaseModel):
    """A share of the entry point's **new** conversations runs a candidate version of its
    start routing while production keeps the rest; a contact always lands on the same side
    (``takes``), so a customer never switches version from one conversation to the next."""

    version_id: str
    share: CanaryShare  # per cent of new conversations
    started_at: datetime

    def takes(self, entry_point_id: str, contact: str) -> bool:
        """The contact's bucket (0–99, from a hash of who they are) is under the share:
        the same answer every time, and raising the share keeps those already in."""
        digest = hashlib.sha256(f"{entry_point_id}\x00{contact}".encode()).digest()
        return int.from_bytes(digest[:8], "big") % 100 < self.share


class EntryPoint(Timestamped):
    channel: Channel
    name: str
    address: str
    mode: EntryPointMode = EntryPointMode.production
    start_routing: str
    end_routing: str | None = None
    fallback_text: str | None = None
    credentials_sealed: str | None = None  # encrypted JSON; never returned by the API
    revision: int = 0  # +1 at each save through the panel or the API: a stale form is refused
    # the admin's simulator: a hidden web chat entry point that runs this one version
    simulated_version: str | None = None
    canary: Canary | None = None
