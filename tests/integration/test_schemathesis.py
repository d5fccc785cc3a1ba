"""The published OpenAPI document, fuzzed by schemathesis against the app in-process.

Every JSON operation gets a few generated requests (valid and invalid ones), authenticated
as the first admin: none may answer 5xx, and every answer the document describes must match
its schema. Path ids are random or, half the time, those of records seeded first, so the
fuzzing reaches past the 404. The app runs on schemathesis's own ASGI event loop (its
lifespan opens the services), on a database of its own. Operations come from the route
table, so a new endpoint is fuzzed without anyone listing it.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance
from schemathesis.python import asgi

from bots.app import create_app
from config import Settings, load_settings
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD

# Logging out revokes the token every other call uses; the API tests cover it.
EXCLUDED = {("POST", "/api/auth/logout")}
CHECKS = [not_a_server_error, response_schema_conformance]
EXAMPLES = 8
BASE = f"http://{asgi.HOST}"


def api_operations() -> list[tuple[str, str]]:
    """(method, OpenAPI path) of every /api/ route, read from a throw-away app; deletions
    last, so the seeded records live as long as possible."""
    app = create_app(load_settings({}, mongodb_uri="mongodb://unused",
                                   secret_key="unused-secret-key-of-at-least-32-chars"))
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.websocket:
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            if (method, path) not in EXCLUDED:
                found.add((method, path))
    return sorted(found, key=lambda item: (item[0] == "DELETE", item[1], item[0]))


@pytest.fixture(scope="module")
def fuzzed_app(settings: Settings) -> Iterator[Any]:
    app = create_app(settings.model_copy(
        update={"mongodb_database": f"fuzz_{secrets.token_hex(4)}", "public_api_docs": True}
    ))
    yield app
    asgi.shutdown_lifespans()


@pytest.fixture(scope="module")
def api_schema(fuzzed_app: Any) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app)


@pytest.fixture(scope="module")
def admin_headers(api_schema: Any, fuzzed_app: Any) -> dict[str, str]:
    with asgi.get_client(fuzzed_app) as client:
        response = client.post(f"{BASE}/api/auth/login",
                               json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


@pytest.fixture(scope="module")
def seeded(fuzzed_app: Any, admin_headers: dict[str, str]) -> dict[str, str]:
    """Path parameter name → the id of a record that exists."""
    with asgi.get_client(fuzzed_app) as client:
        client.headers.update(admin_headers)

        def create(path: str, body: dict[str, Any]) -> dict[str, Any]:
            response = client.post(BASE + path, json=body)
            assert response.status_code == 201, (path, response.text)
            return response.json()  # type: ignore[no-any-return]

        routing = create("/api/smart-routings",
                         {"name": "Fuzzed", "reference": "fuzzed", "type": "start"})
        version = create(f"/api/smart-routings/{routing['id']}/versions", {"name": "v1"})
        tree = client.get(f"{BASE}/api/versions/{version['id']}").json()["tree"]
        action = create(f"/api/versions/{version['id']}/actions", {
            "type": "message", "name": "hello", "params": {"text": "Hello {{ contact.name }}"},
            "after": {"action": tree["start"]},
        })
        entry_point = create("/api/entry-points", {
            "channel": "webchat", "name": "site", "address": "site", "start_routing": "fuzzed",
        })
        database = create("/api/databases", {
            "name": "people", "fields": [{"name": "phone", "type": "phone", "unique": True}],
        })
        row = create(f"/api/databases/{database['id']}/rows",
                     {"values": {"phone": "+33612345678"}})
        role = create("/api/roles", {"name": "readers", "permissions": ["audit:read"]})
        user = create("/api/users", {"email": "fuzzed@example.com",
                                     "password": "long enough to pass", "roles": ["readers"]})
        return {
            "routing_id": routing["id"], "version_id": version["id"],
            "action_id": action["id"], "entry_point_id": entry_point["id"],
            "database_id": database["id"], "row_id": row["id"],
            "table_id": create("/api/value-tables", {"name": "t", "columns": ["k"]})["id"],
            "variable_id": create("/api/variables", {"name": "v", "type": "text"})["id"],
            "schedule_id": create("/api/schedules", {"name": "office", "timezone": "UTC"})["id"],
            "queue_id": create("/api/queues", {"name": "support"})["id"],
            "role_id": role["id"], "user_id": user["id"],
        }


@pytest.mark.parametrize(("method", "path"), api_operations())
def test_no_server_error_and_answers_match_the_schema(
    method: str, path: str, api_schema: Any, admin_headers: dict[str, str],
    seeded: dict[str, str],
) -> None:
    operation = api_schema[path][method]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @given(case=cases, real_ids=st.booleans())
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def call(case: Any, real_ids: bool) -> None:
        if real_ids and case.path_parameters:
            for name in case.path_parameters:
                case.path_parameters[name] = seeded.get(name, case.path_parameters[name])
        case.call_and_validate(headers=admin_headers, checks=CHECKS)

    call()
