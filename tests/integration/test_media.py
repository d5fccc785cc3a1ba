"""A customer's media against a fake Twilio: a WhatsApp photo and a shared place are kept
as media of the message, shown in the conversation viewer through our own address (never
Twilio's), fetched once with the account's credentials, then served from our copy; a
message awaiting a file takes it, one awaiting a place takes the place."""

from __future__ import annotations

import io
from typing import Any

from routing_core.model.audit import SYSTEM
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.integration.test_admin_pages import Pages
from tests.integration.test_whatsapp import (  # noqa: F401 (fixtures)
    ADA,
    OURS,
    WhatsApp,
    twilio,
    whatsapp,
    whatsapp_app,
)
from tests.support.fake_twilio import whatsapp_message
from tests.support.routings import action, tree

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                    "0000000d4944415478da63f8cfc0f01f0005000201a5f0c9a00000000049454e44ae426082")
CLAIM = tree(
    action("receipt", "message_wait", {"text": "A photo of the receipt?", "into": "receipt",
                                       "validate": "media"}, answered="where"),
    action("where", "message_wait", {"text": "Where are you?", "into": "where",
                                     "validate": "location"}, answered="thanks"),
    action("thanks", "message", {"text": "Thanks: a {{ vars.receipt[0].kind }} near "
                                         "{{ vars.where.name }}."}),
)


async def test_a_whatsapp_photo_and_place_are_kept_shown_and_fetched_once(
    whatsapp: WhatsApp,  # noqa: F811
):
    services = whatsapp.services
    entry_point = await whatsapp.entry_point(CLAIM)
    await whatsapp.message(entry_point, "SM" + "1" * 32, "hello")
    photo = whatsapp.twilio.media_url("MM" + "2" * 32, "ME" + "2" * 32, PNG, "image/png")
    await whatsapp.post(f"/webhooks/whatsapp/{entry_point.id}", whatsapp_message(
        sid="MM" + "2" * 32, sender=ADA, to=OURS, media=[(photo, "image/png")]))
    place = whatsapp_message(sid="SM" + "3" * 32, sender=ADA, to=OURS)
    place |= {"Latitude": "48.8584", "Longitude": "2.2945", "Address": "Eiffel Tower"}
    await whatsapp.post(f"/webhooks/whatsapp/{entry_point.id}", place)
    await whatsapp.sweep_until(lambda: _replied(whatsapp))
    assert whatsapp.twilio.sent()[-1].get("Body") == "Thanks: a image near Eiffel Tower."
    [interaction] = await services.store.interactions.all({})
    assert interaction.variables["receipt"] == [{"kind": "image", "content_type": "image/png"}]
    assert interaction.variables["where"]["latitude"] == 48.8584

    await services.accounts.ensure_builtin_roles()
    await services.accounts.ensure_first_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
    admin = Pages(whatsapp.app)
    await admin.log_in()
    _, page, _ = await admin.get(f"/admin/interactions/{interaction.id}")
    assert "api.twilio.com" not in page and whatsapp.twilio.url not in page  # ours only
    [event] = await services.store.events.all({"type": "inbound", "data.media.kind": "image"})
    assert f'src="/media/{event.id}/0"' in page
    assert "openstreetmap.org/?mlat=48.8584" in page
    for _ in range(2):  # the second time from our copy
        served = await admin.client.get(f"/media/{event.id}/0")
        assert served.status_code == 200 and await served.get_data() == PNG
        assert served.headers["Content-Type"] == "image/png"
        assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert len(whatsapp.twilio.media_fetches) == 1
    stored = await services.store.events.get(event.id)
    assert stored.data["media"][0]["stored"]

    anonymous = await whatsapp.app.test_client().get(f"/media/{event.id}/0")
    assert anonymous.status_code == 401
    missing = await admin.client.get(f"/media/{event.id}/5")
    assert missing.status_code == 404
    user = await services.accounts.create_user(SYSTEM, email="agent@example.com",
                                               password="an agent password", roles=["agent"])
    outsider = Pages(whatsapp.app)
    await outsider.log_in(user.email, "an agent password")
    refused = await outsider.client.get(f"/media/{event.id}/0")
    assert refused.status_code == 403  # an agent who does not hold the conversation


async def _replied(whatsapp: WhatsApp) -> bool:  # noqa: F811
    return any("Thanks" in (sent.get("Body") or "") for sent in whatsapp.twilio.sent())


