"""Another system opens a conversation through the API, against a fake Twilio: the routing
runs and writes to the contact once per idempotency key; WhatsApp's 24-hour window, an
opt-out, a conversation under way and an unknown Telegram contact are refused in words."""

from __future__ import annotations

import asyncio

import pytest

from routing_core.engine.outside_starts import OutsideStart
from routing_core.infra.errors import Conflict, Invalid
from routing_core.model.audit import SYSTEM
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, login
from tests.integration.test_whatsapp import (  # noqa: F401 (fixtures)
    ADA,
    WhatsApp,
    twilio,
    whatsapp,
    whatsapp_app,
)
from tests.support.routings import action, production_routing, tree, webchat_entry_point

TEMPLATE_SID = "HX" + "7" * 32
REMINDER = tree(
    action("remind", "message_wait", {
        "text": "Hello {{ contact.name }}, your appointment is at {{ vars.time }}. Still OK?",
        "into": "answer"}, answered="thanks"),
    action("thanks", "message", {"text": "Noted: {{ vars.answer }}"}),
)


async def test_the_same_key_twice_opens_one_conversation_and_writes_once(
    whatsapp: WhatsApp,  # noqa: F811
):
    services = whatsapp.services
    entry_point = await whatsapp.entry_point(REMINDER, template_content_sid=TEMPLATE_SID)
    await services.accounts.ensure_builtin_roles()
    await services.accounts.ensure_first_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
    api = await login(whatsapp.app, ADMIN_EMAIL, ADMIN_PASSWORD)
    path = f"/api/entry-points/{entry_point.id}/conversations"
    body = {"contact": "0044 7700 900123", "variables": {"time": "10:30"},
            "contact_name": "Ada"}
    first, second = await asyncio.gather(
        api.post(path, body, headers={"Idempotency-Key": "appointment-17"}),
        api.post(path, body, headers={"Idempotency-Key": "appointment-17"}))
    assert sorted([first.status_code, second.status_code]) == [200, 201]
    assert first.json_body["id"] == second.json_body["id"]
    await services.runtime.idle()
    await whatsapp.sweep_until(lambda: _sent(whatsapp, 1))
    [sent] = whatsapp.twilio.sent()
    assert sent.get("To") == f"whatsapp:{ADA}"
    assert sent.get("ContentSid") == TEMPLATE_SID  # she never wrote: the template goes
    assert "appointment is at 10:30" in (sent.get("ContentVariables") or "")
    again = await api.post(path, {**body, "idempotency_key": "appointment-17"})
    assert again.status_code == 200 and again.json_body["id"] == first.json_body["id"]
    [interaction] = await services.store.interactions.all({})
    assert (interaction.kind, interaction.contact, interaction.variables["time"]) == (
        "api", ADA, "10:30")
    [audited] = await services.store.audit.all({"action": "interaction.start"})
    assert audited.target_id == interaction.id and audited.actor == ADMIN_EMAIL

    await whatsapp.message(entry_point, "SM" + "5" * 32, "Yes")  # her answer resumes it
    await whatsapp.sweep_until(lambda: _sent(whatsapp, 2))
    assert whatsapp.twilio.sent()[-1].get("Body") == "Noted: Yes"

    other = await api.post(path, {**body, "contact": "+33612345678"},
                           headers={"Idempotency-Key": "appointment-17"})
    assert other.status_code == 409 and "another contact" in other.json_body["error"]["message"]
    keyless = await api.post(path, body)
    assert keyless.status_code == 422
    assert "idempotency key" in keyless.json_body["error"]["message"]


async def _sent(app: WhatsApp, count: int) -> bool:
    return len(app.twilio.sent()) >= count


async def test_what_a_provider_or_the_contact_would_refuse_is_refused_in_words(
    whatsapp: WhatsApp,  # noqa: F811
):
    services = whatsapp.services
    starts = services.outside_starts
    entry_point = await whatsapp.entry_point(REMINDER)  # no template
    start = OutsideStart(entry_point_id=entry_point.id, contact=ADA, idempotency_key="k1",
                         variables={"time": "9:00"})
    with pytest.raises(Conflict, match="24 hours.*template"):
        await starts.start(SYSTEM, start)
    await whatsapp.message(entry_point, "SM" + "1" * 32, "Hi")  # she writes: window open
    assert await _refusal(starts, start) == "busy"  # …and is in a conversation
    await _end_all(services)
    interaction, created = await starts.start(SYSTEM, start, wait=True)
    assert created and interaction.kind == "api"
    await whatsapp.sweep_until(lambda: _sent(whatsapp, 2))
    assert (whatsapp.twilio.sent()[-1].get("Body") or "").endswith("at 9:00. Still OK?")
    await _end_all(services)
    await whatsapp.message(entry_point, "SM" + "2" * 32, "STOP")
    assert await _refusal(starts, OutsideStart(entry_point.id, ADA, "k3")) == "opted_out"
    web = await webchat_entry_point(services, await production_routing(
        services, "web", REMINDER))
    assert await _refusal(starts, OutsideStart(web.id, "visitor-1", "k4")) == \
        "unknown_contact"
    with pytest.raises(Invalid, match="international form"):
        await starts.start(SYSTEM, OutsideStart(entry_point.id, "not a phone", "k5"))


async def _end_all(services) -> None:
    for active in await services.store.interactions.all({"active": True}):
        await services.runtime.end_interaction(active.id, "ended by test")


async def _refusal(starts, start: OutsideStart) -> str:
    try:
        await starts.start(SYSTEM, start)
    except Conflict as error:
        return error.code or ""
    return "accepted"
