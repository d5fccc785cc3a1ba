"""Small builders shared by the lifecycle tests: routings and versions through the API or
straight through the domain services."""

from __future__ import annotations

from typing import Any

from routing_core.model.audit import SYSTEM
from routing_core.model.routing import RoutingType, Version
from routing_core.services import Services
from tests.conftest import Api

SAY = {"text": "Hello {{ contact.name }}"}


def refused(response: Any, status: int, code: str | None = None, field: str | None = None):
    """Assert the error shape of API.md, with the expected status, code and field."""
    assert response.status_code == status, (response.status_code, response.json_body)
    error = response.json_body["error"]
    assert error["message"]
    if code is not None:
        assert error["code"] == code, error
    if field is not None:
        assert error.get("field") == field, error
    return error


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.json_body)
    return response.json_body


async def new_routing(api: Api, reference: str = "support", type: str = "start") -> Any:
    body = {"name": f"Routing {reference}", "reference": reference, "type": type}
    return ok(await api.post("/api/smart-routings", json=body), 201)


async def new_version(api: Api, routing_id: str, name: str = "v1", **extra: Any) -> Any:
    body = {"name": name, **extra}
    return ok(await api.post(f"/api/smart-routings/{routing_id}/versions", json=body), 201)


async def add_action(
    api: Api, version_id: str, after: str, type: str = "message", params: Any = None, **extra: Any
) -> Any:
    body = {"type": type, "params": SAY if params is None else params, "after": {"action": after}}
    return ok(await api.post(f"/api/versions/{version_id}/actions", json=body | extra), 201)


async def ready_version(api: Api, routing_id: str, name: str = "v1") -> Any:
    """A development version with one message after Start: fit for production."""
    version = await new_version(api, routing_id, name)
    await add_action(api, version["id"], version["tree"]["start"])
    return ok(await api.get(f"/api/versions/{version['id']}"))


async def promote(api: Api, version_id: str) -> Any:
    return ok(await api.post(f"/api/versions/{version_id}/production"))


async def statuses(api: Api, routing_id: str) -> dict[str, str]:
    listing = ok(await api.get(f"/api/smart-routings/{routing_id}/versions"))
    return {item["name"]: item["status"] for item in listing["items"]}


async def domain_ready_version(services: Services, reference: str, name: str = "v1") -> Version:
    """The same as ``ready_version`` through the services, for tests below the API."""
    routing = await services.lifecycle.create_routing(
        SYSTEM, name=reference, reference=reference, description="", type=RoutingType.start
    )
    version = await services.lifecycle.create_version(SYSTEM, routing.id, name=name)
    await services.trees.add(
        SYSTEM, version.id, after=version.tree.start, type="message", params=SAY
    )
    return await services.store.versions.get(version.id)
