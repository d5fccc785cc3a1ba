"""Two people edit one shared record: the form carries the revision it was built from,
and a save made from a stale form is refused with "changed meanwhile — reload", keeping
what the other person saved (never last write wins)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest
from quart import Quart

from routing_core.model.audit import SYSTEM
from routing_core.model.routing import RoutingType
from routing_core.services import Services
from tests.integration.test_admin_pages import Pages, admin  # noqa: F401 — the fixture
from tests.support.html_forms import form_values
from tests.support.routings import webchat_entry_point


@dataclass
class Shared:
    url: str  # its edit form
    field: str  # what this editor changes
    mine: str  # to what
    elsewhere: Callable[[], Awaitable[object]]  # another admin's save, meanwhile


async def a_variable(services: Services, app: Quart) -> Shared:
    item = await services.variables.create(SYSTEM, name="opening", type="text", value="9:00")
    return Shared(f"/admin/variables/{item.id}", "description", "Mine",
                  lambda: services.variables.update(SYSTEM, item.id,
                                                    {"description": "set elsewhere"}))


async def a_case(services: Services, app: Quart) -> Shared:
    item = await services.cases.create(SYSTEM, title="Broken kettle")
    return Shared(f"/admin/cases/{item.id}", "title", "Mine",
                  lambda: services.cases.update(SYSTEM, item.id, {"title": "Set elsewhere"}))


async def a_card(services: Services, app: Quart) -> Shared:
    item = await services.crm.cards.create(SYSTEM, {"name": "Ada"})
    return Shared(f"/admin/crm/cards/{item.id}", "fields", '{"name": "Mine"}',
                  lambda: services.crm.cards.update(SYSTEM, item.id, {"name": "Set elsewhere"}))


async def a_queue(services: Services, app: Quart) -> Shared:
    queues = app.extensions["distribution"].queues
    item = await queues.create(SYSTEM, name="Support")
    return Shared(f"/admin/queues/{item.id}", "name", "Mine",
                  lambda: queues.update(SYSTEM, item.id, {"name": "Set elsewhere"}))


async def a_user(services: Services, app: Quart) -> Shared:
    item = await services.accounts.create_user(
        SYSTEM, email="agent@example.com", password="a long password", roles=[])
    return Shared(f"/admin/users/{item.id}", "email", "mine@example.com",
                  lambda: services.accounts.update_user(SYSTEM, item.id,
                                                        {"email": "elsewhere@example.com"}))


async def a_role(services: Services, app: Quart) -> Shared:
    item = await services.accounts.create_role(SYSTEM, "readers", ["smart_routings:read"])
    return Shared(f"/admin/roles/{item.id}", "name", "mine",
                  lambda: services.accounts.update_role(SYSTEM, item.id,
                                                        {"name": "set-elsewhere"}))


async def a_routing(services: Services, app: Quart) -> Shared:
    item = await services.lifecycle.create_routing(
        SYSTEM, name="Sales", reference="sales", description="", type=RoutingType.start)
    return Shared(f"/admin/smart-routings/{item.id}/edit", "description", "Mine",
                  lambda: services.lifecycle.update_routing(
                      SYSTEM, item.id, {"description": "Set elsewhere"}))


async def an_entry_point(services: Services, app: Quart) -> Shared:
    routing = await services.lifecycle.create_routing(
        SYSTEM, name="Sales", reference="sales", description="", type=RoutingType.start)
    item = await webchat_entry_point(services, routing.id)
    return Shared(f"/admin/entry-points/{item.id}", "name", "Mine",
                  lambda: services.entry_points.update(SYSTEM, item.id,
                                                       {"name": "Set elsewhere"}, None))


@pytest.mark.parametrize("made", [a_variable, a_case, a_card, a_queue, a_user, a_role,
                                  a_routing, an_entry_point],
                         ids=["variable", "case", "CRM card", "queue", "user", "role",
                              "smart routing", "entry point"])
async def test_a_save_from_a_stale_form_is_refused(
    admin: Pages, services: Services, app: Quart,  # noqa: F811
    made: Callable[[Services, Quart], Awaitable[Shared]],
) -> None:
    shared = await made(services, app)
    _, page, _ = await admin.get(shared.url)
    values = form_values(page, shared.url).to_dict()
    assert values.get("revision") not in (None, ""), "the form carries no revision"
    await shared.elsewhere()
    status, text, _ = await admin.post(shared.url, {**values, shared.field: shared.mine})
    assert status == 409, status
    assert "was changed meanwhile — reload it to see the change" in text
    _, page, _ = await admin.get(shared.url)  # reloaded: the other change is there, kept
    assert "elsewhere" in page.lower()
    fresh = form_values(page, shared.url).to_dict()
    status, _, _ = await admin.post(shared.url, {**fresh, shared.field: shared.mine})
    assert status == 302  # from a fresh form the save goes through


async def test_the_entry_points_api_checks_the_revision_it_is_given(
    services: Services, api: object,
) -> None:
    routing = await services.lifecycle.create_routing(
        SYSTEM, name="Sales", reference="sales", description="", type=RoutingType.start)
    created = await webchat_entry_point(services, routing.id)
    read = await api.get(f"/api/entry-points/{created.id}")  # type: ignore[attr-defined]
    assert read.json_body["revision"] == 0
    first = await api.patch(f"/api/entry-points/{created.id}",  # type: ignore[attr-defined]
                            json={"name": "First", "revision": 0})
    assert first.status_code == 200 and first.json_body["revision"] == 1
    stale = await api.patch(f"/api/entry-points/{created.id}",  # type: ignore[attr-defined]
                            json={"name": "Second", "revision": 0})
    assert stale.status_code == 409
    assert stale.json_body["error"]["code"] == "concurrent_change"
    assert (await services.store.entry_points.get(created.id)).name == "First"
    unsaid = await api.patch(f"/api/entry-points/{created.id}",  # type: ignore[attr-defined]
                             json={"name": "Third"})  # no revision: the last write counts
    assert unsaid.status_code == 200 and unsaid.json_body["revision"] == 2
