"""Dates and date-times as authors write them, read in a timezone.

Shared by the ``datetime`` action and the ``before``/``after`` conditions, so a value one
accepts the other compares. A *moment* is either a calendar ``date`` (no time of day) or
a timezone-aware ``datetime``; naive texts are read as wall-clock time in the timezone.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, tzinfo

from routing_core.expressions.values import parse_date

Moment = date | datetime
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_HAS_TIME = re.compile(r"\d[T ]\d{1,2}:\d{2}")
UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3_600, "days": 86_400, "weeks": 604_800}


def parse_moment(value: object, zone: tzinfo = UTC) -> Moment | None:
    """A date, or an aware date-time in ``zone``; None when ``value`` is not one."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=zone) if value.tzinfo is None else value.astimezone(zone)
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()[:64]
    if _ISO_DATE.fullmatch(text):
        return parse_date(text)
    if _HAS_TIME.search(text):
        try:
            return parse_moment(datetime.fromisoformat(text), zone)
        except ValueError:
            return None
    return parse_date(text)


def shift(moment: Moment, seconds: int, unit: str, zone: tzinfo = UTC) -> Moment:
    """``moment`` moved by ``seconds``: days and weeks in wall-clock time (a day is a
    calendar day across a daylight saving change), smaller units in elapsed time. A date
    stays a date when moved by days or weeks, else it starts at midnight in ``zone``."""
    delta = timedelta(seconds=seconds)
    if not isinstance(moment, datetime):
        if unit in ("days", "weeks"):
            return moment + delta
        moment = datetime.combine(moment, datetime.min.time(), tzinfo=zone)
    zone = moment.tzinfo or zone
    if unit in ("days", "weeks"):
        return (moment.replace(tzinfo=None) + delta).replace(tzinfo=zone)
    return (moment.astimezone(UTC) + delta).astimezone(zone)


def elapsed(later: Moment, earlier: Moment, unit: str) -> int:
    """Whole ``unit``s from ``earlier`` to ``later`` (negative when ``later`` is earlier),
    truncated toward zero; days and weeks count calendar time."""
    if unit in ("days", "weeks"):
        seconds = (_wall_clock(later) - _wall_clock(earlier)).total_seconds()
    else:
        seconds = (_instant(later) - _instant(earlier)).total_seconds()
    return int(seconds / UNIT_SECONDS[unit])


def compare(left: Moment, right: Moment) -> int:
    """-1, 0 or 1; a date against a date-time compares the calendar days."""
    if isinstance(left, datetime) and isinstance(right, datetime):
        first, second = _instant(left), _instant(right)
        return (first > second) - (first < second)
    first_day, second_day = _day(left), _day(right)
    return (first_day > second_day) - (first_day < second_day)


def _day(moment: Moment) -> date:
    return moment.date() if isinstance(moment, datetime) else moment


def _wall_clock(moment: Moment) -> datetime:
    if isinstance(moment, datetime):
        return moment.replace(tzinfo=None)
    return datetime.combine(moment, datetime.min.time())


def _instant(moment: Moment) -> datetime:
    if isinstance(moment, datetime):
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return datetime.combine(moment, datetime.min.time(), tzinfo=UTC)
