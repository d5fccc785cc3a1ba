"""A real service for the browser tests: `smart-routing serve --port 0` against the test
mongod, driven by Debian's Chromium through Playwright."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, output_dir

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
START_TIMEOUT = 60.0


class Server:
    """The running service: its base URL, its output, and a JSON API client for set-up."""

    def __init__(self, process: subprocess.Popen[str], mongodb_uri: str, database: str):
        self.process = process
        self.mongodb_uri = mongodb_uri
        self.database = database
        self.url = ""
        self.lines: list[str] = []
        self.ready = threading.Event()
        self._token: str | None = None

    def read_output(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip())
            if not self.ready.is_set() and (found := re.search(r"listening on (\S+)", line)):
                self.url = found.group(1)
                self.ready.set()
        self.ready.set()

    def api(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        """Call the JSON API (as the first admin unless a token is given)."""
        if token is None:
            if self._token is None:
                self._token = self.login(ADMIN_EMAIL, ADMIN_PASSWORD)
            token = self._token
        request = urllib.request.Request(
            self.url + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read().decode()
        return json.loads(text) if text else None

    def login(self, email: str, password: str) -> str:
        request = urllib.request.Request(
            self.url + "/api/auth/login",
            method="POST",
            data=json.dumps({"email": email, "password": password}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return str(json.loads(response.read())["token"])


@contextlib.contextmanager
def serving(mongodb_uri: str, data_dir: Path, **settings: str) -> Iterator[Server]:
    """`smart-routing serve --port 0` on a database of its own; ``settings`` add to (or
    override) its environment, e.g. ``SR_TELEGRAM_API_BASE`` of a fake Bot API."""
    environment = {
        key: value for key, value in os.environ.items()
        if not key.startswith("SR_") and key != "MONGODB_URI"
    }
    database = f"browser_{secrets.token_hex(4)}"
    environment.update({
        "MONGODB_URI": mongodb_uri,
        "SR_MONGODB_DATABASE": database,
        "SR_DATA_DIR": str(data_dir),
        "SR_SECRET_KEY": "browser-test-secret-of-at-least-32-characters",
        "SR_ADMIN_EMAIL": ADMIN_EMAIL,
        "SR_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "SR_DEMO_BOT": "false",
        "SR_SCHEDULE_POLL_SECONDS": "3600",
        "SR_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        "SR_WEBCHAT_SOCKETS_PER_ADDRESS": "100000", "SR_WEBCHAT_OPENS_PER_MINUTE": "100000",
        **settings,
    })
    command = [
        sys.executable, "-c", "import sys; from bots.cli import main; sys.exit(main())",
        "serve", "--host", "127.0.0.1", "--port", "0",
    ]
    process = subprocess.Popen(
        command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    served = Server(process, mongodb_uri, database)
    reader = threading.Thread(target=served.read_output, daemon=True)
    reader.start()
    try:
        if not served.ready.wait(START_TIMEOUT) or not served.url:
            raise RuntimeError("the service did not start:\n" + "\n".join(served.lines))
        yield served
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(timeout=5)
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture(scope="session")
def server(mongodb_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(mongodb_uri, tmp_path_factory.mktemp("browser-data")) as served:
        yield served


@pytest_asyncio.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    if not shutil.which(CHROMIUM):
        pytest.skip("Debian's chromium is not installed")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest_asyncio.fixture
async def page(browser: Any) -> AsyncIterator[Any]:
    context = await browser.new_context(viewport={"width": 1440, "height": 900})
    context.set_default_timeout(10_000)
    opened = await context.new_page()
    yield opened
    await context.close()


def shot_path(name: str) -> Path:
    folder = output_dir() / "admin"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{name}.png"