async def test_erasing_the_contact_removes_our_copies_of_their_files(
    whatsapp: WhatsApp,  # noqa: F811
):
    services = whatsapp.services
    entry_point = await whatsapp.entry_point(CLAIM)
    photo = whatsapp.twilio.media_url("MM" + "4" * 32, "ME" + "4" * 32, PNG, "image/png")
    await whatsapp.post(f"/webhooks/whatsapp/{entry_point.id}", whatsapp_message(
        sid="MM" + "4" * 32, sender=ADA, to=OURS, media=[(photo, "image/png")]))
    [event] = await services.store.events.all({"type": "inbound"})
    content = await services.media.content(event, 0, (await services.media.item(event.id, 0))[1])
    assert content.data == PNG
    assert await services.store.database["media.chunks"].count_documents({}) == 1
    [contact] = await services.store.contacts.all({"external_id": ADA})
    counts = await services.erasure.erase(SYSTEM, contact.id)
    assert counts["media_files"] == 1
    for name in ("media.files", "media.chunks"):
        assert await services.store.database[name].count_documents({}) == 0
    assert (await services.store.events.get(event.id)).data == {"erased": True}


async def test_a_web_chat_visitor_sends_a_file_that_only_they_can_name(app, services):
    from quart.datastructures import FileStorage

    from tests.integration.test_webchat import receive
    from tests.support.routings import production_routing, webchat_entry_point

    await webchat_entry_point(services, await production_routing(services, "files", tree(
        action("ask", "message_wait", {"text": "Your file?", "into": "file",
                                       "validate": "media"}, answered="thanks"),
        action("thanks", "message", {"text": "Got {{ vars.file[0].name }}."}))))
    client = app.test_client()

    async def upload(visitor: str, key: str, data: bytes, kind: str) -> Any:
        return await client.post(
            f"/chat/web/upload?visitor={visitor}&key={key}",
            files={"file": FileStorage(io.BytesIO(data), filename="receipt.png",
                                       content_type=kind)})

    async with client.websocket("/chat/web/ws?visitor=visitor-file1") as socket:
        key = (await receive(socket, "history"))["key"]
        await socket.send_json({"type": "message", "text": "hi", "id": "m1"})
        assert (await receive(socket))["text"] == "Your file?"
        refused = await upload("visitor-file1", "wrong", PNG, "image/png")
        assert refused.status_code == 401
        refused = await upload("visitor-file1", key, b"MZ...", "application/x-msdownload")
        assert refused.status_code == 415
        assert "cannot be sent" in (await refused.get_json())["error"]["message"]
        sent = await upload("visitor-file1", key, PNG, "image/png")
        assert sent.status_code == 201
        assert sent.headers["Access-Control-Allow-Origin"] == "*"
        uploaded = await sent.get_json()
        assert (uploaded["kind"], uploaded["size"]) == ("image", len(PNG))
        await socket.send_json({"type": "message", "text": "", "media": [uploaded["id"]],
                                "id": "m2"})
        assert (await receive(socket))["text"] == "Got receipt.png."
    async with client.websocket("/chat/web/ws?visitor=visitor-file2") as other:
        await receive(other, "history")
        await other.send_json({"type": "message", "text": "mine", "media": [uploaded["id"]],
                               "id": "m3"})
        assert "unknown" in (await receive(other, "error"))["message"]  # not theirs
    [event] = await services.store.events.all({"type": "inbound", "data.media.kind": "image"})
    admin = Pages(app)
    await admin.log_in()
    served = await admin.client.get(f"/media/{event.id}/0")
    assert served.status_code == 200 and await served.get_data() == PNG


async def test_erasing_a_visitor_removes_their_uploads_the_agents_files_and_signals(
    app, services
):
    from routing_core.model.interaction import Channel, Event, Inbound
    from routing_core.model.media import MediaFile
    from tests.support.routings import production_routing, webchat_entry_point

    entry_point = await webchat_entry_point(services, await production_routing(
        services, "files", tree(action("ask", "message_wait", {"text": "Your file?",
                                                               "into": "file"}))))
    await services.runtime.receive(Inbound(
        channel=Channel.webchat, entry_point_id=entry_point.id, contact="visitor-erase",
        provider_id="m1", text="hi"), wait=True)
    [interaction] = await services.store.interactions.all({"contact": "visitor-erase"})
    files = services.store.media_files
    await files.put(MediaFile(PNG, "image/png", "never-sent.png"),
                    entry_point=entry_point.id, visitor="visitor-erase")
    await files.put(MediaFile(b"%PDF invoice", "application/pdf", "invoice.pdf"),
                    interaction=interaction.id, agent="someone")
    await services.store.signals.insert(Event(
        id="typing:1", interaction_id=interaction.id, type="typing",
        entry_point_id=entry_point.id, contact="visitor-erase", channel=Channel.webchat))
    counts = await services.erasure.erase(SYSTEM, interaction.contact_id)
    assert (counts["media_files"], counts["signals"]) == (2, 1)
    for name in ("media.files", "media.chunks", "signals"):
        assert await services.store.database[name].count_documents({}) == 0
