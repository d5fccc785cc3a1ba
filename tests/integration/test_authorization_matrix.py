"""Every /api/ endpoint × {no token, a role without its permission, a role with exactly it}.

The matrix is read from the route table, so a new endpoint is checked the day it is added:
it must declare its permission with ``require(...)`` (which the views keep as
``required_permission``) or be one of the few endpoints every logged-in user may call.
"""

from __future__ import annotations

import re

from quart import Quart

from bots.app import create_app
from config import load_settings
from routing_core.model.users import AGENT_CONSOLE, ALL_PERMISSIONS, AgentProfile, Role, User
from routing_core.services import Services

# Anyone may try to log in.
PUBLIC = {("POST", "/api/auth/login")}
# Any logged-in user, whatever their roles: their own account and the list of permissions.
SELF = {
    ("GET", "/api/auth/me"),
    ("POST", "/api/auth/logout"),
    ("GET", "/api/permissions"),
}
DUMMY_ID = "0123456789abcdef"


def api_routes() -> list[tuple[str, str, str | None]]:
    """(method, rule, required permission) of every /api/ route of a throw-away app."""
    app = create_app(load_settings({}, mongodb_uri="mongodb://unused",
                                   secret_key="unused-secret-key-of-at-least-32-chars"))
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.websocket:
            continue
        view = app.view_functions[rule.endpoint]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((method, rule.rule, getattr(view, "required_permission", None)))
    return sorted(routes, key=lambda route: (route[1], route[0]))


ROUTES = api_routes()
GUARDED = [route for route in ROUTES if (route[0], route[1]) not in PUBLIC | SELF]


def concrete(rule: str) -> str:
    return re.sub(r"<(?:\w+:)?\w+>", DUMMY_ID, rule)


def test_every_api_endpoint_declares_its_permission() -> None:
    unguarded = [f"{method} {rule}" for method, rule, permission in GUARDED if not permission]
    assert unguarded == [], (
        "these /api/ endpoints have no @require(permission) and are not in the allow-list "
        f"of public or self endpoints: {unguarded}"
    )


def test_permissions_are_known_and_the_agent_api_needs_the_console() -> None:
    for method, rule, permission in GUARDED:
        assert permission in ALL_PERMISSIONS, f"{method} {rule}: unknown {permission!r}"
        if rule.startswith("/api/agent/"):
            assert permission == AGENT_CONSOLE, f"{method} {rule} needs {AGENT_CONSOLE}"


def test_the_allow_lists_name_existing_endpoints() -> None:
    """A renamed endpoint must leave the allow-list, not linger in it unchecked."""
    existing = {(method, rule) for method, rule, _ in ROUTES}
    assert (PUBLIC | SELF) - existing == set()


async def user_with(services: Services, name: str, permissions: list[str]) -> str:
    """A user holding one role with these permissions; its bearer token (no password
    hashing: the matrix is about permissions, not logins)."""
    await services.store.roles.insert(Role(name=name, permissions=permissions))
    user = User(email=f"{name}@example.com", password_hash="unused", roles=[name],
                agent=AgentProfile(queues=[], capacity=1))
    await services.store.users.insert(user)
    return await services.accounts.issue_token(user)


async def status_of(app: Quart, method: str, path: str, token: str | None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {} if method in ("POST", "PUT", "PATCH") else None
    response = await app.test_client().open(path, method=method, json=body, headers=headers)
    return response.status_code, (await response.get_data(as_text=True))[:200]


async def test_every_endpoint_answers_by_permission(app: Quart, services: Services) -> None:
    """No token → 401; every permission but the one needed → 403; exactly it → neither
    (a 404 for the dummy id or a 422 for the empty body is fine). One test for the whole
    table, so it stays fast; it lists every endpoint at fault."""
    tokens: dict[str, tuple[str, str]] = {}
    for index, permission in enumerate(sorted({route[2] for route in GUARDED if route[2]})):
        others = [other for other in ALL_PERMISSIONS if other != permission]
        tokens[permission] = (await user_with(services, f"without{index}", others),
                              await user_with(services, f"exactly{index}", [permission]))
    problems = []
    for method, rule, permission in GUARDED:
        assert permission is not None  # checked by the test above
        path, (without, exactly) = concrete(rule), tokens[permission]
        status, text = await status_of(app, method, path, None)
        if status != 401:
            problems.append(f"{method} {path} without a token: {status} {text}")
        status, text = await status_of(app, method, path, without)
        if status != 403:
            problems.append(f"{method} {path} lacking {permission}: {status} {text}")
        status, text = await status_of(app, method, path, exactly)
        if status in (401, 403) or status >= 500:
            problems.append(f"{method} {path} with exactly {permission}: {status} {text}")
    assert problems == [], "\n".join(problems)


async def test_self_endpoints_need_a_login_only(app: Quart, services: Services) -> None:
    nobody = await user_with(services, "nobody", [])
    for method, rule in sorted(SELF):
        assert (await status_of(app, method, rule, None))[0] == 401, rule
        assert (await status_of(app, method, rule, nobody))[0] < 400, rule
