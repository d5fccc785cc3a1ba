"""Contacts against a real mongod: found by name or address across channels, two
addresses of one person merged (one page, shared variables), exported as JSON, and erased
so that no collection keeps anything personal about them."""

from __future__ import annotations

import json

import pytest

from routing_core.infra.errors import Conflict
from routing_core.model.audit import SYSTEM
from routing_core.model.interaction import Channel, Inbound
from routing_core.services import Services
from tests.conftest import Api
from tests.integration.test_admin_pages import Pages, admin  # noqa: F401 (a fixture)
from tests.support.routings import action, production_routing, tree, webchat_entry_point

NAME, PHONE, SECRET = "Zoé Lovelace", "+447700900123", "my code is 4242-XYZZY"
SURVEY = {"name": "csat", "questions": [
    {"id": "comment", "kind": "text", "text": "Anything else?"}]}
EVERYTHING = tree(
    action("ask", "message_wait", {"text": "Your secret?", "into": "secret"},
           answered="remember"),
    action("remember", "variables_assign", {"assignments": [
        {"variable": "contact.secret", "value": "{{ vars.secret }}"}]}, next="case"),
    action("case", "case_create", {"title": "Case of {{ contact.name }}",
                                   "fields": {"secret": "{{ vars.secret }}"}}, next="task"),
    action("task", "task_create", {"title": "Call {{ contact.name }}",
                                   "description": "{{ vars.secret }}",
                                   "assignee": {"kind": "queue", "ref": "support"}},
           next="card"),
    action("card", "crm_create", {"fields": {"name": "{{ contact.name }}",
                                             "secret": "{{ vars.secret }}"}}, next="target"),
    action("target", "campaign_sms_target", {"campaign": "promo",
                                             "fields": {"name": "{{ contact.name }}"}},
           next="echo"),
    action("echo", "message", {"text": "Noted, {{ contact.name }}: {{ vars.secret }}"},
           next="survey"),
    action("survey", "survey", {"survey": "csat"}, completed="bye"),
    action("bye", "message_wait", {"text": "Anything more, {{ contact.name }}?",
                                   "into": "more"}),
)


def message(entry_point_id: str, text: str, provider_id: str, contact: str = PHONE,
            phone: str | None = PHONE) -> Inbound:
    return Inbound(channel=Channel.webchat, entry_point_id=entry_point_id, contact=contact,
                   provider_id=provider_id, text=text, contact_name=NAME, contact_phone=phone)


async def everything_about_zoe(services: Services) -> str:
    """A contact with personal data in every collection a conversation reaches; the
    entry point's id."""
    await services.campaigns.create(SYSTEM, name="promo", kind="sms", message="Hello")
    await services.surveys.create(SYSTEM, **SURVEY)
    entry_point = await webchat_entry_point(services, await production_routing(
        services, "everything", EVERYTHING))
    for number, text in enumerate(["hello", SECRET, f"{SECRET} again"]):
        await services.runtime.receive(message(entry_point.id, text, str(number)), wait=True)
    await services.runtime.idle()
    return entry_point.id


async def personal_data_left(services: Services) -> dict[str, list[str]]:
    """Every document of every collection that still mentions the person."""
    found: dict[str, list[str]] = {}
    for name in await services.store.database.list_collection_names():
        async for document in services.store.database[name].find({}):
            text = json.dumps(document, default=str, ensure_ascii=False)
            if any(datum in text for datum in (NAME, "Zoé", PHONE, "4242-XYZZY")):
                found.setdefault(name, []).append(str(document["_id"]))
    return found


