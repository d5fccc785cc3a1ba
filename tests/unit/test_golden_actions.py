"""Golden cases of every action type, run through the real action class with in-memory ports.

``tests/golden/actions/<type>.json`` holds a list of cases ``{name, params, context,
expect}``. The action under test has the id ``act``.

context (all optional):
  trigger      ``run`` (default), ``reply``, ``timeout`` or ``signal``
  signal       with trigger ``signal``: ``{name, ...data}``
  message      the reply: a text, or ``{text, payload}``
  memory       what the action kept across its wait
  variables    the interaction's variables; ``contact``: ``{name, phone, variables}``
  passages     passages per action id *before* this step: a ``run`` counts one more
               through ``act``, as the interpreter does
  now          ISO date-time (default Monday 2024-05-06 10:00 UTC, ISO week 19)
  interaction_id
  reference    arguments of ``FakeReference`` (value_tables, databases, schedules,
               interactions_count); absent: no reference port
  http         the ``FakeHttp`` script of canned responses, all of which must be used;
               absent: no HTTP port
  distribution arguments of ``FakeDistribution``; absent: no distribution port
  records      cases, CRM cards and objects, campaigns, surveys for the ports of
               ``tests.support.fake_crm``; absent: none of these ports

expect:
  outcome      ``{branch}``, ``{wait: {kind, seconds, memory}}`` (the keys given are
               compared), ``{handoff}``, or ``{error: text}`` for a run the interpreter
               records as an error (the text is part of the message)
  variables    exactly the variables set (default: none)
  sent         outbound messages in order: texts, or ``{text, choices, media_url}``
               (default: none)
  events       the other events in order: types, or ``{type, ...data}`` (default: none)
  requests     the HTTP calls in order, each compared on the keys given
  databases    rows of the named fake databases after the run
"""

from __future__ import annotations

import json
from copy import deepcopy
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic_core import to_jsonable_python

from routing_core.actions import interconnection, known_types
from routing_core.actions.base import ActionType, Outcome, action_type, parse_params
from routing_core.actions.context import Journal, RunContext
from routing_core.expressions.templates import TemplateFailure
from routing_core.infra.errors import DomainError
from routing_core.model.interaction import Channel, Event, Inbound, Interaction
from routing_core.model.tree import Action
from routing_core.ports.world import Ports
from tests.support.distribution import FakeDistribution
from tests.support.fake_crm import record_ports
from tests.support.fake_ports import FakeMail, FakeSms
from tests.support.fakes import FakeHttp, FakeReference

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "actions"
ACTION_ID = "act"
DEFAULT_NOW = "2024-05-06T10:00:00+00:00"

# Registered types whose ``run`` a later issue writes; each leaves this list with its golden
# file (a test below fails as soon as one of them runs).
PENDING: dict[str, str] = {}


@dataclass
class Ran:
    outcome: Outcome | None
    error: str | None
    ctx: RunContext
    reference: FakeReference | None
    http: FakeHttp | None
    mail: FakeMail | None = None
    sms: FakeSms | None = None


def golden_cases() -> list[Any]:
    cases = []
    for path in sorted(GOLDEN.glob("*.json")):
        for case in json.loads(path.read_text()):
            cases.append(pytest.param(path.stem, case, id=f"{path.stem}: {case['name']}"))
    return cases


def interaction_for(context: dict[str, Any], now: datetime) -> Interaction:
    contact = context.get("contact", {})
    return Interaction(
        id=context.get("interaction_id", "interaction-1"),
        entry_point_id="entry-point-1",
        channel=Channel.webchat,
        contact="visitor-1",
        contact_id="contact-1",
        routing_id="routing-1",
        version_id="version-1",
        revision=1,
        variables=deepcopy(context.get("variables", {})),
        contact_variables=deepcopy(contact.get("variables", {})),
        contact_name=contact.get("name"),
        contact_phone=contact.get("phone"),
        passages=dict(context.get("passages", {})),
        created_at=now,
    )


