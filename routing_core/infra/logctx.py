"""Which interaction a log line is about, without passing it to every function.

The runtime binds the interaction and entry point ids at the start of each step, in its
task's context (asyncio copies contexts per task, so concurrent steps do not mix);
``InteractionFilter`` copies them onto every record a handler sees, for formatters.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

_current: ContextVar[tuple[str, str] | None] = ContextVar("interaction", default=None)


def bind(interaction_id: str, entry_point_id: str) -> None:
    _current.set((interaction_id, entry_point_id))


class InteractionFilter(logging.Filter):
    """Sets ``record.interaction_id`` and ``record.entry_point_id`` (None outside a step)."""

    def filter(self, record: logging.LogRecord) -> bool:
        bound = _current.get()
        record.interaction_id, record.entry_point_id = bound or (None, None)
        return True
