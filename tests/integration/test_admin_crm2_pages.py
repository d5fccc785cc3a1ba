"""The CRM V2 pages through the test client: types and their fields, objects in a grid
and in forms generated from the fields; ``CrmTypes``/``CrmObjects``'s refusals shown
inline, every change audited, CSRF and the ``crm`` permissions."""

from __future__ import annotations

import re

import pytest
from quart import Quart

from admin.pages import crm_objects
from routing_core.model.crm import CrmType
from routing_core.services import Services
from tests.integration.test_admin_pages import ACTOR, Pages, admin

__all__ = ["admin"]

FIELDS = [
    {"name": "email", "type": "email", "required": True, "unique": True},
    {"name": "visits", "type": "number"},
    {"name": "tier", "type": "choice", "choices": ["gold", "silver"]},
    {"name": "birthday", "type": "date"},
    {"name": "phone", "type": "phone"},
]


async def customer(services: Services) -> CrmType:
    return await services.crm.types.create(ACTOR, name="customer", fields=FIELDS)


async def audited(services: Services, action: str, target_id: str) -> bool:
    return await services.store.audit.find_one(
        {"action": action, "target_id": target_id}) is not None


def field_rows(*rows: dict[str, str]) -> dict[str, str]:
    """The fields editor's inputs: ``fields.<n>.<name>``; a checkbox is sent when ticked."""
    return {f"fields.{index}.{key}": value
            for index, row in enumerate(rows) for key, value in row.items()}


async def test_types_are_created_edited_and_deleted(admin: Pages, services: Services) -> None:
    status, text, _ = await admin.get("/admin/crm2/types")
    assert status == 200 and "No type yet" in text and "New type" in text
    navigation = re.findall(r'<li><a href="([^"]+)"[^>]*>([^<]+)</a>', text)
    cards = navigation.index(("/admin/crm/cards", "CRM cards"))
    assert navigation[cards + 1] == ("/admin/crm2/types", "CRM V2 types")  # beside the cards
    status, text, _ = await admin.get("/admin/crm2/types/new")
    assert status == 200 and 'name="fields.0.name"' in text and "fields.__new__.name" in text
    status, text, _ = await admin.post("/admin/crm2/types/new", {
        "name": "customer", **field_rows({"name": "email", "type": "email"},
                                         {"name": "tier", "type": "choice"})})
    assert status == 422 and "a choice field lists its choices" in text
    assert 'class="row-item has-error"' in text and 'value="email"' in text
    assert await services.store.crm_types.all() == []
    status, _, response = await admin.post("/admin/crm2/types/new", {
        "name": "customer", "description": "Who buys",
        **field_rows({"name": "email", "type": "email", "required": "on", "unique": "on"},
                     {"name": "", "type": "text"},
                     {"name": "tier", "type": "choice", "choices": "gold, silver"})})
    assert status == 302
    [crm_type] = await services.store.crm_types.all()
    assert response.headers["Location"] == f"/admin/crm2/types/{crm_type.id}/objects"
    assert [(f.name, f.type.value, f.required, f.unique, f.choices) for f in crm_type.fields] == [
        ("email", "email", True, True, []), ("tier", "choice", False, False, ["gold", "silver"])]
    assert await audited(services, "crm_type.create", crm_type.id)
    status, _, _ = await admin.post("/admin/crm2/types/new", {"name": "customer"})
    assert status == 422

    edit_url = f"/admin/crm2/types/{crm_type.id}"
    status, text, _ = await admin.get(edit_url)
    assert status == 200 and 'name="fields.1.choices" value="gold, silver"' in text
    assert "No object of this type yet" in text
    status, _, _ = await admin.post(edit_url, {
        "name": "client", "description": "Who buys",
        **field_rows({"name": "email", "type": "email", "required": "on", "unique": "on"},
                     {"name": "tier", "type": "choice", "choices": "gold, silver, bronze"},
                     {"name": "visits", "type": "number"})})
    assert status == 302
    saved = await services.crm.types.get(crm_type.id)
    assert saved.name == "client" and [f.name for f in saved.fields] == ["email", "tier", "visits"]
    assert saved.fields[1].choices == ["gold", "silver", "bronze"]
    assert await audited(services, "crm_type.update", crm_type.id)
    status, text, _ = await admin.get("/admin/crm2/types")
    assert "client" in text and "<code>visits</code> number" in text