def inbound(message: str | dict[str, Any] | None, now: datetime) -> Inbound | None:
    if message is None:
        return None
    fields = {"text": message} if isinstance(message, str) else message
    return Inbound(channel=Channel.webchat, entry_point_id="entry-point-1",
                   contact="visitor-1", provider_id="message-1", received_at=now, **fields)


async def run_case(type_key: str, case: dict[str, Any]) -> Ran:
    context = case.get("context", {})
    now = datetime.fromisoformat(context.get("now", DEFAULT_NOW))
    interaction = interaction_for(context, now)
    trigger = context.get("trigger", "run")
    if trigger == "run":
        interaction.passages[ACTION_ID] = interaction.passages.get(ACTION_ID, 0) + 1
    reference = FakeReference(**context["reference"]) if "reference" in context else None
    http = FakeHttp(context["http"]) if "http" in context else None
    mail = FakeMail(context["mail"]) if "mail" in context else None
    sms = FakeSms(context["sms"]) if "sms" in context else None
    extra = {"distribution": FakeDistribution(**context["distribution"])
             } if "distribution" in context else {}
    if "records" in context:
        extra |= record_ports(context["records"])
    ctx = RunContext(
        interaction=interaction,
        action=Action(id=ACTION_ID, type=type_key, params=case["params"]),
        now=now,
        trigger=trigger,
        message=inbound(context.get("message"), now),
        memory=deepcopy(context.get("memory", {})),
        ports=Ports(reference=reference, http=http, mail=mail, sms=sms, extra=extra),
        journal=Journal(interaction, now),
        signal=context.get("signal"),
    )
    params = parse_params(type_key, case["params"])
    try:
        outcome = await action_type(type_key)().run(params, ctx)
    except (DomainError, TemplateFailure) as error:
        return Ran(None, str(getattr(error, "message", error)), ctx, reference, http, mail, sms)
    return Ran(outcome, None, ctx, reference, http, mail, sms)


def described(outcome: Outcome, now: datetime) -> dict[str, Any]:
    if outcome.wait is not None:
        until = outcome.wait.until
        return {"wait": {
            "kind": outcome.wait.kind,
            "seconds": None if until is None else (until - now).total_seconds(),
            "memory": to_jsonable_python(outcome.wait.memory),
        }}
    if outcome.handoff is not None:
        return {"handoff": outcome.handoff}
    if outcome.call is not None:
        return {"call": outcome.call.model_dump(exclude_none=True)}
    if outcome.end:
        return {"end": True}
    return {"branch": outcome.branch}


def check_outcome(ran: Ran, expected: dict[str, Any], now: datetime) -> None:
    if "error" in expected:
        assert ran.outcome is None, f"expected an error, got {ran.outcome}"
        assert ran.error is not None and expected["error"] in ran.error, ran.error
        return
    assert ran.error is None, f"the run failed: {ran.error}"
    assert ran.outcome is not None
    actual = described(ran.outcome, now)
    if "wait" in expected:
        assert "wait" in actual, f"expected a wait, got {actual}"
        assert {key: actual["wait"][key] for key in expected["wait"]} == expected["wait"]
    else:
        assert actual == expected


def matches(actual: dict[str, Any], expected: str | dict[str, Any], key: str) -> bool:
    if isinstance(expected, str):
        return actual.get(key) == expected
    return {name: actual.get(name) for name in expected} == expected


def outbound_view(event: Event) -> dict[str, Any]:
    data = event.data
    return {"text": data.get("text"), "media_url": data.get("media_url"),
            "choices": [choice["label"] for choice in data.get("choices", [])]}


