"""Golden files of a provider channel (``tests/golden/channels/<channel>/<name>.json``):
each holds the credentials its cases are signed with, and the cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "channels"


def golden(channel: str, name: str) -> dict[str, Any]:
    return json.loads((GOLDEN / channel / f"{name}.json").read_text())  # type: ignore[no-any-return]


def cases(channel: str, name: str) -> list[Any]:
    """One pytest parameter ``(credentials, case)`` per case, named after it."""
    document = golden(channel, name)
    return [pytest.param(document["credentials"], case, id=case["name"])
            for case in document["cases"]]


def names(channel: str) -> list[str]:
    """The channel's golden files, by name."""
    return sorted(path.stem for path in (GOLDEN / channel).glob("*.json"))
