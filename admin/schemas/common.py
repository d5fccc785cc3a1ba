"""Shapes shared by every area: pages, errors."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    """Request bodies refuse unknown fields, so a typo is an error, not a silent no-op."""

    model_config = ConfigDict(extra="forbid")


def refuse_null(value: Any) -> Any:
    """A field validator for PATCH bodies: a field may be left out, but null would store
    nothing where the record needs a value (and break every later read of it)."""
    if value is None:
        raise ValueError("may be left out, but cannot be null")
    return value


class PageQuery(BaseModel):
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=500)


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorOut(BaseModel):
    error: ErrorDetail