def check_effects(ran: Ran, expect: dict[str, Any]) -> None:
    assert to_jsonable_python(ran.ctx.changes) == expect.get("variables", {})
    events = ran.ctx.journal.events
    sent = [outbound_view(event) for event in events if event.type == "outbound"]
    expected_sent = expect.get("sent", [])
    assert len(sent) == len(expected_sent), sent
    for actual, wanted in zip(sent, expected_sent, strict=True):
        assert matches(actual, wanted, "text"), (actual, wanted)
    others = [{"type": event.type, **to_jsonable_python(event.data)}
              for event in events if event.type != "outbound"]
    expected_events = expect.get("events", [])
    assert len(others) == len(expected_events), others
    for actual, wanted in zip(others, expected_events, strict=True):
        assert matches(actual, wanted, "type"), (actual, wanted)


def check_ports(ran: Ran, expect: dict[str, Any]) -> None:
    if ran.http is not None:
        assert ran.http.responses == [], "canned HTTP responses left unused"
    for fake, key in ((ran.mail, "mails"), (ran.sms, "sms")):
        if fake is not None:
            assert fake.script == [], f"canned {key} outcomes left unused"
            assert len(fake.sent) == len(expect.get(key, [])), fake.sent
            for actual, wanted in zip(fake.sent, expect.get(key, []), strict=True):
                assert matches(actual, wanted, "to"), (actual, wanted)
    if "requests" in expect:
        assert ran.http is not None
        assert len(ran.http.requests) == len(expect["requests"]), ran.http.requests
        for actual, wanted in zip(ran.http.requests, expect["requests"], strict=True):
            assert matches(actual, wanted, "url"), (actual, wanted)
    if "databases" in expect:
        assert ran.reference is not None
        rows = ran.reference.database_rows()
        assert {name: rows[name] for name in expect["databases"]} == expect["databases"]


@pytest.mark.parametrize(("type_key", "case"), golden_cases())
async def test_golden_case(
    type_key: str, case: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(interconnection, "RETRY_BACKOFF_SECONDS", 0)
    ran = await run_case(type_key, case)
    now = datetime.fromisoformat(case.get("context", {}).get("now", DEFAULT_NOW))
    check_outcome(ran, case["expect"]["outcome"], now)
    check_effects(ran, case["expect"])
    check_ports(ran, case["expect"])
    replay = await run_case(type_key, case)  # a replayed step decides and writes alike
    assert fingerprint(replay) == fingerprint(ran)


def fingerprint(ran: Ran) -> Any:
    outcome = ran.outcome.model_dump(mode="json") if ran.outcome else None
    events = [(event.id, event.type, event.data) for event in ran.ctx.journal.events]
    return to_jsonable_python((outcome, ran.error, ran.ctx.changes, events))


def test_every_registered_type_has_golden_cases() -> None:
    missing = sorted(
        type_key for type_key in known_types()
        if type_key not in PENDING and not (GOLDEN / f"{type_key}.json").exists()
    )
    assert missing == [], f"action types without tests/golden/actions/<type>.json: {missing}"


def test_pending_types_are_registered_and_not_implemented_yet() -> None:
    registered = known_types()
    assert sorted(set(PENDING) - set(registered)) == []
    implemented = sorted(
        type_key for type_key in PENDING if registered[type_key].run is not ActionType.run
    )
    assert implemented == [], f"write golden cases and remove from PENDING: {implemented}"


def test_golden_files_are_well_formed() -> None:
    registered = known_types()
    files = sorted(GOLDEN.glob("*.json"))
    assert files, f"no golden files in {GOLDEN}"
    for path in files:
        assert path.stem in registered, f"{path.name}: no action type {path.stem!r}"
        cases = json.loads(path.read_text())
        assert isinstance(cases, list) and cases, f"{path.name}: a non-empty list of cases"
        names = [case["name"] for case in cases]
        assert len(names) == len(set(names)), f"{path.name}: case names repeat"
        for case in cases:
            assert set(case) <= {"name", "params", "context", "expect"}, case["name"]
            assert "outcome" in case["expect"], f"{path.name}: {case['name']} has no outcome"
