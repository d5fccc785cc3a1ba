"""Two people edit one shared record: the form carries the revision it was built from,
and a save made from a stale form is refused with "changed meanwhile — reload", keeping
what the other person saved (never last write wins)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from quart import Quart

from routing_core.model.audit import Actor
from routing_core.services import Services
from tests.integration.test_admin_pages import Pages, admin  # noqa: F401 — the fixture
from tests.support.html_forms import form_values

OTHER = Actor(id="other-admin", name="other@example.com")


async def a_variable(services: Services, app: Quart) -> tuple[str, str, str]:
    item = await services.variables.create(OTHER, name="opening", type="text", value="9:00")
    return "variables", item.id, "description"


async def a_case(services: Services, app: Quart) -> tuple[str, str, str]:
    item = await services.cases.create(OTHER, title="Broken kettle")
    return "cases", item.id, "title"


async def a_card(services: Services, app: Quart) -> tuple[str, str, str]:
    item = await services.crm.cards.create(OTHER, {"name": "Ada"})
    return "crm/cards", item.id, "fields"


async def a_queue(services: Services, app: Quart) -> tuple[str, str, str]:
    item = await app.extensions["distribution"].queues.create(OTHER, name="Support")
    return "queues", item.id, "name"


Made = Callable[[Services, Quart], Awaitable[tuple[str, str, str]]]


async def change_elsewhere(services: Services, app: Quart, path: str, item_id: str) -> None:
    """Another admin saves a change to the record."""
    if path == "variables":
        await services.variables.update(OTHER, item_id, {"description": "set elsewhere"})
    elif path == "cases":
        await services.cases.update(OTHER, item_id, {"title": "Set elsewhere"})
    elif path == "crm/cards":
        await services.crm.cards.update(OTHER, item_id, {"name": "Set elsewhere"})
    else:
        await app.extensions["distribution"].queues.update(OTHER, item_id,
                                                           {"name": "Set elsewhere"})


def edited(field: str, value: str) -> str:
    return '{"name": "Mine"}' if field == "fields" else value


@pytest.mark.parametrize("made", [a_variable, a_case, a_card, a_queue],
                         ids=["variable", "case", "CRM card", "queue"])
async def test_a_save_from_a_stale_form_is_refused(
    admin: Pages, services: Services, app: Quart, made: Made,  # noqa: F811
) -> None:
    path, item_id, field = await made(services, app)
    url = f"/admin/{path}/{item_id}"
    _, page, _ = await admin.get(url)
    values = form_values(page, url).to_dict()
    assert values.get("revision") not in (None, ""), "the form carries no revision"
    await change_elsewhere(services, app, path, item_id)
    status, text, _ = await admin.post(url, {**values, field: edited(field, "Mine")})
    assert status == 409, status
    assert "was changed meanwhile — reload it to see the change" in text
    assert 'class="flash' in text or 'role="alert"' in text
    _, page, _ = await admin.get(url)  # reloaded: the other change is there, kept
    assert "elsewhere" in page.lower()
    fresh = form_values(page, url).to_dict()
    status, _, _ = await admin.post(url, {**fresh, field: edited(field, "Mine")})
    assert status == 302  # from a fresh form the save goes through
