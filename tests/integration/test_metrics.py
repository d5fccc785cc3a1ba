"""Prometheus ``/metrics`` and structured logs, seen from a conversation's point of view."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from quart import Quart

from bots.logging_setup import JsonFormatter, configure_logging, handler_for
from bots.metrics import PrometheusMetrics
from config import Settings, SettingsError, load_settings
from routing_core.engine.delivery import Delivery, LocalHub
from routing_core.engine.outbox import OutboxSender
from routing_core.engine.runtime import Runtime, RuntimeSettings
from routing_core.infra.metrics import NO_METRICS, is_takeover
from routing_core.model.audit import SYSTEM
from routing_core.model.interaction import Channel, DeliveryStatus, Event, Inbound, Interaction
from routing_core.model.routing import RoutingType
from routing_core.ports.channels import RateLimited, Rejected
from routing_core.ports.world import Ports
from routing_core.services import Services
from tests.conftest import METRICS_TOKEN, Api, login
from tests.support.apps import app_of_its_own
from tests.support.routings import action, production_routing, tree, webchat_entry_point

HELLO = tree(
    action("hi", "message", {"text": "Hello {{ contact.name }}"}, next="ask"),
    action("ask", "message_wait", {"text": "Your name?", "into": "name"}),
)


async def scrape(app: Quart) -> dict[str, float]:
    """Every sample of /metrics as ``name{label="value",…}`` → value."""
    response = await app.test_client().get(
        "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(await response.get_data(as_text=True)):
        for sample in family.samples:
            labels = ",".join(f'{key}="{value}"' for key, value in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}"] = sample.value
    return samples


def delta(after: dict[str, float], before: dict[str, float], key: str) -> float:
    return after.get(key, 0.0) - before.get(key, 0.0)


def inbound(entry_point_id: str, text: str, provider_id: str) -> Inbound:
    return Inbound(channel=Channel.webchat, entry_point_id=entry_point_id, contact="alice",
                   provider_id=provider_id, text=text)


async def test_a_conversation_shows_in_the_metrics(app: Quart, services: Services) -> None:
    routing_id = await production_routing(services, "hello", HELLO)
    entry_point = await webchat_entry_point(services, routing_id)
    before = await scrape(app)
    await services.runtime.receive(inbound(entry_point.id, "hi", "m1"), wait=True)
    after = await scrape(app)
    assert delta(after, before, 'smart_routing_inbound_messages_total{channel="webchat"}') == 1
    assert delta(after, before, 'smart_routing_outbound_messages_total{channel="webchat",'
                                'status="sent"}') == 2
    assert delta(after, before, "smart_routing_step_seconds_count{}") >= 1
    assert after["smart_routing_interactions_active{}"] == 1  # waiting for the name


async def test_error_events_are_counted(app: Quart, services: Services) -> None:
    routing = await services.lifecycle.create_routing(  # no version: an error event
        SYSTEM, name="empty", reference="empty", description="", type=RoutingType.start)
    entry_point = await webchat_entry_point(services, routing.id)
    before = await scrape(app)
    await services.runtime.receive(inbound(entry_point.id, "hi", "m1"), wait=True)
    after = await scrape(app)
    assert delta(after, before, 'smart_routing_errors_total{kind="interaction"}') == 1


async def test_logged_errors_are_counted(app: Quart, services: Services) -> None:
    before = await scrape(app)
    logging.getLogger("routing_core.engine.runtime").error("a step failed (in a test)")
    after = await scrape(app)
    assert delta(after, before, 'smart_routing_errors_total{kind="server"}') == 1


async def test_sends_failures_and_dead_letters_are_counted(services: Services) -> None:
    """The outbox counts each attempt's outcome, and a dead letter when it gives up."""
    metrics = PrometheusMetrics()
    outbox = OutboxSender(services.store, services.entry_points)
    outbox.metrics = metrics
    event = Event(id="e1", interaction_id="i1", type="outbound", channel=Channel.telegram,
                  status=DeliveryStatus.pending)
    await outbox._failed(event, 1, RateLimited("slow down"))  # retried later
    await outbox._failed(event, outbox.max_attempts, RateLimited("slow down"))  # last try
    await outbox._failed(event, 1, Rejected("bad"))  # permanent
    outbound, dead = metrics.outbound_total, metrics.dead_letters_total
    assert outbound.labels("telegram", "rate_limited")._value.get() == 2
    assert outbound.labels("telegram", "rejected")._value.get() == 1
    assert dead.labels("telegram")._value.get() == 2  # the last retry and the rejection


async def test_queue_waits_come_from_assignments(services: Services) -> None:
    metrics = PrometheusMetrics()
    interaction = Interaction(entry_point_id="ep", channel=Channel.webchat, contact="alice",
                              contact_id="c", routing_id="r", version_id="v", revision=1)
    assigned = Event(id="e1", interaction_id=interaction.id, type="assigned",
                     data={"queue": "support", "waited_seconds": 42.5})
    await metrics.on_committed(interaction, [assigned])
    histogram = metrics.queue_wait.labels("support")
    assert histogram._sum.get() == 42.5


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


