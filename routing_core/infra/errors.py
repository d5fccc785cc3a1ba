"""Domain errors: each carries the HTTP-agnostic facts the API turns into its error shape."""

from __future__ import annotations

import re
from typing import Any

# a value quoted back in full would bury the sentence (a 5,000-character name)
LONG_QUOTE = re.compile(r"(?<![^\s(:])(['\"])([^'\"\n]{40})[^'\"\n]{10,}\1(?=$|[\s,.;:)])")


def shortened(text: str) -> str:
    return LONG_QUOTE.sub(lambda found: f"{found.group(1)}{found.group(2)}…{found.group(1)}",
                          text)


class Words:
    """A sentence before its values are put in (``"no queue %(name)r"``) and those values.

    The domain speaks English (the API's ``message``); a page says the same refusal in its
    viewer's language, from a catalogue that lists these sentences as written here — so a
    refusal that names something is raised as ``Invalid(Words("…%(name)r…", name=name))``.
    """

    __slots__ = ("template", "values")

    def __init__(self, template: str, **values: Any):
        self.template = template
        self.values = values

    def __str__(self) -> str:
        return put_in(self.template, self.values)


def put_in(words: str, values: dict[str, Any]) -> str:
    """A sentence with its values (one with nothing to put in may hold a bare "%")."""
    return words % values if values else words


class DomainError(Exception):
    """A request the domain refuses; ``code`` is stable, ``message`` is for people."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str | Words, *, field: str | None = None,
                 code: str | None = None, worded: tuple[str, dict[str, Any]] | None = None):
        if isinstance(message, Words):
            worded = (message.template, message.values)
        # the sentence at the message's end before its values were put in, and those values:
        # a page says it in its viewer's language when its catalogue knows it
        self.worded = worded or (message, {})
        message = shortened(str(message))
        super().__init__(message)
        self.message = message
        self.field = field
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
