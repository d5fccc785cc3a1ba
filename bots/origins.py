"""Who opens a WebSocket that acts for a logged-in user: same-origin checks, the user.

A browser sends its page's ``Origin`` with every WebSocket handshake, and sends this
site's cookies whatever page opened the socket: without a check, a page on another origin
(another port of the same host included) could ride a logged-in user's session. A socket
that acts for a logged-in user therefore accepts only pages of this service: the public
URL's origin, or the origin the request was addressed to. A client that sends no
``Origin`` is no browser, so carries no one else's cookie.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from quart import session, websocket

from admin.context import services
from routing_core.infra.errors import Unauthenticated
from routing_core.model.users import User


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


async def socket_user(permission: str) -> User | None:
    """The user behind ``?token=``, a bearer header or the panel's session cookie, if they
    hold ``permission``; None otherwise (and for a page of another origin)."""
    if not same_origin_socket():
        return None
    header = websocket.headers.get("Authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else None
    token = token or websocket.args.get("token") or session.get("token")
    if not token:
        return None
    accounts = services().accounts
    try:
        user = await accounts.user_for_token(token)
    except Unauthenticated:
        return None
    return user if permission in await accounts.permissions_of(user) else None
