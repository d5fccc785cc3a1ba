"""Identifiers: sortable by creation time, opaque strings at every boundary."""

from __future__ import annotations

import secrets

from bson import ObjectId


def new_id() -> str:
    """A document id; ObjectId text keeps insertion order for cursors."""
    return str(ObjectId())


def new_action_id() -> str:
    """A short id, unique within one version's tree."""
    return "a_" + secrets.token_hex(5)
