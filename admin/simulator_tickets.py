"""Short-lived signed tickets that open the simulator's chat socket.

Chatting with a version runs its tree, so the socket is for a logged-in user holding
``smart_routings:simulate``. A WebSocket carries the page's cookie, but a cookie lives for
hours and rides along with any socket a page opens; a ticket is asked for by the panel's
page just before it connects, names the user and the simulator's entry point, and is
refused after a minute. The user's permission is read again when the socket opens.
"""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeTimedSerializer

from admin.context import services
from routing_core.model.users import SIMULATE, User

TICKET_SECONDS = 60
SALT = "smart-routing simulator ticket"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(services().settings.secret_key or "", salt=SALT)


def issue(user: User, entry_point_id: str) -> str:
    return _serializer().dumps({"user": user.id, "entry_point": entry_point_id})


async def holder(ticket: str, entry_point_id: str) -> User | None:
    """The user a ticket was issued to for this entry point, if it is fresh, theirs, and
    they still may simulate; None otherwise."""
    try:
        claims = _serializer().loads(ticket, max_age=TICKET_SECONDS)
    except BadSignature:  # SignatureExpired included
        return None
    if not isinstance(claims, dict) or claims.get("entry_point") != entry_point_id:
        return None
    user = await services().store.users.find(str(claims.get("user", "")))
    if user is None or not user.active:
        return None
    return user if SIMULATE in await services().accounts.permissions_of(user) else None
