"""Downloading a customer's media from a provider: only from the provider's own hosts
(the URL came in a webhook, and a forged one must not make us fetch an internal address),
at most ``MAX_MEDIA_BYTES``, each failure said as ``MediaUnavailable``."""

from __future__ import annotations

from collections.abc import Iterable

import aiohttp
from yarl import URL

from routing_core.model.media import MediaFile
from routing_core.ports.channels import MediaUnavailable
from routing_core.store.media_files import MAX_MEDIA_BYTES

FETCH_TIMEOUT_SECONDS = 30.0


def from_hosts(url: str, allowed: Iterable[str]) -> bool:
    """The URL is on one of ``allowed``: an exact base ("https://api.twilio.com") or a
    domain and its subdomains (".fbcdn.net")."""
    target = URL(url)
    if target.scheme not in ("https", "http") or not target.host:
        return False
    for entry in allowed:
        if entry.startswith("."):
            if target.scheme == "https" and (target.host == entry[1:]
                                             or target.host.endswith(entry)):
                return True
        elif url.startswith(entry.rstrip("/") + "/"):
            return True
    return False


async def download(url: str, allowed: Iterable[str], *, headers: dict[str, str] | None = None,
                   name: str | None = None, content_type: str | None = None) -> MediaFile:
    """The file at ``url`` (``headers`` are dropped if the provider redirects elsewhere,
    as Twilio does to its file store)."""
    if not from_hosts(url, allowed):
        raise MediaUnavailable(f"{URL(url).host or url[:60]!r} is not the provider's host")
    timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT_SECONDS)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout,
                                  cookie_jar=aiohttp.DummyCookieJar()) as session,
            session.get(url, headers=headers, max_redirects=5) as response,
        ):
            if response.status != 200:
                raise MediaUnavailable(f"the provider answered {response.status}")
            if (response.content_length or 0) > MAX_MEDIA_BYTES:
                raise MediaUnavailable("the file is larger than 16 MB")
            data = await response.content.read(MAX_MEDIA_BYTES + 1)
            if len(data) > MAX_MEDIA_BYTES:
                raise MediaUnavailable("the file is larger than 16 MB")
            kind = content_type or response.content_type or "application/octet-stream"
            return MediaFile(data, kind, name)
    except (aiohttp.ClientError, TimeoutError) as error:
        raise MediaUnavailable(f"the provider could not be reached: {error}") from None
