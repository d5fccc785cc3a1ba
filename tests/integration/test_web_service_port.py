"""The real HTTP port (connectors/http.py) against real aiohttp servers on 127.0.0.1.

Two servers run side by side, so a redirect can leave an allowed address for one that is
not. Loopback is private: most tests allow it (``allow_private`` or the allow-list); the
refusal tests show the guard holds on literal addresses, on names that resolve to
loopback and on every redirect hop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from connectors.http import MAX_BODY_BYTES, GuardedHttpPort, is_public, parse_address
from routing_core.actions import interconnection
from routing_core.actions.base import Outcome, parse_params
from routing_core.actions.context import Journal, RunContext
from routing_core.actions.interconnection import WebService
from routing_core.model.interaction import Channel, Interaction
from routing_core.model.tree import Action
from routing_core.ports.world import HttpFailure, HttpRefused, Ports

NOW = datetime(2024, 5, 6, 10, 0, tzinfo=UTC)


class Server:
    """An aiohttp application on 127.0.0.1 that records the requests it receives."""

    def __init__(self) -> None:
        self.hits: list[dict[str, Any]] = []
        self.flaky_calls = 0
        self.release = asyncio.Event()
        self.runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/order/{id}", self.order)
        app.router.add_get("/flaky", self.flaky)
        app.router.add_get("/slow", self.slow)
        app.router.add_get("/big", self.big)
        app.router.add_get("/big-stream", self.big_stream)
        app.router.add_get("/exact", self.exact)
        app.router.add_route("*", "/redirect", self.redirect)
        app.router.add_get("/loop", self.loop)
        app.router.add_route("*", "/echo", self.echo)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = self.runner.addresses[0][1]

    async def stop(self) -> None:
        self.release.set()
        if self.runner is not None:
            await self.runner.cleanup()

    async def record(self, request: web.Request) -> dict[str, Any]:
        hit = {"method": request.method, "path": request.path,
               "headers": dict(request.headers), "body": await request.text()}
        self.hits.append(hit)
        return hit

    async def order(self, request: web.Request) -> web.Response:
        await self.record(request)
        order_id = request.match_info["id"]
        return web.json_response({"data": {"id": order_id, "state": "paid",
                                           "items": [{"sku": "A1"}, {"sku": "B2"}]}})

    async def flaky(self, request: web.Request) -> web.Response:
        await self.record(request)
        self.flaky_calls += 1
        if self.flaky_calls == 1:
            return web.Response(status=500, text="try again")
        return web.json_response({"ok": True})

    async def slow(self, request: web.Request) -> web.Response:
        await self.record(request)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.release.wait(), timeout=5)
        return web.json_response({"late": True})

    async def big(self, request: web.Request) -> web.Response:
        await self.record(request)
        return web.Response(body=b"x" * (MAX_BODY_BYTES + 1))

    async def big_stream(self, request: web.Request) -> web.StreamResponse:
        """No Content-Length: the cap must hold while reading."""
        await self.record(request)
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(20):
            await response.write(b"y" * 65_536)
        await response.write_eof()
        return response

    async def exact(self, request: web.Request) -> web.Response:
        await self.record(request)
        return web.Response(body=b"z" * MAX_BODY_BYTES)

    async def redirect(self, request: web.Request) -> web.Response:
        await self.record(request)
        status = int(request.query.get("status", "302"))
        return web.Response(status=status, headers={"Location": request.query["to"]})

    async def loop(self, request: web.Request) -> web.Response:
        await self.record(request)
        return web.Response(status=302, headers={"Location": "/loop"})

    async def echo(self, request: web.Request) -> web.Response:
        hit = await self.record(request)
        return web.json_response(hit)


@pytest_asyncio.fixture
async def servers() -> AsyncIterator[tuple[Server, Server]]:
    first, second = Server(), Server()
    await first.start()
    await second.start()
    yield first, second
    await first.stop()
    await second.stop()


@pytest_asyncio.fixture
async def server(servers: tuple[Server, Server]) -> Server:
    return servers[0]


@pytest_asyncio.fixture
async def open_port() -> AsyncIterator[GuardedHttpPort]:
    """Private addresses allowed: the servers of these tests are on loopback."""
    port = GuardedHttpPort(allow_private=True)
    yield port
    await port.close()


@pytest_asyncio.fixture
async def guarded_port() -> AsyncIterator[GuardedHttpPort]:
    port = GuardedHttpPort()
    yield port
    await port.close()


async def get(port: GuardedHttpPort, url: str, **kwargs: Any) -> Any:
    options: dict[str, Any] = {"headers": {}, "body": None, "timeout_seconds": 5, **kwargs}
    return await port.request(options.pop("method", "GET"), url, **options)


async def run_web_service(
    port: GuardedHttpPort, params: dict[str, Any], variables: dict[str, Any] | None = None
) -> tuple[Outcome, dict[str, Any]]:
    """The web_service action through the real port; its outcome and the variables set."""
    interaction = Interaction(
        entry_point_id="ep", channel=Channel.webchat, contact="visitor", contact_id="contact",
        routing_id="routing", version_id="version", revision=1, variables=variables or {},
    )
    ctx = RunContext(
        interaction=interaction, action=Action(id="act", type="web_service", params=params),
        now=NOW, trigger="run", message=None, memory={}, ports=Ports(http=port),
        journal=Journal(interaction, NOW),
    )
    parsed = parse_params("web_service", params)
    assert isinstance(parsed, WebService.Params)
    outcome = await WebService().run(parsed, ctx)
    return outcome, ctx.changes


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(interconnection, "RETRY_BACKOFF_SECONDS", 0)


async def test_success_maps_json_values_into_variables(
    server: Server, open_port: GuardedHttpPort
) -> None:
    outcome, changes = await run_web_service(open_port, {
        "method": "POST",
        "url": server.base + "/order/{{ vars.order }}",
        "headers": {"Authorization": "Bearer {{ vars.token }}"},
        "body": '{"order": "{{ vars.order }}"}',
        "into": {"state": "$.data.state", "second": "$.data.items[1].sku", "id": "$.data.id"},
    }, {"order": 42, "token": "t0k"})
    assert outcome == Outcome.follow("success")
    assert changes == {"state": "paid", "second": "B2", "id": "42",
                       "ws.status": 200, "ws.error": None}
    [hit] = server.hits
    assert hit["method"] == "POST" and hit["path"] == "/order/42"
    assert hit["headers"]["Authorization"] == "Bearer t0k"
    assert hit["headers"]["Content-Type"] == "application/json"
    assert json.loads(hit["body"]) == {"order": "42"}


async def test_a_500_is_retried(server: Server, open_port: GuardedHttpPort) -> None:
    outcome, changes = await run_web_service(open_port, {
        "url": server.base + "/flaky", "retries": 1, "into": {"ok": "$.ok"},
    })
    assert outcome == Outcome.follow("success")
    assert changes == {"ok": True, "ws.status": 200, "ws.error": None}
    assert len(server.hits) == 2


async def test_a_500_without_retries_is_a_failure(
    server: Server, open_port: GuardedHttpPort
) -> None:
    outcome, changes = await run_web_service(open_port, {"url": server.base + "/flaky"})
    assert outcome == Outcome.follow("failure")
    assert changes == {"ws.status": 500, "ws.error": "HTTP status 500"}
    assert len(server.hits) == 1


async def test_a_timeout_is_a_failure(server: Server, open_port: GuardedHttpPort) -> None:
    started = asyncio.get_running_loop().time()
    with pytest.raises(HttpFailure, match="no answer within 0.3 s"):
        await get(open_port, server.base + "/slow", timeout_seconds=0.3)
    assert asyncio.get_running_loop().time() - started < 2
    outcome, changes = await run_web_service(open_port, {
        "url": server.base + "/slow", "timeout_seconds": 1,
    })
    assert outcome == Outcome.follow("failure")
    assert changes == {"ws.status": None, "ws.error": "no answer within 1 s"}


async def test_loopback_is_refused_by_default(
    server: Server, guarded_port: GuardedHttpPort
) -> None:
    for url in (server.base + "/echo", f"http://[::1]:{server.port}/echo",
                f"http://[::ffff:127.0.0.1]:{server.port}/echo", f"http://0.0.0.0:{server.port}/"):
        with pytest.raises(HttpRefused):
            await get(guarded_port, url)
    outcome, changes = await run_web_service(guarded_port, {
        "url": server.base + "/echo", "retries": 3,
    })
    assert outcome == Outcome.follow("failure")
    assert changes["ws.status"] is None and "refused" in changes["ws.error"]
    assert server.hits == []


async def test_loopback_is_reached_with_allow_private(
    server: Server, open_port: GuardedHttpPort
) -> None:
    response = await get(open_port, server.base + "/echo")
    assert response.status == 200
    assert json.loads(response.body)["path"] == "/echo"


async def test_a_name_that_resolves_to_loopback_is_refused(
    server: Server, guarded_port: GuardedHttpPort
) -> None:
    with pytest.raises(HttpRefused, match="localhost resolves to a private"):
        await get(guarded_port, f"http://localhost:{server.port}/echo")
    assert server.hits == []


async def test_the_allow_list_admits_its_host_and_port_only(servers: tuple[Server, Server]) -> None:
    allowed, other = servers
    port = GuardedHttpPort(allow_list=[f"127.0.0.1:{allowed.port}"])
    try:
        assert (await get(port, allowed.base + "/echo")).status == 200
        with pytest.raises(HttpRefused):
            await get(port, other.base + "/echo")
    finally:
        await port.close()
    assert len(allowed.hits) == 1 and other.hits == []


async def test_a_redirect_to_loopback_is_refused(servers: tuple[Server, Server]) -> None:
    """The first hop is allowed by the allow-list; the second, on another port, is not."""
    allowed, other = servers
    port = GuardedHttpPort(allow_list=[f"127.0.0.1:{allowed.port}"])
    try:
        for target in (other.base + "/echo", f"http://localhost:{other.port}/echo"):
            with pytest.raises(HttpRefused):
                await get(port, f"{allowed.base}/redirect?to={target}")
        within = await get(port, f"{allowed.base}/redirect?to=/echo")
        assert within.status == 200 and json.loads(within.body)["path"] == "/echo"
    finally:
        await port.close()
    assert other.hits == []
    assert [hit["path"] for hit in allowed.hits] == ["/redirect", "/redirect", "/redirect", "/echo"]


async def test_redirects_are_followed_with_limits(
    servers: tuple[Server, Server], open_port: GuardedHttpPort
) -> None:
    first, second = servers
    response = await get(
        open_port, f"{first.base}/redirect?status=303&to={second.base}/echo", method="POST",
        headers={"Authorization": "Bearer secret", "X-Trace": "1"}, body=b"payload",
    )
    echoed = json.loads(response.body)
    assert (echoed["method"], echoed["body"]) == ("GET", "")  # 303: see other, with GET
    assert "Authorization" not in echoed["headers"]  # not carried to another origin
    assert echoed["headers"]["X-Trace"] == "1"
    with pytest.raises(HttpFailure, match="more than 5 redirects"):
        await get(open_port, first.base + "/loop")
    assert sum(hit["path"] == "/loop" for hit in first.hits) == 6


async def test_an_oversized_answer_is_a_failure(
    server: Server, open_port: GuardedHttpPort
) -> None:
    with pytest.raises(HttpFailure, match="larger than"):
        await get(open_port, server.base + "/big")
    with pytest.raises(HttpFailure, match="larger than"):
        await get(open_port, server.base + "/big-stream")
    assert len((await get(open_port, server.base + "/exact")).body) == MAX_BODY_BYTES
    outcome, changes = await run_web_service(open_port, {"url": server.base + "/big"})
    assert outcome == Outcome.follow("failure")
    assert changes == {"ws.status": None,
                       "ws.error": f"the answer is larger than {MAX_BODY_BYTES} bytes"}


async def test_bad_urls_are_refused(guarded_port: GuardedHttpPort) -> None:
    for url in ("ftp://example.com/", "file:///etc/passwd", "http:///nohost", "not a url"):
        with pytest.raises(HttpRefused):
            await get(guarded_port, url)


@pytest.mark.parametrize(("address", "public"), [
    ("93.184.216.34", True), ("2606:4700::1111", True),
    ("10.1.2.3", False), ("172.16.0.1", False), ("192.168.1.1", False), ("127.0.0.1", False),
    ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False),
    ("224.0.0.1", False), ("240.0.0.1", False), ("255.255.255.255", False),
    ("::1", False), ("::", False), ("fe80::1", False), ("fc00::1", False), ("ff02::1", False),
    ("::ffff:127.0.0.1", False), ("::ffff:10.0.0.1", False), ("::ffff:93.184.216.34", True),
    ("2002:7f00:1::", False), ("64:ff9b::a00:1", False), ("fe80::1%eth0", False),
])
def test_which_addresses_are_public(address: str, public: bool) -> None:
    parsed = parse_address(address)
    assert parsed is not None
    assert is_public(parsed) is public
