"""The left navigation: each page area adds its entry, shown to users who may read it.

Areas that arrive later (entry points, queues, value tables…) call ``add_entry`` from
their own module, so this list grows without any template change.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NavEntry:
    key: str  # what a template sets as ``active_nav`` to highlight the entry
    section: str
    label: str
    endpoint: str
    permission: str
    rank: int = 100  # within its section, lower first; equal ranks keep the order added


_ENTRIES: list[NavEntry] = []
# Sections in this order whatever the order their modules are imported in; others after.
SECTION_ORDER = ("Operations", "Routing", "Distribution", "Cases & CRM", "Campaigns & surveys",
                 "Reference data", "Administration")


def add_entry(entry: NavEntry) -> None:
    if all(existing.key != entry.key for existing in _ENTRIES):
        _ENTRIES.append(entry)


def all_entries() -> list[NavEntry]:
    return list(_ENTRIES)


def entries_for(permissions: frozenset[str]) -> list[tuple[str, list[NavEntry]]]:
    """The entries the user may open, grouped by section in the order they were added."""
    sections: dict[str, list[NavEntry]] = {}
    for entry in _ENTRIES:
        if entry.permission in permissions:
            sections.setdefault(entry.section, []).append(entry)
    def rank(section: str) -> int:
        return SECTION_ORDER.index(section) if section in SECTION_ORDER else len(SECTION_ORDER)

    return sorted(((section, sorted(entries, key=lambda entry: entry.rank))
                   for section, entries in sections.items()), key=lambda item: rank(item[0]))
