"""Operations > Contacts: find a person by name, address or phone across channels; their
page (addresses, consent, variables, conversations); merge another address into them;
download everything held about them; erase them for good.

Every rule lives in ``routing_core.contacts``; a refusal comes back as a sentence.
"""

from __future__ import annotations

import json
from typing import Any

from quart import Blueprint, Response, flash, redirect, request, url_for

from admin.context import actor, require, services
from admin.i18n import phrase, said
from admin.pages.nav import NavEntry, add_entry
from admin.pages.views import page
from routing_core.contacts.directory import json_ready
from routing_core.infra.errors import DomainError
from routing_core.model.interaction import Channel

blueprint = Blueprint("contacts", __name__, url_prefix="/contacts")
READ, EDIT, DELETE = "contacts:read", "contacts:edit", "contacts:delete"
add_entry(NavEntry("contacts", "Operations", "Contacts", "pages.contacts.index", READ,
                   rank=15))
ERASE_WORD = "ERASE"


def _channel(value: str | None) -> Channel | None:
    return Channel(value) if value in Channel.__members__ else None


async def _entry_point_names() -> dict[str, str]:
    return {point.id: point.name for point in await services().store.entry_points.all(
        {"simulated_version": None})}


@blueprint.get("")
@require(READ)
async def index() -> Any:
    typed = request.args.get("q", "")[:200]
    channel = _channel(request.args.get("channel"))
    items, cursor = await services().contacts.search(typed, channel,
                                                     request.args.get("cursor"))
    args = {key: value for key, value in (("q", typed), ("channel", channel and channel.value))
            if value}
    return await page("contacts/list.html", active_nav="contacts", items=items,
                      next_cursor=cursor, args=args, channels=list(Channel),
                      entry_points=await _entry_point_names())


async def _show(contact_id: str, errors: dict[str, str] | None = None,
                status: int = 200) -> Any:
    directory = services().contacts
    profile = await directory.profile(contact_id)
    merge_q = request.args.get("merge_q", "")[:200]
    candidates = []
    if merge_q:
        found, _ = await directory.search(merge_q, limit=20)
        candidates = [item for item in found if item.id != profile.contact.id]
    return await page("contacts/show.html", status, active_nav="contacts", profile=profile,
                      contact=profile.contact, merge_q=merge_q, candidates=candidates,
                      errors=errors or {}, erase_word=ERASE_WORD,
                      entry_points=await _entry_point_names())


@blueprint.get("/<contact_id>")
@require(READ)
async def show(contact_id: str) -> Any:
    return await _show(contact_id)


@blueprint.post("/<contact_id>/merge")
@require(EDIT)
async def merge(contact_id: str) -> Any:
    other = (await request.form).get("other", "")[:100]
    try:
        kept = await services().contacts.merge(actor(), contact_id, other)
    except DomainError as error:
        await flash(said(error), "error")
        return redirect(url_for("pages.contacts.show", contact_id=contact_id))
    await flash(phrase("The contacts are merged: one page, shared variables."), "success")
    return redirect(url_for("pages.contacts.show", contact_id=kept.id))


@blueprint.get("/<contact_id>/export")
@require(READ)
async def export(contact_id: str) -> Any:
    exported = await services().contacts.export(actor(), contact_id)
    return Response(json.dumps(json_ready(exported), ensure_ascii=False, indent=2),
                    mimetype="application/json", headers={
                        "Content-Disposition": f'attachment; filename="contact-{contact_id}.json"'})


@blueprint.post("/<contact_id>/erase")
@require(DELETE)
async def erase(contact_id: str) -> Any:
    typed = (await request.form).get("confirm", "").strip()
    if typed != ERASE_WORD:
        return await _show(contact_id, {"confirm": f"type {ERASE_WORD} to erase: it cannot "
                                                   "be undone"}, 422)
    counts = await services().erasure.erase(actor(), contact_id)
    await flash(phrase("The contact is erased: %(conversations)s conversation(s) and %(events)s "
                       "event(s) kept no personal data.",
                       conversations=counts.get("interactions", 0),
                       events=counts.get("events", 0)), "success")
    return redirect(url_for("pages.contacts.show", contact_id=contact_id))