async def test_a_takeover_after_a_dead_worker_is_counted(services: Services) -> None:
    routing_id = await production_routing(services, "crash", HELLO)
    entry_point = await webchat_entry_point(services, routing_id)
    clock = Clock()

    def worker() -> Runtime:
        runtime = Runtime(services.store, Ports(), Delivery(LocalHub()),
                          RuntimeSettings(lease_seconds=5, sweep_seconds=3600), clock=clock)
        runtime.metrics = PrometheusMetrics()
        return runtime

    dying, survivor = worker(), worker()
    await dying.receive(inbound(entry_point.id, "hi", "m1"))
    for task in list(dying._tasks):  # it dies before the step
        task.cancel()
    clock.now += timedelta(seconds=6)
    assert await survivor.wake_due() == 1
    await survivor.idle()
    metrics: Any = survivor.metrics
    assert metrics.lease_takeovers_total._value.get() == 1
    clock.now += timedelta(hours=2)  # the question's timer: a wake-up, not a takeover
    await survivor.wake_due()
    await survivor.idle()
    assert metrics.lease_takeovers_total._value.get() == 1


def test_a_claim_is_a_takeover_only_when_a_step_was_under_way() -> None:
    claimed_at = datetime(2030, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)
    stored = claimed_at.replace(microsecond=123000)  # what MongoDB keeps of it
    assert not is_takeover({"step_at": stored}, claimed_at)
    assert is_takeover({"step_at": stored - timedelta(seconds=40)}, claimed_at)
    assert not is_takeover({}, claimed_at)


# -- structured logs ---------------------------------------------------------------------


class LogsEachStep:
    """A metrics port that writes a log line from inside the step, where it is recorded."""

    def __getattr__(self, name: str) -> Any:
        return getattr(NO_METRICS, name)

    def step_seconds(self, seconds: float) -> None:
        logging.getLogger("tests.step").warning("step done")


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = handler_for("json")
    handler.setStream(stream)  # type: ignore[attr-defined]
    logging.getLogger().addHandler(handler)
    yield stream
    logging.getLogger().removeHandler(handler)


async def test_log_lines_of_a_step_carry_its_ids(
    services: Services, captured: io.StringIO
) -> None:
    routing_id = await production_routing(services, "logged", HELLO)
    entry_point = await webchat_entry_point(services, routing_id)
    plugged = services.runtime.metrics
    services.runtime.metrics = LogsEachStep()  # type: ignore[assignment]
    try:
        receipt = await services.runtime.receive(inbound(entry_point.id, "hi", "m1"), wait=True)
    finally:
        services.runtime.metrics = plugged
    lines = [json.loads(line) for line in captured.getvalue().splitlines()]
    step = next(line for line in lines if line["message"] == "step done")
    assert step["interaction_id"] == receipt.interaction_id
    assert step["entry_point_id"] == entry_point.id
    assert step["level"] == "WARNING" and step["logger"] == "tests.step"
    datetime.fromisoformat(step["time"])


def test_json_lines_hold_exceptions_and_no_ids_outside_steps() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, __file__, 1, "failed: %s", ("why",), sys.exc_info())
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "failed: why"
    assert "ValueError: boom" in line["exception"]
    assert "interaction_id" not in line


def test_the_log_format_is_a_setting() -> None:
    root = logging.getLogger()
    kept_handlers, kept_level = list(root.handlers), root.level
    try:
        configure_logging(load_settings({"SR_LOG_FORMAT": "json", "SR_LOG_LEVEL": "WARNING"}))
        assert isinstance(root.handlers[0].formatter, JsonFormatter)
        assert root.level == logging.WARNING
    finally:
        root.handlers[:] = kept_handlers
        root.setLevel(kept_level)
    with pytest.raises(SettingsError, match="SR_LOG_FORMAT"):
        load_settings({"SR_LOG_FORMAT": "xml"})


async def test_metrics_are_for_the_scraper_and_operators_unless_made_public(
    app: Quart, settings: Settings, api: Api
) -> None:
    anonymous = app.test_client()
    assert (await anonymous.get("/metrics")).status_code == 401
    wrong = await anonymous.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401
    assert (await api.get("/metrics")).status_code == 200  # the admin may read them
    await api.post("/api/roles", json={"name": "builders", "permissions": ["smart_routings:read"]})
    await api.post("/api/users", json={"email": "builder@example.com",
                                       "password": "a builder's passphrase", "roles": ["builders"]})
    builder = await login(app, "builder@example.com", "a builder's passphrase")
    refused = await builder.get("/metrics")
    assert refused.status_code == 403 and "audit:read" in refused.json_body["error"]["message"]
    async with app_of_its_own(settings, "public_metrics", public_metrics=True) as public:
        assert (await public.test_client().get("/metrics")).status_code == 200
