"""Reference > Variables: global values every tree reads, changed without a new version."""

from __future__ import annotations

import json
from typing import Any

from admin.context import services
from admin.i18n import marked, phrase
from admin.pages.resources import Column, Field, Resource
from routing_core.infra.errors import Invalid
from routing_core.model.reference import GlobalVariable, VariableType


def _shown(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def _typed(text: str, kind: str, name: str) -> Any:
    """Blank is unset; JSON variables are typed as JSON (the service checks the rest)."""
    if not text:
        return None
    if kind == VariableType.json.value:
        try:
            return json.loads(text)
        except ValueError:
            raise Invalid("not valid JSON", field=name) from None
    return text


def _read(form: Any, item: GlobalVariable | None) -> dict[str, Any]:
    kind = form.text("type") or VariableType.text.value
    return {
        "name": form.text("name"), "type": kind, "description": form.raw("description"),
        "default_value": _typed(form.text("default_value"), kind, "default_value"),
        "value": _typed(form.text("value"), kind, "value"),
    }


async def _fields(item: GlobalVariable | None) -> list[Field]:
    return [
        Field("name", phrase("Name"), required=True,
              help=phrase("Letters, digits and '_': trees read it as {{ global.NAME }}.")),
        Field("type", phrase("Type"), "select", options=[(t.value, t.value) for t in VariableType]),
        Field("description", phrase("Description"), "textarea"),
        Field("default_value", phrase("Default value"), help=phrase("Read while no value is set.")),
        Field("value", phrase("Value"),
              help=phrase("The current value; blank: the default applies.")),
    ]


resource = Resource(
    key="variables", url="/variables", title="Variables", singular="variable",
    section="Reference data",
    load_all=lambda: services().store.variables.all(),  # noqa: PLW0108
    load=lambda item_id: services().store.variables.get(item_id),  # noqa: PLW0108
    fields=_fields,
    values_of=lambda item: {
        "name": item.name, "type": item.type.value, "description": item.description,
        "default_value": _shown(item.default_value), "value": _shown(item.value),
    },
    create=lambda who, values: services().variables.create(who, **values),
    update=lambda who, item_id, values: services().variables.update(who, item_id, values),  # noqa: PLW0108
    delete=lambda who, item_id: services().variables.delete(who, item_id),  # noqa: PLW0108
    columns=[
        Column("Name", lambda item: item.name),
        Column("Type", lambda item: item.type.value),
        Column("Value", lambda item: _shown(item.effective_value), code=True),
        Column("Description", lambda item: item.description),
    ],
    read_form=_read,
    describe=marked("A global variable holds a value every tree can read, such as a phone number "
                    "or a promotion, changed here without a new version."),
)
blueprint = resource.blueprint