async def test_a_type_keeps_the_fields_its_objects_use(admin: Pages, services: Services) -> None:
    crm_type = await customer(services)
    await services.crm.objects.create(ACTOR, crm_type.id, {"email": "a@b.fr", "visits": 2})
    edit_url = f"/admin/crm2/types/{crm_type.id}"
    status, text, _ = await admin.get(edit_url)
    assert "1 object of this type exists" in text
    email, tier = FIELDS[0] | {"required": "on", "unique": "on"}, FIELDS[2] | {
        "choices": "gold, silver"}
    status, text, _ = await admin.post(edit_url, {"name": "customer", **field_rows(
        email, {"name": "count", "type": "number"}, tier)})
    assert status == 422 and 'class="flash flash-error"' in text
    assert "cannot remove the field &#39;visits&#39;: objects hold values in it" in text
    status, text, _ = await admin.post(edit_url, {"name": "customer", **field_rows(
        email, {"name": "visits", "type": "text"}, tier)})
    assert status == 422 and "cannot retype &#39;visits&#39;" in text
    assert 'class="row-item has-error"' in text and 'value="count"' not in text
    status, text, _ = await admin.post(edit_url, {"name": "customer", **field_rows(
        email, {"name": "visits", "type": "number"}, tier | {"required": "on"})})
    assert status == 422 and "make &#39;tier&#39; required: objects lack it" in text
    assert (await services.crm.types.get(crm_type.id)).fields == crm_type.fields
    status, _, _ = await admin.post(edit_url, {"name": "customer", **field_rows(
        email, {"name": "visits", "type": "number"}, tier)})
    assert status == 302  # birthday and phone, which no object uses, are removed
    assert [f.name for f in (await services.crm.types.get(crm_type.id)).fields] == [
        "email", "visits", "tier"]

    status, _, response = await admin.post(f"{edit_url}/delete")
    assert status == 302
    text = await admin.follow(response)
    assert "was not deleted: objects of this type exist: delete them first" in text
    assert await services.crm.types.get(crm_type.id)
    [found], _ = await services.crm.objects.search(crm_type.id, {})
    await services.crm.objects.delete(ACTOR, found.id)
    status, _, response = await admin.post(f"{edit_url}/delete")
    assert "Type customer deleted." in await admin.follow(response)
    assert await services.store.crm_types.all() == []
    assert await audited(services, "crm_type.delete", crm_type.id)


async def test_objects_are_added_edited_and_deleted(admin: Pages, services: Services) -> None:
    crm_type = await customer(services)
    objects_url = f"/admin/crm2/types/{crm_type.id}/objects"
    status, text, _ = await admin.get(objects_url)
    assert status == 200 and "No object yet" in text and "New object" in text
    status, text, _ = await admin.get(f"{objects_url}/new")
    for expected in ('type="email" name="email"', 'type="number" name="visits"',
                     '<select name="tier">', '<option value="gold"', 'type="date" name="birthday"',
                     'type="tel" name="phone"'):
        assert expected in text, expected
    good = {"email": "Ada@Example.com", "visits": "3", "tier": "gold", "birthday": "1990-05-01",
            "phone": "+33 6 12 34 56 78"}
    status, text, _ = await admin.post(f"{objects_url}/new", good | {"visits": "many"})
    assert status == 422 and 'class="field has-error"' in text and "values.visits: " in text
    assert 'value="many"' in text and 'value="Ada@Example.com"' in text
    status, text, _ = await admin.post(f"{objects_url}/new", good | {"email": ""})
    assert status == 422 and "email is required" in text
    assert (await services.crm.objects.search(crm_type.id, {}))[0] == []

    status, _, _ = await admin.post(f"{objects_url}/new", good)
    assert status == 302
    [found], _ = await services.crm.objects.search(crm_type.id, {})
    assert found.values == {"email": "ada@example.com", "visits": 3, "tier": "gold",
                            "birthday": "1990-05-01", "phone": "+33612345678"}
    assert await audited(services, "crm_object.create", found.id)
    status, text, _ = await admin.post(f"{objects_url}/new", {"email": "ADA@example.com"})
    assert status == 422 and "another object already has &#39;ada@example.com&#39;" in text
    assert 'class="field has-error"' in text
    assert len((await services.crm.objects.search(crm_type.id, {}))[0]) == 1

    status, text, _ = await admin.get(objects_url)
    assert "ada@example.com" in text and "+33612345678" in text and "gold" in text
    status, text, _ = await admin.get(f"{objects_url}/{found.id}")
    assert 'value="ada@example.com"' in text and '<option value="gold" selected>' in text
    assert f'name="revision" value="{found.revision}"' in text
    status, _, _ = await admin.post(f"{objects_url}/{found.id}",
                                    good | {"visits": "4", "tier": "", "phone": "",
                                            "revision": str(found.revision)})
    assert status == 302
    saved = await services.crm.objects.get(found.id)
    assert saved.values["visits"] == 4 and "tier" not in saved.values
    assert "phone" not in saved.values
    assert await audited(services, "crm_object.update", found.id)
    status, text, _ = await admin.post(f"{objects_url}/{found.id}", good | {"tier": "platinum"})
    assert status == 422 and "expected one of gold, silver" in text
    assert (await services.crm.objects.get(found.id)).values == saved.values
    # a form shown before the last save: refused with a sentence, the save kept
    status, text, _ = await admin.post(f"{objects_url}/{found.id}",
                                       good | {"visits": "9", "revision": str(found.revision)})
    assert status == 422 and "changed meanwhile by someone else; reload it" in text
    assert (await services.crm.objects.get(found.id)).values == saved.values

    status, _, _ = await admin.post(f"{objects_url}/{found.id}/delete")
    assert status == 302 and (await services.crm.objects.search(crm_type.id, {}))[0] == []
    assert await audited(services, "crm_object.delete", found.id)