async def test_an_erased_contact_leaves_no_personal_data_in_any_collection(
    services: Services,
):
    entry_point_id = await everything_about_zoe(services)
    before = await personal_data_left(services)
    assert {"contacts", "interactions", "events", "cases", "tasks", "crm_cards",
            "campaign_targets", "survey_answers"} <= set(before), before
    [contact] = await services.store.contacts.all({"external_id": PHONE})
    [interaction] = await services.store.interactions.all({"contact_id": contact.id})
    assert interaction.active  # the last question waits for its answer

    counts = await services.erasure.erase(SYSTEM, contact.id)
    assert await personal_data_left(services) == {}
    assert counts["contacts"] == 1 and counts["events"] > 5
    ended = await services.store.interactions.get(interaction.id)
    assert (ended.active, ended.end_reason) == (False, "erased")
    assert ended.path  # what happened stays countable: statistics still add up
    [audited] = await services.store.audit.all({"action": "contact.erase"})
    assert audited.target_id == contact.id

    # the same number writing again is somebody new
    await services.runtime.receive(message(entry_point_id, "hello", "9"), wait=True)
    [new] = await services.store.contacts.all({"external_id": PHONE})
    assert new.id != contact.id and new.variables == {}


async def test_the_export_holds_everything_the_erasure_removes(services: Services):
    await everything_about_zoe(services)
    [contact] = await services.store.contacts.all({"external_id": PHONE})
    exported = await services.contacts.export(SYSTEM, contact.id)
    text = json.dumps(exported, ensure_ascii=False)  # JSON as it is
    assert NAME in text and "4242-XYZZY" in text
    assert exported["contact"]["variables"] == {"secret": SECRET}
    [conversation] = exported["conversations"]
    said = [event["data"].get("text") for event in conversation["events"]
            if event["type"] == "inbound"]
    assert said == ["hello", SECRET, f"{SECRET} again"]
    assert [len(exported[name]) for name in ("cases", "tasks", "crm_cards")] == [1, 1, 1]
    assert await services.store.audit.all({"action": "contact.export"})


async def test_two_addresses_of_one_person_are_found_merged_and_share_their_variables(
    services: Services,
):
    routing = await production_routing(services, "remember", tree(
        action("save", "variables_assign", {"assignments": [
            {"variable": "contact.visits", "value": "{{ (contact.visits or 0) + 1 }}"}]},
            next="say"),
        action("say", "message", {"text": "Visit {{ contact.visits }}"})))
    web = await webchat_entry_point(services, routing, address="web")
    other = await webchat_entry_point(services, routing, address="shop")
    await services.runtime.receive(message(web.id, "hi", "1"), wait=True)
    await services.runtime.receive(message(other.id, "hi", "2", contact="visitor-7",
                                           phone=None), wait=True)
    found, _ = await services.contacts.search("zoe")  # no accent, any case
    assert {contact.external_id for contact in found} == {PHONE, "visitor-7"}
    found, _ = await services.contacts.search("+44770")
    assert [contact.external_id for contact in found] == [PHONE]
    kept, absorbed = sorted(found + [c for c in (await services.contacts.search("visitor"))[0]],
                            key=lambda contact: contact.external_id)
    merged = await services.contacts.merge(SYSTEM, kept.id, absorbed.id)
    assert merged.variables == {"visits": 1}
    [audited] = await services.store.audit.all({"action": "contact.merge"})
    assert (audited.target_id, audited.details["absorbed"]) == (kept.id, absorbed.id)
    with pytest.raises(Conflict, match="already merged"):
        await services.contacts.merge(SYSTEM, kept.id, absorbed.id)
    found, _ = await services.contacts.search("zoe")
    assert [contact.id for contact in found] == [kept.id]  # one person now
    await services.runtime.receive(message(other.id, "again", "3", contact="visitor-7",
                                                   phone=None),
                                   wait=True)
    await services.runtime.idle()
    assert (await services.store.contacts.get(kept.id)).variables == {"visits": 2}
    profile = await services.contacts.profile(absorbed.id)
    assert profile.contact.id == kept.id
    assert [address.id for address in profile.addresses] == [absorbed.id]
    assert len(profile.conversations) == 3


