"""What actions of several categories need while they run: ports, stored values.

A port the host did not provide (say, no HTTP client in a test) is an error the
interpreter records on the interaction, never a crash of the worker.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from routing_core.infra.errors import Invalid, Words

if TYPE_CHECKING:
    from routing_core.actions.context import RunContext
    from routing_core.ports.world import HttpPort, ReferencePort

MAX_DEPTH = 20


def reference_port(ctx: RunContext) -> ReferencePort:
    if ctx.ports.reference is None:
        raise Invalid(Words("%(type)s: reference data is not available here", type=ctx.action.type))
    return ctx.ports.reference


def http_port(ctx: RunContext) -> HttpPort:
    if ctx.ports.http is None:
        raise Invalid(Words("%(type)s: HTTP calls are not available here", type=ctx.action.type))
    return ctx.ports.http


def storable(value: Any, depth: int = 0) -> Any:
    """A value a variable can hold (JSON-like): dates become ISO texts, anything else that
    is not JSON (a template's undefined, a function) its text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if depth >= MAX_DEPTH:
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): storable(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [storable(item, depth + 1) for item in value]
    return str(value)


def evaluated(ctx: RunContext, templates: Mapping[str, str]) -> dict[str, Any]:
    """Each template evaluated (types kept: a number stays a number)."""
    return {name: storable(ctx.evaluate(template)) for name, template in templates.items()}
