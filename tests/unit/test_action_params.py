"""Parameters: one full valid example per type, and one broken definition per validation rule."""

from __future__ import annotations

from typing import Any

import pytest

from routing_core.actions import known_types, validate_params
from routing_core.infra.errors import Invalid

CONDITION = {"left": "{{ vars.age }}", "operator": "ge", "right": "18"}
CHOICES = [
    {"label": "Yes", "value": "y", "branch": "yes"},
    {"label": "No", "value": "n", "branch": "no"},
]
TARGET = {
    "campaign": "spring",
    "phone": "{{ contact.phone }}",
    "fields": {"first_name": "{{ contact.first_name }}"},
    "call_after": "{{ vars.callback_at }}",
}
VALID: dict[str, dict[str, Any]] = {
    "start": {},
    "load_sharing": {"shares": [{"branch": "a", "percent": 0}, {"branch": "b-2", "percent": 100}]},
    "checkpoint": {"label": "identified"},
    "pause": {"seconds": 604_800},
    "node": {},
    "case_associate": {"lookup": "by_reference", "reference": "{{ vars.case_ref }}"},
    "crm_associate": {"field": "phone", "value": "{{ contact.phone }}"},
    "crm2_associate": {"object_type": "account", "field": "contact.phone", "value": "x"},
    "crm_create": {"fields": {"name": "{{ contact.name }}", "source": "whatsapp"}},
    "crm2_create": {"object_type": "lead", "fields": {"name": "{{ contact.name }}"}},
    "task_create": {
        "title": "Call {{ contact.name }} back",
        "description": "About {{ vars.topic }}",
        "due_in_minutes": 60,
        "assignee": {"kind": "queue", "ref": "sales"},
    },
    "case_dissociate": {},
    "case_create": {"title": "Claim", "fields": {"order": "{{ vars.order }}"}, "priority": "high"},
    "case_modify": {"fields": {"note": "called"}, "status": "pending", "priority": "low"},
    "variables_assign": {
        "assignments": [
            {"variable": "topic", "value": "billing"},
            {"variable": "contact.language", "value": "{{ message.text | lower }}"},
        ]
    },
    "values_test": {
        "cases": [
            {"branch": "adult", "conditions": [CONDITION]},
            {"branch": "code", "conditions": [{"left": "x", "operator": "matches", "right": "^A"}]},
            {"branch": "blank", "conditions": [{"left": "{{ vars.x }}", "operator": "is_empty"}]},
        ]
    },
    "values_table": {"table": "zips", "key": "{{ vars.zip }}", "into": {"city": "city"}},
    "database_read": {"database": "orders", "filter": {"id": "{{ vars.order }}"}, "into": {}},
    "database_save": {"database": "orders", "values": {"id": "{{ vars.order }}"}},
    "database_modify": {
        "database": "orders",
        "filter": {"id": "1"},
        "values": {"state": "paid"},
        "count_into": "paid_count",
    },
    "datetime": {
        "operation": "add",
        "timezone": "Europe/Paris",
        "amount": 2,
        "unit": "days",
        "into": "callback_at",
    },
    "passages_check": {"action": "a_0123456789", "max": 3},
    "nth_contact_check": {"period": "week", "scope": "entry_point", "n": 3},
    "to_queue": {
        "queue": "sales",
        "priority": 10,
        "max_wait_seconds": 86_400,
        "waiting_message": "Please hold on",
    },
    "to_smart_routing": {"routing": "after-sales"},
    "call_smart_routing": {"routing": "identify", "into": "identity"},
    "to_user": {"user": "{{ contact.adviser }}"},
    "web_service": {
        "method": "POST",
        "url": "{{ vars.api }}/orders",
        "headers": {"Authorization": "Bearer {{ vars.token }}"},
        "body": '{"id": "{{ vars.order }}"}',
        "timeout_seconds": 30,
        "retries": 5,
        "into": {"order_state": "$.data.state"},
    },
    "message": {"media_url": "https://example.com/a.png"},
    "message_wait": {
        "text": "Your order number?",
        "into": "order",
        "validate": "regex",
        "pattern": r"^\d{6}$",
        "retries": 2,
        "retry_text": "Six digits, please",
        "timeout_seconds": 600,
    },
    "message_choice": {"text": "Pick", "choices": CHOICES, "timeout_seconds": 60, "retries": 0},
    "email_send": {
        "to": "{{ vars.email }}",
        "subject": "Your order",
        "body": "Hello {{ contact.name }}",
        "reply_to": "support@example.com",
    },
    "sms_send": {"to": "+33612345678", "text": "Code {{ vars.code }}", "sender": "Shop"},
    "campaign_whatsapp_target": TARGET,
    "campaign_voice_target": TARGET,
    "campaign_sms_target": TARGET,
    "schedule_test": {"schedule": "office"},
    "week_parity": {"timezone": "America/New_York"},
    "survey": {"survey": "nps", "timeout_seconds": 300},
}


