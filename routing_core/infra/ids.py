"""Identifiers: sortable by creation time, opaque strings at every boundary."""

from __future__ import annotations

import secrets
from datetime import datetime

from bson import ObjectId


def new_id() -> str:
    """A document id; ObjectId text keeps insertion order for cursors."""
    return str(ObjectId())


def new_action_id() -> str:
    """A short id, unique within one version's tree."""
    return "a_" + secrets.token_hex(5)


def id_at(moment: datetime) -> str:
    """The smallest id of a record created at ``moment``: ids hold their creation second
    (from 1970 to 2106; a moment outside is taken as the nearest end)."""
    seconds = min(max(moment.timestamp(), 0), 2**32 - 1)
    return f"{int(seconds):08x}" + "0" * 16