async def test_the_grid_is_filtered_and_paged(
    admin: Pages, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    crm_type = await customer(services)
    for number in range(5):
        await services.crm.objects.create(ACTOR, crm_type.id, {
            "email": f"c{number}@example.com", "visits": number % 2})
    monkeypatch.setattr(crm_objects, "PAGE_SIZE", 2)
    objects_url = f"/admin/crm2/types/{crm_type.id}/objects"
    status, text, _ = await admin.get(objects_url)
    assert text.count("data-object=") == 2 and "Next page" in text
    status, text, _ = await admin.get(f"{objects_url}?field=visits&value=1")
    assert status == 200 and "c1@example.com" in text and "c3@example.com" in text
    assert "c0@example.com" not in text and "Next page" not in text
    status, text, _ = await admin.get(f"{objects_url}?field=visits&value=0")
    assert text.count("data-object=") == 2 and "field=visits" in text  # the next page keeps it
    status, text, _ = await admin.get(f"{objects_url}?field=email&value=C4@example.com")
    assert text.count("data-object=") == 1 and "c4@example.com" in text
    status, text, _ = await admin.get(f"{objects_url}?field=visits&value=lots")
    assert status == 422 and "values.visits: " in text and "data-object=" not in text


async def test_forms_need_the_csrf_token(admin: Pages, services: Services) -> None:
    crm_type = await customer(services)
    found = await services.crm.objects.create(ACTOR, crm_type.id, {"email": "a@b.fr"})
    types_url, objects_url = "/admin/crm2/types", f"/admin/crm2/types/{crm_type.id}/objects"
    await admin.get(types_url)
    for path in (f"{types_url}/new", f"{types_url}/{crm_type.id}",
                 f"{types_url}/{crm_type.id}/delete", f"{objects_url}/new",
                 f"{objects_url}/{found.id}", f"{objects_url}/{found.id}/delete"):
        status, text, _ = await admin.post(path, {"name": "x", "email": "c@d.fr"}, csrf=False)
        assert status == 400 and "This form has expired" in text, path
    assert (await services.crm.types.get(crm_type.id)).name == "customer"
    assert (await services.crm.objects.get(found.id)).values == {"email": "a@b.fr"}
    assert len(await services.store.crm_types.all()) == 1


async def test_readers_see_no_buttons_and_change_nothing(app: Quart, services: Services) -> None:
    crm_type = await customer(services)
    found = await services.crm.objects.create(ACTOR, crm_type.id, {"email": "a@b.fr"})
    await services.accounts.create_role(ACTOR, "crm-readers", ["crm:read"])
    await services.accounts.create_user(
        ACTOR, email="crm@example.com", password="crm reader password", roles=["crm-readers"])
    pages = Pages(app)
    await pages.log_in("crm@example.com", "crm reader password")
    entries = await services.store.audit.collection.count_documents({})
    types_url, objects_url = "/admin/crm2/types", f"/admin/crm2/types/{crm_type.id}/objects"
    status, text, _ = await pages.get(types_url)
    assert status == 200 and "customer" in text and "CRM V2 types" in text
    assert "New type" not in text and ">Edit<" not in text and "Delete" not in text
    status, text, _ = await pages.get(objects_url)
    assert status == 200 and "a@b.fr" in text
    assert "New object" not in text and "Edit" not in text and "Delete" not in text
    for path in (f"{types_url}/new", f"{types_url}/{crm_type.id}", f"{objects_url}/new",
                 f"{objects_url}/{found.id}"):
        status, _, _ = await pages.get(path)
        assert status == 403, path
    for path in (f"{types_url}/new", f"{types_url}/{crm_type.id}",
                 f"{types_url}/{crm_type.id}/delete", f"{objects_url}/new",
                 f"{objects_url}/{found.id}", f"{objects_url}/{found.id}/delete"):
        status, _, _ = await pages.post(path, {"name": "x", "email": "c@d.fr"})
        assert status == 403, path
    assert (await services.crm.types.get(crm_type.id)).name == "customer"
    assert (await services.crm.objects.get(found.id)).values == {"email": "a@b.fr"}
    assert await services.store.audit.collection.count_documents({}) == entries
