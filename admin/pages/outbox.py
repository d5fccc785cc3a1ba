"""Operations > Failed messages: dead letters with the provider's error, to resend (one or
a selection) once what made them fail is fixed, or to discard — each audited.

A resend or discard is conditional on the message still being ``failed``: when two
operators act on the same message, or it was resent meanwhile, the second is told so
instead of sending it twice.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, flash, redirect, request, url_for

from admin.context import actor, require, services
from admin.i18n import phrase, phrases, said
from admin.pages.nav import NavEntry, add_entry
from admin.pages.views import page
from routing_core.infra.errors import DomainError
from routing_core.model.interaction import OPTED_OUT, REPORTED_FAILURE, DeliveryStatus
from routing_core.ports.channels import SEND_ERRORS

blueprint = Blueprint("outbox", __name__, url_prefix="/failed-messages")
READ, EDIT = "interactions:read", "interactions:edit"
add_entry(NavEntry("outbox", "Operations", "Failed messages", "pages.outbox.index", READ,
                   rank=20))
ERROR_KINDS = {
    **{error.code: (error.__doc__ or error.code).strip().split("\n")[0]
       for error in SEND_ERRORS},
    REPORTED_FAILURE: "The provider accepted it, then reported it undelivered.",
    OPTED_OUT: "The contact opted out (STOP): kept, not sent, until they opt back in.",
}
SELECTION_LIMIT = 500
PAGE_SIZE = 50


@blueprint.get("")
@require(READ)
async def index() -> Any:
    store = services().store
    args = {key: value for key, value in request.args.items() if key != "cursor" and value}
    showing = DeliveryStatus.discarded if args.get("show") == "discarded" else DeliveryStatus.failed
    query: dict[str, Any] = {"type": "outbound", "status": showing.value}
    if args.get("entry_point"):
        query["entry_point_id"] = args["entry_point"]
    if args.get("error_kind"):
        query["error_kind"] = args["error_kind"]
    items, cursor = await store.events.list(
        query, cursor=request.args.get("cursor"), limit=PAGE_SIZE, newest_first=True)
    count = await store.events.collection.count_documents(query, limit=10_001)
    entry_points = {point.id: point for point in await store.entry_points.all(
        {"simulated_version": None})}
    return await page(
        "outbox/list.html", active_nav="outbox", items=items, next_cursor=cursor,
        count=count, args=args, entry_points=entry_points, error_kinds=ERROR_KINDS,
        showing=showing.value,
    )


async def _each(operation: str) -> Any:
    """Resend or discard the message of the row's button, or every ticked one."""
    form = await request.form
    chosen = [form["one"]] if form.get("one") else form.getlist("ids")[:SELECTION_LIMIT]
    back = redirect(request.referrer if _same_page(request.referrer)
                    else url_for("pages.outbox.index"))
    if not chosen:
        await flash(phrase("Tick the messages first."), "error")
        return back
    outbox, who = services().outbox, actor()
    done, refused = 0, []
    for event_id in chosen:
        try:
            if operation == "resend":
                await outbox.replay(event_id, who)
            else:
                await outbox.discard(event_id, who)
            done += 1
        except DomainError as error:
            refused.append(said(error))
    resend = operation == "resend"
    if done:
        await flash(phrases("%(count)s message queued to be sent again.",
                            "%(count)s messages queued to be sent again.", done) if resend
                    else phrases("%(count)s message discarded.", "%(count)s messages discarded.",
                                 done), "success")
    if refused:
        await flash(phrase("%(count)s not queued to be sent again: %(reason)s (it changed "
                           "meanwhile).", count=len(refused), reason=refused[0]) if resend
                    else phrase("%(count)s not discarded: %(reason)s (it changed meanwhile).",
                                count=len(refused), reason=refused[0]), "error")
    return back


def _same_page(referrer: str | None) -> bool:
    return bool(referrer) and (referrer or "").startswith(
        request.host_url.rstrip("/") + url_for("pages.outbox.index"))


@blueprint.post("/resend")
@require(EDIT)
async def resend() -> Any:
    return await _each("resend")


@blueprint.post("/discard")
@require(EDIT)
async def discard() -> Any:
    return await _each("discard")
