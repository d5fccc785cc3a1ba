"""Where the service's logs go and in which shape: text for people, JSON for collectors.

``SR_LOG_FORMAT=json`` writes one JSON object per line (time, level, logger, message, the
exception if any), with ``interaction_id`` and ``entry_point_id`` when the line was
written during a step, so a log pipeline can gather everything about one conversation.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from config import Settings
from routing_core.infra.logctx import InteractionFilter

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
CONTEXT_FIELDS = ("interaction_id", "entry_point_id")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in CONTEXT_FIELDS:
            if value := getattr(record, field, None):
                entry[field] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The classic line, with the interaction and entry point at the end when known."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = " ".join(f"{field}={value}" for field in CONTEXT_FIELDS
                           if (value := getattr(record, field, None)))
        return f"{line} [{context}]" if context else line


def handler_for(log_format: str) -> logging.Handler:
    """A stderr handler in the given format that knows the interaction of each line."""
    handler = logging.StreamHandler()
    handler.addFilter(InteractionFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter(TEXT_FORMAT))
    return handler


def configure_logging(settings: Settings) -> None:
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler_for(settings.log_format))
    root.setLevel(settings.log_level)
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, root.level))
