"""How the pages name, group and summarise action types, all read from the registry.

Categories are the registry's modules (``routing_core/actions/messaging.py`` → Messaging),
so a type added by another module appears in the editor without touching the pages.
Titles, help and categories are shown in the viewer's language: ``make i18n`` lists them
from the registry (``english_words``).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from admin.i18n import translate
from routing_core.actions import known_types
from routing_core.model.tree import Action, Tree
from routing_core.routing.validation import ValidationReport, label

CATEGORY_TITLES = {
    "messaging": "Messaging",
    "flow": "Actions and action tree",
    "data": "Data",
    "distribution": "Distribution",
    "interconnection": "Interconnection",
    "sending": "Sending",
    "cases": "Cases & CRM",
    "campaigns": "Campaigns",
    "timing": "Time and dates",
    "survey": "Survey",
}
WORDS = {"crm": "CRM", "crm2": "CRM V2", "sms": "SMS", "nth": "Nth", "whatsapp": "WhatsApp"}
# The parameter that best says what an action does, in order of preference.
SUMMARY_KEYS = (
    "text", "label", "queue", "routing", "user", "url", "table", "database", "title", "subject",
    "campaign", "survey", "schedule", "object_type", "operation", "seconds", "max", "n",
    "lookup", "field", "timezone",
)  # fmt: skip


@dataclass(frozen=True)
class TypeInfo:
    key: str
    title: str
    category: str
    help: str
    fixed: bool
    ends_the_tree: bool = False  # nothing can follow it


def humanize(key: str) -> str:
    words = [WORDS.get(word, word) for word in key.split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def english_type_info(key: str) -> TypeInfo:
    kind = known_types().get(key)
    if kind is None:
        return TypeInfo(key, humanize(key), "unknown", "This action type is not known.", False)
    category = kind.__module__.rsplit(".", 1)[-1]
    doc = inspect.getdoc(kind) or ""
    return TypeInfo(key, kind.title or humanize(key), category, doc.split("\n\n")[0],
                    kind.fixed, kind.ends_the_tree())


def type_info(key: str) -> TypeInfo:
    """The type as the viewer reads it (title and help in their language)."""
    info = english_type_info(key)
    return TypeInfo(info.key, translate(info.title), info.category, translate(info.help),
                    info.fixed, info.ends_the_tree)


def english_words() -> list[str]:
    """Every type's title and help and every category's title, as written."""
    words = [*CATEGORY_TITLES.values(), "This action type is not known."]
    for key in known_types():
        info = english_type_info(key)
        words += [info.title, *([info.help] if info.help else [])]
    return words


def viewer_report(report: ValidationReport, tree: Tree) -> ValidationReport:
    """The findings naming their actions with the types' titles in the viewer's language
    (the domain names them in English)."""
    def named(action_id: str) -> str | None:
        action = tree.find(action_id)
        return label(action, type_info(action.type).title) if action else None

    def relabelled(finding: Any) -> Any:
        words = dict(finding.words)
        if "action" in words and finding.action and (shown := named(finding.action)):
            words["action"] = shown
        if "actions" in words and finding.actions:
            labels = [named(action_id) for action_id in finding.actions]
            if all(labels):
                words["actions"] = ", ".join(labels)  # type: ignore[arg-type]
        return finding.model_copy(update={"words": words})

    return ValidationReport(errors=[relabelled(f) for f in report.errors],
                            warnings=[relabelled(f) for f in report.warnings])


def category_title(category: str) -> str:
    return translate(CATEGORY_TITLES.get(category, humanize(category)))


def addable_types() -> list[tuple[str, list[TypeInfo]]]:
    """Every type an admin may add, grouped by category in the catalogue's order."""
    groups: dict[str, list[TypeInfo]] = {}
    for key in known_types():
        info = type_info(key)
        if not info.fixed:
            groups.setdefault(info.category, []).append(info)
    order = list(CATEGORY_TITLES)
    ranked = sorted(groups, key=lambda name: (order.index(name) if name in order else 99, name))
    return [(category_title(name), sorted(groups[name], key=lambda i: i.title)) for name in ranked]


def action_title(action: Action) -> str:
    """What a person calls this action: its name, else what it does, else its type."""
    if action.name:
        return action.name
    said = summary(action)
    if said:
        return said if len(said) <= 40 else said[:39] + "…"
    return type_info(action.type).title


def summary(action: Action) -> str:
    """One line about what the action does, for its box in the tree."""
    params = action.params
    if action.type == "load_sharing":
        shares = params.get("shares", [])
        return " / ".join(f"{share.get('branch')} {share.get('percent')}%" for share in shares)
    for key in SUMMARY_KEYS:
        value = params.get(key)
        if value not in (None, "", [], {}) and not isinstance(value, dict | list):
            return str(value) if key in ("text", "label") else f"{humanize(key)}: {value}"
    for key, value in params.items():
        if isinstance(value, list) and value:
            noun = humanize(key).lower()
            return f"{len(value)} {noun[:-1] if len(value) == 1 and noun.endswith('s') else noun}"
    return ""
