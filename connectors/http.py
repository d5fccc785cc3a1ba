"""The HTTP port of the web_service action: aiohttp, guarded against request forgery.

A routing author chooses the URL, so without a guard a tree could reach the service's
own network (MongoDB's HTTP-free, but metadata endpoints, admin consoles, other
containers are not). Private, loopback, link-local, multicast, reserved and unspecified
addresses (IPv4, IPv6, and IPv4 embedded in IPv6) are refused unless private addresses are
allowed or the host is on the allow-list. The check is made on the addresses the
connection really uses: names are resolved by our own aiohttp resolver, which returns
only checked addresses (a DNS answer that changes between a check and the connection
cannot slip through), literal IPs are checked before the request, and redirects are
followed here, each hop checked the same way. Answers are read up to a size cap.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from routing_core.ports.world import HttpFailure, HttpRefused, HttpResponse

MAX_BODY_BYTES = 1_048_576
MAX_REDIRECTS = 5
CHUNK_BYTES = 65_536
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Credentials are not carried to another origin by a redirect.
CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
_NUMERIC = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV
# IPv6 prefixes that carry an IPv4 address in their last 32 bits (NAT64).
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class AddressRefused(HttpRefused):
    """Raised by the resolver; not an OSError, so aiohttp lets it through unwrapped."""


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for: mapped, 6to4, Teredo or NAT64."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if any(address in network for network in _NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    """False for every address a web service call must not reach by default."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # the socket connects to the IPv4 address
            return is_public(address.ipv4_mapped)
        inner = embedded_ipv4(address)
        if inner is not None and not is_public(inner):
            return False
    refused = (
        address.is_private or address.is_loopback or address.is_link_local
        or address.is_multicast or address.is_reserved or address.is_unspecified
    )
    return address.is_global and not refused


def parse_address(text: str) -> IPAddress | None:
    """The address in ``text`` (brackets and an IPv6 zone such as ``%eth0`` ignored)."""
    try:
        return ipaddress.ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


class AddressPolicy:
    """Which hosts and addresses calls may reach.

    Allow-list entries: ``host`` (any port), ``host:port``, ``[v6]:port``, an IP address or
    a network (``10.1.0.0/16``). A listed host name is trusted whatever it resolves to; a
    listed address or network admits the addresses in it.
    """

    def __init__(self, allow_private: bool = False, allow_list: Iterable[str] = ()):
        self.allow_private = allow_private
        self.hosts: set[tuple[str, int | None]] = set()
        self.networks: list[IPNetwork] = []
        for entry in allow_list:
            self._add(entry.strip().lower())

    def _add(self, entry: str) -> None:
        if not entry:
            return
        try:
            self.networks.append(ipaddress.ip_network(entry, strict=False))
            return
        except ValueError:
            pass
        host, port = entry, None
        if entry.startswith("["):
            host, _, rest = entry[1:].partition("]")
            port = int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
        elif entry.count(":") == 1:
            name, _, port_text = entry.partition(":")
            if port_text.isdigit():
                host, port = name, int(port_text)
        self.hosts.add((host.rstrip("."), port))

    def trusts_host(self, host: str, port: int | None) -> bool:
        name = host.strip("[]").lower().rstrip(".")
        return self.allow_private or (name, None) in self.hosts or (name, port) in self.hosts

    def admits(self, address: IPAddress) -> bool:
        return (
            self.allow_private
            or is_public(address)
            or any(address in network for network in self.networks)
        )


class GuardedResolver(AbstractResolver):
    """Resolves with the event loop's ``getaddrinfo`` and returns only admitted addresses,
    so the connection goes to an address that was checked."""

    def __init__(self, policy: AddressPolicy):
        self.policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, family=family)
        trusted = self.policy.trusts_host(host, port)
        results: list[ResolveResult] = []
        for info_family, _, proto, _, sockaddr in infos:
            text = str(sockaddr[0])
            address = parse_address(text)
            if address is None or not (trusted or self.policy.admits(address)):
                continue
            results.append(ResolveResult(
                hostname=host, host=text, port=port, family=info_family, proto=proto,
                flags=_NUMERIC,
            ))
        if not results:
            raise AddressRefused(
                f"{host} resolves to a private or reserved address: refused"
            )
        return results

    async def close(self) -> None:
        return None


class GuardedHttpPort:
    """The engine's ``HttpPort``: one aiohttp session, opened lazily in the running loop."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        allow_list: Iterable[str] = (),
        max_body_bytes: int = MAX_BODY_BYTES,
        max_redirects: int = MAX_REDIRECTS,
    ):
        self.policy = AddressPolicy(allow_private, allow_list)
        self.max_body_bytes = max_body_bytes
        self.max_redirects = max_redirects
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(resolver=GuardedResolver(self.policy)),
                cookie_jar=aiohttp.DummyCookieJar(),  # no state shared between interactions
                trust_env=False,  # a proxy from the environment would bypass the guard
                timeout=aiohttp.ClientTimeout(total=None),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        body: bytes | None,
        timeout_seconds: float,
    ) -> HttpResponse:
        """The final answer after redirects; HttpRefused (not allowed) or HttpFailure."""
        try:
            async with asyncio.timeout(timeout_seconds):
                return await self._follow(method, self._target(url), dict(headers), body)
        except TimeoutError:
            raise HttpFailure(f"no answer within {timeout_seconds:g} s") from None
        except aiohttp.ClientError as error:
            raise HttpFailure(f"the call failed: {error or type(error).__name__}") from None

    async def _follow(
        self, method: str, target: URL, headers: dict[str, str], body: bytes | None
    ) -> HttpResponse:
        for _ in range(self.max_redirects + 1):
            self._check(target)
            async with self._client().request(
                method, target, headers=headers, data=body, allow_redirects=False
            ) as response:
                location = response.headers.get("Location")
                if response.status not in REDIRECT_STATUSES or not location:
                    content = await self._read(response)
                    return HttpResponse(response.status, dict(response.headers), content)
            following = self._target(location, base=target)
            if response.status == 303 or (response.status in (301, 302) and method == "POST"):
                method, body = "GET", None  # what browsers do
            if following.origin() != target.origin():
                headers = _without_credentials(headers)
            target = following
        raise HttpFailure(f"more than {self.max_redirects} redirects")

    @staticmethod
    def _target(url: str, base: URL | None = None) -> URL:
        try:
            target = URL(url)
            if base is not None:
                target = base.join(target)
        except (ValueError, TypeError):
            raise HttpRefused(f"not a valid URL: {url[:200]!r}") from None
        if target.scheme not in ("http", "https") or not target.host:
            raise HttpRefused(f"only absolute http:// and https:// URLs are called: {url[:200]!r}")
        return target

    def _check(self, target: URL) -> None:
        """Literal addresses here; names are checked by the resolver when connecting."""
        host = target.host or ""
        address = parse_address(host)
        if address is None or self.policy.trusts_host(host, target.port):
            return
        if not self.policy.admits(address):
            raise HttpRefused(f"{host} is a private or reserved address: refused")

    async def _read(self, response: aiohttp.ClientResponse) -> bytes:
        if (response.content_length or 0) > self.max_body_bytes:
            raise HttpFailure(f"the answer is larger than {self.max_body_bytes} bytes")
        chunks: list[bytes] = []
        size = 0
        while chunk := await response.content.read(CHUNK_BYTES):
            size += len(chunk)
            if size > self.max_body_bytes:
                raise HttpFailure(f"the answer is larger than {self.max_body_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)


def _without_credentials(headers: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in headers.items()
            if name.lower() not in CREDENTIAL_HEADERS}
