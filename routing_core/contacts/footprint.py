"""Where a person's data lies beyond their contact and conversations: the records their
conversations created. One list, read by the export and by the erasure alike, so that what
is exported is what is erased."""

from __future__ import annotations

import re
from typing import Any


def created_in(interaction_ids: list[str]) -> dict[str, Any]:
    """Records an action of these conversations created: their ``origin`` is the step's
    key, ``<interaction id>:<action>:<passage>``."""
    if not interaction_ids:
        return {"_id": {"$in": []}}
    return {"origin": {"$regex": "^(" + "|".join(map(re.escape, interaction_ids)) + "):"}}


def records_of(contact_ids: list[str], interaction_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The query of each ``Store`` repository holding records about the person."""
    by_interaction = {"interaction_id": {"$in": interaction_ids}}
    return {
        "cases": {"$or": [{"contact_id": {"$in": contact_ids}},
                          {"interaction_ids": {"$in": interaction_ids}}]},
        "tasks": by_interaction,
        "survey_answers": by_interaction,
        "crm_cards": created_in(interaction_ids),
        "crm_objects": created_in(interaction_ids),
    }
