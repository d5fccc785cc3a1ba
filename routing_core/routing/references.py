"""What a tree names that does not exist: a queue, a value table, a database, a schedule,
a smart routing, a survey, a campaign, a CRM object type.

Such an action fails for every customer who reaches it, so a version naming one is not
fit for production. ``validation.py`` checks a tree alone; this needs the store, once
per check (one query per kind of record named). The parameters that name a record are
found on the types themselves — every field typed ``Reference`` — so a new action type
with one is checked without being listed here; only the record each field names is.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any, get_type_hints

from routing_core.actions import known_types
from routing_core.actions.params import Reference
from routing_core.model.tree import Action, Tree
from routing_core.routing.validation import Finding, ValidationReport, label, validate
from routing_core.store import Store
from routing_core.store.campaigns import CampaignRepository
from routing_core.store.crm import CrmTypeRepository
from routing_core.store.queues import QueueRepository
from routing_core.store.reference import (
    DatabaseRepository,
    ScheduleRepository,
    ValueTableRepository,
)
from routing_core.store.repository import Repository
from routing_core.store.routings import SmartRoutingRepository
from routing_core.store.surveys import SurveyRepository


@dataclass(frozen=True)
class NamedRecord:
    """What a parameter names: its records' repository, what a person calls one, and the
    fields the run time matches the name against."""

    repository: type[Repository[Any]]
    kind: str
    keys: tuple[str, ...] = ("name",)

    def missing(self, value: str) -> str:
        by = " with the reference" if "reference" in self.keys else ""
        return f"there is no {self.kind}{by} {value!r}"


NAMED_RECORDS: dict[str, NamedRecord] = {
    "queue": NamedRecord(QueueRepository, "queue", ("name", "_id")),
    "table": NamedRecord(ValueTableRepository, "value table"),
    "database": NamedRecord(DatabaseRepository, "database"),
    "schedule": NamedRecord(ScheduleRepository, "schedule"),
    "routing": NamedRecord(SmartRoutingRepository, "smart routing", ("reference",)),
    "survey": NamedRecord(SurveyRepository, "survey"),
    "campaign": NamedRecord(CampaignRepository, "campaign"),
    "object_type": NamedRecord(CrmTypeRepository, "CRM object type", ("name", "_id")),
}


@cache
def reference_fields(type_key: str) -> tuple[str, ...]:
    """The parameters of an action type that name a record."""
    params = known_types()[type_key].Params
    hints = get_type_hints(params, include_extras=True)
    return tuple(name for name in params.model_fields if hints.get(name) == Reference)


def named_in(action: Action) -> Iterator[tuple[NamedRecord, str]]:
    """The records an action names, each with the name it gives."""
    if action.type not in known_types():
        return  # an unknown type is validation's finding
    for field in reference_fields(action.type):
        value = action.params.get(field)
        if isinstance(value, str) and value.strip() and field in NAMED_RECORDS:
            yield NAMED_RECORDS[field], value.strip()


async def existing(store: Store, record: NamedRecord, names: list[str],
                   session: Any = None) -> dict[str, dict[str, Any]]:
    """Of these names, those a record answers to, with that record."""
    found = store.database[record.repository.collection_name].find(
        {"$or": [{key: {"$in": names}} for key in record.keys]}, session=session)
    return {str(document.get(key)): document async for document in found
            for key in record.keys if document.get(key) in names}


async def missing_references(store: Store, tree: Tree, session: Any = None) -> list[Finding]:
    """One finding per action naming a record that does not exist."""
    named: dict[NamedRecord, dict[str, list[Action]]] = {}
    for action in tree.actions:
        for record, value in named_in(action):
            named.setdefault(record, {}).setdefault(value, []).append(action)
    findings: list[Finding] = []
    for record, values in named.items():
        known = await existing(store, record, list(values), session)
        findings += [Finding(code="missing_reference",
                             message=f"action {label(action)}: {record.missing(value)}",
                             action=action.id, words={"action": label(action),
                                                      "problem": record.missing(value)})
                     for value, actions in values.items() if value not in known
                     for action in actions]
    return findings


async def full_report(store: Store, tree: Tree) -> ValidationReport:
    """The tree's own findings and the records it names that do not exist."""
    report = validate(tree)
    report.errors.extend(await missing_references(store, tree))
    return report
