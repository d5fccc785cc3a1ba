"""The revision an editor read, checked when it saves: two people editing one record never
silently overwrite each other.

A save is a conditional write on the revision read just before it (nobody writes in
between); this adds the revision the editor's form or API call was built from, so a change
saved meanwhile — minutes earlier, by someone else — is refused with a sentence instead of
being lost under the stale form.
"""

from __future__ import annotations

from routing_core.infra.errors import Conflict, Invalid


def require_revision(expected: object, current: int, what: str) -> None:
    """Refuse unless ``expected`` (None or "": the caller did not say) is ``current``."""
    if expected is None or expected == "":
        return
    try:
        read = int(str(expected))
    except ValueError:
        raise Invalid("revision: a whole number", field="revision") from None
    if read != current:
        raise changed_meanwhile(what)


def revision_filter(expected: object) -> dict[str, object]:
    """What a conditional update adds to its filter for the revision the editor read
    (nothing when not given); records written before they had a revision count as 0."""
    if expected is None or expected == "":
        return {}
    try:
        read = int(str(expected))
    except ValueError:
        raise Invalid("revision: a whole number", field="revision") from None
    return {"revision": {"$in": [0, None]}} if read == 0 else {"revision": read}


def changed_meanwhile(what: str) -> Conflict:
    return Conflict(f"{what} was changed meanwhile — reload it to see the change, then "
                    "make yours again", code="concurrent_change")
