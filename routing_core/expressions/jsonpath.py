"""The small JSON-path subset the web_service action maps answers with.

Supported: ``$`` (the whole document), ``.name`` (a key: letters, digits, ``_``, ``-``),
``['a.key']`` or ``["a.key"]`` (a key with other characters, spaces excepted: the
parameter refuses them), and ``[3]``/``[-1]`` (a list index, negative from the end). So
``$.data.items[0].id`` or ``$['order.state']``. Wildcards, slices, filters and
recursive descent are refused when the action is saved: one path names one value.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_STEP = re.compile(
    r"""\.(?P<name>[A-Za-z0-9_-]+)
      | \[(?P<index>-?\d{1,9})\]
      | \['(?P<single>[^'\\]*)'\]
      | \["(?P<double>[^"\\]*)"\]""",
    re.VERBOSE,
)
Step = str | int


class JsonPathError(ValueError):
    """A path outside the supported subset; the message shows where it goes wrong."""


@lru_cache(maxsize=1024)
def parse(path: str) -> tuple[Step, ...]:
    if not path.startswith("$"):
        raise JsonPathError("a JSON path starts with '$'")
    steps: list[Step] = []
    position = 1
    while position < len(path):
        found = _STEP.match(path, position)
        if found is None:
            raise JsonPathError(
                f"unsupported JSON path at {path[position:position + 20]!r}: use .name, "
                "['name'] or [index]"
            )
        kind = found.lastgroup
        text = found.group(kind or "")
        steps.append(int(text) if kind == "index" else text)
        position = found.end()
    return tuple(steps)


def extract(document: Any, path: str, default: Any = None) -> Any:
    """The value at ``path`` in ``document``, or ``default`` when it is not there."""
    current = document
    for step in parse(path):
        if isinstance(step, int):
            if not isinstance(current, list) or not -len(current) <= step < len(current):
                return default
            current = current[step]
        elif isinstance(current, dict) and step in current:
            current = current[step]
        else:
            return default
    return current
