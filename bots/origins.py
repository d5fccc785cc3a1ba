"""Same-origin checks for WebSockets.

A browser sends its page's ``Origin`` with every WebSocket handshake, and sends this
site's cookies whatever page opened the socket: without a check, a page on another origin
(another port of the same host included) could ride a logged-in user's session. A socket
that acts for a logged-in user therefore accepts only pages of this service: the public
URL's origin, or the origin the request was addressed to. A client that sends no
``Origin`` is no browser, so carries no one else's cookie.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from quart import websocket

from admin.context import services


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def same_origin_socket() -> bool:
    """Whether the WebSocket being opened comes from a page of this service (or from no
    browser at all)."""
    origin = websocket.headers.get("Origin")
    if origin is None:
        return True
    scheme = "https" if websocket.scheme in ("wss", "https") else "http"
    allowed = {origin_of(services().settings.public_url), f"{scheme}://{websocket.host}".lower()}
    return origin.strip().lower() in allowed
