"""call_smart_routing against a real mongod: a called routing runs (waits included, across
steps), then its caller goes on at the next action with the called routing's variables;
nested calls come back in order; a routing without production is an error."""

from __future__ import annotations

import pytest

from tests.integration.test_runtime import Clock, inbound, make_runtime, sent_texts
from tests.support.routings import action, production_routing, tree, webchat_entry_point

IDENTIFY = tree(
    action("order", "message_wait", {"text": "Your order number?", "into": "order"},
           answered="mark"),
    action("mark", "variables_assign", {"assignments": [
        {"variable": "checked", "value": "yes"},
        {"variable": "name", "value": "overwritten"}]}),
)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def caller(into: str | None) -> dict:
    params = {"routing": "identify", **({"into": into} if into else {})}
    shown = "vars.identity.order" if into else "vars.order"
    return tree(
        action("name", "message_wait", {"text": "Your name?", "into": "name"},
               answered="call"),
        action("call", "call_smart_routing", params, next="thanks"),
        action("thanks", "message", {
            "text": f"Thanks {{{{ vars.name }}}}: order {{{{ {shown} }}}}"}),
    )


async def test_a_called_routing_comes_back_with_its_variables_into_one(services, clock):
    runtime = make_runtime(services, clock)
    await production_routing(services, "identify", IDENTIFY)
    entry_point = await webchat_entry_point(
        services, await production_routing(services, "care", caller("identity")))
    for number, text in enumerate(["hi", "Ada", "A-17"]):
        await runtime.receive(inbound(entry_point.id, text, str(number)), wait=True)
    assert await sent_texts(services) == ["Your name?", "Your order number?",
                                          "Thanks Ada: order A-17"]
    [interaction] = await services.store.interactions.all({})
    assert interaction.variables == {"name": "Ada", "identity": {
        "order": "A-17", "checked": "yes", "name": "overwritten"}}
    assert interaction.calls == [] and interaction.end_reason == "end of tree"
    care = await services.store.routings.find_one({"reference": "care"})
    assert interaction.routing_id == care.id  # back in the caller
    events = await services.store.events.of_interaction(interaction.id)
    assert [event.type for event in events if event.type in ("call", "return")] == [
        "call", "return"]


async def test_without_into_the_called_routing_sets_the_callers_variables(services, clock):
    runtime = make_runtime(services, clock)
    await production_routing(services, "identify", IDENTIFY)
    entry_point = await webchat_entry_point(
        services, await production_routing(services, "care", caller(None)))
    for number, text in enumerate(["hi", "Ada", "B-2"]):
        await runtime.receive(inbound(entry_point.id, text, str(number)), wait=True)
    assert (await sent_texts(services))[-1] == "Thanks overwritten: order B-2"


async def test_nested_calls_come_back_in_order_and_a_missing_production_is_an_error(
    services, clock
):
    runtime = make_runtime(services, clock)
    await production_routing(services, "inner", tree(
        action("say", "message", {"text": "inner"})))
    await production_routing(services, "middle", tree(
        action("call", "call_smart_routing", {"routing": "inner"}, next="say"),
        action("say", "message", {"text": "middle"})))
    entry_point = await webchat_entry_point(services, await production_routing(
        services, "outer", tree(
            action("call", "call_smart_routing", {"routing": "middle"}, next="say"),
            action("say", "message", {"text": "outer"}, next="missing"),
            action("missing", "call_smart_routing", {"routing": "nowhere"}, next="never"),
            action("never", "message", {"text": "never"}))))
    await runtime.receive(inbound(entry_point.id, "hi", "1"), wait=True)
    assert await sent_texts(services) == ["inner", "middle", "outer"]
    [interaction] = await services.store.interactions.all({})
    assert interaction.end_reason == "error"
    events = await services.store.events.of_interaction(interaction.id)
    assert any("'nowhere' has no production" in event.data.get("message", "")
               for event in events if event.type == "error")


async def test_a_routing_calling_itself_stops_at_the_depth_limit(services, clock):
    runtime = make_runtime(services, clock)
    entry_point = await webchat_entry_point(services, await production_routing(
        services, "again", tree(
            action("call", "call_smart_routing", {"routing": "again"}, next="say"),
            action("say", "message", {"text": "back"}))))
    await runtime.receive(inbound(entry_point.id, "hi", "1"), wait=True)
    [interaction] = await services.store.interactions.all({})
    assert interaction.end_reason == "error"
    events = await services.store.events.of_interaction(interaction.id)
    assert any("more than 10 deep" in event.data.get("message", "")
               for event in events if event.type == "error")
