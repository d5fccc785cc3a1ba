"""A version's regression replay, in the panel: start one from the version page, watch its
progress, read its report — for each conversation that did not go the same way, the two
transcripts side by side from the first difference."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, flash, redirect, request, url_for

from admin.context import actor, require, services
from admin.i18n import marked, phrase, said
from admin.pages.views import page
from routing_core.infra.errors import DomainError

blueprint = Blueprint("replays", __name__)
VERDICTS = {"same": marked("Same replies"), "different_replies": marked("Different replies"),
            "different_path": marked("Different path"), "not_replayable": marked("Not replayable")}
SHOWN = 100


@blueprint.post("/versions/<version_id>/replays")
@require("smart_routings:edit")
async def start(version_id: str) -> Any:
    form = await request.form
    last = form.get("last", "").strip()
    if not last.isdigit() or not 1 <= int(last) <= 5_000:
        await flash(phrase("Replay from 1 to 5,000 conversations."), "error")
        return redirect(url_for("pages.versions.show", version_id=version_id))
    try:
        job = await services().replays.start(actor(), version_id, int(last))
    except DomainError as error:
        await flash(phrase("The replay did not start: %(reason)s.", reason=said(error)), "error")
        return redirect(url_for("pages.versions.show", version_id=version_id))
    return redirect(url_for("pages.replays.show", job_id=job.id))


async def _context(job_id: str) -> dict[str, Any]:
    store = services().store
    job = await store.replay_jobs.get(job_id)
    verdict = request.args.get("verdict")
    query: dict[str, Any] = {"job_id": job.id}
    query["verdict"] = verdict if verdict in VERDICTS else {"$ne": "same"}
    results, _ = await store.replay_results.list(query, limit=SHOWN)
    return {
        "active_nav": "routings", "job": job, "stale": services().replays.stale(job),
        "version": await store.versions.find(job.version_id),
        "against": await store.versions.find(job.against_id),
        "results": results, "verdicts": VERDICTS, "verdict": verdict,
    }


@blueprint.get("/replays/<job_id>")
@require("smart_routings:read")
async def show(job_id: str) -> Any:
    return await page("replays/show.html", **await _context(job_id))


@blueprint.get("/replays/<job_id>/live")
@require("smart_routings:read")
async def live(job_id: str) -> Any:
    return await page("replays/report.html", **await _context(job_id))
