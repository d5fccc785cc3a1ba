"""Campaigns & surveys > Campaigns: WhatsApp, voice and SMS campaigns (their message,
window and rate), their status (draft → running ⇄ paused → closed, as ``Campaigns``
allows); each campaign's targets are on their own page (``campaign_targets``)."""

from __future__ import annotations

from typing import Any

from quart import url_for

from admin.context import services
from admin.i18n import marked, phrase
from admin.pages.cases import filters
from admin.pages.resources import Column, Field, Resource
from routing_core.infra.errors import Invalid
from routing_core.model.campaigns import Campaign, CampaignKind, CampaignStatus
from routing_core.model.reference import WEEKDAYS

SECTION = "Campaigns & surveys"
LIST_LIMIT = 200


def _number(form: Any, name: str, default: int) -> int:
    try:
        return int(form.text(name) or default)
    except ValueError:
        raise Invalid("a whole number", field=name) from None


def _read(form: Any, item: Campaign | None) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": form.text("name"), "description": form.raw("description"),
        "status": form.text("status") or CampaignStatus.draft.value,
        "entry_point_id": form.text("entry_point_id") or None,
        "message": form.raw("message"), "sender": form.text("sender") or None,
        "rate_per_minute": _number(form, "rate_per_minute", 60),
        "max_attempts": _number(form, "max_attempts", 3),
        "window": {"schedule": form.text("window.schedule") or None,
                   "start": form.text("window.start") or "00:00",
                   "end": form.text("window.end") or "24:00",
                   "timezone": form.text("window.timezone") or "UTC",
                   "days": form.all("window.days")},
    }
    if item is None:
        values["kind"] = form.text("kind")
    return values


async def _fields(item: Campaign | None) -> list[Field]:
    entry_points = await services().store.entry_points.all()
    schedules = await services().store.schedules.all()
    fields = [Field("name", phrase("Name"), required=True),
              Field("description", phrase("Description"), "textarea")]
    if item is None:
        fields.append(Field("kind", phrase("Kind"), "select",
                            options=[(k.value, k.value) for k in CampaignKind],
                            help=phrase("Fixed once the campaign exists.")))
    return fields + [
        Field("status", phrase("Status"), "select",
              options=[(s.value, s.value) for s in CampaignStatus],
              help=phrase("Running sends; paused waits; closed is for good.")),
        Field("message", phrase("Message"), "textarea",
              help=phrase("SMS and WhatsApp: the text sent, a template "
                          "({{ target.fields.name }}).")),
        Field("entry_point_id", phrase("Entry point"), "select",
              options=[("", phrase("— none —"))] + [(e.id, e.name) for e in entry_points],
              help=phrase("WhatsApp: sends from it, and replies start an interaction there.")),
        Field("sender", phrase("Sender"),
              help=phrase("SMS: the number or name sent from (optional).")),
        Field("window.schedule", phrase("Schedule"), "select",
              options=[("", phrase("— the hours below —"))]
              + [(s.name, s.name) for s in schedules]),
        Field("window.start", phrase("From"), help=phrase("Daily, e.g. 09:00.")),
        Field("window.end", phrase("Until"), help=phrase("Daily, e.g. 19:00 (excluded).")),
        Field("window.timezone", phrase("Timezone")),
        Field("window.days", phrase("Days"), "checks",
              options=[(d, d.capitalize()) for d in WEEKDAYS]),
        Field("rate_per_minute", phrase("Messages per minute"), "number"),
        Field("max_attempts", phrase("Attempts per target"), "number"),
    ]


def _values(item: Campaign) -> dict[str, Any]:
    window = item.window
    return {"name": item.name, "description": item.description, "kind": item.kind.value,
            "status": item.status.value, "message": item.message,
            "entry_point_id": item.entry_point_id or "", "sender": item.sender or "",
            "window.schedule": window.schedule or "", "window.start": window.start,
            "window.end": window.end, "window.timezone": window.timezone,
            "window.days": list(window.days), "rate_per_minute": item.rate_per_minute,
            "max_attempts": item.max_attempts}


async def _load_all() -> list[Campaign]:
    query = {name: value for name, value in filters("status", "kind").items() if value}
    items, _ = await services().store.campaigns.list(query, limit=LIST_LIMIT)
    return items


async def _create(who: Any, values: dict[str, Any]) -> Campaign:
    return await services().campaigns.create(who, **values)


resource = Resource(
    key="campaigns", url="/campaigns", title="Campaigns", singular="campaign", section=SECTION,
    load_all=_load_all,
    load=lambda item_id: services().campaigns.get(item_id),  # noqa: PLW0108
    fields=_fields, values_of=_values, create=_create,
    update=lambda who, item_id, values: services().campaigns.update(who, item_id, values),  # noqa: PLW0108
    delete=lambda who, item_id: services().campaigns.delete(who, item_id),  # noqa: PLW0108
    columns=[
        Column("Name", lambda item: item.name),
        Column("Kind", lambda item: item.kind.value),
        Column("Status", lambda item: item.status.value),
        Column("Rate", lambda item: f"{item.rate_per_minute}/min"),
    ],
    read_form=_read,
    describe=marked("A campaign contacts a list of targets by WhatsApp, SMS or a dialer's calls."),
    extra_links=lambda item: [
        (phrase("Targets"), url_for("pages.campaign_targets.index", item_id=item.id))],
    list_template="customers/list.html",
)
blueprint = resource.blueprint


@blueprint.context_processor
async def _list_filters() -> dict[str, Any]:
    return {"list_filters": [("status", "Status", [s.value for s in CampaignStatus]),
                             ("kind", "Kind", [k.value for k in CampaignKind])]}

