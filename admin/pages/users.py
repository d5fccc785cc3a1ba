"""Administration > Users: e-mail, roles, agent profile; the password is write-only."""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from admin.api.queues import distribution
from admin.context import services
from admin.i18n import phrase
from admin.pages.resources import Column, Field, Resource
from routing_core.accounts.password_policy import check_password
from routing_core.infra.errors import Invalid
from routing_core.model.users import AgentProfile, User

# IANA names people pick from (not the legacy aliases like "US/Eastern" or "Etc/GMT+3")
ZONE_NAMES = ["UTC", *sorted(name for name in available_timezones()
                             if "/" in name and not name.startswith(("Etc/", "SystemV/", "US/")))]


def _read(form: Any, item: User | None) -> dict[str, Any]:
    values: dict[str, Any] = {"email": form.text("email"), "roles": form.all("roles")}
    password = form.raw("password")
    if password or item is None:
        check_password(password, email=values["email"])
        values["password"] = password
    if form.checked("is_agent"):
        try:
            capacity = int(form.text("capacity") or "1")
        except ValueError:
            raise Invalid("a whole number", field="capacity") from None
        if not 1 <= capacity <= 100:
            raise Invalid("between 1 and 100 conversations", field="capacity")
        values["agent"] = AgentProfile(queues=form.all("queues"), capacity=capacity)
    else:
        values["agent"] = None
    if item is not None:
        values["active"] = form.checked("active")
    values["timezone"] = form.text("timezone") or None
    return values


async def _fields(item: User | None) -> list[Field]:
    roles = await services().store.roles.all()
    queues = await distribution().queue_records.all()
    fields = [
        Field("email", phrase("E-mail"), "email", required=True),
        Field("password", phrase("Password"), "password", required=item is None,
              help=phrase("Never shown back. Leave blank to keep it.") if item
              else phrase("Never shown back.")),
        Field("roles", phrase("Roles"), "checks", options=[(r.name, r.name) for r in roles]),
        Field("is_agent", phrase("This user is an agent (answers conversations)"), "checkbox"),
        Field("queues", phrase("Agent's queues"), "checks",
              options=[(q.id, q.name) for q in queues]),
        Field("capacity", phrase("Agent's capacity"), "number",
              help=phrase("How many conversations at once (1 to 100).")),
        Field("timezone", phrase("Time zone"), "select", options=[
            ("", phrase("The service's (%(zone)s)", zone=services().settings.timezone)),
            *((name, name) for name in ZONE_NAMES)],
              help=phrase("The panel shows and takes dates and times in it.")),
    ]
    if item is not None:
        fields.append(Field("active", phrase("Active (may log in)"), "checkbox"))
    return fields


def _values(item: User) -> dict[str, Any]:
    return {
        "email": item.email, "roles": list(item.roles), "active": item.active,
        "is_agent": item.agent is not None,
        "queues": list(item.agent.queues) if item.agent else [],
        "capacity": item.agent.capacity if item.agent else 1,
        "timezone": item.timezone or "",
    }


async def _create(who: Any, values: dict[str, Any]) -> User:
    values.pop("active", None)
    return await services().accounts.create_user(who, **values)


resource = Resource(
    key="users", url="/users", title="Users", singular="user", section="Administration",
    load_all=lambda: services().store.users.all(),  # noqa: PLW0108
    load=lambda item_id: services().store.users.get(item_id),  # noqa: PLW0108
    fields=_fields, values_of=_values, create=_create,
    update=lambda who, item_id, values: services().accounts.update_user(who, item_id, values),  # noqa: PLW0108
    delete=lambda who, item_id: services().accounts.delete_user(who, item_id),  # noqa: PLW0108
    columns=[
        Column("E-mail", lambda item: item.email),
        Column("Roles", lambda item: ", ".join(item.roles)),
        Column("Agent", lambda item: phrase("yes · %(count)s at once", count=item.agent.capacity)
               if item.agent else phrase("no")),
        Column("Status", lambda item: phrase("active") if item.active else phrase("disabled")),
    ],
    read_form=_read, name_of=lambda item: item.email,
)
blueprint = resource.blueprint
