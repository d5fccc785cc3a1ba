"""Entry points: where conversations come in (a bot, a number, a page, a chat module)."""

from __future__ import annotations

from enum import StrEnum

from routing_core.model.base import Timestamped
from routing_core.model.interaction import Channel


class EntryPointMode(StrEnum):
    production = "production"
    test = "test"  # runs the start routing's version in test, when there is one


class EntryPoint(Timestamped):
    channel: Channel
    name: str
    address: str
    mode: EntryPointMode = EntryPointMode.production
    start_routing: str
    end_routing: str | None = None
    fallback_text: str | None = None
    credentials_sealed: str | None = None  # encrypted JSON; never returned by the API
    # the admin's simulator: a hidden web chat entry point that runs this one version
    simulated_version: str | None = None
