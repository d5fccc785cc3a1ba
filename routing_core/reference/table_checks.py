"""Pure checks of value tables: unique names, rows that fit the columns with a distinct
text key, and CSV import that names the line of each refusal."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from routing_core.infra.errors import Invalid, Words

MAX_TABLE_ROWS = 10_000
# -- value tables: pure checks -----------------------------------------------------------

def ensure_unique_names(names: Iterable[str], field: str) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            raise Invalid(Words("%(name)r appears twice", name=name), field=f"{field}.{index}")
        seen.add(name)


def check_table_rows(columns: list[str], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows use only the columns, and each has a distinct, non-empty text key (column 1)."""
    if len(rows) > MAX_TABLE_ROWS:
        raise Invalid(Words(
            "a value table has at most %(max_table_rows)s rows",
            max_table_rows=MAX_TABLE_ROWS), field="rows")
    key_column, allowed, keys = columns[0], set(columns), set[str]()
    for index, row in enumerate(rows):
        for column in row.keys() - allowed:
            raise Invalid(
                Words("%(column)r is not a column of the table", column=column),
                field=f"rows.{index}.{column}"
            )
        key = row.get(key_column)
        where = f"rows.{index}.{key_column}"
        if not isinstance(key, str) or not key:
            raise Invalid(Words(
                "every row needs a text key in column %(key_column)r",
                key_column=key_column), field=where)
        if key in keys:
            raise Invalid(Words("the key %(key)r is used by two rows", key=key), field=where)
        keys.add(key)
    return rows


def parse_csv(text: str) -> tuple[list[str], list[dict[str, str]]]:
    """The header row gives the columns, each further non-blank line a row (cells as text)."""
    try:
        lines = list(csv.reader(io.StringIO(text), strict=True))
    except csv.Error as error:
        raise Invalid(Words("the CSV cannot be read: %(error)s", error=error),
                      field="csv") from None
    lines = [line for line in lines if any(cell.strip() for cell in line)]
    if not lines:
        raise Invalid("the CSV is empty: it needs a header row", field="csv")
    columns = [cell.strip() for cell in lines[0]]
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if len(line) != len(columns):
            raise Invalid(
                Words(
                    "CSV row %(number)s has %(count)s cells, the header has %(count2)s",
                    number=number, count=len(line), count2=len(columns)),
                field="csv",
            )
        rows.append(dict(zip(columns, line, strict=True)))
    return columns, rows


def csv_place(refusal: Invalid) -> str:
    """Where in the CSV a table refusal points: " (row N)", the header being row 1."""
    parts = (refusal.field or "").split(".")
    if parts[0] == "rows" and len(parts) > 1 and parts[1].isdigit():
        return f" (row {int(parts[1]) + 2})"
    return " (header)" if parts[0] == "columns" else ""


