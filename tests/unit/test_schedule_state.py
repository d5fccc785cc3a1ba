"""schedule_state: weekly hours, dated exceptions, daylight saving, and the schedule rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from routing_core.model.reference import WEEKDAYS, Schedule
from routing_core.reference.schedules import schedule_state

NINE_TO_FIVE = [{"start": "09:00", "end": "17:00"}]


def schedule(
    weekly: dict[str, list[dict[str, str]]] | None = None,
    exceptions: list[dict[str, object]] | None = None,
    timezone: str = "Europe/Paris",
) -> Schedule:
    return Schedule.model_validate(
        {
            "name": "office",
            "timezone": timezone,
            "weekly": weekly if weekly is not None else dict.fromkeys(WEEKDAYS, NINE_TO_FIVE),
            "exceptions": exceptions or [],
        }
    )


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # Paris is UTC+1 in winter: 08:00 UTC is 09:00 local, the opening.
        ("2024-01-15T07:59:59", "closed"),
        ("2024-01-15T08:00:00", "open"),
        ("2024-01-15T15:59:59", "open"),
        ("2024-01-15T16:00:00", "closed"),  # 17:00 local: the end is excluded
        # In summer (UTC+2) the same wall-clock hours are one UTC hour earlier.
        ("2024-07-15T07:00:00", "open"),
        ("2024-07-15T15:00:00", "closed"),
    ],
)
def test_weekly_hours_in_local_time(moment: str, expected: str) -> None:
    assert schedule_state(schedule(), utc(moment)) == expected


def test_the_same_utc_time_either_side_of_spring_forward() -> None:
    # 2024-03-31: Paris goes from 02:00 CET to 03:00 CEST. 07:30 UTC is 08:30 on the
    # Saturday (closed) but 09:30 on the Sunday (open).
    office = schedule()
    assert schedule_state(office, utc("2024-03-30T07:30:00")) == "closed"
    assert schedule_state(office, utc("2024-03-31T07:30:00")) == "open"
    assert schedule_state(office, utc("2024-03-31T14:59:00")) == "open"
    assert schedule_state(office, utc("2024-03-31T15:00:00")) == "closed"


def test_a_range_inside_the_skipped_hour_never_opens() -> None:
    night = schedule({"sunday": [{"start": "02:00", "end": "03:00"}]})
    assert schedule_state(night, utc("2024-03-31T00:59:59")) == "closed"  # 01:59:59 CET
    assert schedule_state(night, utc("2024-03-31T01:00:00")) == "closed"  # 03:00 CEST


def test_the_repeated_hour_of_fall_back_is_open_both_times() -> None:
    # 2024-10-27: 02:30 local happens at 00:30 UTC (CEST) and again at 01:30 UTC (CET).
    night = schedule({"sunday": [{"start": "02:00", "end": "03:00"}]})
    assert schedule_state(night, utc("2024-10-27T00:30:00")) == "open"
    assert schedule_state(night, utc("2024-10-27T01:30:00")) == "open"
    assert schedule_state(night, utc("2024-10-27T02:00:00")) == "closed"  # 03:00 CET


def test_new_york_dst_and_any_offset_of_the_moment() -> None:
    office = schedule(timezone="America/New_York")
    # 2024-03-10: New York springs forward; 13:30 UTC is 09:30 EDT (open), the day
    # before it is 08:30 EST (closed).
    assert schedule_state(office, utc("2024-03-09T13:30:00")) == "closed"
    assert schedule_state(office, utc("2024-03-10T13:30:00")) == "open"
    tokyo_moment = datetime.fromisoformat("2024-03-10T22:30:00+09:00")  # 13:30 UTC
    assert schedule_state(office, tokyo_moment) == "open"


def test_a_closed_exception_is_exception_all_day() -> None:
    office = schedule(exceptions=[{"date": "2024-12-25", "closed": True, "label": "Christmas"}])
    assert schedule_state(office, utc("2024-12-25T10:00:00")) == "exception"
    assert schedule_state(office, utc("2024-12-25T22:00:00")) == "exception"
    assert schedule_state(office, utc("2024-12-26T10:00:00")) == "open"


def test_an_exception_with_ranges_replaces_the_week_for_that_day() -> None:
    office = schedule(
        exceptions=[{"date": "2024-12-24", "ranges": [{"start": "09:00", "end": "12:00"}]}]
    )
    assert schedule_state(office, utc("2024-12-24T09:00:00")) == "exception"  # 10:00 local
    assert schedule_state(office, utc("2024-12-24T13:00:00")) == "closed"  # 14:00 local
    assert schedule_state(office, utc("2024-12-23T13:00:00")) == "open"


def test_the_exception_date_is_the_local_date() -> None:
    office = schedule(exceptions=[{"date": "2024-12-25", "closed": True}])
    # 23:30 UTC on the 24th is already 00:30 on the 25th in Paris.
    assert schedule_state(office, utc("2024-12-24T23:30:00")) == "exception"
    assert schedule_state(office, utc("2024-12-24T22:59:00")) == "closed"


def test_a_range_may_end_at_midnight() -> None:
    late = schedule({"friday": [{"start": "22:00", "end": "24:00"}]}, timezone="UTC")
    assert schedule_state(late, utc("2024-01-19T23:59:59")) == "open"
    assert schedule_state(late, utc("2024-01-20T00:00:00")) == "closed"


def test_a_day_without_ranges_is_closed() -> None:
    weekdays_only = schedule({day: NINE_TO_FIVE for day in WEEKDAYS[:5]})
    assert schedule_state(weekdays_only, utc("2024-01-20T10:00:00")) == "closed"  # Saturday


def test_a_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        schedule_state(schedule(), datetime(2024, 1, 15, 10, 0))  # noqa: DTZ001


@pytest.mark.parametrize(
    ("weekly", "exceptions", "timezone", "where"),
    [
        ({"monday": [{"start": "10:00", "end": "09:00"}]}, [], "UTC", "weekly.monday.0.end"),
        ({"monday": [{"start": "10:00", "end": "10:00"}]}, [], "UTC", "weekly.monday.0.end"),
        ({"monday": [{"start": "9:00", "end": "10:00"}]}, [], "UTC", "weekly.monday.0.start"),
        ({"monday": [{"start": "24:00", "end": "24:00"}]}, [], "UTC", "weekly.monday.0.end"),
        ({"monday": [{"start": "09:00", "end": "24:01"}]}, [], "UTC", "weekly.monday.0.end"),
        (
            {"monday": [{"start": "09:00", "end": "12:00"}, {"start": "11:00", "end": "14:00"}]},
            [], "UTC", "weekly.monday",
        ),
        ({"funday": []}, [], "UTC", "weekly.funday"),
        ({}, [], "Mars/Olympus", "timezone"),
        ({}, [{"date": "2024-02-30", "closed": True}], "UTC", "exceptions.0.date"),
        ({}, [{"date": "2024-12-25"}], "UTC", "exceptions.0.ranges"),
        (
            {}, [{"date": "2024-12-25", "closed": True, "ranges": NINE_TO_FIVE}],
            "UTC", "exceptions.0.ranges",
        ),
        (
            {}, [{"date": "2024-12-25", "closed": True}, {"date": "2024-12-25", "closed": True}],
            "UTC", "exceptions",
        ),
    ],
)
def test_schedule_rules(
    weekly: dict[str, object], exceptions: list[object], timezone: str, where: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        Schedule.model_validate(
            {"name": "x", "timezone": timezone, "weekly": weekly, "exceptions": exceptions}
        )
    assert ".".join(str(part) for part in caught.value.errors()[0]["loc"]) == where


def test_touching_ranges_are_allowed_and_sorted() -> None:
    split = schedule(
        {"monday": [{"start": "14:00", "end": "18:00"}, {"start": "09:00", "end": "14:00"}]}
    )
    assert [item.start for item in split.weekly.monday] == ["09:00", "14:00"]
    assert schedule_state(split, utc("2024-01-15T13:00:00")) == "open"  # 14:00 local
