"""Routing > Entry points: where conversations come in, and which routings they run.

Credentials are write-only: the form never shows them back; a blank credential keeps the
one stored. Every rule (routing types, test mode, required credentials, unique addresses)
stays in ``EntryPoints``; refusals come back next to their field.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, flash, redirect, request, url_for

from admin.context import actor, require, services
from admin.i18n import marked, phrase, said
from admin.pages.nav import NavEntry, add_entry
from admin.pages.views import page, validated
from admin.schemas.interactions import EntryPointIn, EntryPointOut, EntryPointPatch
from routing_core.infra.errors import DomainError
from routing_core.model.entry_point import Consent, EntryPoint
from routing_core.model.interaction import Channel
from routing_core.model.routing import RoutingType
from routing_core.routing.entry_points import REQUIRED_CREDENTIALS

blueprint = Blueprint("entry_points", __name__, url_prefix="/entry-points")
READ, CREATE, EDIT, DELETE = (f"entry_points:{op}" for op in ("read", "create", "edit", "delete"))
add_entry(NavEntry("entry_points", "Routing", "Entry points", "pages.entry_points.index", READ))

CHANNELS = list(REQUIRED_CREDENTIALS)
ADDRESS_HELP = {
    Channel.telegram: marked("The bot's username."),
    Channel.whatsapp: marked("The WhatsApp number, as whatsapp:+E164."),
    Channel.messenger: marked("The Facebook page id."),
    Channel.webchat: marked("The chat module's key, used in the widget's URL."),
}
FIELDS = ("name", "channel", "address", "mode", "start_routing", "end_routing", "fallback_text")
KEYWORD_FIELDS = ("opt_out_keywords", "opt_in_keywords")
CONSENT_FIELDS = (*KEYWORD_FIELDS, "opt_out_reply", "opt_in_reply")


def _consent_values(consent: Consent) -> dict[str, str]:
    """The consent settings as the form shows them: keywords separated by commas."""
    shown = consent.model_dump()
    return {f"consent.{name}": ", ".join(shown[name]) if name in KEYWORD_FIELDS
            else shown[name] for name in CONSENT_FIELDS}


def _consent_of(form: Any) -> dict[str, Any]:
    typed = {name: form.get(f"consent.{name}", "") for name in CONSENT_FIELDS}
    return {name: [word.strip() for word in value.split(",") if word.strip()]
            if name in KEYWORD_FIELDS else value.strip() for name, value in typed.items()}


def _beside_consent(errors: dict[str, str]) -> dict[str, str]:
    """A keyword's error beside its list (``consent.opt_out_keywords.2``), one about both
    lists (``consent``) beside the first."""
    placed: dict[str, str] = {}
    for field, message in errors.items():
        place = "consent.opt_out_keywords" if field == "consent" else field
        for name in CONSENT_FIELDS:
            if place.startswith(f"consent.{name}."):
                place = f"consent.{name}"
        placed.setdefault(place, message)
    return placed


def _out(entry_point: EntryPoint) -> EntryPointOut:
    return EntryPointOut.of(entry_point, services().settings.public_url)


async def _form_page(entry_point: EntryPoint | None, values: dict[str, Any],
                     errors: dict[str, str], status: int = 200) -> Any:
    routings = await services().store.routings.all()
    return await page(
        "entry_points/form.html", status,
        active_nav="entry_points",
        entry_point=_out(entry_point) if entry_point else None,
        values=values, errors=errors, channels=CHANNELS,
        credentials=REQUIRED_CREDENTIALS, address_help=ADDRESS_HELP,
        start_routings=[r for r in routings if r.type is RoutingType.start],
        end_routings=[r for r in routings if r.type is RoutingType.end],
    )


def _read(form: Any, channel: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The entry point's fields (blank optional ones left out) and the credentials typed."""
    values = {name: form.get(name, "").strip() for name in FIELDS}
    values = {name: value for name, value in values.items()
              if value or name in ("name", "address", "start_routing")}
    values["consent"] = _consent_of(form)
    names = REQUIRED_CREDENTIALS.get(Channel(channel), ()) if channel in CHANNELS else ()
    typed = {name: form.get(f"credentials.{channel}.{name}", "") for name in names}
    return values, {name: value for name, value in typed.items() if value}


