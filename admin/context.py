"""Per-request access to the process's services and the authenticated user."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

from quart import current_app, g, request, session

from routing_core.infra.errors import Forbidden, Unauthenticated, Words
from routing_core.model.audit import Actor
from routing_core.model.users import User
from routing_core.services import Services

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def services() -> Services:
    return cast(Services, current_app.extensions["services"])


def viewer_zone_name() -> str:
    """The time zone the panel's times are shown and typed in: the logged-in user's own
    (Users > time zone), else the service's (``SR_TIMEZONE``). Stored times are UTC."""
    user = getattr(g, "user", None)
    return (user.timezone if user is not None else None) or services().settings.timezone


def viewer_zone() -> ZoneInfo:
    return ZoneInfo(viewer_zone_name())


def client_address() -> str | None:
    """The address of whoever sent the request. Behind a trusted proxy
    (``SR_TRUSTED_PROXIES``) it is the nearest address in ``X-Forwarded-For`` that is no
    trusted proxy; anyone else's ``X-Forwarded-For`` is ignored, since a client could write
    any address there to escape the per-address limit."""
    return address_behind_proxies(request.remote_addr, request.headers)


def address_behind_proxies(address: str | None, headers: Any) -> str | None:
    """``client_address`` for any connection (a request, a WebSocket)."""
    trusted = set(services().settings.trusted_proxies)
    if address not in trusted:
        return address
    forwarded = [hop.strip() for hop in headers.get("X-Forwarded-For", "").split(",")]
    for hop in reversed([hop for hop in forwarded if hop]):
        if hop not in trusted:
            return hop
    return address


def actor() -> Actor:
    user: User = g.user
    return Actor(id=user.id, name=user.email)


async def authenticated_user() -> tuple[User, frozenset[str]]:
    """The user behind the request's bearer token (API) or session cookie (pages)."""
    if hasattr(g, "user"):
        return g.user, g.permissions
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else None
    if token is None:
        token = request.args.get("token") if request.scheme in ("ws", "wss") else None
    if token is None and _cookie_allowed():
        token = session.get("token")
    if not token:
        raise Unauthenticated("log in first: send 'Authorization: Bearer <token>'")
    accounts = services().accounts
    user = await accounts.user_for_token(token)
    g.user = user
    g.permissions = await accounts.permissions_of(user)
    return g.user, g.permissions


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _cookie_allowed() -> bool:
    """The session cookie authenticates pages (their forms carry CSRF tokens) and reads of
    the API; a change through the JSON API needs a bearer token, which a forged
    cross-site request cannot carry."""
    return not request.path.startswith("/api/") or request.method in SAFE_METHODS


def require(permission: str) -> Callable[[F], F]:
    """Refuse the view unless the user holds ``permission`` (kept on the view for audits)."""

    def decorate(view: F) -> F:
        @wraps(view)
        async def guarded(*args: Any, **kwargs: Any) -> Any:
            _, permissions = await authenticated_user()
            if permission not in permissions:
                raise Forbidden(Words(
                    "you lack the permission %(permission)r",
                    permission=permission))
            return await view(*args, **kwargs)

        guarded.required_permission = permission  # type: ignore[attr-defined]
        return cast(F, guarded)

    return decorate
