"""Time in one place, always timezone-aware UTC, so tests can freeze it."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """MongoDB returns naive datetimes unless told otherwise; treat them as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def in_mongo_precision(moment: datetime) -> datetime:
    """MongoDB keeps milliseconds: a time compared after a round trip must be cut alike."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