def _shown(values: dict[str, Any], form: Any) -> dict[str, Any]:
    """What the form shows back after a refusal: what was typed."""
    return {**{key: value for key, value in values.items() if key != "consent"},
            **{f"consent.{name}": form.get(f"consent.{name}", "") for name in CONSENT_FIELDS}}


@blueprint.get("")
@require(READ)
async def index() -> Any:
    store = services().store
    entry_points, next_cursor = await store.entry_points.list(
        {"simulated_version": None}, cursor=request.args.get("cursor"), limit=100
    )
    routings = {routing.id: routing for routing in await store.routings.all()}
    return await page(
        "entry_points/list.html", active_nav="entry_points",
        entry_points=[_out(entry_point) for entry_point in entry_points],
        routings=routings, next_cursor=next_cursor,
    )


@blueprint.get("/new")
@require(CREATE)
async def new() -> Any:
    """The form, filled from the link that led here (the version page's "create a test
    entry point" gives the routing, the test mode and a channel that has one)."""
    given = {name: request.args[name][:100] for name in ("channel", "mode", "start_routing")
             if request.args.get(name)}
    return await _form_page(None, {"channel": Channel.webchat.value, "mode": "production",
                                   **_consent_values(Consent()), **given}, {})


@blueprint.post("/new")
@require(CREATE)
async def create() -> Any:
    form = await request.form
    values, credentials = _read(form, form.get("channel", ""))
    data, errors = validated(EntryPointIn, values | {"credentials": credentials})
    if data is not None:
        try:
            entry_point = await services().entry_points.create(
                actor(), data.model_dump(exclude={"credentials"}), data.credentials
            )
        except DomainError as error:
            errors = {error.field or "form": said(error)}
        else:
            await flash(phrase("Entry point %(name)s created.", name=entry_point.name),
                        "success")
            return redirect(url_for("pages.entry_points.index"))
    return await _form_page(None, _shown(values, form), _beside_consent(errors), 422)


@blueprint.get("/<entry_point_id>")
@require(EDIT)
async def edit(entry_point_id: str) -> Any:
    entry_point = await services().store.entry_points.get(entry_point_id)
    values = entry_point.model_dump(include=set(FIELDS))
    values["channel"], values["mode"] = entry_point.channel.value, entry_point.mode.value
    return await _form_page(entry_point, values | _consent_values(entry_point.consent), {})


@blueprint.post("/<entry_point_id>")
@require(EDIT)
async def update(entry_point_id: str) -> Any:
    entry_point = await services().store.entry_points.get(entry_point_id)
    form = await request.form
    values, credentials = _read(form, entry_point.channel.value)
    values.pop("channel", None)
    data, errors = validated(EntryPointPatch, values)
    status = 422
    if data is not None:
        changes = data.model_dump(exclude={"credentials", "channel"}, exclude_none=True)
        changes.setdefault("end_routing", None)  # a blank choice removes them
        changes.setdefault("fallback_text", None)
        changes["revision"] = form.get("revision")  # the one the form was built from
        try:
            await services().entry_points.update(
                actor(), entry_point_id, changes, credentials or None
            )
        except DomainError as error:
            errors = {error.field or "form": said(error)}
            status = error.status
        else:
            await flash(phrase("Entry point %(name)s saved.",
                              name=values.get("name", entry_point.name)), "success")
            return redirect(url_for("pages.entry_points.index"))
    shown = _shown(values, form) | {"channel": entry_point.channel.value,
                                     "revision": form.get("revision")}
    return await _form_page(entry_point, shown, _beside_consent(errors), status)


@blueprint.post("/<entry_point_id>/delete")
@require(DELETE)
async def delete(entry_point_id: str) -> Any:
    entry_point = await services().store.entry_points.get(entry_point_id)
    try:
        await services().entry_points.delete(actor(), entry_point_id)
    except DomainError as error:
        await flash(said(error), "error")
    else:
        await flash(phrase("Entry point %(name)s deleted.", name=entry_point.name), "success")
    return redirect(url_for("pages.entry_points.index"))
