"""Prometheus metrics at ``GET /metrics``: the engine's metrics port, exported.

The runtime records step latencies and lease takeovers through the port; the rest is seen
from the host's side: commits (inbound messages, error events, queue waits, web chat
messages, which are delivered by storing them), the outbox's sends (each channel client is
wrapped to count what it sent, what failed and what became a dead letter), and error log
records (unexpected failures of requests, steps and sweeps). Each app has its own
registry, so several apps in one process (tests) do not collide.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from quart import Blueprint, Quart, current_app, request

from admin.context import authenticated_user, services
from routing_core.infra.errors import Forbidden, Words
from routing_core.model.interaction import DeliveryStatus, Event, Interaction
from routing_core.services import Services

blueprint = Blueprint("metrics", __name__)
STEP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
METRICS_PERMISSION = "audit:read"
WAIT_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)


class PrometheusMetrics:
    """The ``routing_core.infra.metrics.Metrics`` port over prometheus-client."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.inbound_total = Counter(
            "smart_routing_inbound_messages", "Customer messages processed.", ["channel"],
            registry=registry)
        self.outbound_total = Counter(
            "smart_routing_outbound_messages",
            "Messages to customers by channel and status (sent, or the send error's code).",
            ["channel", "status"], registry=registry)
        self.errors_total = Counter(
            "smart_routing_errors",
            "Errors: interaction (an error event) or server (an error logged).",
            ["kind"], registry=registry)
        self.dead_letters_total = Counter(
            "smart_routing_dead_letters", "Messages that will not be retried any more.",
            ["channel"], registry=registry)
        self.lease_takeovers_total = Counter(
            "smart_routing_lease_takeovers",
            "Interactions taken over by the sweeper after their worker died mid-step.",
            registry=registry)
        self.step_latency = Histogram(
            "smart_routing_step_seconds", "From the start of a step to its commit.",
            buckets=STEP_BUCKETS, registry=registry)
        self.queue_wait = Histogram(
            "smart_routing_queue_wait_seconds", "Time in a queue before an agent got it.",
            ["queue"], buckets=WAIT_BUCKETS, registry=registry)
        self.active = Gauge(
            "smart_routing_interactions_active", "Interactions not ended yet (all processes).",
            registry=registry)

    # -- the port --------------------------------------------------------------------------

    def inbound(self, channel: str) -> None:
        self.inbound_total.labels(channel).inc()

    def outbound(self, channel: str, status: str) -> None:
        self.outbound_total.labels(channel, status).inc()

    def error(self, kind: str) -> None:
        self.errors_total.labels(kind).inc()

    def dead_letter(self, channel: str) -> None:
        self.dead_letters_total.labels(channel).inc()

    def lease_takeover(self) -> None:
        self.lease_takeovers_total.inc()

    def step_seconds(self, seconds: float) -> None:
        self.step_latency.observe(seconds)

    def queue_wait_seconds(self, queue: str, seconds: float) -> None:
        self.queue_wait.labels(queue).observe(seconds)

    # -- what the host sees ----------------------------------------------------------------

    async def on_committed(self, interaction: Interaction, events: list[Event]) -> None:
        """A commit listener of the runtime."""
        for event in events:
            if event.type == "inbound":
                self.inbound(interaction.channel.value)
            elif event.type == "error":
                self.error("interaction")
            elif event.type == "outbound" and event.status is DeliveryStatus.sent:
                self.outbound((event.channel or interaction.channel).value, "sent")
            elif event.type == "assigned" and "waited_seconds" in event.data:
                queue = str(event.data.get("queue") or "")
                self.queue_wait_seconds(queue, float(event.data["waited_seconds"]))


class ErrorLogCounter(logging.Handler):
    """Counts error log records: what went wrong unexpectedly, wherever it was caught."""

    def __init__(self, metrics: PrometheusMetrics):
        super().__init__(level=logging.ERROR)
        self.metrics = metrics

    def emit(self, record: logging.LogRecord) -> None:
        self.metrics.error("server")


def install(app: Quart) -> PrometheusMetrics:
    """The app's metrics, served at /metrics; ``plug`` wires them once services exist."""
    metrics = PrometheusMetrics()
    app.extensions["metrics"] = metrics
    app.register_blueprint(blueprint)
    return metrics


def plug(metrics: PrometheusMetrics, built: Services) -> logging.Handler:
    """Into the runtime (port and commit listener), the outbox's channel clients and the
    root logger; the handler returned is for ``unplug``."""
    built.runtime.metrics = metrics
    built.runtime.on_committed(metrics.on_committed)
    built.outbox.metrics = metrics
    counter = ErrorLogCounter(metrics)
    logging.getLogger().addHandler(counter)
    return counter


def unplug(counter: logging.Handler) -> None:
    logging.getLogger().removeHandler(counter)


async def _may_read_metrics() -> None:
    """Metrics tell how busy the platform is and which entry points fail: public only when
    the operator says so (``SR_PUBLIC_METRICS``). Otherwise a scraper sends the bearer token
    ``SR_METRICS_TOKEN``, or a person logs in with the permission to read the audit log."""
    settings = services().settings
    if settings.public_metrics:
        return
    header = request.headers.get("Authorization", "")
    given = header[7:].strip() if header[:7].lower() == "bearer " else ""
    if settings.metrics_token and given and hmac.compare_digest(
            given.encode(), settings.metrics_token.encode()):
        return
    _, permissions = await authenticated_user()
    if METRICS_PERMISSION not in permissions:
        raise Forbidden(Words(
            "you lack the permission %(metrics_permission)r to read metrics",
            metrics_permission=METRICS_PERMISSION))


@blueprint.get("/metrics")
async def export() -> Any:
    await _may_read_metrics()
    metrics: PrometheusMetrics = current_app.extensions["metrics"]
    interactions = services().store.interactions.collection
    # served by the partial index of active interactions
    metrics.active.set(await interactions.count_documents({"active": True},
                                                         hint="due_wake_ups"))
    return generate_latest(metrics.registry), 200, {"Content-Type": CONTENT_TYPE_LATEST}
