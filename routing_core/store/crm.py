"""CRM cards, CRM V2 types and objects."""

from __future__ import annotations

from pymongo import ASCENDING, IndexModel

from routing_core.model.crm import CrmCard, CrmObject, CrmType
from routing_core.store.cases import UNIQUE_ORIGIN
from routing_core.store.repository import Repository


class CrmCardRepository(Repository[CrmCard]):
    """Cards are searched by any of their fields: one wildcard index serves them all."""

    collection_name = "crm_cards"
    record = CrmCard
    label = "CRM card"
    INDEXES = [IndexModel([("fields.$**", ASCENDING)], name="by_any_field"), UNIQUE_ORIGIN]


class CrmTypeRepository(Repository[CrmType]):
    collection_name = "crm_types"
    record = CrmType
    label = "CRM object type"
    INDEXES = [IndexModel([("name", ASCENDING)], unique=True, name="unique_name")]


class CrmObjectRepository(Repository[CrmObject]):
    """Unique fields of every type share one multikey unique index over ``unique_key``
    (``"<field>=<value>"``); other fields are found through the wildcard index."""

    collection_name = "crm_objects"
    record = CrmObject
    label = "CRM object"
    INDEXES = [
        IndexModel([("type_id", ASCENDING), ("_id", ASCENDING)], name="by_type"),
        IndexModel(
            [("type_id", ASCENDING), ("unique_key", ASCENDING)],
            unique=True,
            partialFilterExpression={"unique_key": {"$type": "string"}},
            name="unique_values_per_type",
        ),
        IndexModel([("values.$**", ASCENDING)], name="by_any_value"),
        UNIQUE_ORIGIN,
    ]
