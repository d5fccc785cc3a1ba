"""Entry points: their rules, their sealed credentials, and what channels must know of them.

Connectors register hooks (``on_saved``) to act when an entry point is created or changed,
e.g. Telegram's ``setWebhook``; the domain stays free of provider libraries.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from routing_core.infra.clock import utcnow
from routing_core.infra.errors import Conflict, Invalid, NotFound, Words
from routing_core.infra.revisions import changed_meanwhile, revision_filter
from routing_core.infra.secrets_box import SecretsBox
from routing_core.infra.sentences import invalid
from routing_core.model.audit import Actor
from routing_core.model.entry_point import EntryPoint, EntryPointMode
from routing_core.model.interaction import Channel
from routing_core.model.routing import RoutingType
from routing_core.store import Store

SavedHook = Callable[[EntryPoint, dict[str, Any]], Awaitable[dict[str, Any] | None]]

REQUIRED_CREDENTIALS = {
    Channel.telegram: ("token",),
    Channel.whatsapp: ("account_sid", "auth_token"),
    Channel.messenger: ("page_access_token", "app_secret", "verify_token"),
    Channel.webchat: (),
}


OPENED_CREDENTIALS_KEPT = 1024


class EntryPoints:
    def __init__(self, store: Store, box: SecretsBox):
        self.store = store
        self.box = box
        self.hooks: dict[Channel, SavedHook] = {}
        self._opened: dict[str, dict[str, Any]] = {}

    def on_saved(self, channel: Channel, hook: SavedHook) -> None:
        """``hook(entry_point, credentials)`` may return credentials to add (e.g. a secret)."""
        self.hooks[channel] = hook

    def credentials(self, entry_point: EntryPoint) -> dict[str, Any]:
        """The opened credentials, kept by their sealed text: every webhook and every send
        needs them, and new credentials are a new sealed text, so a change made by any
        process is used as soon as this process reads the entry point again."""
        sealed = entry_point.credentials_sealed or ""
        opened = self._opened.get(sealed)
        if opened is None:
            if len(self._opened) >= OPENED_CREDENTIALS_KEPT:
                self._opened.clear()
            opened = self._opened[sealed] = self.box.open(sealed)
        return dict(opened)  # a copy: a caller may add to it

    async def resolve(self, key: str) -> EntryPoint:
        """By id, or by the web chat module's key (its address); kept between calls."""
        entry_point = await self.store.entry_points.by_key(key)
        if entry_point is None:
            raise NotFound(Words("no entry point %(key)r", key=key))
        return entry_point

    async def _check(self, entry_point: EntryPoint, credentials: dict[str, Any]) -> None:
        if entry_point.channel is Channel.sms or entry_point.channel is Channel.email:
            raise Invalid("SMS and e-mail are outbound only: no entry point", field="channel")
        if entry_point.mode is EntryPointMode.test and entry_point.channel is Channel.webchat:
            raise Invalid("test mode is not available for web chat entry points", field="mode")
        await self._check_routing(entry_point.start_routing, RoutingType.start, "start_routing")
        if entry_point.end_routing:
            await self._check_routing(entry_point.end_routing, RoutingType.end, "end_routing")
        missing = [
            name for name in REQUIRED_CREDENTIALS[entry_point.channel] if not credentials.get(name)
        ]
        if missing:
            raise Invalid(
                Words(
                    "%(value)s needs credentials: %(missing)s",
                    value=entry_point.channel.value, missing=', '.join(missing)),
                field=f"credentials.{missing[0]}",
            )

    async def _check_routing(self, routing_id: str, expected: RoutingType, field: str) -> None:
        routing = await self.store.routings.find(routing_id)
        if routing is None:
            routing = await self.store.routings.find_one({"reference": routing_id})
        if routing is None:
            raise Invalid(Words("no smart routing %(routing_id)r", routing_id=routing_id),
                          field=field)
        if routing.type is not expected:
            raise Invalid(
                Words(
                    "smart routing %(reference)r is of type %(value)s; %(field_)s needs one of "
                    "type %(value2)s",
                    reference=routing.reference, value=routing.type.value, field_=field,
                    value2=expected.value),
                field=field,
            )

    async def _routing_id(self, key: str | None) -> str | None:
        if not key:
            return None
        routing = await self.store.routings.find(key) or await self.store.routings.find_one(
            {"reference": key}
        )
        return routing.id if routing else key

    async def create(
        self, actor: Actor, values: dict[str, Any], credentials: dict[str, Any]
    ) -> EntryPoint:
        values = dict(values)
        values["start_routing"] = await self._routing_id(values.get("start_routing"))
        values["end_routing"] = await self._routing_id(values.get("end_routing"))
        entry_point = EntryPoint(**values)
        await self._check(entry_point, credentials)
        if hook := self.hooks.get(entry_point.channel):
            credentials = {**credentials, **(await hook(entry_point, credentials) or {})}
        entry_point.credentials_sealed = self.box.seal(credentials) if credentials else None
        try:
            await self.store.entry_points.insert(entry_point)
        except DuplicateKeyError:
            raise Conflict(
                Words(
                    "a %(value)s entry point with address %(address)r exists",
                    value=entry_point.channel.value, address=entry_point.address),
                field="address",
            ) from None
        await self.store.audit.record_change(actor, "entry_point.create", "entry_point",
                                             entry_point.id)
        return entry_point

    async def update(
        self,
        actor: Actor,
        entry_point_id: str,
        changes: dict[str, Any],
        credentials: dict[str, Any] | None,
    ) -> EntryPoint:
        expected = revision_filter(changes.pop("revision", None))
        current = await self.store.entry_points.get(entry_point_id)
        if "channel" in changes and changes["channel"] != current.channel:
            raise Invalid("the channel of an entry point cannot be changed", field="channel")
        for field in ("start_routing", "end_routing"):
            if field in changes:
                changes[field] = await self._routing_id(changes[field])
        merged_credentials = {**self.credentials(current), **(credentials or {})}
        try:  # validated as a whole: a change must leave a record every reader accepts
            updated = EntryPoint.model_validate({**current.model_dump(), **changes})
        except ValidationError as error:
            raise invalid(error) from None
        await self._check(updated, merged_credentials)
        if hook := self.hooks.get(updated.channel):
            merged_credentials.update(await hook(updated, merged_credentials) or {})
        sealed = self.box.seal(merged_credentials) if merged_credentials else None
        try:
            document = await self.store.entry_points.collection.find_one_and_update(
                {"_id": entry_point_id, **expected},
                {"$set": {**changes, "credentials_sealed": sealed, "updated_at": utcnow()},
                 "$inc": {"revision": 1}},
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            raise Conflict("another entry point has that address", field="address") from None
        if document is None:
            if expected and await self.store.entry_points.find(entry_point_id) is not None:
                raise changed_meanwhile(f"entry point {current.name!r}")
            raise NotFound(Words(
                "no entry point with id %(entry_point_id)r",
                entry_point_id=entry_point_id))
        self.store.entry_points.forget(entry_point_id)
        await self.store.audit.record_change(
            actor, "entry_point.update", "entry_point", entry_point_id,
            fields=sorted(changes) + (["credentials"] if credentials else []),
        )
        return EntryPoint.from_document(document)

    async def delete(self, actor: Actor, entry_point_id: str) -> None:
        if not await self.store.entry_points.delete(entry_point_id):
            raise NotFound(Words(
                "no entry point with id %(entry_point_id)r",
                entry_point_id=entry_point_id))
        self.store.entry_points.forget(entry_point_id)
        await self.store.audit.record_change(actor, "entry_point.delete", "entry_point",
                                             entry_point_id)

    async def simulator_for(self, actor: Actor, version_id: str) -> EntryPoint:
        """The hidden web chat entry point on which the admin's simulator talks with one
        version, whatever its status (no entry point of the routing is involved)."""
        version = await self.store.versions.get(version_id)
        # not derived from the version's id (ids can be guessed): a secret of its own
        address = f"simulator-{secrets.token_urlsafe(18)}"
        existing = await self.store.entry_points.find_one(
            {"channel": Channel.webchat.value, "simulated_version": version.id}
        )
        if existing is not None:
            if existing.address == f"simulator-{version.id}":  # made by an older release
                await self.store.entry_points.collection.update_one(
                    {"_id": existing.id}, {"$set": {"address": address}})
                return await self.store.entry_points.get(existing.id)
            return existing
        entry_point = EntryPoint(
            channel=Channel.webchat, name=f"Simulator of {version.name}", address=address,
            start_routing=version.routing_id, simulated_version=version.id,
        )
        try:
            await self.store.entry_points.insert(entry_point)
        except DuplicateKeyError:  # opened twice at once
            return await self.simulator_for(actor, version_id)
        await self.store.audit.record_change(actor, "entry_point.simulator", "entry_point",
                                             entry_point.id, version=version.id)
        return entry_point

    async def test_entry_points_of(self, routing_id: str) -> list[EntryPoint]:
        return await self.store.entry_points.all(
            {"start_routing": routing_id, "mode": EntryPointMode.test.value}
        )
