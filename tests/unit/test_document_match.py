"""The filter a change feed's subscriber applies to what the shared stream brings: it must
take exactly what MongoDB's filter took for it, and refuse an operator it does not know."""

from __future__ import annotations

import pytest

from routing_core.store.document_match import check_filter, matches

WEBCHAT = {"type": {"$in": ["outbound", "end"]}, "channel": "webchat",
           "status": {"$ne": "failed"}}
AGENTS = {"$or": [{"agent_id": {"$ne": None}}, {"type": {"$in": ["assigned", "transferred"]}}]}


@pytest.mark.parametrize(("document", "query", "expected"), [
    ({"type": "outbound", "channel": "webchat", "status": "sent"}, WEBCHAT, True),
    ({"type": "outbound", "channel": "webchat"}, WEBCHAT, True),  # no status: not failed
    ({"type": "outbound", "channel": "webchat", "status": "failed"}, WEBCHAT, False),
    ({"type": "inbound", "channel": "webchat"}, WEBCHAT, False),
    ({"type": "outbound", "channel": "telegram"}, WEBCHAT, False),
    ({"type": "inbound", "agent_id": "a1"}, AGENTS, True),
    ({"type": "inbound", "agent_id": None}, AGENTS, False),  # null: as absent
    ({"type": "inbound"}, AGENTS, False),
    ({"type": "transferred"}, AGENTS, True),
    ({"data": {"kind": "x"}}, {"data.kind": "x"}, True),  # a dotted path
    ({"data": {"kind": "y"}}, {"data.kind": {"$nin": ["y"]}}, False),
    ({"tags": ["a", "b"]}, {"tags": "b"}, True),  # an array matches one of its elements
    ({"a": 1}, {"$nor": [{"a": 1}]}, False),
    ({"a": 1, "b": 2}, {"$and": [{"a": 1}, {"b": {"$eq": 2}}]}, True),
    ({"a": 1}, {"b": {"$exists": False}}, True),
    ({"a": 1}, {"a": {"$exists": False}}, False),
])
def test_a_document_passes_a_filter_as_mongodb_would(document, query, expected):
    assert matches(document, query) is expected


@pytest.mark.parametrize("query", [
    {"a": {"$gt": 1}}, {"$where": "true"}, {"$or": [{"a": {"$regex": "x"}}]}])
def test_an_operator_it_cannot_test_is_refused_with_its_name(query):
    with pytest.raises(ValueError, match=r"unsupported operator \$"):
        check_filter(query)
