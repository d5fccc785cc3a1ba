"""The campaign runner against a fake Twilio on 127.0.0.1: the campaign's window, its rate,
retries, and WhatsApp campaigns whose replies start conversations.

The app runs on its own database with its sweeper nearly idle; the tests drive runners of
their own, over the app's store, SMS port and WhatsApp client, with a clock they set.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest_asyncio
from quart import Quart

from bots.app import create_app
from config import Settings
from routing_core.business.campaigns import CampaignRunner, Campaigns
from routing_core.model.audit import SYSTEM
from routing_core.model.campaigns import Campaign, CampaignTarget, TargetStatus
from routing_core.model.entry_point import EntryPoint
from routing_core.model.interaction import Channel
from routing_core.services import Services
from tests.support.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, signed, whatsapp_message
from tests.support.routings import action, production_routing, tree

PUBLIC_URL = "https://sr.example.test"
SMS_SENDER = "+15005550006"
OURS = "+14155238886"
ADA, BOB, CY = "+447700900123", "+33612345678", "+15005550007"
MONDAY_0830_PARIS = datetime(2024, 5, 6, 6, 30, tzinfo=UTC)
TEMPLATE = "HX" + "7" * 32


@pytest_asyncio.fixture(scope="module")
async def twilio() -> AsyncIterator[FakeTwilio]:
    fake = FakeTwilio()
    await fake.start()
    yield fake
    await fake.stop()


@pytest_asyncio.fixture(scope="module")
async def campaign_app(settings: Settings, twilio: FakeTwilio) -> AsyncIterator[Quart]:
    configured = settings.model_copy(update={
        "mongodb_database": f"{settings.mongodb_database}_campaigns",
        "twilio_api_base": twilio.url, "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN, "sms_sender": SMS_SENDER, "public_url": PUBLIC_URL,
        "sweep_seconds": 60.0,
    })
    app = create_app(configured)
    async with app.test_app():
        yield app
        built: Services = app.extensions["services"]
        await built.store.client.drop_database(configured.mongodb_database)


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Runner:
    services: Services
    twilio: FakeTwilio
    clock: Clock
    campaigns: Campaigns
    runner: CampaignRunner

    async def campaign(self, **data: Any) -> Campaign:
        return await self.campaigns.create(SYSTEM, **{"status": "running", **data})

    async def target(self, campaign: Campaign, phone: str, **data: Any) -> CampaignTarget:
        return await self.campaigns.add(SYSTEM, campaign.id, phone=phone, **data)

    async def targets(self) -> dict[str, CampaignTarget]:
        return {target.phone: target
                for target in await self.services.store.campaign_targets.all({})}

    def sent_to(self) -> list[str | None]:
        """Who got a message, in the order the sends arrived (within a sweep they go out
        together, in no set order: ``sent_by_sweep`` compares them sweep by sweep)."""
        return [request.get("To") for request in self.twilio.sent()]

    def sent_by_sweep(self, *sweeps: int) -> list[list[str | None]]:
        """``sent_to`` cut into the given sweeps' sizes, each sorted."""
        recipients, cut = self.sent_to(), []
        for size in sweeps:
            cut.append(sorted(recipients[:size], key=str))
            recipients = recipients[size:]
        assert not recipients, f"more sent than the sweeps said: {recipients}"
        return cut


async def whatsapp_entry_point(services: Services, routing_id: str) -> EntryPoint:
    """Our WhatsApp number, with a template for writing outside the 24-hour window."""
    return await services.entry_points.create(
        SYSTEM, {"channel": Channel.whatsapp, "name": "WhatsApp", "address": f"whatsapp:{OURS}",
                 "start_routing": routing_id},
        {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN,
         "template_content_sid": TEMPLATE},
    )


@pytest_asyncio.fixture
async def runner(campaign_app: Quart, twilio: FakeTwilio) -> Runner:
    built: Services = campaign_app.extensions["services"]
    for name in await built.store.database.list_collection_names():
        await built.store.database[name].delete_many({})
    twilio.reset()
    clock = Clock(MONDAY_0830_PARIS)
    campaigns = Campaigns(built.store, clock=clock)
    sending = CampaignRunner(campaigns, built.outbox, built.entry_points,
                             built.campaign_runner.sms, base_delay_seconds=10)
    return Runner(built, twilio, clock, campaigns, sending)


