"""Export a routing with all its versions to portable JSON, and import it back.

Ids are remapped on import (the file's routing and version ids mean nothing in another
database); action ids are local to a tree and kept. Statuses survive, so an exported
routing in production is in production after import; test flags and schedules do not.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pymongo.asynchronous.client_session import AsyncClientSession

from routing_core.infra.errors import Conflict, Invalid, Words
from routing_core.model.audit import Actor
from routing_core.model.routing import RoutingType, SmartRouting, Version, VersionStatus
from routing_core.model.tree import Tree
from routing_core.routing import validation
from routing_core.routing.lifecycle import Lifecycle

FORMAT = "smart-routing/1"


async def export_routing(lifecycle: Lifecycle, routing_id: str) -> dict[str, Any]:
    store = lifecycle.store
    routing = await store.routings.get(routing_id)
    versions = await store.versions.all({"routing_id": routing_id})
    return {
        "format": FORMAT,
        "routing": routing.model_dump(
            mode="json", include={"name", "reference", "description", "type"}
        ),
        "versions": [
            version.model_dump(mode="json", include={"name", "description", "status", "tree"})
            for version in versions
        ],
    }


def _parse_versions(
    raw_versions: list[dict[str, Any]],
) -> list[tuple[str, str, VersionStatus, Tree]]:
    parsed = []
    for position, raw in enumerate(raw_versions):
        field = f"versions.{position}"
        try:
            name = str(raw["name"])
            status = VersionStatus(raw.get("status", "development"))
            tree = Tree.model_validate(raw["tree"])
        except (KeyError, ValueError, ValidationError, TypeError) as error:
            raise Invalid(
                Words(
                    "%(field_)s: needs a name, a known status and a tree (%(error)s)",
                    field_=field, error=error), field=field
            ) from None
        if status is VersionStatus.production:
            report = validation.validate(tree)
            if report.errors:
                raise Invalid(
                    Words(
                        "%(field_)s: the production version is invalid: %(message)s",
                        field_=field, message=report.errors[0].message),
                    field=field,
                )
        parsed.append((name, str(raw.get("description", "")), status, tree))
    if sum(status is VersionStatus.production for _, _, status, _ in parsed) > 1:
        raise Invalid("a routing has at most one production version", field="versions")
    return parsed


async def import_routing(
    lifecycle: Lifecycle,
    actor: Actor,
    data: dict[str, Any],
    *,
    reference: str | None = None,
    name: str | None = None,
) -> SmartRouting:
    if data.get("format", FORMAT) != FORMAT:
        raise Invalid(Words("unknown export format %(format)r", format=data.get('format')),
                      field="format")
    raw_routing = data.get("routing") or {}
    try:
        routing = SmartRouting(
            name=name or raw_routing["name"],
            reference=reference or raw_routing["reference"],
            description=raw_routing.get("description", ""),
            type=RoutingType(raw_routing["type"]),
        )
    except (KeyError, ValueError, ValidationError) as error:
        raise Invalid(
            Words("routing: needs a name, a reference and a type (%(error)s)", error=error),
            field="routing"
        ) from None
    parsed = _parse_versions(list(data.get("versions") or []))
    store = lifecycle.store
    if await store.routings.find_one({"reference": routing.reference}):
        raise Conflict(
            Words(
                "the reference %(reference)r is taken; import under a new reference",
                reference=routing.reference),
            field="reference",
            code="reference_taken",
        )

    async def work(session: AsyncClientSession) -> SmartRouting:
        await lifecycle.insert_routing(routing, session=session)
        for version_name, description, status, tree in parsed:
            version = Version(
                routing_id=routing.id,
                name=version_name,
                description=description,
                status=status,
                tree=tree,
                production_at=lifecycle.clock() if status is VersionStatus.production else None,
            )
            await store.versions.insert(version, session=session)
        await store.audit.record_change(
            actor,
            "routing.import",
            "smart_routing",
            routing.id,
            session=session,
            versions=len(parsed),
        )
        return routing

    return await store.in_transaction(work)
