"""Session, CSRF and permission helpers shared by every admin page.

The session cookie holds the API token from ``Accounts.issue_token`` (so ``admin.context``
authenticates pages and the JSON API the same way) and a per-session CSRF token that every
POST must echo in its ``csrf_token`` field.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from quart import g, request, session

from routing_core.infra.errors import DomainError

CSRF_FIELD = "csrf_token"
CSRF_SESSION_KEY = "csrf"
TOKEN_SESSION_KEY = "token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ROUTINGS = "smart_routings"


class CsrfRefused(DomainError):
    """A form came without this session's CSRF token: from another site, or expired."""

    status = 400
    code = "csrf"


def csrf_token() -> str:
    """This session's token, created on first use (the login form included)."""
    token = session.get(CSRF_SESSION_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_SESSION_KEY] = token
    return str(token)


async def check_csrf() -> None:
    if request.method in SAFE_METHODS:
        return
    form = await request.form
    sent = form.get(CSRF_FIELD, "")
    expected = session.get(CSRF_SESSION_KEY, "")
    if not expected or not hmac.compare_digest(sent.encode(), str(expected).encode()):
        raise CsrfRefused(
            "This form has expired or did not come from this site. Reload the page and try again."
        )


def start_session(token: str) -> None:
    """A fresh session after login: a new CSRF token too, so none survives from before."""
    session.clear()
    session[TOKEN_SESSION_KEY] = token
    session[CSRF_SESSION_KEY] = secrets.token_urlsafe(32)


def can(operation: str, resource: str = ROUTINGS) -> bool:
    """Whether the logged-in user may do ``operation`` on ``resource`` (for buttons)."""
    permissions: frozenset[str] = g.get("permissions", frozenset())
    return f"{resource}:{operation}" in permissions


def safe_next(target: str | None, default: str) -> str:
    """Only a path of the admin pages on this site: never an open redirect."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/admin") or "\\" in target:
        return default
    return target
