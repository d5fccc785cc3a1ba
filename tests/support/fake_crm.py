"""In-memory ports of cases, the CRM, tasks, campaigns and surveys, for the golden cases.

``record_ports(spec)`` takes the plain JSON a golden case holds under
``context.records`` and gives the ``Ports.extra`` entries::

    {"cases": [{"id", "reference", "title", "status", "priority", "fields",
                "contact_id", "created_at"}],
     "cards": [{"id", <field>: <value>…}],
     "types": {"customer": {"fields": {"email": "email", "age": "number", …},
                            "required": ["email"], "unique": ["email"]}},
     "objects": [{"id", "type", <field>: <value>…}],
     "campaigns": {"spring": {"kind": "sms", "status": "running", "phones": [...]}},
     "surveys": {"csat": {"id", "questions": [...], "retry_text"}}}

What they create gets ids numbered from 1 (``case-1``, ``CASE-000101``…), so a replayed
case creates the same things.
"""

from __future__ import annotations

from copy import deepcopy
from datetime import datetime
from typing import Any

from routing_core.expressions.values import is_email, parse_number
from routing_core.infra.errors import Conflict, Invalid, NotFound

CREATED_AT = "2024-05-06T10:00:00+00:00"


def same(stored: Any, wanted: Any) -> bool:
    """Equal, a number typed as text matching the number (as the store searches)."""
    return stored == wanted or (stored is not None and str(stored) == str(wanted))


class FakeCases:
    def __init__(self, cases: list[dict[str, Any]]):
        self.cases = {case["id"]: {"fields": {}, "priority": "normal", "status": "open",
                                   "contact_id": "contact-1", "created_at": CREATED_AT,
                                   **case}
                      for case in deepcopy(cases)}
        self.links: dict[str, list[str]] = {case_id: [] for case_id in self.cases}

    def _snapshot(self, case_id: str) -> dict[str, Any]:
        return deepcopy(self.cases[case_id])

    async def latest_open(self, contact_id: str) -> dict[str, Any] | None:
        open_ones = [case_id for case_id, case in self.cases.items()
                     if case["contact_id"] == contact_id and case["status"] != "closed"]
        return self._snapshot(open_ones[-1]) if open_ones else None

    async def by_reference(self, reference: str) -> dict[str, Any] | None:
        found = [case_id for case_id, case in self.cases.items()
                 if case["reference"] == reference.upper()]
        return self._snapshot(found[0]) if found else None

    async def link(self, case_id: str, interaction_id: str) -> dict[str, Any] | None:
        if case_id not in self.cases:
            return None
        self.links[case_id].append(interaction_id)
        return self._snapshot(case_id)

    async def unlink(self, case_id: str, interaction_id: str) -> None:
        if interaction_id in self.links.get(case_id, []):
            self.links[case_id].remove(interaction_id)

    async def open_case(
        self, *, title: str, fields: dict[str, Any], priority: str, contact_id: str,
        interaction_id: str, origin: str,
    ) -> dict[str, Any]:
        number = 100 + len(self.cases) + 1
        case_id = f"case-{number}"
        self.cases[case_id] = {"id": case_id, "reference": f"CASE-{number:06d}", "title": title,
                               "status": "open", "priority": priority, "fields": dict(fields),
                               "contact_id": contact_id, "created_at": CREATED_AT}
        self.links[case_id] = [interaction_id]
        return self._snapshot(case_id)

    async def modify(
        self, case_id: str, *, fields: dict[str, Any], status: str | None,
        priority: str | None,
    ) -> dict[str, Any] | None:
        case = self.cases.get(case_id)
        if case is None:
            return None
        case["fields"].update(fields)
        case["status"] = status or case["status"]
        case["priority"] = priority or case["priority"]
        return self._snapshot(case_id)


