"""Campaign targets read from an uploaded CSV file, every line checked before anything is
stored: a file is imported whole or not at all.

The header row names the columns: ``phone`` (required), ``call_after`` (optional: a date
and time, in the service's time zone unless it carries an offset), and every other column
becomes one of the target's ``fields`` (what the campaign's message reads as
``target.<column>``). Each line is checked as the API checks one target (``TargetIn``, then
the domain's phone rule), and a phone may appear once in a file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from admin.pages.views import validated
from admin.schemas.campaigns import TargetIn
from routing_core.business.campaigns import MAX_BULK, phone_number
from routing_core.infra.errors import Invalid, Words

MAX_BYTES = 512 * 1024
MAX_ROWS = MAX_BULK  # what one call of ``Campaigns.add_many`` takes
PHONE, CALL_AFTER = "phone", "call_after"
RESERVED = (PHONE, CALL_AFTER)
EMPTY = ("the file is empty: it needs a header row (phone, then any fields) and one line "
         "per target")


@dataclass(frozen=True)
class Problem:
    """Why a file is refused: on one line (of the file, counted from 1), or the whole file (0)."""

    line: int
    message: str


@dataclass(frozen=True)
class TargetLine:
    line: int
    phone: str  # normalised (E.164), so a number written twice two ways is caught
    fields: dict[str, Any]
    call_after: datetime | None

    def payload(self) -> dict[str, Any]:
        return {"phone": self.phone, "fields": self.fields, "call_after": self.call_after}


@dataclass(frozen=True)
class Reading:
    targets: list[TargetLine]
    problems: list[Problem]


class _Refused(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.problem = Problem(line, message)


def local_moment(text: str, zone: tzinfo, field: str) -> datetime | None:
    """A typed date and time, in ``zone`` unless it says its offset; None when blank."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(Words(
            "a date and time such as 2030-01-31T17:00, not %(text)r",
            text=text[:40]),
                      field=field) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _text(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise _Refused(0, f"the file is larger than {MAX_BYTES // 1024} KB: import at most "
                       f"{MAX_ROWS} targets at once, in several files if need be")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise _Refused(line, "the file is not UTF-8 text (byte "
                       f"{data[error.start:error.start + 1].hex()} at this line): save it "
                       "as “CSV UTF-8” and import it again") from None
    if not text.strip():
        raise _Refused(0, EMPTY)
    return text


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """The non-blank records with the line each starts on (a quoted cell may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise _Refused(line, f"cannot be read as CSV: {error}") from None
        if any(cell.strip() for cell in cells):
            yield line, cells


def _columns(line: int, cells: list[str]) -> tuple[list[str], list[Problem]]:
    """The header's column names (``phone``/``call_after`` in any case), or its faults."""
    columns = [cell.strip() for cell in cells]
    columns = [name.lower() if name.lower() in RESERVED else name for name in columns]
    problems = [Problem(line, f"column {number} of the header has no name")
                for number, name in enumerate(columns, start=1) if not name]
    seen: set[str] = set()
    for name in columns:
        if name and name in seen:
            problems.append(Problem(line, f"the header names the column {name!r} twice"))
        seen.add(name)
    if PHONE not in columns:
        problems.append(Problem(line, "the header has no phone column (it has: "
                                f"{', '.join(name for name in columns if name) or 'nothing'})"))
    return columns, problems


def _target(line: int, columns: list[str], cells: list[str], zone: tzinfo) -> TargetLine:
    if len(cells) != len(columns):
        raise Invalid(Words(
            "%(count)s cells where the header has %(count2)s",
            count=len(cells), count2=len(columns)))
    values = {name: cell.strip() for name, cell in zip(columns, cells, strict=True)}
    phone = values.pop(PHONE)
    call_after = local_moment(values.pop(CALL_AFTER, ""), zone, CALL_AFTER)
    checked, errors = validated(TargetIn, {"phone": phone, "fields": values,
                                           "call_after": call_after})
    if errors:
        raise Invalid("; ".join(f"{field}: {message}" for field, message in errors.items()))
    return TargetLine(line, phone_number(checked.phone), checked.fields, checked.call_after)


def read_targets(data: bytes, zone: tzinfo) -> Reading:
    """Every line's target, or every problem found (a file-wide one stops the reading)."""
    try:
        records = list(_records(_text(data)))
    except _Refused as refusal:
        return Reading([], [refusal.problem])
    if not records:
        return Reading([], [Problem(0, EMPTY)])
    columns, problems = _columns(*records[0])
    if problems:
        return Reading([], problems)
    body = records[1:]
    if not body:
        return Reading([], [Problem(0, "the file has a header row but no target")])
    if len(body) > MAX_ROWS:
        return Reading([], [Problem(0, f"the file has {len(body)} targets: import at most "
                                       f"{MAX_ROWS} at once, in several files if need be")])
    targets: list[TargetLine] = []
    first_line_of: dict[str, int] = {}
    for line, cells in body:
        try:
            target = _target(line, columns, cells, zone)
        except Invalid as refusal:
            problems.append(Problem(line, refusal.message))
            continue
        if (earlier := first_line_of.get(target.phone)) is not None:
            problems.append(Problem(line, f"{target.phone} is already on line {earlier}"))
            continue
        first_line_of[target.phone] = line
        targets.append(target)
    return Reading(targets, problems)
