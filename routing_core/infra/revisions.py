"""The revision an editor read, checked when it saves: two people editing one record never
silently overwrite each other.

A save is a conditional write on the revision read just before it (nobody writes in
between); this adds the revision the editor's form or API call was built from, so a change
saved meanwhile — minutes earlier, by someone else — is refused with a sentence instead of
being lost under the stale form.
"""

from __future__ import annotations

from routing_core.infra.errors import Conflict, Invalid, Words


def revision_read(expected: object) -> int | None:
    """The revision an editor said it read (None or "": it did not say)."""
    if expected is None or expected == "":
        return None
    try:
        return int(str(expected))
    except ValueError:
        raise Invalid("revision: a whole number", field="revision") from None


def require_revision(expected: object, current: int, what: str) -> None:
    """Refuse unless the revision the editor read, when it says one, is ``current``."""
    read = revision_read(expected)
    if read is not None and read != current:
        raise changed_meanwhile(what)


def revision_filter(expected: object) -> dict[str, object]:
    """What a conditional update adds to its filter for the revision the editor read
    (nothing when not given); records written before they had a revision count as 0."""
    read = revision_read(expected)
    if read is None:
        return {}
    return {"revision": {"$in": [0, None]}} if read == 0 else {"revision": read}


def changed_meanwhile(what: str) -> Conflict:
    return Conflict(Words(
        "%(what)s was changed meanwhile — reload it to see the change, then make yours again",
        what=what), code="concurrent_change")