class FakeCrm:
    def __init__(self, cards: list[dict[str, Any]], types: dict[str, dict[str, Any]],
                 objects: list[dict[str, Any]]):
        self.cards = deepcopy(cards)
        self.types = deepcopy(types)
        self.objects = deepcopy(objects)

    async def find_cards(self, field: str, value: Any, limit: int) -> list[dict[str, Any]]:
        return [dict(card) for card in self.cards if same(card.get(field), value)][:limit]

    async def create_card(self, fields: dict[str, Any], origin: str) -> dict[str, Any]:
        for name, value in fields.items():
            if isinstance(value, dict | list):
                raise Invalid(f"fields.{name}: a card holds text, numbers and booleans only")
        card = {**fields, "id": f"card-{len(self.cards) + 1}"}
        self.cards.append(card)
        return dict(card)

    def _type(self, name: str) -> dict[str, Any]:
        if name not in self.types:
            raise NotFound(f"no CRM object type {name!r}")
        return self.types[name]

    async def find_objects(
        self, object_type: str, field: str, value: Any, limit: int
    ) -> list[dict[str, Any]]:
        if field not in self._type(object_type)["fields"]:
            raise Invalid(f"{field!r} is not a field of {object_type!r}")
        return [dict(found) for found in self.objects
                if found["type"] == object_type and same(found.get(field), value)][:limit]

    async def create_object(
        self, object_type: str, values: dict[str, Any], origin: str
    ) -> dict[str, Any]:
        spec = self._type(object_type)
        stored = {name: self._coerced(spec, name, value) for name, value in values.items()
                  if value not in (None, "")}
        for name in spec.get("required", []):
            if name not in stored:
                raise Invalid(f"{name} is required")
        for name in spec.get("unique", []):
            if any(other["type"] == object_type and other.get(name) == stored.get(name)
                   for other in self.objects if name in stored):
                raise Conflict(f"another object already has {stored[name]!r} in the unique "
                               f"field {name}", code="value_taken")
        created = {**stored, "id": f"object-{len(self.objects) + 1}", "type": object_type}
        self.objects.append(created)
        return dict(created)

    @staticmethod
    def _coerced(spec: dict[str, Any], name: str, value: Any) -> Any:
        kind = spec["fields"].get(name)
        if kind is None:
            raise Invalid(f"{name!r} is not a field of this type")
        if kind == "number":
            number = parse_number(value)
            if number is None:
                raise Invalid(f"values.{name}: expected a number")
            return number
        if kind == "email" and not is_email(value):
            raise Invalid(f"values.{name}: expected an e-mail address")
        return value


class FakeTasks:
    def __init__(self) -> None:
        self.tasks: list[dict[str, Any]] = []

    async def create_task(
        self, *, title: str, description: str, assignee: dict[str, str] | None,
        due_at: datetime | None, interaction_id: str, case_id: str | None, origin: str,
    ) -> dict[str, Any]:
        task = {"id": f"task-{len(self.tasks) + 1}", "title": title, "assignee": assignee,
                "due_at": due_at.isoformat() if due_at else None, "status": "open",
                "case_id": case_id}
        self.tasks.append(task)
        return dict(task)


class FakeCampaigns:
    def __init__(self, campaigns: dict[str, dict[str, Any]]):
        self.campaigns = deepcopy(campaigns)
        self.added: list[dict[str, Any]] = []

    async def add_target(
        self, *, campaign: str, kind: str, phone: str, fields: dict[str, Any],
        call_after: datetime | None, origin: str,
    ) -> dict[str, Any]:
        found = self.campaigns.get(campaign)
        if found is None:
            raise NotFound(f"no campaign named {campaign!r}", code="unknown_campaign")
        if found["kind"] != kind:
            raise Conflict(f"{campaign!r} is a {found['kind']} campaign, not {kind}",
                           code="wrong_kind")
        if found.get("status") == "closed":
            raise Conflict(f"the campaign {campaign!r} is closed", code="campaign_closed")
        phones = found.setdefault("phones", [])
        if phone in phones:
            raise Conflict(f"{phone} is already a target of {campaign!r}",
                           code="duplicate_target")
        phones.append(phone)
        target = {"id": f"target-{len(self.added) + 1}", "phone": phone, "fields": fields,
                  "call_after": call_after.isoformat() if call_after else None}
        self.added.append(target)
        return {"id": target["id"], "phone": phone, "status": "pending"}


class FakeSurveys:
    def __init__(self, surveys: dict[str, dict[str, Any]]):
        self.surveys = deepcopy(surveys)
        self.recorded: list[dict[str, Any]] = []

    async def survey(self, name: str) -> dict[str, Any]:
        if name not in self.surveys:
            raise NotFound(f"no survey named {name!r}")
        return {"name": name, "retry_text": "", **deepcopy(self.surveys[name])}

    async def record(self, **response: Any) -> None:
        self.recorded.append(response)


def record_ports(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "cases": FakeCases(spec.get("cases", [])),
        "crm": FakeCrm(spec.get("cards", []), spec.get("types", {}), spec.get("objects", [])),
        "tasks": FakeTasks(),
        "campaigns": FakeCampaigns(spec.get("campaigns", {})),
        "surveys": FakeSurveys(spec.get("surveys", {})),
    }
