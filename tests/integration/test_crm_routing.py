"""Whole routings through the web chat: the customer identified by phone in the CRM, a
case opened (and found again in the next conversation), a task, a campaign insertion and
a survey; and the demonstration routing of ``bots/demo/crm_demo.json``, imported and run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from routing_core.model.audit import SYSTEM
from routing_core.routing.portability import import_routing
from tests.conftest import Api
from tests.integration.builders import ok
from tests.integration.test_webchat import receive
from tests.support.routings import action, production_routing, tree, webchat_entry_point

DEMO = Path(__file__).resolve().parents[2] / "bots" / "demo" / "crm_demo.json"
ADA = "+447700900123"
SURVEY = {"name": "csat", "questions": [
    {"id": "rating", "kind": "rating", "text": "How would you rate us?"},
    {"id": "comment", "kind": "text", "text": "Anything else?"}]}
CARE = tree(
    action("ask-phone", "message_wait", {"text": "Your mobile number?", "into": "phone",
                                         "validate": "phone"}, answered="find-card"),
    action("find-card", "crm_associate", {"field": "phone", "value": "{{ vars.phone }}"},
           found="hello", not_found="stranger", several="stranger"),
    action("stranger", "message", {"text": "I do not know you."}),
    action("hello", "message", {"text": "Hello {{ vars.crm.name }}."}, next="find-case"),
    action("find-case", "case_associate", {"lookup": "latest_open"},
           found="known-case", not_found="open-case"),
    action("known-case", "message", {
        "text": "Your case {{ vars.case.reference }} is {{ vars.case.status }}."}),
    action("open-case", "case_create", {"title": "Web chat with {{ vars.crm.name }}",
                                        "fields": {"plan": "{{ vars.crm.plan }}"}},
           next="opened"),
    action("opened", "message", {"text": "I opened case {{ vars.case.reference }}."},
           next="callback"),
    action("callback", "task_create", {"title": "Call {{ vars.crm.name }} back",
                                       "due_in_minutes": 60,
                                       "assignee": {"kind": "queue", "ref": "support"}},
           next="survey"),
    action("survey", "survey", {"survey": "csat"}, completed="thanks"),
    action("thanks", "message", {"text": "Thanks {{ vars.crm.name }}, you gave "
                                         "{{ vars.survey.rating }}/5."}),
)


async def texts_until_choices(socket: Any) -> list[str]:
    """The bot's messages up to (and with) the next one offering choices."""
    texts = []
    while True:
        frame = await receive(socket)
        texts.append(frame["text"])
        if frame.get("choices"):
            return texts


async def say(socket: Any, text: str, count: int = 1) -> list[str]:
    await socket.send_json({"type": "message", "text": text})
    return [(await receive(socket))["text"] for _ in range(count)]


async def test_a_customer_is_identified_gets_a_case_and_answers_a_survey(app, services, api):
    await services.crm.cards.create(SYSTEM, {"name": "Ada", "phone": ADA, "plan": "gold"})
    await services.surveys.create(SYSTEM, **SURVEY)
    routing_id = await production_routing(services, "care", CARE)
    await webchat_entry_point(services, routing_id, address="care")
    client = app.test_client()
    async with client.websocket("/chat/care/ws?visitor=visitor-ada") as socket:
        key = (await receive(socket, "history"))["key"]
        assert await say(socket, "hi") == ["Your mobile number?"]
        await socket.send_json({"type": "message", "text": "+44 7700 900 123"})
        assert await texts_until_choices(socket) == [
            "Hello Ada.", "I opened case CASE-000001.", "How would you rate us?"]
        await socket.send_json({"type": "choice", "value": "5"})
        assert (await receive(socket))["text"] == "Anything else?"
        assert await say(socket, "Quick and kind") == ["Thanks Ada, you gave 5/5."]
    await services.runtime.idle()
    [first] = await services.store.interactions.all({"contact": "visitor-ada"})
    [case] = await services.store.cases.all({})
    assert (case.reference, case.title, case.fields) == (
        "CASE-000001", "Web chat with Ada", {"plan": "gold"})
    assert case.interaction_ids == [first.id] and case.contact_id == first.contact_id
    [task] = await services.store.tasks.all({})
    assert (task.title, task.case_id, task.interaction_id) == (
        "Call Ada back", case.id, first.id)
    assert task.assignee.ref == "support" and task.due_at is not None
    [response] = await services.store.survey_answers.all({})
    assert (response.status, response.answers) == (
        "completed", {"rating": 5, "comment": "Quick and kind"})
    view = ok(await api.get(f"/api/interactions/{first.id}"))
    variables = view["variables"]
    assert variables["crm"]["name"] == "Ada" and variables["case"]["reference"] == "CASE-000001"
    assert variables["survey"] == {"rating": 5, "comment": "Quick and kind"}
    # the next conversation of the same visitor finds the case still open
    async with client.websocket(f"/chat/care/ws?visitor=visitor-ada&key={key}") as socket:
        await receive(socket, "history")
        await socket.send_json({"type": "message", "text": "it's me again"})
        while (await receive(socket))["text"] != "Your mobile number?":
            pass
        assert await say(socket, ADA, 2) == ["Hello Ada.", "Your case CASE-000001 is open."]
    await services.runtime.idle()
    second = (await services.store.cases.get(case.id)).interaction_ids
    assert second[0] == first.id and len(second) == 2


