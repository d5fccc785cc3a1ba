"""Languages against a real mongod: the contact's language comes from the channel (the
web chat browser's, Telegram's) or an action; each message action's translation in that
language is sent, exactly or by its first part, else the text as typed."""

from __future__ import annotations

import pytest

from routing_core.actions.base import parse_params
from routing_core.infra.errors import Invalid
from routing_core.model.interaction import Channel, Inbound
from tests.integration.test_runtime import Clock, make_runtime, sent_texts
from tests.integration.test_webchat import receive
from tests.support.routings import action, production_routing, tree, webchat_entry_point

DRINK = tree(
    action("ask", "message_choice", {
        "text": "Tea or coffee?",
        "choices": [{"label": "Tea", "value": "tea", "branch": "tea"},
                    {"label": "Coffee", "value": "coffee", "branch": "coffee"}],
        "translations": [
            {"language": "fr", "text": "Thé ou café ?", "choices": ["Thé", "Café"]},
            {"language": "pt-BR", "text": "Chá ou café?"}],
    }, tea="age", coffee="age"),
    action("age", "message_wait", {
        "text": "How old are you?", "into": "age", "validate": "number",
        "retry_text": "A number, please.",
        "translations": [{"language": "fr", "text": "Quel âge avez-vous ?",
                          "retry_text": "Un nombre, s'il vous plaît."}]},
        answered="bye"),
    action("bye", "message", {"text": "Bye {{ vars.age }}!", "translations": [
        {"language": "fr", "text": "Au revoir {{ vars.age }} !"}]}),
)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def said(entry_point_id: str, text: str, number: int, contact: str,
         locale: str | None = None) -> Inbound:
    return Inbound(channel=Channel.webchat, entry_point_id=entry_point_id, contact=contact,
                   provider_id=str(number), text=text, locale=locale)


async def test_a_french_contact_gets_the_french_texts_and_may_answer_in_french(
    services, clock
):
    runtime = make_runtime(services, clock)
    entry_point = await webchat_entry_point(services, await production_routing(
        services, "drink", DRINK))
    for number, text in enumerate(["bonjour", "thé", "vieux", "42"]):
        await runtime.receive(said(entry_point.id, text, number, "zoe", "fr-FR"), wait=True)
    assert await sent_texts(services, "zoe") == [
        "Thé ou café ?", "Quel âge avez-vous ?", "Un nombre, s'il vous plaît.",
        "Au revoir 42 !"]
    outbound = await services.store.events.find_one({"contact": "zoe", "type": "outbound"})
    assert [choice["label"] for choice in outbound.data["choices"]] == ["Thé", "Café"]
    contact = await services.store.contacts.find_one({"external_id": "zoe"})
    assert contact.variables == {"language": "fr-fr"}


async def test_a_language_without_translation_or_blank_texts_fall_back_to_the_routings(
    services, clock
):
    runtime = make_runtime(services, clock)
    entry_point = await webchat_entry_point(services, await production_routing(
        services, "drink", DRINK))
    for number, text in enumerate(["oi", "tea"]):
        await runtime.receive(said(entry_point.id, text, number, "ana", "pt-BR"), wait=True)
    for number, text in enumerate(["hi", "coffee"], start=10):
        await runtime.receive(said(entry_point.id, text, number, "bob", "de"), wait=True)
    assert await sent_texts(services, "ana") == ["Chá ou café?", "How old are you?"]
    assert await sent_texts(services, "bob") == ["Tea or coffee?", "How old are you?"]


async def test_an_action_sets_the_language_for_the_rest_of_the_conversation(
    services, clock
):
    runtime = make_runtime(services, clock)
    entry_point = await webchat_entry_point(services, await production_routing(
        services, "switch", tree(
            action("pick", "variables_assign", {"assignments": [
                {"variable": "contact.language", "value": "fr"}]}, next="bye"),
            action("bye", "message", {"text": "Bye!", "translations": [
                {"language": "fr", "text": "Salut !"}]}))))
    await runtime.receive(said(entry_point.id, "hi", 1, "cy"), wait=True)
    assert await sent_texts(services, "cy") == ["Salut !"]


async def test_the_web_chat_tells_the_browsers_language(app, services):
    await webchat_entry_point(services, await production_routing(services, "drink", DRINK))
    client = app.test_client()
    async with client.websocket("/chat/web/ws?visitor=visitor-fr01&lang=fr-FR") as socket:
        await receive(socket, "history")
        await socket.send_json({"type": "message", "text": "bonjour", "id": "m1"})
        question = await receive(socket)
        assert question["text"] == "Thé ou café ?"
        assert [choice["label"] for choice in question["choices"]] == ["Thé", "Café"]


@pytest.mark.parametrize(("params", "said_"), [
    ({"text": "Hi", "translations": [{"language": "fr", "text": "Salut"},
                                     {"language": "FR", "text": "Coucou"}]}, "language"),
    ({"text": "Hi", "translations": [{"language": "français", "text": "Salut"}]},
     "a language is a code such as fr"),
])
def test_translations_are_checked(params, said_):
    with pytest.raises(Invalid, match=said_):
        parse_params("message", params)


def test_a_translation_gives_one_label_per_choice():
    with pytest.raises(Invalid, match="1 choice label.* for 2 choice"):
        parse_params("message_choice", {
            "text": "Tea or coffee?",
            "choices": [{"label": "Tea", "value": "tea", "branch": "tea"},
                        {"label": "Coffee", "value": "coffee", "branch": "coffee"}],
            "translations": [{"language": "fr", "choices": ["Thé"]}]})
