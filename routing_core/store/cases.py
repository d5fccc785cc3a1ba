"""Cases."""

from __future__ import annotations

from pymongo import ASCENDING, DESCENDING, IndexModel

from routing_core.model.cases import Case
from routing_core.store.repository import Repository

# A step's idempotency key: present on what actions create, absent on what admins create.
UNIQUE_ORIGIN = IndexModel(
    [("origin", ASCENDING)], unique=True,
    partialFilterExpression={"origin": {"$type": "string"}}, name="unique_origin",
)


class CaseRepository(Repository[Case]):
    """``number`` gives the reference; its unique index makes concurrent openings retry."""

    collection_name = "cases"
    record = Case
    label = "case"
    INDEXES = [
        IndexModel([("number", DESCENDING)], unique=True, name="unique_number"),
        IndexModel([("reference", ASCENDING)], unique=True, name="unique_reference"),
        IndexModel([("contact_id", ASCENDING), ("status", ASCENDING), ("_id", DESCENDING)],
                   name="by_contact"),
        IndexModel([("status", ASCENDING), ("_id", DESCENDING)], name="by_status"),
        IndexModel([("interaction_ids", ASCENDING)], name="by_interaction"),
        UNIQUE_ORIGIN,
    ]