async def create_prerequisites(api: Api, bundle: dict[str, Any]) -> None:
    for path, items in bundle["prerequisites"].items():
        if path.startswith("/api/"):
            for item in items:
                ok(await api.post(path, json=item), 201)


async def test_the_crm_demo_imports_and_runs(app, services, api: Api):
    bundle = json.loads(DEMO.read_text())
    await create_prerequisites(api, bundle)
    routing = await import_routing(services.lifecycle, SYSTEM, bundle)  # what the CLI does
    await webchat_entry_point(services, routing.id, address="crm-demo")
    async with app.test_client().websocket("/chat/crm-demo/ws?visitor=demo-ada") as socket:
        await receive(socket, "history")
        greeting = await say(socket, "hello", 2)
        assert greeting[1] == "To find your file, what is your mobile number?"
        assert await say(socket, "my number") == [
            "Please type the number with its country code, e.g. +44 7700 900123."]
        assert await say(socket, "0044 7700 900123", 2) == [
            "Nice to see you, Ada Lovelace.", "What can we help you with?"]
        await socket.send_json({"type": "message", "text": "My invoice is wrong"})
        assert await texts_until_choices(socket) == [
            "I opened case CASE-000001 for you: quote it when you call us.",
            "An advisor will call you back within two hours.",
            "Would you like our monthly tips by SMS?"]
        await socket.send_json({"type": "choice", "value": "yes"})
        assert await texts_until_choices(socket) == [
            "Done: our next tips will come by SMS.", "How would you rate this conversation?"]
        await socket.send_json({"type": "choice", "value": "4"})
        assert (await receive(socket))["text"] == "Did we answer your question?"
        await socket.send_json({"type": "choice", "value": "yes"})
        assert (await receive(socket))["text"] == "Anything else you would like to tell us?"
        assert await say(socket, "No, thanks") == [
            "Thank you for your answers, Ada Lovelace. Goodbye!"]
    await services.runtime.idle()
    [case] = await services.store.cases.all({})
    assert (case.title, case.fields) == ("My invoice is wrong",
                                         {"channel": "web chat", "phone": ADA})
    [task] = await services.store.tasks.all({})
    assert task.title == "Call Ada Lovelace back about CASE-000001"
    [target] = await services.store.campaign_targets.all({})
    assert (target.phone, target.fields) == (ADA, {"name": "Ada Lovelace"})
    [response] = await services.store.survey_answers.all({})
    assert response.answers == {"rating": 4, "solved": True, "comment": "No, thanks"}



INJECTION = tree(
    action("set", "variables_assign", {"assignments": [
        {"variable": "searched", "value": "{{ {'$regex': '^\\\\+3369'} }}"}]},
        next="find-card"),
    action("find-card", "crm_associate", {"field": "phone", "value": "{{ vars.searched }}"},
           found="hello", not_found="stranger", several="stranger"),
    action("stranger", "message", {"text": "I do not know you."}),
    action("hello", "message", {"text": "Hello {{ vars.crm.name }}, IBAN {{ vars.crm.iban }}."}),
)


async def test_a_template_giving_an_operator_looks_up_nothing(app, services, api):
    """A value template that renders a mapping (``{'$regex': …}``, or a web service's
    answer) never reaches the query: not found, with an error event — no card, no IBAN."""
    await services.crm.cards.create(SYSTEM, {"name": "Ada", "phone": "+33699000001",
                                             "iban": "FR76 3000 6000 0112 3456 7890 189"})
    routing_id = await production_routing(services, "injection", INJECTION)
    await webchat_entry_point(services, routing_id, address="injection")
    async with app.test_client().websocket("/chat/injection/ws?visitor=visitor-mallory") as socket:
        await receive(socket, "history")
        assert await say(socket, "hi") == ["I do not know you."]
    await services.runtime.idle()
    [interaction] = await services.store.interactions.all({"contact": "visitor-mallory"})
    assert interaction.variables["searched"] == {"$regex": "^\\+3369"}  # what it rendered
    errors = [event for event in await services.store.events.of_interaction(interaction.id)
              if event.type == "error"]
    assert any("must be a text, a number or a yes/no" in event.data["message"]
               for event in errors), errors
    assert "crm" not in interaction.variables
