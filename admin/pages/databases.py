"""Reference > Databases: typed tables the trees read and write, with their fields.

Fields are typed one per line: ``name type [required] [unique] [default=VALUE]``.
"""

from __future__ import annotations

from typing import Any

from quart import url_for

from admin.context import services
from admin.i18n import marked, phrase
from admin.pages.resources import Column, Field, Resource
from routing_core.infra.errors import Invalid, Words
from routing_core.model.reference import CustomDatabase, FieldType

FLAGS = ("required", "unique")


def _fields_of(text: str) -> list[dict[str, Any]]:
    fields = []
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.split()
        if not words:
            continue
        if len(words) < 2 or words[1] not in {t.value for t in FieldType}:
            raise Invalid(Words(
                "line %(number)s: a name then a type (%(values)s)",
                number=number, values=', '.join(t.value for t in FieldType)), field="fields")
        field: dict[str, Any] = {"name": words[0], "type": words[1]}
        for word in words[2:]:
            if word in FLAGS:
                field[word] = True
            elif word.startswith("default="):
                field["default"] = word[len("default="):]
            else:
                raise Invalid(Words(
                    "line %(number)s: %(word)r is not required, unique or default=VALUE",
                    number=number, word=word), field="fields")
        fields.append(field)
    return fields


def _line(field: Any) -> str:
    words = [field.name, field.type.value] + [flag for flag in FLAGS if getattr(field, flag)]
    if field.default is not None:
        words.append(f"default={field.default}")
    return " ".join(words)


def _read(form: Any, item: CustomDatabase | None) -> dict[str, Any]:
    return {"name": form.text("name"), "description": form.raw("description"),
            "fields": _fields_of(form.raw("fields"))}


async def _fields(item: CustomDatabase | None) -> list[Field]:
    return [
        Field("name", phrase("Name"), required=True),
        Field("description", phrase("Description"), "textarea"),
        Field("fields", phrase("Fields"), "textarea", rows=8,
              help=phrase("One per line: name type [required] [unique] [default=VALUE]; types: "
                         "%(types)s.", types=", ".join(t.value for t in FieldType))),
    ]


resource = Resource(
    key="databases", url="/databases", title="Databases", singular="database",
    section="Reference data",
    load_all=lambda: services().store.databases.all(),  # noqa: PLW0108
    load=lambda item_id: services().store.databases.get(item_id),  # noqa: PLW0108
    fields=_fields,
    values_of=lambda item: {"name": item.name, "description": item.description,
                            "fields": "\n".join(_line(field) for field in item.fields)},
    create=lambda who, values: services().databases.create(who, **values),
    update=lambda who, item_id, values: services().databases.update(who, item_id, values),  # noqa: PLW0108
    delete=lambda who, item_id: services().databases.delete(who, item_id),  # noqa: PLW0108
    columns=[
        Column("Name", lambda item: item.name),
        Column("Fields", lambda item: ", ".join(f.name for f in item.fields), code=True),
        Column("Description", lambda item: item.description),
    ],
    read_form=_read,
    extra_links=lambda item: [
        (phrase("Rows"), url_for("pages.database_rows.index", database_id=item.id)),
    ],
    describe=marked("A database is a typed table the trees read and write (customers, opt-outs…)."),
)
blueprint = resource.blueprint
