"""Domain errors: each carries the HTTP-agnostic facts the API turns into its error shape."""

from __future__ import annotations


class DomainError(Exception):
    """A request the domain refuses; ``code`` is stable, ``message`` is for people."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
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
