"""Administration > Roles: named sets of permissions given to users."""

from __future__ import annotations

from typing import Any

from admin.context import services
from admin.i18n import marked, phrase, phrases
from admin.pages.resources import Column, Field, Resource
from routing_core.model.users import ALL_PERMISSIONS, Role


def _read(form: Any, item: Role | None) -> dict[str, Any]:
    return {"name": form.text("name"), "permissions": form.all("permissions")}


async def _fields(item: Role | None) -> list[Field]:
    return [
        Field("name", phrase("Name"), required=True),
        Field("permissions", phrase("Permissions"), "checks",
              options=[(p, p.replace("_", " ").replace(":", " · ")) for p in ALL_PERMISSIONS]),
    ]


async def _update(who: Any, item_id: str, values: dict[str, Any]) -> Role:
    return await services().accounts.update_role(who, item_id, values)


async def _create(who: Any, values: dict[str, Any]) -> Role:
    return await services().accounts.create_role(who, values["name"], values["permissions"])


resource = Resource(
    key="roles", url="/roles", title="Roles", singular="role", section="Administration",
    load_all=lambda: services().store.roles.all(),  # noqa: PLW0108
    load=lambda item_id: services().store.roles.get(item_id),  # noqa: PLW0108
    fields=_fields,
    values_of=lambda item: {"name": item.name, "permissions": list(item.permissions)},
    create=_create, update=_update,
    delete=lambda who, item_id: services().accounts.delete_role(who, item_id),  # noqa: PLW0108
    columns=[
        Column("Name", lambda item: item.name),
        Column("Permissions", lambda item: phrases(
            "%(count)s permission", "%(count)s permissions", len(item.permissions))),
        Column("Kind", lambda item: phrase("built-in (read-only)") if item.builtin
               else phrase("custom")),
    ],
    read_form=_read,
    describe=marked("A role grants permissions (read, create, edit, delete of each area)."),
)
blueprint = resource.blueprint