async def test_sms_are_sent_within_the_window_and_the_rate(runner: Runner):
    promo = await runner.campaign(
        name="promo", kind="sms", message="Hello {{ target.name }}, -20% today!",
        window={"start": "09:00", "end": "18:00", "timezone": "Europe/Paris",
                "days": ["monday", "tuesday"]}, rate_per_minute=2,
    )
    for phone, name in ((ADA, "Ada"), (BOB, "Bob"), (CY, "Cy")):
        await runner.target(promo, phone, fields={"name": name})
    assert await runner.runner.sweep() == 0  # 08:30 in Paris: not yet
    runner.clock.advance(30 * 60)
    assert await runner.runner.sweep() == 2  # 09:00: two a minute
    assert await runner.runner.sweep() == 0
    assert runner.sent_by_sweep(2) == [sorted([ADA, BOB])]
    [to_ada] = [sent for sent in runner.twilio.sent() if sent.get("To") == ADA]
    assert (to_ada.get("From"), to_ada.get("Body")) == (SMS_SENDER, "Hello Ada, -20% today!")
    targets = await runner.targets()
    assert targets[ADA].status is TargetStatus.sent and targets[ADA].provider_id
    assert targets[CY].status is TargetStatus.pending
    runner.clock.advance(61)
    assert await runner.runner.sweep() == 1
    assert runner.sent_by_sweep(2, 1) == [sorted([ADA, BOB]), [CY]]
    runner.clock.now = datetime(2024, 5, 8, 8, 0, tzinfo=UTC)  # a Wednesday: no day of it
    await runner.target(promo, "+15005550008")
    assert await runner.runner.sweep() == 0


async def test_a_schedule_window_call_after_and_statuses_are_respected(runner: Runner):
    await runner.services.schedules.create(SYSTEM, name="office", timezone="Europe/Paris",
                                          weekly={"monday": [{"start": "08:00",
                                                              "end": "12:00"}]},
                                          exceptions=[{"date": "2024-05-08", "closed": True}])
    office = await runner.campaign(name="office", kind="sms", message="Hi",
                                   window={"schedule": "office"})
    paused = await runner.campaign(name="paused", kind="sms", message="Hi", status="paused")
    await runner.target(office, ADA)
    await runner.target(office, BOB, call_after=MONDAY_0830_PARIS + timedelta(hours=1))
    await runner.target(paused, CY)
    assert await runner.runner.sweep() == 1
    assert runner.sent_to() == [ADA]
    runner.clock.advance(3600)
    assert await runner.runner.sweep() == 1
    assert runner.sent_to() == [ADA, BOB]
    runner.clock.advance(3 * 3600)  # 12:30 in Paris: closed
    await runner.target(office, "+15005550008")
    assert await runner.runner.sweep() == 0


async def test_retryable_errors_are_retried_and_others_fail(runner: Runner):
    promo = await runner.campaign(name="promo", kind="sms", message="Hi", max_attempts=2)
    await runner.target(promo, ADA)
    runner.twilio.fail(500)
    assert await runner.runner.sweep() == 1
    target = (await runner.targets())[ADA]
    assert (target.status, target.attempts) == (TargetStatus.pending, 1)
    assert target.last_error.startswith("provider_unavailable")
    assert target.due_at == runner.clock.now + timedelta(seconds=10)
    assert await runner.runner.sweep() == 0  # not due yet
    runner.clock.advance(10)
    assert await runner.runner.sweep() == 1
    target = (await runner.targets())[ADA]
    assert (target.status, target.attempts, target.last_error) == (TargetStatus.sent, 2, None)
    await runner.target(promo, BOB)
    await runner.target(promo, CY)
    runner.twilio.fail(400, code=21211)  # not a valid number: no retry
    runner.twilio.fail(429, times=2)  # rate limited twice: the attempts run out
    assert await runner.runner.sweep() == 2
    runner.clock.advance(60)
    assert await runner.runner.sweep() == 1
    targets = await runner.targets()
    assert targets[BOB].status is TargetStatus.failed and "21211" in targets[BOB].last_error
    assert (targets[CY].status, targets[CY].attempts) == (TargetStatus.failed, 2)
    assert targets[CY].last_error.startswith("rate_limited")


async def test_two_runners_send_each_target_once(runner: Runner):
    promo = await runner.campaign(name="promo", kind="sms", message="Hi", rate_per_minute=100)
    phones = [f"+1500555{number:04d}" for number in range(12)]
    for phone in phones:
        await runner.target(promo, phone)
    other = CampaignRunner(runner.campaigns, runner.services.outbox,
                           runner.services.entry_points, runner.runner.sms)
    counts = await asyncio.gather(runner.runner.sweep(), other.sweep())
    assert sum(counts) == 12
    assert sorted(runner.sent_to()) == phones


async def test_a_sender_that_died_is_taken_over_when_its_lease_expires(runner: Runner):
    promo = await runner.campaign(name="promo", kind="sms", message="Hi")
    await runner.target(promo, ADA)
    campaign = await runner.campaigns.get(promo.id)
    claimed = await runner.campaigns.claim(campaign, runner.clock.now)  # then it dies
    assert claimed is not None and claimed.status is TargetStatus.sending
    assert await runner.runner.sweep() == 0
    runner.clock.advance(61)
    assert await runner.runner.sweep() == 1
    target = (await runner.targets())[ADA]
    assert (target.status, target.attempts) == (TargetStatus.sent, 2)


