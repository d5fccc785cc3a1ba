"""Every type of the catalogue (docs/actions.md) is registered, with the branches it documents."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from routing_core.actions import action_type, known_types
from routing_core.actions.base import branches_of

CATALOGUE = Path(__file__).resolve().parents[2] / "docs" / "actions.md"
CELL_SEPARATOR = re.compile(r"(?<!\\)\|")  # a pipe, unless escaped inside a cell

CAMPAIGN = {"campaign": "spring"}
# type → (minimal valid params, branches in order); derived branches come first.
EXPECTED: dict[str, tuple[dict[str, Any], list[str]]] = {
    "start": ({}, ["next"]),
    "load_sharing": (
        {"shares": [{"branch": "a", "percent": 30}, {"branch": "b", "percent": 70}]},
        ["a", "b"],
    ),
    "checkpoint": ({"label": "identified"}, ["next"]),
    "pause": ({"seconds": 60}, ["next"]),
    "node": ({}, ["next"]),
    "case_associate": ({}, ["found", "not_found"]),
    "crm_associate": (
        {"field": "phone", "value": "{{ contact.phone }}"},
        ["found", "not_found", "several"],
    ),
    "crm2_associate": (
        {"object_type": "account", "field": "phone", "value": "{{ contact.phone }}"},
        ["found", "not_found", "several"],
    ),
    "crm_create": ({"fields": {"name": "{{ contact.name }}"}}, ["next", "failure"]),
    "crm2_create": ({"object_type": "lead", "fields": {"name": "x"}}, ["next", "failure"]),
    "task_create": ({"title": "Call back"}, ["next"]),
    "case_dissociate": ({}, ["next"]),
    "case_create": ({"title": "Claim"}, ["next"]),
    "case_modify": ({"status": "closed"}, ["next", "failure"]),
    "variables_assign": ({"assignments": [{"variable": "x", "value": "1"}]}, ["next"]),
    "values_test": (
        {
            "cases": [
                {"branch": "vip", "conditions": [{"left": "{{ vars.x }}", "operator": "is_empty"}]}
            ]
        },
        ["vip", "other"],
    ),
    "values_table": ({"table": "zips", "key": "{{ vars.zip }}"}, ["found", "not_found"]),
    "database_read": ({"database": "orders", "filter": {"id": "1"}}, ["found", "not_found"]),
    "database_save": ({"database": "orders", "values": {"id": "1"}}, ["next", "failure"]),
    "database_modify": (
        {"database": "orders", "filter": {"id": "1"}, "values": {"state": "paid"}},
        ["next", "not_found"],
    ),
    "datetime": ({"operation": "now", "into": "today"}, ["next"]),
    "passages_check": ({"max": 3}, ["below", "reached"]),
    "nth_contact_check": ({"n": 3}, ["first", "nth", "more"]),
    "to_queue": ({"queue": "sales"}, ["answered", "no_agent"]),
    "to_smart_routing": ({"routing": "after-sales"}, []),
    "call_smart_routing": ({"routing": "identify"}, ["next"]),
    "to_user": ({"user": "{{ contact.adviser }}"}, ["answered", "unavailable"]),
    "web_service": ({"url": "https://api.example.com/x"}, ["success", "failure"]),
    "message": ({"text": "Hello"}, ["next"]),
    "message_wait": (
        {"text": "Your order number?", "into": "order"},
        ["answered", "invalid", "timeout"],
    ),
    "message_choice": (
        {"text": "Pick", "choices": [{"label": "Yes", "value": "y", "branch": "yes"}]},
        ["yes", "no_match", "timeout"],
    ),
    "email_send": ({"to": "a@example.com", "subject": "Hi", "body": "Hello"}, ["next", "failure"]),
    "sms_send": ({"text": "Your code: {{ vars.code }}"}, ["next", "failure"]),
    "campaign_whatsapp_target": (CAMPAIGN, ["next", "failure"]),
    "campaign_voice_target": (CAMPAIGN, ["next", "failure"]),
    "campaign_sms_target": (CAMPAIGN, ["next", "failure"]),
    "schedule_test": ({"schedule": "office"}, ["open", "closed", "exception"]),
    "week_parity": ({}, ["even", "odd"]),
    "survey": ({"survey": "nps"}, ["completed", "abandoned"]),
}
DERIVED = {"load_sharing", "values_test", "message_choice"}
WAITS = {"message_wait", "message_choice", "pause", "survey", "to_queue", "to_user"}


def catalogue() -> dict[str, list[str]]:
    """type → the branch names the catalogue writes in backticks."""
    lines = CATALOGUE.read_text(encoding="utf-8").splitlines()
    rows = [CELL_SEPARATOR.split(line) for line in lines if line.startswith("| `")]
    return {row[1].strip(" `"): re.findall(r"`(\w+)`", row[3]) for row in rows}


def test_registry_is_the_catalogue() -> None:
    assert sorted(known_types()) == sorted(catalogue())


def test_expected_table_is_the_catalogue() -> None:
    documented = catalogue()
    assert sorted(EXPECTED) == sorted(documented)
    for type_key, (_, branches) in EXPECTED.items():
        fixed = documented[type_key]
        tail = branches[len(branches) - len(fixed) :] if type_key in DERIVED else branches
        assert tail == fixed, type_key


@pytest.mark.parametrize("type_key", sorted(EXPECTED))
def test_branches(type_key: str) -> None:
    params, branches = EXPECTED[type_key]
    assert branches_of(type_key, params) == branches


def test_flags() -> None:
    types = known_types()
    assert {key for key, kind in types.items() if kind.waits} == WAITS
    assert {key for key, kind in types.items() if kind.guards_loops} == {"passages_check"}
    assert {key for key, kind in types.items() if kind.fixed} == {"start"}


@pytest.mark.parametrize("type_key", sorted(EXPECTED))
def test_shape(type_key: str) -> None:
    kind = action_type(type_key)
    assert kind.__doc__ and "\n" not in kind.__doc__.strip()
    assert kind.Params.model_config.get("extra") == "forbid"
