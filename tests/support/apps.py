"""An app of its own for tests whose providers are fakes: its own database, so no other
app of the test session sweeps its outbox, dropped afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from quart import Quart

from bots.app import create_app
from config import Settings


@asynccontextmanager
async def app_of_its_own(settings: Settings, name: str, **overrides: Any) -> AsyncIterator[Quart]:
    configured = settings.model_copy(
        update={**overrides, "mongodb_database": f"{settings.mongodb_database}_{name}"}
    )
    app = create_app(configured)
    async with app.test_app():
        yield app
        await app.extensions["services"].store.client.drop_database(configured.mongodb_database)
