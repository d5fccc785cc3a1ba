"""Reference > Value tables: lookup tables edited as CSV (typed, pasted or uploaded), or
cell by cell in a grid on the table's edit page.

The first column is the key. Saving the CSV calls ``ValueTables.import_csv``, saving the
grid ``ValueTables.replace_rows``; both check everything before storing anything, and a
grid refusal (``rows.3.postcode``) is shown in the cell it names.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from quart import flash, redirect, request, url_for

from admin.context import actor, require, services
from admin.i18n import marked, phrase, said
from admin.pages.resources import Column, Field, Resource
from admin.pages.views import page
from routing_core.infra.errors import Conflict, Invalid
from routing_core.model.reference import ValueTable

GRID_ORIGIN = "grid-origin"  # the stored row a grid row came from ("" for a new one)


@dataclass
class GridRow:
    origin: str  # index in the stored rows, or ""
    cells: list[str]


def cell_text(value: Any) -> str:
    return "" if value is None else str(value)


def grid_of(table: ValueTable) -> list[GridRow]:
    return [GridRow(str(index), [cell_text(row.get(column)) for column in table.columns])
            for index, row in enumerate(table.rows)]


def read_grid(form: Any, table: ValueTable) -> list[GridRow]:
    """The grid's rows as sent (one ``grid.<column>`` input per cell), blank rows dropped."""
    origins = form.getlist(GRID_ORIGIN)
    cells = [form.getlist(f"grid.{column}") for column in table.columns]
    if any(len(column) != len(origins) for column in cells):
        raise Invalid("the grid was sent incomplete: reload the page and try again",
                      field="rows")
    rows = [GridRow(origin, [str(column[index]).strip() for column in cells])
            for index, origin in enumerate(origins)]
    return [row for row in rows if any(row.cells)]


def grid_rows(grid: list[GridRow], table: ValueTable) -> list[dict[str, Any]]:
    """The rows for ``replace_rows``: a cell left as it was keeps its stored value (a number
    stays a number), a changed cell is the text typed."""
    rows = []
    for line in grid:
        index = int(line.origin) if line.origin.isdigit() else -1
        before = table.rows[index] if 0 <= index < len(table.rows) else {}
        row: dict[str, Any] = {}
        for column, text in zip(table.columns, line.cells, strict=True):
            if column in before and cell_text(before[column]) == text:
                row[column] = before[column]
            elif text or column in before:
                row[column] = text
        rows.append(row)
    return rows


def grid_errors(error: Invalid | Conflict, table: ValueTable) -> dict[str, str]:
    """``rows.3.postcode`` on that cell (key ``3.postcode``), anything else over the grid."""
    parts = (error.field or "").split(".")
    if len(parts) >= 3 and parts[0] == "rows" and parts[1].isdigit():
        column = parts[2] if parts[2] in table.columns else table.columns[0]
        return {f"{parts[1]}.{column}": said(error)}
    return {"grid": said(error)}


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
        Field("name", phrase("Name"), required=True),
        Field("description", phrase("Description"), "textarea"),
        Field("csv", phrase("Rows (CSV)"), "textarea", rows=12,
              help=phrase("The header row gives the columns (the first one is the key); each "
                          "further line is a row.")),
        Field("csv_file", phrase("…or import a CSV file"), "file",
              help=phrase("Replaces the columns and rows by the file's.")),
    ]


@dataclass
class ValueTableResource(Resource):
    """The scaffold, with the grid editor under the edit form."""

    async def form_page(self, item: Any | None, values: dict[str, Any],
                        errors: dict[str, str], status: int = 200,
                        grid: list[GridRow] | None = None,
                        grid_problems: dict[str, str] | None = None) -> Any:
        return await page(
            "value_tables/form.html", status, active_nav=self.key, resource=self, item=item,
            fields=await self.fields(item), values=values, errors=errors,
            grid=grid if grid is not None else (grid_of(item) if item else []),
            grid_errors=grid_problems or {},
        )


resource = ValueTableResource(
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
    describe=marked("A value table maps a key to values (postcode → agency, product → queue)."),
)
blueprint = resource.blueprint


@blueprint.post("/<item_id>/rows")
@require("value_tables:edit")
async def save_grid(item_id: str) -> Any:
    """The grid's rows replace the table's, in one call."""
    table = await services().store.value_tables.get(item_id)
    form = await request.form
    grid: list[GridRow] = []
    try:
        grid = read_grid(form, table)
        saved = await services().value_tables.replace_rows(
            actor(), item_id, grid_rows(grid, table)
        )
    except (Invalid, Conflict) as error:
        return await resource.form_page(table, resource.values_of(table), {}, 422,
                                        grid=grid, grid_problems=grid_errors(error, table))
    await flash(phrase("Rows of %(name)s saved (%(count)s).", name=saved.name,
                       count=len(saved.rows)), "success")
    return redirect(url_for("pages.value_tables.edit", item_id=item_id))
