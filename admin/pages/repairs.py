"""Operations > Stuck conversations: those that wait too long, wait on an action their tree
no longer has, or whose steps keep failing — and the repairs: end, move to another action
of its tree, run its current action again. Each form carries the conversation's
``event_seq`` as the operator saw it: a conversation that moved meanwhile is not repaired,
the operator is told and sees it again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from quart import Blueprint, flash, redirect, request, url_for

from admin.context import actor, require, services
from admin.i18n import marked, phrase, said
from admin.pages import catalogue
from admin.pages.interactions import STATE_LABELS
from admin.pages.nav import NavEntry, add_entry
from admin.pages.views import page
from routing_core.engine.repairs import REASONS
from routing_core.infra.errors import DomainError

blueprint = Blueprint("repairs", __name__, url_prefix="/stuck-conversations")
READ, EDIT = "interactions:read", "interactions:edit"
add_entry(NavEntry("repairs", "Operations", "Stuck conversations", "pages.repairs.index",
                   READ, rank=30))
THRESHOLDS = {"15": marked("15 minutes"), "60": marked("1 hour"), "240": marked("4 hours"),
              "1440": marked("1 day"), "10080": marked("1 week")}
DONE = {  # what a repair did, in the viewer's words (at the time of the flash)
    "end": lambda: phrase("The conversation was ended."),
    "move": lambda: phrase("The conversation was moved."),
    "rerun": lambda: phrase("The conversation was run again from its current action."),
}


@blueprint.get("")
@require(READ)
async def index() -> Any:
    minutes = request.args.get("minutes", "60")
    if minutes not in THRESHOLDS:
        minutes = "60"
    found = await services().repairs.stuck(timedelta(minutes=int(minutes)))
    routings = {routing.id: routing for routing in await services().store.routings.all()}
    return await page(
        "repairs/list.html", active_nav="repairs", found=found, minutes=minutes,
        thresholds=THRESHOLDS, reasons=REASONS, routings=routings, states=STATE_LABELS,
        title_of=catalogue.action_title,
    )


@blueprint.post("/<interaction_id>")
@require(EDIT)
async def repair(interaction_id: str) -> Any:
    form = await request.form
    kind, seq = form.get("kind", ""), form.get("seq", "")
    back = redirect(url_for("pages.repairs.index", minutes=form.get("minutes") or None))
    if kind not in DONE or not seq.isdigit():
        await flash(phrase("This repair form is incomplete; open the page again."), "error")
        return back
    try:
        await services().repairs.repair(actor(), interaction_id, kind,  # type: ignore[arg-type]
                                        int(seq), form.get("action") or None)
    except DomainError as error:
        await flash(phrase("Not repaired: %(reason)s.", reason=said(error)), "error")
        return back
    await flash(DONE[kind](), "success")
    return back
