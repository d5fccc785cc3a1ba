"""Consent keywords against a real mongod: STOP ends the conversation whatever the routing
was asking, is recorded once, silences the bot (its messages kept as dead letters that
cannot be resent) and the agent; START lifts it; each entry point has its own words."""

from __future__ import annotations

import html
import re

import pytest

from routing_core.infra.errors import Conflict
from routing_core.model.audit import SYSTEM
from routing_core.model.entry_point import Consent
from routing_core.model.interaction import DeliveryStatus
from tests.integration.test_admin_pages import Pages, admin  # noqa: F401 (a fixture)
from tests.integration.test_runtime import Clock, inbound, make_runtime
from tests.support.html_forms import form_values
from tests.support.routings import action, production_routing, tree, webchat_entry_point

ASK = tree(
    action("ask", "message_wait", {"text": "Your name?", "into": "name"}, answered="thanks"),
    action("thanks", "message", {"text": "Thanks {{ vars.name }}"}),
)
STOPPED = Consent().opt_out_reply
STARTED = Consent().opt_in_reply


async def sent_texts(services, contact: str = "alice") -> list[str]:
    """What reached the customer (web chat: stored as sent), not what was kept."""
    events = await services.store.events.all({"contact": contact, "type": "outbound",
                                              "status": {"$ne": "failed"}})
    return [event.data["text"] for event in events]


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def test_stop_ends_the_conversation_mid_question_and_skips_the_end_routing(
    services, clock
):
    runtime = make_runtime(services, clock)
    start = await production_routing(services, "asks", ASK)
    end = await production_routing(services, "survey", tree(
        action("rate", "message", {"text": "Rate us?"})), type="end")
    entry_point = await webchat_entry_point(services, start, end_routing=end)
    await runtime.receive(inbound(entry_point.id, "hi", "1"), wait=True)
    await runtime.receive(inbound(entry_point.id, "ARRET.", "2"), wait=True)  # ARRÊT, typed
    await runtime.idle()
    assert await sent_texts(services) == ["Your name?", STOPPED]  # no "Thanks", no survey
    [interaction] = await services.store.interactions.all({"contact": "alice"})
    assert (interaction.active, interaction.end_reason, interaction.variables) == (
        False, "opted out", {})
    events = await services.store.events.of_interaction(interaction.id)
    assert [event.data["keyword"] for event in events if event.type == "opt_out"] == ["ARRET."]

    await runtime.receive(inbound(entry_point.id, "stop", "3"), wait=True)  # again: silence
    await runtime.receive(inbound(entry_point.id, "hello", "4"), wait=True)
    await runtime.idle()
    assert await sent_texts(services) == ["Your name?", STOPPED]
    contact = await services.store.contacts.find_one({"external_id": "alice"})
    assert [change.opted_out for change in contact.consent_history] == [True]  # once
    kept = await services.store.events.all({"contact": "alice", "type": "outbound",
                                            "status": DeliveryStatus.failed.value})
    assert [event.data["text"] for event in kept] == ["Your name?"]
    with pytest.raises(Conflict, match="opted back in"):
        await services.outbox.replay(kept[0].id, SYSTEM)

    await runtime.receive(inbound(entry_point.id, "Start", "5"), wait=True)
    await runtime.receive(inbound(entry_point.id, "hi again", "6"), wait=True)
    await runtime.idle()
    texts = await sent_texts(services)
    assert texts[-2:] == [STARTED, "Your name?"]
    replayed = await services.outbox.replay(kept[0].id, SYSTEM)  # now it may go
    assert replayed.status is DeliveryStatus.pending


async def test_a_start_word_from_a_contact_who_never_stopped_goes_to_the_routing(
    services, clock
):
    runtime = make_runtime(services, clock)
    entry_point = await webchat_entry_point(services, await production_routing(
        services, "asks", ASK))
    await runtime.receive(inbound(entry_point.id, "hi", "1"), wait=True)
    await runtime.receive(inbound(entry_point.id, "START", "2"), wait=True)
    assert await sent_texts(services) == ["Your name?", "Thanks START"]


async def test_each_entry_point_has_its_own_words_and_an_empty_list_turns_it_off(
    services, clock
):
    runtime = make_runtime(services, clock)
    routing = await production_routing(services, "asks", ASK)
    quiet = await webchat_entry_point(services, routing, address="quiet", consent={
        "opt_out_keywords": ["basta"], "opt_in_keywords": ["again"], "opt_out_reply": ""})
    off = await webchat_entry_point(services, routing, address="off", consent={
        "opt_out_keywords": [], "opt_in_keywords": []})
    await runtime.receive(inbound(quiet.id, "hi", "1", contact="bo"), wait=True)
    await runtime.receive(inbound(quiet.id, "STOP", "2", contact="bo"), wait=True)
    await runtime.receive(inbound(quiet.id, "hi", "3", contact="bo"), wait=True)
    await runtime.receive(inbound(quiet.id, "Basta!", "4", contact="bo"), wait=True)
    assert await sent_texts(services, "bo") == ["Your name?", "Thanks STOP", "Your name?"]
    await runtime.receive(inbound(off.id, "hi", "5", contact="cy"), wait=True)
    await runtime.receive(inbound(off.id, "stop", "6", contact="cy"), wait=True)
    assert await sent_texts(services, "cy") == ["Your name?", "Thanks stop"]


async def test_a_keyword_in_both_lists_is_refused_in_words(services):
    routing = await production_routing(services, "asks", ASK)
    with pytest.raises(Exception, match="cannot both opt out and opt in"):
        await webchat_entry_point(services, routing, consent={
            "opt_out_keywords": ["STOP"], "opt_in_keywords": ["stop!"]})


async def test_the_entry_point_form_edits_the_words_and_says_what_is_wrong_beside_them(
    services, admin: Pages,  # noqa: F811
):
    routing = await production_routing(services, "asks", ASK)
    entry_point = await webchat_entry_point(services, routing)
    page = f"/admin/entry-points/{entry_point.id}"
    _, text, _ = await admin.get(page)
    values = form_values(text, page)
    assert values["consent.opt_out_keywords"] == ", ".join(Consent().opt_out_keywords)
    status, text, _ = await admin.post(page, {**values, "consent.opt_in_keywords": "go, Stop"})
    assert status == 422
    assert re.search(r'name="consent.opt_in_keywords" value="go, Stop"', text)
    assert "cannot both opt out and opt in" in html.unescape(text)
    status, _, _ = await admin.post(page, {**values, "consent.opt_out_keywords": "ENOUGH, Basta",
                                           "consent.opt_out_reply": ""})
    assert status == 302
    saved = (await services.store.entry_points.get(entry_point.id)).consent
    assert (saved.opt_out_keywords, saved.opt_out_reply, saved.opt_in_keywords) == (
        ["ENOUGH", "Basta"], "", Consent().opt_in_keywords)
