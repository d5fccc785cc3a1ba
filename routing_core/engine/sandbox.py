"""Ports that cannot change the world, for trees run on a trial: the admin's simulator and
regression replays. Reference data is read but never written; the records (cases, CRM,
tasks, campaigns, surveys), hand-overs to agents (no agent should take a trial for a
customer) and web calls are refused (a replay answers web calls from the
recording instead); SMS and e-mail are kept, never sent. What a refusal
raises is the caller's: a replay notes that the conversation is not replayable, the
simulator lets the action fail with a sentence the admin reads in the events.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from routing_core.infra.errors import DomainError, Words
from routing_core.ports.world import Ports, ReferencePort

Refuse = Callable[[str], Exception]
# each port a trial refuses, and what it would have done
RECORD_PORTS = (("cases", "write a case"), ("crm", "write a CRM card"),
                ("tasks", "write a task"), ("campaigns", "write a campaign target"),
                ("surveys", "record a survey"),
                ("distribution", "hand the conversation over to agents"))
WEB_CALL = "call a web service"


class ReadOnlyReference:
    """The real reference data, read only."""

    def __init__(self, real: ReferencePort, refuse: Refuse):
        self.real = real
        self.refuse = refuse

    def __getattr__(self, name: str) -> Any:
        if name in ("database_insert", "database_modify"):
            async def refused(*args: Any, **kwargs: Any) -> Any:
                raise self.refuse("write to a custom database")
            return refused
        return getattr(self.real, name)


class Unreachable:
    """A port a trial may not use: any call is refused."""

    def __init__(self, what: str, refuse: Refuse):
        self.what = what
        self.refuse = refuse

    def __getattr__(self, name: str) -> Any:
        async def refused(*args: Any, **kwargs: Any) -> Any:
            raise self.refuse(self.what)
        return refused


class Captured:
    """SMS and e-mail: kept, never sent."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(self, **message: Any) -> str:
        self.sent.append(message)
        return f"not-sent-{len(self.sent)}"


class SimulatorRefused(DomainError):
    """What the simulator will not do for real."""


def simulator_refusal(what: str) -> Exception:
    return SimulatorRefused(Words(
        "the simulator does not %(what)s: nothing leaves the conversation (try it on a test "
        "entry point)",
        what=what))


def sandboxed(ports: Ports, refuse: Refuse = simulator_refusal, **overrides: Any) -> Ports:
    """``ports`` with every write refused and nothing sent; ``overrides`` replace ports
    (a replay answers web services from the recording)."""
    extra = dict(ports.extra)
    extra.update({name: Unreachable(what, refuse) for name, what in RECORD_PORTS})
    built = Ports(
        reference=ReadOnlyReference(ports.reference, refuse) if ports.reference else None,  # type: ignore[arg-type]
        http=Unreachable(WEB_CALL, refuse), mail=Captured(),  # type: ignore[arg-type]
        sms=Captured(), extra=extra,  # type: ignore[arg-type]
    )
    for name, port in overrides.items():
        if name in ("reference", "http", "mail", "sms"):
            setattr(built, name, port)
        else:
            built.extra[name] = port
    return built