async def test_a_whatsapp_campaign_sends_its_template_and_a_reply_starts_a_conversation(
    runner: Runner, campaign_app: Quart,
):
    services = runner.services
    routing_id = await production_routing(services, "renewals", tree(
        action("hello", "message", {"text": "Thanks for answering, {{ contact.name }}!"})))
    entry_point = await whatsapp_entry_point(services, routing_id)
    renewals = await runner.campaign(
        name="renewals", kind="whatsapp", entry_point_id=entry_point.id,
        message="Your {{ target.plan }} plan ends soon.\nRenew?")
    await runner.target(renewals, ADA, fields={"plan": "gold"})
    assert await runner.runner.sweep() == 1
    [sent] = runner.twilio.sent()
    assert (sent.get("To"), sent.get("From")) == (f"whatsapp:{ADA}", f"whatsapp:{OURS}")
    assert sent.get("ContentSid") == TEMPLATE  # never wrote to us: only a template goes
    assert json.loads(sent.get("ContentVariables") or "") == {
        "1": "Your gold plan ends soon. Renew?"}
    assert (await runner.targets())[ADA].status is TargetStatus.sent
    path = f"/webhooks/whatsapp/{entry_point.id}"
    body, headers = signed(PUBLIC_URL + path, whatsapp_message(
        sid="SM" + "1" * 32, sender=ADA, to=OURS, body="Yes please"))
    response = await campaign_app.test_client().post(path, data=body, headers=headers)
    assert response.status_code == 200
    await services.runtime.idle()
    [interaction] = await services.store.interactions.all({"contact": ADA})
    assert interaction.routing_id == routing_id
    target = (await runner.targets())[ADA]
    assert target.status is TargetStatus.answered
    assert target.reply_interaction_id == interaction.id
    assert runner.twilio.sent()[-1].get("Body") == "Thanks for answering, Ada!"


async def test_stop_stops_a_running_campaign_for_that_contact_until_start(
    runner: Runner, campaign_app: Quart,
):
    """A customer who answers STOP gets the confirmation and nothing more: the campaign
    still running skips them (target ``opted_out``) and writes to the others; START lets
    the next campaign message through."""
    services = runner.services
    routing_id = await production_routing(services, "bot", tree(
        action("hello", "message", {"text": "Hello from the bot"})))
    entry_point = await whatsapp_entry_point(services, routing_id)
    path = f"/webhooks/whatsapp/{entry_point.id}"

    async def write(text: str, number: int) -> None:
        body, headers = signed(PUBLIC_URL + path, whatsapp_message(
            sid="SM" + str(number) * 32, sender=ADA, to=OURS, body=text))
        response = await campaign_app.test_client().post(path, data=body, headers=headers)
        assert response.status_code == 200
        await services.runtime.idle()

    await write("  Stop! ", 1)
    assert [request.get("Body") for request in runner.twilio.sent()] == [
        entry_point.consent.opt_out_reply]
    [stopped] = await services.store.interactions.all({"contact": ADA})
    assert (stopped.active, stopped.end_reason) == (False, "opted out")
    contact = await services.store.contacts.find_one({"external_id": ADA})
    assert contact.opted_out_at is not None
    assert [change.opted_out for change in contact.consent_history] == [True]

    promo = await runner.campaign(name="promo", kind="whatsapp",
                                  entry_point_id=entry_point.id, message="New offers!")
    await runner.target(promo, ADA)
    await runner.target(promo, BOB)
    runner.twilio.reset()
    assert await runner.runner.sweep() == 2
    assert runner.sent_to() == [f"whatsapp:{BOB}"]
    targets = await runner.targets()
    assert targets[ADA].status is TargetStatus.opted_out
    assert "opted out" in (targets[ADA].last_error or "")

    await write("hello?", 2)  # an opted-out customer who writes is not answered
    assert runner.twilio.sent() == [runner.twilio.sent()[0]]
    held = await services.store.events.find_one(
        {"contact": ADA, "type": "outbound", "data.text": "Hello from the bot"})
    assert (held.status.value, held.error_kind) == ("failed", "opted_out")

    await write("start", 3)
    assert runner.twilio.sent()[-1].get("Body") == entry_point.consent.opt_in_reply
    contact = await services.store.contacts.find_one({"external_id": ADA})
    assert contact.opted_out_at is None
    again = await runner.campaign(name="again", kind="whatsapp",
                                  entry_point_id=entry_point.id, message="Back!")
    await runner.target(again, ADA)
    assert await runner.runner.sweep() == 1
    assert runner.sent_to()[-1] == f"whatsapp:{ADA}"
