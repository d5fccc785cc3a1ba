"""Cases & CRM > Cases: the list filtered by status and priority, each case's page (fields,
contact, interactions), create, edit and close. ``Cases`` keeps every rule (numbering,
closing date); its refusals come back next to their field."""

from __future__ import annotations

import json
from typing import Any

from quart import flash, redirect, request, url_for

from admin.context import actor, require, services
from admin.i18n import marked, phrase
from admin.pages.resources import Column, Field, Resource
from admin.pages.views import page
from routing_core.infra.errors import Invalid, Words
from routing_core.model.cases import Case, CasePriority, CaseStatus

SECTION = "Cases & CRM"
LIST_LIMIT = 200


def json_object(text: str, field: str) -> dict[str, Any]:
    """A JSON object typed in a text area ({} when blank)."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise Invalid(Words(
            "not valid JSON: %(msg)s (line %(lineno)s)",
            msg=error.msg, lineno=error.lineno), field=field) from None
    if not isinstance(value, dict):
        raise Invalid('a JSON object such as {"order": "A-12"}', field=field)
    return value


def shown_json(value: dict[str, Any]) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) if value else ""


def filters(*names: str) -> dict[str, str | None]:
    """The list's filters from the query string; a blank one is no filter."""
    return {name: request.args.get(name, "").strip() or None for name in names}


def _read(form: Any, item: Case | None) -> dict[str, Any]:
    return {
        "title": form.text("title"), "status": form.text("status") or CaseStatus.open.value,
        "priority": form.text("priority") or CasePriority.normal.value,
        "fields": json_object(form.raw("fields"), "fields"),
        "contact_id": form.text("contact_id") or None,
        "interaction_ids": [line.strip() for line in form.raw("interaction_ids").splitlines()
                            if line.strip()],
    }


async def _fields(item: Case | None) -> list[Field]:
    return [
        Field("title", phrase("Title"), required=True),
        Field("status", phrase("Status"), "select",
              options=[(s.value, s.value) for s in CaseStatus]),
        Field("priority", phrase("Priority"), "select",
              options=[(p.value, p.value) for p in CasePriority]),
        Field("fields", phrase("Fields (JSON)"), "textarea", rows=6,
              help=phrase('Free fields read by trees as vars.case.fields, '
                          'e.g. {"order": "A-12"}.')),
        Field("contact_id", phrase("Contact id"),
              help=phrase("The customer's contact (optional).")),
        Field("interaction_ids", phrase("Interactions"), "textarea",
              help=phrase("The ids of the conversations about this case, one per line.")),
    ]


def _values(item: Case) -> dict[str, Any]:
    return {"title": item.title, "status": item.status.value, "priority": item.priority.value,
            "fields": shown_json(item.fields), "contact_id": item.contact_id or "",
            "interaction_ids": "\n".join(item.interaction_ids)}


async def _load_all() -> list[Case]:
    items, _ = await services().cases.search(filters("status", "priority"), limit=LIST_LIMIT)
    return items


async def _create(who: Any, values: dict[str, Any]) -> Case:
    return await services().cases.create(who, **values)


resource = Resource(
    key="cases", url="/cases", title="Cases", singular="case", section=SECTION,
    load_all=_load_all,
    load=lambda item_id: services().cases.get(item_id),  # noqa: PLW0108
    fields=_fields, values_of=_values, create=_create,
    update=lambda who, item_id, values: services().cases.update(who, item_id, values),  # noqa: PLW0108
    delete=lambda who, item_id: services().cases.delete(who, item_id),  # noqa: PLW0108
    columns=[
        Column("Reference", lambda item: item.reference),
        Column("Title", lambda item: item.title),
        Column("Status", lambda item: item.status.value),
        Column("Priority", lambda item: item.priority.value),
        Column("Interactions", lambda item: str(len(item.interaction_ids))),
    ],
    read_form=_read, name_of=lambda item: item.reference,
    describe=marked("A case follows a customer's matter across conversations (a claim, an order)."),
    extra_links=lambda item: [(phrase("Open"), url_for("pages.cases.show", item_id=item.id))],
    list_template="customers/list.html",
)
blueprint = resource.blueprint


@blueprint.context_processor
async def _list_filters() -> dict[str, Any]:
    return {"list_filters": [
        ("status", "Status", [s.value for s in CaseStatus]),
        ("priority", "Priority", [p.value for p in CasePriority]),
    ]}


@blueprint.get("/<item_id>/view")
@require("cases:read")
async def show(item_id: str) -> Any:
    store = services().store
    case = await services().cases.get(item_id)
    contact = await store.contacts.find(case.contact_id) if case.contact_id else None
    interactions = [(interaction_id, await store.interactions.find(interaction_id))
                    for interaction_id in case.interaction_ids]
    return await page("cases/show.html", active_nav="cases", case=case, contact=contact,
                      interactions=interactions)


@blueprint.post("/<item_id>/close")
@require("cases:edit")
async def close(item_id: str) -> Any:
    case = await services().cases.update(actor(), item_id, {"status": CaseStatus.closed.value})
    await flash(phrase("Case %(reference)s closed.", reference=case.reference), "success")
    return redirect(url_for("pages.cases.show", item_id=item_id))
