"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

from quart import Blueprint

from admin.context import services

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@blueprint.get("/readyz")
async def readyz() -> tuple[dict[str, str], int]:
    if await services().store.ping():
        return {"status": "ready", "mongodb": "ok"}, 200
    return {"status": "not ready", "mongodb": "unreachable"}, 503
