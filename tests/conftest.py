"""Shared fixtures: one real mongod per test session, one app, empty collections per test."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from quart import Quart
from quart.testing import QuartClient

from bots.app import create_app
from config import Settings, load_settings
from routing_core.services import Services
from routing_core.store.embedded import EmbeddedMongo

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def mongodb_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``MONGODB_URI`` when given, else an embedded mongod for this test session."""
    if uri := os.environ.get("MONGODB_URI"):
        yield uri
        return
    mongo = EmbeddedMongo(tmp_path_factory.mktemp("mongo"))
    try:
        yield mongo.start()
    finally:
        mongo.stop()


METRICS_TOKEN = "scraper-token-of-the-tests"


@pytest.fixture(scope="session")
def settings(mongodb_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return load_settings(
        {},
        mongodb_uri=mongodb_uri,
        mongodb_database=f"test_{secrets.token_hex(4)}",
        data_dir=str(tmp_path_factory.mktemp("data")),
        secret_key="test-secret-key-of-at-least-32-characters",
        admin_email=ADMIN_EMAIL,
        admin_password=ADMIN_PASSWORD,
        schedule_poll_seconds=3600,
        demo_bot=False,
        argon2_memory_kib=64,
        metrics_token=METRICS_TOKEN,
        # every test's sockets come from 127.0.0.1: the bounds have tests of their own
        webchat_sockets_per_address=100_000,
        webchat_opens_per_minute=100_000,
        webchat_messages_per_minute=100_000,
    )


@pytest_asyncio.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[Quart]:
    application = create_app(settings)
    async with application.test_app():
        yield application


@pytest.fixture(scope="session")
def services(app: Quart) -> Services:
    return app.extensions["services"]  # type: ignore[no-any-return]


@pytest_asyncio.fixture(autouse=True)
async def clean_database(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Empty every collection (indexes kept) before each test that uses the app."""
    if "app" not in request.fixturenames and "services" not in request.fixturenames:
        yield
        return
    built: Services = request.getfixturevalue("services")
    for name in await built.store.database.list_collection_names():
        await built.store.database[name].delete_many({})
    await built.accounts.ensure_builtin_roles()
    await built.accounts.ensure_first_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
    yield


class Api:
    """A test client that speaks JSON with a bearer token, like curl would."""

    def __init__(self, client: QuartClient, token: str | None):
        self.client = client
        self.token = token

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def call(self, method: str, path: str, json: Any = None,
                   headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        response = await self.client.open(
            path, method=method, json=json, headers={**self._headers(), **(headers or {})},
            **kwargs
        )
        response.json_body = await response.get_json(silent=True)
        return response

    async def get(self, path: str, **kwargs: Any) -> Any:
        return await self.call("GET", path, **kwargs)

    async def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return await self.call("POST", path, json=json, **kwargs)

    async def put(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return await self.call("PUT", path, json=json, **kwargs)

    async def patch(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return await self.call("PATCH", path, json=json, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Any:
        return await self.call("DELETE", path, **kwargs)


async def login(app: Quart, email: str, password: str) -> Api:
    client = app.test_client()
    response = await client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, await response.get_data(as_text=True)
    return Api(client, (await response.get_json())["token"])


@pytest_asyncio.fixture
async def api(app: Quart) -> Api:
    """Logged in as the first admin."""
    return await login(app, ADMIN_EMAIL, ADMIN_PASSWORD)


@pytest.fixture
def anonymous(app: Quart) -> Api:
    return Api(app.test_client(), None)


def output_dir() -> Path:
    """Where tests leave files for people to look at (screenshots)."""
    path = Path(os.environ.get("SR_TEST_OUTPUT", "test-output"))
    path.mkdir(parents=True, exist_ok=True)
    return path
