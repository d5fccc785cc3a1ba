"""What the service counts and times, as a port: the engine records, the host decides how.

``routing_core`` imports no metrics library; the service plugs in an implementation
(``bots.metrics`` exports Prometheus) and everything else, tests included, gets the no-op.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from routing_core.infra.clock import as_utc


class Metrics(Protocol):
    def inbound(self, channel: str) -> None:
        """A customer's message was processed."""

    def outbound(self, channel: str, status: str) -> None:
        """A message left (``sent``) or failed to (the send error's code)."""

    def error(self, kind: str) -> None:
        """An error event on an interaction (``interaction``) or a logged error (``server``)."""

    def dead_letter(self, channel: str) -> None:
        """A message will not be retried any more."""

    def lease_takeover(self) -> None:
        """The sweeper took over an interaction whose worker died mid-step."""

    def step_seconds(self, seconds: float) -> None:
        """From the start of a step to its commit."""

    def queue_wait_seconds(self, queue: str, seconds: float) -> None:
        """How long a conversation waited in a queue before an agent got it."""


class NoMetrics:
    """The default: records nothing."""

    def inbound(self, channel: str) -> None:
        return None

    def outbound(self, channel: str, status: str) -> None:
        return None

    def error(self, kind: str) -> None:
        return None

    def dead_letter(self, channel: str) -> None:
        return None

    def lease_takeover(self) -> None:
        return None

    def step_seconds(self, seconds: float) -> None:
        return None

    def queue_wait_seconds(self, queue: str, seconds: float) -> None:
        return None


NO_METRICS: Metrics = NoMetrics()


def is_takeover(claimed: dict[str, Any], claimed_at: datetime) -> bool:
    """True when a claimed interaction was in the middle of a step: a worker that finishes
    a step clears ``step_at`` on commit, and a claim only sets it when it is unset, so an
    older ``step_at`` is the mark of a worker that died holding the lease."""
    step_at = claimed.get("step_at")
    return step_at is not None and as_utc(step_at) < claimed_at.replace(
        microsecond=claimed_at.microsecond // 1000 * 1000  # MongoDB keeps milliseconds
    )