async def test_the_api_finds_shows_merges_exports_and_erases(services: Services, api: Api):
    await everything_about_zoe(services)
    other = await webchat_entry_point(services, (await services.store.routings.all())[0].id,
                                      address="shop")
    await services.runtime.receive(message(other.id, "hi", "7", contact="visitor-7",
                                           phone=None), wait=True)
    found = await api.get("/api/contacts?q=ZOE")
    assert found.status_code == 200
    assert sorted(item["external_id"] for item in found.json_body["items"]) == [
        PHONE, "visitor-7"]
    kept = next(item for item in found.json_body["items"] if item["external_id"] == PHONE)
    absorbed = next(item for item in found.json_body["items"] if item["id"] != kept["id"])
    merged = await api.post(f"/api/contacts/{kept['id']}/merge", {"other": absorbed["id"]})
    assert merged.status_code == 200
    again = await api.post(f"/api/contacts/{kept['id']}/merge", {"other": absorbed["id"]})
    assert again.status_code == 409 and "already merged" in again.json_body["error"]["message"]
    itself = await api.post(f"/api/contacts/{kept['id']}/merge", {"other": kept["id"]})
    assert itself.status_code == 422 and "itself" in itself.json_body["error"]["message"]
    page = await api.get(f"/api/contacts/{absorbed['id']}")
    assert page.json_body["id"] == kept["id"]
    assert [address["id"] for address in page.json_body["addresses"]] == [absorbed["id"]]
    assert len(page.json_body["conversations"]) == 2
    exported = await api.get(f"/api/contacts/{kept['id']}/export")
    assert exported.status_code == 200
    assert "attachment" in exported.headers["Content-Disposition"]
    assert [item["external_id"] for item in exported.json_body["addresses"]] == ["visitor-7"]
    unconfirmed = await api.post(f"/api/contacts/{kept['id']}/erase", {"confirm": False})
    assert unconfirmed.status_code == 422
    assert "cannot be undone" in unconfirmed.json_body["error"]["message"]
    erased = await api.post(f"/api/contacts/{kept['id']}/erase", {"confirm": True})
    assert erased.status_code == 200 and erased.json_body["erased"]["contacts"] == 2
    assert await personal_data_left(services) == {}
    missing = await api.get("/api/contacts/nobody")
    assert missing.status_code == 404


async def test_the_pages_find_a_contact_merge_download_and_erase_with_a_confirmation(
    services: Services, admin: Pages,  # noqa: F811
):
    await everything_about_zoe(services)
    routing_id = (await services.store.routings.all())[0].id
    other = await webchat_entry_point(services, routing_id, address="shop")
    await services.runtime.receive(message(other.id, "hi", "7", contact="visitor-7",
                                           phone=None), wait=True)
    _, text, _ = await admin.get("/admin/contacts?q=%2B4477")
    assert text.count("data-contact=") == 1 and NAME in text
    [zoe] = await services.store.contacts.all({"external_id": PHONE})
    [visitor] = await services.store.contacts.all({"external_id": "visitor-7"})
    _, text, _ = await admin.get(f"/admin/contacts/{zoe.id}?merge_q=visitor")
    assert f'data-candidate="{visitor.id}"' in text
    assert "Your secret?" not in text and "4242-XYZZY" in text  # the contact variable
    status, _, response = await admin.post(f"/admin/contacts/{zoe.id}/merge",
                                           {"other": visitor.id})
    assert status == 302
    text = await admin.follow(response)
    assert "merged" in text and f'data-address="{visitor.id}"' in text
    status, _, _ = await admin.post(f"/admin/contacts/{zoe.id}/merge", {"other": visitor.id})
    _, text, _ = await admin.get(f"/admin/contacts/{zoe.id}")
    assert "already merged" in text  # said, not a 500
    download = await admin.client.get(f"/admin/contacts/{zoe.id}/export")
    assert download.status_code == 200
    assert NAME in (await download.get_data(as_text=True))
    status, text, _ = await admin.post(f"/admin/contacts/{zoe.id}/erase", {"confirm": "yes"})
    assert status == 422 and "type ERASE to erase" in text
    assert await services.store.contacts.find_one({"external_id": PHONE}) is not None
    status, _, response = await admin.post(f"/admin/contacts/{zoe.id}/erase",
                                           {"confirm": "ERASE"})
    assert status == 302
    text = await admin.follow(response)
    assert "is erased" in text and NAME not in text
    assert await personal_data_left(services) == {}
