"""Which contacts this process has seen, so that only a contact's first message here asks
MongoDB whether it is new.

A new contact can have no conversation yet: its first message needs no look-up — the
contact and its conversation are written at the same time (``opening.py``), one
conditional write fewer than a message of a known contact. Asking for every message would add that
write to every follow-up instead, hence this memory: bounded (least recently seen go
first), and only ever an optimisation — a contact forgotten here is asked about again,
one that vanished from MongoDB is created again by the usual path.
"""

from __future__ import annotations

from collections import OrderedDict

KEPT = 100_000


class KnownContacts:
    def __init__(self, kept: int = KEPT):
        self._kept = kept
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()

    def first_sight(self, entry_point_id: str, contact: str) -> bool:
        """True the first time this process meets the contact (then it is remembered)."""
        key = (entry_point_id, contact)
        if key in self._seen:
            self._seen.move_to_end(key)
            return False
        self._seen[key] = None
        if len(self._seen) > self._kept:
            self._seen.popitem(last=False)
        return True
