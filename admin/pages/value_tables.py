"""Reference > Value tables: lookup tables edited as CSV (typed, pasted or uploaded).

The first column is the key. Saving the CSV calls ``ValueTables.import_csv``, which checks
everything before storing anything.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from admin.context import services
from admin.pages.resources import Column, Field, Resource
from routing_core.model.reference import ValueTable


def as_csv(table: ValueTable) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow(["" if row.get(column) is None else row.get(column)
                         for column in table.columns])
    return out.getvalue()


def _read(form: Any, item: ValueTable | None) -> dict[str, Any]:
    return {"name": form.text("name"), "description": form.raw("description"),
            "csv": form.file_text("csv_file") or form.raw("csv")}


async def _create(who: Any, values: dict[str, Any]) -> ValueTable:
    text = values.pop("csv").strip()
    first = next(csv.reader(io.StringIO(text)), ["key"]) if text else ["key"]
    table = await services().value_tables.create(
        who, name=values["name"], description=values["description"],
        columns=[cell.strip() for cell in first],
    )
    if text:
        table = await services().value_tables.import_csv(who, table.id, text)
    return table


async def _update(who: Any, item_id: str, values: dict[str, Any]) -> ValueTable:
    text = values.pop("csv").strip()
    table = await services().value_tables.update(who, item_id, values)
    if text and text != as_csv(table).strip():
        table = await services().value_tables.import_csv(who, item_id, text)
    return table


async def _fields(item: ValueTable | None) -> list[Field]:
    return [
        Field("name", "Name", required=True),
        Field("description", "Description", "textarea"),
        Field("csv", "Rows (CSV)", "textarea", rows=12,
              help="The header row gives the columns (the first one is the key); each further "
              "line is a row."),
        Field("csv_file", "…or import a CSV file", "file",
              help="Replaces the columns and rows by the file's."),
    ]


resource = Resource(
    key="value_tables", url="/value-tables", title="Value tables", singular="value table",
    section="Reference data",
    load_all=lambda: services().store.value_tables.all(),  # noqa: PLW0108
    load=lambda item_id: services().store.value_tables.get(item_id),  # noqa: PLW0108
    fields=_fields,
    values_of=lambda item: {"name": item.name, "description": item.description,
                            "csv": as_csv(item)},
    create=_create, update=_update,
    delete=lambda who, item_id: services().value_tables.delete(who, item_id),  # noqa: PLW0108
    columns=[
        Column("Name", lambda item: item.name),
        Column("Columns", lambda item: ", ".join(item.columns), code=True),
        Column("Rows", lambda item: str(len(item.rows))),
        Column("Description", lambda item: item.description),
    ],
    read_form=_read,
    describe="A value table maps a key to values (postcode → agency, product → queue).",
)
blueprint = resource.blueprint