def shares(*pairs: tuple[str, int]) -> dict[str, Any]:
    return {"shares": [{"branch": branch, "percent": percent} for branch, percent in pairs]}


def one_case(*conditions: dict[str, Any], branch: str = "a") -> dict[str, Any]:
    return {"cases": [{"branch": branch, "conditions": list(conditions)}]}


def choice(*choices: tuple[str, str, str]) -> dict[str, Any]:
    entries = [
        {"label": label, "value": value, "branch": branch} for label, value, branch in choices
    ]
    return {"text": "Pick", "choices": entries}


def wait(**params: Any) -> dict[str, Any]:
    return {"text": "?", "into": "answer", **params}


def with_(type_key: str, **changes: Any) -> dict[str, Any]:
    return {**VALID[type_key], **changes}


FIRST_CONDITION = "params.cases.0.conditions.0"
BROKEN: list[tuple[str, dict[str, Any], str]] = [
    ("start", {"x": 1}, "params.x"),
    ("pause", {"seconds": 60, "minutes": 1}, "params.minutes"),
    ("load_sharing", shares(("a", 50), ("b", 40)), "params.shares"),
    ("load_sharing", shares(("a", 50), ("a", 50)), "params.shares"),
    ("load_sharing", shares(("a", 100)), "params.shares"),
    ("load_sharing", shares(("a", 101), ("b", -1)), "params.shares.0.percent"),
    ("load_sharing", shares(("a b", 50), ("b", 50)), "params.shares.0.branch"),
    ("load_sharing", shares(("x" * 41, 50), ("b", 50)), "params.shares.0.branch"),
    ("load_sharing", shares(("other", 50), ("b", 50)), "params.shares.0.branch"),
    ("checkpoint", {"label": " "}, "params.label"),
    ("pause", {"seconds": 0}, "params.seconds"),
    ("pause", {"seconds": 604_801}, "params.seconds"),
    ("case_associate", {"lookup": "by_reference"}, "params.reference"),
    ("case_associate", {"lookup": "newest"}, "params.lookup"),
    ("crm_associate", {"field": "1phone", "value": "x"}, "params.field"),
    ("crm_associate", {"field": "phone", "value": ""}, "params.value"),
    ("crm2_associate", with_("crm2_associate", object_type=" "), "params.object_type"),
    ("crm_create", {"fields": {}}, "params.fields"),
    ("crm_create", {"fields": {"name": "{{ contact.name"}}, "params.fields.name"),
    ("crm_create", {"fields": {"bad name": "x"}}, "params.fields.bad name.[key]"),
    ("crm2_create", {"fields": {"name": "x"}}, "params.object_type"),
    ("task_create", with_("task_create", title=""), "params.title"),
    ("task_create", with_("task_create", due_in_minutes=0), "params.due_in_minutes"),
    (
        "task_create",
        with_("task_create", assignee={"kind": "team", "ref": "x"}),
        "params.assignee.kind",
    ),
    ("case_create", {"title": "x", "priority": "asap"}, "params.priority"),
    ("case_modify", {}, "params"),
    ("case_modify", {"status": "done"}, "params.status"),
    ("variables_assign", {"assignments": []}, "params.assignments"),
    (
        "variables_assign",
        {"assignments": [{"variable": "a b", "value": ""}]},
        "params.assignments.0.variable",
    ),
    (
        "variables_assign",
        {"assignments": [{"variable": "vars.a", "value": ""}]},
        "params.assignments.0.variable",
    ),
    ("values_test", {"cases": []}, "params.cases"),
    ("values_test", {"cases": [*one_case(CONDITION)["cases"]] * 2}, "params.cases"),
    ("values_test", one_case(CONDITION, branch="other"), "params.cases.0.branch"),
    ("values_test", one_case(), "params.cases.0.conditions"),
    ("values_test", one_case({**CONDITION, "operator": "like"}), f"{FIRST_CONDITION}.operator"),
    ("values_test", one_case({**CONDITION, "left": "{% if %}"}), f"{FIRST_CONDITION}.left"),
    (
        "values_test",
        one_case({**CONDITION, "operator": "matches", "right": "(["}),
        f"{FIRST_CONDITION}.right",
    ),
    ("values_test", one_case({**CONDITION, "operator": "is_empty"}), f"{FIRST_CONDITION}.right"),
    ("values_test", one_case({**CONDITION, "right": ""}), f"{FIRST_CONDITION}.right"),
    ("values_table", {"table": "", "key": "x"}, "params.table"),
    ("values_table", {"table": "t", "key": "x", "into": {"city": "my city"}}, "params.into.city"),
    ("database_read", {"database": "orders", "filter": {}}, "params.filter"),
    ("database_save", {"database": "orders", "values": {}}, "params.values"),
    ("database_modify", with_("database_modify", filter={}), "params.filter"),
    ("database_modify", with_("database_modify", count_into="1x"), "params.count_into"),
    ("datetime", {"operation": "yesterday", "into": "x"}, "params.operation"),
    ("datetime", {"operation": "add", "into": "x"}, "params.amount"),
    ("datetime", {"operation": "difference", "into": "x"}, "params.other"),
    ("datetime", {"operation": "format", "into": "x"}, "params.format"),
    ("datetime", {"operation": "now", "into": "x", "timezone": "Mars/Base"}, "params.timezone"),
    ("datetime", {"operation": "now"}, "params.into"),
    ("passages_check", {"max": 0}, "params.max"),
    ("nth_contact_check", {"n": 0}, "params.n"),
    ("nth_contact_check", {"n": 2, "period": "year"}, "params.period"),
    ("nth_contact_check", {"n": 2, "scope": "channel"}, "params.scope"),
    ("to_queue", {"queue": ""}, "params.queue"),
    ("to_queue", {"queue": "sales", "priority": 11}, "params.priority"),
    ("to_queue", {"queue": "sales", "max_wait_seconds": 9}, "params.max_wait_seconds"),
    ("to_queue", {"queue": "sales", "max_wait_seconds": 86_401}, "params.max_wait_seconds"),
    ("to_smart_routing", {"routing": ""}, "params.routing"),
    ("call_smart_routing", {"routing": ""}, "params.routing"),
    ("call_smart_routing", {"routing": "identify", "into": "contact.x"}, "params.into"),
    ("to_user", {"user": ""}, "params.user"),
    ("web_service", with_("web_service", method="FETCH"), "params.method"),
    ("web_service", with_("web_service", url="ftp://example.com"), "params.url"),
    ("web_service", with_("web_service", timeout_seconds=31), "params.timeout_seconds"),
    ("web_service", with_("web_service", retries=6), "params.retries"),
    (
        "web_service",
        with_("web_service", headers={"Bad Header": "x"}),
        "params.headers.Bad Header.[key]",
    ),
    ("web_service", with_("web_service", into={"state": "data.state"}), "params.into.state"),
    ("message", {}, "params"),
    ("message", {"text": "Hello {{ name }"}, "params.text"),
    ("message", {"media_url": "javascript:alert(1)"}, "params"),
    ("message", {"text": "x", "media_url": "data:text/html,hi"}, "params"),
    ("message_wait", wait(validate="regex"), "params.pattern"),
    ("message_wait", wait(validate="regex", pattern="(["), "params.pattern"),
    ("message_wait", wait(validate="regex", pattern="a" * 501), "params.pattern"),
    ("message_wait", wait(validate="yes_no"), "params.validate"),
    ("message_wait", wait(retries=6), "params.retries"),
    ("message_wait", wait(timeout_seconds=5), "params.timeout_seconds"),
    ("message_wait", {"text": "?"}, "params.into"),
    ("message_choice", choice(), "params.choices"),
    ("message_choice", choice(*[(f"L{n}", f"v{n}", f"b{n}") for n in range(21)]), "params.choices"),
    ("message_choice", choice(("Yes", "y", "a"), ("No", "y", "b")), "params.choices"),
    ("message_choice", choice(("Yes", "y", "a"), ("No", "n", "a")), "params.choices"),
    ("message_choice", choice(("Été", "e", "a"), ("ete", "f", "b")), "params.choices"),
    ("message_choice", choice(("Yes", "y", "timeout")), "params.choices.0.branch"),
    ("message_choice", choice(("", "y", "a")), "params.choices.0.label"),
    ("email_send", with_("email_send", to=""), "params.to"),
    ("email_send", with_("email_send", body="{{ x }"), "params.body"),
    ("sms_send", {"to": "+33612345678"}, "params.text"),
    ("campaign_whatsapp_target", with_("campaign_whatsapp_target", campaign=""), "params.campaign"),
    ("campaign_voice_target", with_("campaign_voice_target", call_after="{{"), "params.call_after"),
    (
        "campaign_sms_target",
        with_("campaign_sms_target", fields={"a-b": "x"}),
        "params.fields.a-b.[key]",
    ),
    ("schedule_test", {"schedule": ""}, "params.schedule"),
    ("week_parity", {"timezone": "Mars/Base"}, "params.timezone"),
    ("survey", {"survey": ""}, "params.survey"),
    ("survey", {"survey": "nps", "timeout_seconds": 0}, "params.timeout_seconds"),
]


def test_every_type_has_an_example() -> None:
    assert sorted(VALID) == sorted(known_types())


@pytest.mark.parametrize("type_key", sorted(VALID))
def test_valid_example_survives_a_storage_round_trip(type_key: str) -> None:
    stored = validate_params(type_key, VALID[type_key])
    assert validate_params(type_key, stored) == stored


@pytest.mark.parametrize(("type_key", "params", "field"), BROKEN)
def test_broken_params_name_the_field(type_key: str, params: dict[str, Any], field: str) -> None:
    with pytest.raises(Invalid) as raised:
        validate_params(type_key, params)
    assert raised.value.field == field
