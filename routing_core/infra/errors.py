"""Domain errors: each carries the HTTP-agnostic facts the API turns into its error shape."""

from __future__ import annotations

import re
from typing import Any

# a value quoted back in full would bury the sentence (a 5,000-character name)
LONG_QUOTE = re.compile(r"(?<![^\s(:])(['\"])([^'\"\n]{40})[^'\"\n]{10,}\1(?=$|[\s,.;:)])")


class DomainError(Exception):
    """A request the domain refuses; ``code`` is stable, ``message`` is for people."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None,
                 worded: tuple[str, dict[str, Any]] | None = None):
        message = LONG_QUOTE.sub(lambda found: f"{found.group(1)}{found.group(2)}…"
                                 f"{found.group(1)}", message)
        super().__init__(message)
        self.message = message
        self.field = field
        # the sentence at the message's end before its values were put in (a known one a
        # page says in its viewer's language), and those values
        self.worded = worded
        if code:
            self.code = code


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    """A lifecycle rule, a uniqueness rule or a concurrent change forbids the request."""

    status = 409
    code = "conflict"


class Invalid(DomainError):
    """A value is well-formed JSON but not acceptable."""

    status = 422
    code = "invalid"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Unauthenticated(DomainError):
    status = 401
    code = "unauthenticated"
